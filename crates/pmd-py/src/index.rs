//! `pmd_agent._native.Index`: a memory-mapped HNSW index (mhnsw) opened
//! read-only for similar-state queries, and `embed`, the game embedding a
//! run's episodic memory stores (`pmd-agent run --memory DIR`).

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::value;
use mhnsw::{Index, SearchParams};
use pmd_rollout::memory::embed;
use pmd_rollout::obs;

/// The most neighbours one query may ask for.
const MAX_K: usize = 10_000;

/// An open index.
#[pyclass(module = "pmd_agent._native", name = "Index", frozen)]
pub(crate) struct NativeIndex {
    index: Index,
}

#[pymethods]
impl NativeIndex {
    /// Opens the index in directory `path` (checked as it is mapped; a
    /// damaged or foreign directory raises ValueError).
    #[new]
    fn new(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let index = py.detach(|| Index::open(&path)).map_err(value)?;
        Ok(NativeIndex { index })
    }

    /// Number of points.
    fn __len__(&self) -> usize {
        self.index.len()
    }

    /// Vector dimension.
    #[getter]
    fn dim(&self) -> usize {
        self.index.dim()
    }

    /// The `k` nearest points to each row of `queries` (`(Q, dim)`
    /// float32): a dict of `(Q, k)` arrays `ids` (uint64), `distances`
    /// (float32), and the points' `episode`, `step`, `env`, `floor`,
    /// `outcome`; rows with fewer than `k` points are padded with id
    /// 2**64-1 and distance inf.
    #[pyo3(signature = (queries, k=10, ef=64))]
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: PyReadonlyArray2<'py, f32>,
        k: usize,
        ef: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        if k == 0 || k > MAX_K {
            return Err(value(format!("k must be 1..={MAX_K}, not {k}")));
        }
        let q = queries.as_array();
        if q.ncols() != self.index.dim() {
            return Err(value(format!(
                "queries have {} columns; the index's vectors have {}",
                q.ncols(),
                self.index.dim()
            )));
        }
        let rows: Vec<f32> = q.iter().copied().collect();
        let params = SearchParams {
            ef: ef.max(k),
            ..SearchParams::default()
        };
        let found = py
            .detach(|| self.index.search_batch(&rows, k, &params))
            .map_err(value)?;
        let n = found.len();
        let mut ids = vec![u64::MAX; n * k];
        let mut distances = vec![f32::INFINITY; n * k];
        let mut episode = vec![0u64; n * k];
        let mut step = vec![0u32; n * k];
        let mut env = vec![0u32; n * k];
        let mut floor = vec![0u8; n * k];
        let mut outcome = vec![0u8; n * k];
        for (r, hits) in found.iter().enumerate() {
            for (c, hit) in hits.iter().take(k).enumerate() {
                let at = r * k + c;
                ids[at] = hit.id;
                distances[at] = hit.distance;
                episode[at] = hit.meta.episode;
                step[at] = hit.meta.step;
                env[at] = hit.meta.env;
                floor[at] = hit.meta.floor;
                outcome[at] = hit.meta.outcome;
            }
        }
        let out = PyDict::new(py);
        let shape = [n, k];
        out.set_item("ids", PyArray1::from_vec(py, ids).reshape(shape)?)?;
        out.set_item(
            "distances",
            PyArray1::from_vec(py, distances).reshape(shape)?,
        )?;
        out.set_item("episode", PyArray1::from_vec(py, episode).reshape(shape)?)?;
        out.set_item("step", PyArray1::from_vec(py, step).reshape(shape)?)?;
        out.set_item("env", PyArray1::from_vec(py, env).reshape(shape)?)?;
        out.set_item("floor", PyArray1::from_vec(py, floor).reshape(shape)?)?;
        out.set_item("outcome", PyArray1::from_vec(py, outcome).reshape(shape)?)?;
        Ok(out)
    }
}

/// The episodic memory's embedding of observation rows: `(N, FEATURES)`
/// float32 in, `(N, 128)` unit vectors out.
#[pyfunction]
pub(crate) fn embed_features<'py>(
    py: Python<'py>,
    features: PyReadonlyArray2<'py, f32>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let f = features.as_array();
    if f.ncols() != obs::FEATURES {
        return Err(value(format!(
            "observation rows have {} columns, not {}",
            f.ncols(),
            obs::FEATURES
        )));
    }
    let rows: Vec<f32> = f.iter().copied().collect();
    let mut out = vec![0f32; f.nrows() * embed::EMBED_DIM];
    embed::embed_batch(&rows, &mut out).map_err(value)?;
    let array = numpy::ndarray::Array2::from_shape_vec((f.nrows(), embed::EMBED_DIM), out)
        .map_err(value)?;
    Ok(PyArray2::from_owned_array(py, array))
}
