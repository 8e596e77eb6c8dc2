//! [`Index`]: the mapped base segment, the in-memory delta, and the
//! operations the agent and the command line call.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::build::{check_rows, BuildParams, F32Rows, MemGraph};
use crate::error::{IndexError, Result};
use crate::meta::PointMeta;
use crate::search::{self, Cand, Graph, Scratch};
use crate::segment::Segment;
use crate::store::{self, Manifest};
use crate::Metric;

/// Below this many points a segment is searched exactly (a full scan)
/// rather than through the graph. Measured in BENCHMARKS-index.md: at
/// 128 dimensions a scan of 2,000 points costs about what an HNSW query at
/// recall ≥ 0.95 does, and is exact.
pub const EXACT_THRESHOLD: usize = 2_000;

/// Base files up to this size are verified when opened with
/// [`Verify::Auto`] (a full read: about 10 ms per 64 MiB from the page
/// cache); larger ones are only mapped, and [`Index::verify`] checks them
/// on demand.
pub const VERIFY_AUTO_MAX_BYTES: u64 = 64 << 20;

/// Whether opening an index reads its whole base file to check every
/// section's checksum and every stored id (see [`Index::verify`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verify {
    /// Verify base files of at most [`VERIFY_AUTO_MAX_BYTES`] (the default
    /// of [`Index::open`]): damage in a small index is found at once; a
    /// large one still opens in constant time.
    #[default]
    Auto,
    /// Always verify.
    Always,
    /// Never verify on open (headers and section bounds are still checked).
    Never,
}

/// What an index is: dimension, metric and graph parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexConfig {
    /// Vector length.
    pub dim: usize,
    /// Distance.
    pub metric: Metric,
    /// Graph construction parameters.
    pub build: BuildParams,
}

impl IndexConfig {
    /// Default graph parameters (M = 16, efConstruction = 200).
    pub fn new(dim: usize, metric: Metric) -> Self {
        Self {
            dim,
            metric,
            build: BuildParams::default(),
        }
    }

    fn check(&self) -> Result<()> {
        if self.dim == 0 || self.dim > crate::format::MAX_DIM as usize {
            return Err(IndexError::InvalidParameter(format!(
                "dimension {}",
                self.dim
            )));
        }
        self.build.check()
    }
}

/// Query-time knobs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchParams {
    /// Size of the candidate list on layer 0 (raised to `k` if smaller).
    pub ef: usize,
    /// Traverse the mapped graph on int8 vectors (a quarter of the memory
    /// traffic) and re-rank the `ef` found on the f32 vectors. Off: f32 all
    /// the way.
    pub quantized: bool,
    /// Segments with fewer points are scanned exactly.
    pub exact_threshold: usize,
}

impl Default for SearchParams {
    fn default() -> Self {
        Self {
            ef: 64,
            quantized: true,
            exact_threshold: EXACT_THRESHOLD,
        }
    }
}

/// One search result.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Neighbor {
    /// Point id: its insertion order, stable across saves and compactions.
    pub id: u64,
    /// Distance under the index's metric (see [`Metric`]).
    pub distance: f32,
    /// The point's metadata.
    pub meta: PointMeta,
}

/// Figures about an open index (what `index stats` prints).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexStats {
    /// All points.
    pub points: u64,
    /// Points in the mapped base segment.
    pub base_points: u64,
    /// Points in the in-memory delta.
    pub delta_points: u64,
    /// Vector length.
    pub dim: usize,
    /// Distance.
    pub metric: Metric,
    /// Graph parameters.
    pub build: BuildParams,
    /// Generation of the directory this index was last saved to / opened from.
    pub generation: u64,
    /// Top layer of the base graph.
    pub max_level: u32,
    /// Bytes of the base file (all mapped, none copied).
    pub mapped_bytes: u64,
    /// Approximate heap bytes held by the delta.
    pub delta_heap_bytes: u64,
}

/// A vector index in a directory: a memory-mapped HNSW base segment plus
/// an in-memory delta of points added since the last compaction.
///
/// Opening maps the base and reads its header, and verifies the checksums
/// of a small base (see [`Verify`]): no work proportional to the number of
/// points for a large one, and processes opening the same index share its
/// pages. A handle takes the directory's writer lock at its first save or
/// compaction (or at [`Index::lock`]) and holds it until dropped; a save
/// refuses to overwrite a generation another writer published meanwhile.
/// Searches look at both segments and merge. `save` persists the delta,
/// `compact` folds it into a new base; both switch the directory to a new
/// generation by atomically replacing its manifest.
pub struct Index {
    dir: PathBuf,
    config: IndexConfig,
    generation: u64,
    base: Option<Segment>,
    delta: MemGraph,
    delta_meta: Vec<PointMeta>,
    writer: Option<store::WriterLock>,
}

/// Checks one query vector.
fn check_query(query: &[f32], dim: usize) -> Result<()> {
    if query.len() != dim {
        return Err(IndexError::WrongDimension {
            expected: dim,
            found: query.len(),
        });
    }
    if query.iter().any(|v| !v.is_finite()) {
        return Err(IndexError::NonFinite { row: 0 });
    }
    Ok(())
}

impl Index {
    /// An empty index for `dir` (created if missing); nothing is written
    /// until [`Index::save`] or [`Index::compact`].
    pub fn create(dir: impl AsRef<Path>, config: IndexConfig) -> Result<Self> {
        config.check()?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::io(&dir, e))?;
        let generation = Manifest::read(&dir).map_or(0, |m| m.generation);
        Ok(Self {
            dir,
            config,
            generation,
            base: None,
            delta: MemGraph::new(config.dim, config.metric, config.build),
            delta_meta: Vec::new(),
            writer: None,
        })
    }

    /// Opens the index in `dir`: maps its base segment (constant work for a
    /// large one; a small one is verified, see [`Verify::Auto`]) and loads
    /// its delta rows, if any.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_inner(dir.as_ref(), None, Verify::Auto)
    }

    /// [`Index::open`] with a choice of verification.
    pub fn open_with(dir: impl AsRef<Path>, verify: Verify) -> Result<Self> {
        Self::open_inner(dir.as_ref(), None, verify)
    }

    /// Opens the index in `dir`, failing with a typed error unless it has
    /// this dimension and metric.
    pub fn open_expecting(dir: impl AsRef<Path>, dim: usize, metric: Metric) -> Result<Self> {
        Self::open_inner(dir.as_ref(), Some((dim, metric)), Verify::Auto)
    }

    /// Opens the index in `dir` if it has one (checking dimension and
    /// metric against `config`), otherwise creates an empty one.
    pub fn open_or_create(dir: impl AsRef<Path>, config: IndexConfig) -> Result<Self> {
        let dir = dir.as_ref();
        if dir.join(store::MANIFEST).exists() {
            Self::open_expecting(dir, config.dim, config.metric)
        } else {
            Self::create(dir, config)
        }
    }

    fn open_inner(dir: &Path, expect: Option<(usize, Metric)>, verify: Verify) -> Result<Self> {
        // A writer may replace the manifest and remove an old generation
        // between our reading the manifest and opening its files: retry
        // with the newer manifest.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::open_generation(dir, expect, verify) {
                Err(IndexError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && attempt < 4 =>
                {
                    continue
                }
                other => return other,
            }
        }
    }

    fn open_generation(
        dir: &Path,
        expect: Option<(usize, Metric)>,
        verify: Verify,
    ) -> Result<Self> {
        let m = Manifest::read(dir)?;
        if let Some((dim, metric)) = expect {
            if m.dim != dim {
                return Err(IndexError::WrongDimension {
                    expected: dim,
                    found: m.dim,
                });
            }
            if m.metric != metric {
                return Err(IndexError::WrongMetric {
                    expected: metric,
                    found: m.metric,
                });
            }
        }
        let config = IndexConfig {
            dim: m.dim,
            metric: m.metric,
            build: m.build,
        };
        let base = match &m.base {
            Some(name) => {
                let seg = Segment::open(&store::dir_path(dir, name))?;
                let h = seg.header();
                if h.dim as usize != m.dim {
                    return Err(IndexError::WrongDimension {
                        expected: m.dim,
                        found: h.dim as usize,
                    });
                }
                if h.metric != m.metric {
                    return Err(IndexError::WrongMetric {
                        expected: m.metric,
                        found: h.metric,
                    });
                }
                if h.count != m.base_points {
                    return Err(IndexError::corrupt(format!(
                        "base has {} points, manifest says {}",
                        h.count, m.base_points
                    )));
                }
                let check = match verify {
                    Verify::Always => true,
                    Verify::Auto => seg.mapped_bytes() as u64 <= VERIFY_AUTO_MAX_BYTES,
                    Verify::Never => false,
                };
                if check {
                    seg.verify()?;
                }
                Some(seg)
            }
            None => None,
        };
        let mut delta = MemGraph::new(m.dim, m.metric, m.build);
        let mut delta_meta = Vec::new();
        if let Some(name) = &m.delta {
            let (vectors, metas) = store::read_delta(&store::dir_path(dir, name), m.dim)?;
            if metas.len() as u64 != m.delta_points {
                return Err(IndexError::corrupt("delta row count differs from manifest"));
            }
            delta.add(&vectors, true)?;
            delta_meta = metas;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            generation: m.generation,
            base,
            delta,
            delta_meta,
            writer: None,
        })
    }

    /// Builds an index from rows of (vector, metadata) with the parallel
    /// builder, writes it to `dir` as a new generation and returns it
    /// opened (mapped).
    pub fn build<I>(dir: impl AsRef<Path>, config: IndexConfig, rows: I) -> Result<Self>
    where
        I: IntoIterator<Item = (Vec<f32>, PointMeta)>,
    {
        let mut vectors = Vec::new();
        let mut metas = Vec::new();
        for (i, (v, m)) in rows.into_iter().enumerate() {
            if v.len() != config.dim {
                return Err(IndexError::WrongDimension {
                    expected: config.dim,
                    found: v.len(),
                });
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(IndexError::NonFinite { row: i });
            }
            vectors.extend_from_slice(&v);
            metas.push(m);
        }
        Self::build_from_slices(dir, config, &vectors, &metas)
    }

    /// [`Index::build`] from a contiguous `[N, dim]` slice and N metadata.
    pub fn build_from_slices(
        dir: impl AsRef<Path>,
        config: IndexConfig,
        vectors: &[f32],
        metas: &[PointMeta],
    ) -> Result<Self> {
        let mut index = Self::create(dir, config)?;
        index.add(vectors, metas)?;
        index.compact()?;
        Ok(index)
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.base_len() + self.delta_meta.len()
    }

    /// True when the index holds no point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn base_len(&self) -> usize {
        self.base.as_ref().map_or(0, |s| s.header().count as usize)
    }

    /// Vector length.
    pub fn dim(&self) -> usize {
        self.config.dim
    }

    /// Distance.
    pub fn metric(&self) -> Metric {
        self.config.metric
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of the base segment that are mapped (read from the page
    /// cache on demand, never copied to the heap).
    pub fn mapped_bytes(&self) -> usize {
        self.base.as_ref().map_or(0, Segment::mapped_bytes)
    }

    /// Points in the mapped base segment.
    pub fn mapped_points(&self) -> usize {
        self.base_len()
    }

    /// Points in the in-memory delta.
    pub fn delta_points(&self) -> usize {
        self.delta_meta.len()
    }

    /// The vector of point `id`.
    pub fn vector(&self, id: u64) -> Option<&[f32]> {
        let nb = self.base_len() as u64;
        if id < nb {
            let seg = self.base.as_ref()?;
            let v = seg.view().ok()?;
            v.vector(id as u32)
        } else {
            let local = u32::try_from(id - nb).ok()?;
            (local as usize)
                .lt(&self.delta_meta.len())
                .then(|| self.delta.row(local))
        }
    }

    /// The metadata of point `id`.
    pub fn meta(&self, id: u64) -> Option<PointMeta> {
        let nb = self.base_len() as u64;
        if id < nb {
            self.base.as_ref()?.view().ok()?.meta(id as u32)
        } else {
            self.delta_meta.get(usize::try_from(id - nb).ok()?).copied()
        }
    }

    /// Adds a batch of points (`vectors` is `[N, dim]` row-major) to the
    /// in-memory delta, inserting them into its graph in parallel. Returns
    /// the ids given to them.
    pub fn add(&mut self, vectors: &[f32], metas: &[PointMeta]) -> Result<std::ops::Range<u64>> {
        let n = check_rows(vectors, self.config.dim)?;
        if n != metas.len() {
            return Err(IndexError::InvalidParameter(format!(
                "{n} vectors but {} metadata records",
                metas.len()
            )));
        }
        let start = self.len() as u64;
        if start + n as u64 > crate::format::MAX_POINTS {
            return Err(IndexError::Full(crate::format::MAX_POINTS));
        }
        self.delta.add(vectors, true)?;
        self.delta_meta.extend_from_slice(metas);
        Ok(start..start + n as u64)
    }

    /// The `k` nearest points to `query`.
    pub fn search(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Vec<Neighbor>> {
        self.search_where(query, k, params, None)
    }

    /// The `k` nearest points to `query` whose metadata passes `filter`
    /// (e.g. `|m| m.floor == 3`). The graph is walked through all points
    /// but only passing ones are collected, so the walk goes on until `k`
    /// are found; if it ends with fewer, the segment is scanned exactly.
    pub fn search_filtered(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
        filter: &(dyn Fn(&PointMeta) -> bool + Sync),
    ) -> Result<Vec<Neighbor>> {
        self.search_where(query, k, params, Some(filter))
    }

    /// [`Index::search`] for each row of `queries` (`[Q, dim]`), in
    /// parallel on the rayon pool.
    pub fn search_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Vec<Neighbor>>> {
        queries
            .par_chunks(self.row_len(queries)?)
            .map(|q| self.search(q, k, params))
            .collect()
    }

    /// The row length of a batch of queries (`[Q, dim]`), or an error when
    /// its length is not a whole number of rows.
    fn row_len(&self, queries: &[f32]) -> Result<usize> {
        let dim = self.config.dim;
        if !queries.len().is_multiple_of(dim) {
            return Err(IndexError::WrongDimension {
                expected: dim,
                found: queries.len() % dim,
            });
        }
        Ok(dim)
    }

    /// Novelty of `query`: the distance to its `k`-th nearest point, or
    /// `None` while the index holds fewer than `k` points.
    pub fn novelty(&self, query: &[f32], k: usize, params: &SearchParams) -> Result<Option<f32>> {
        if k == 0 {
            return Err(IndexError::InvalidParameter("novelty needs k >= 1".into()));
        }
        let found = self.search(query, k, params)?;
        Ok((found.len() >= k).then(|| found[k - 1].distance))
    }

    /// [`Index::novelty`] for each row of `queries`, in parallel.
    pub fn novelty_batch(
        &self,
        queries: &[f32],
        k: usize,
        params: &SearchParams,
    ) -> Result<Vec<Option<f32>>> {
        queries
            .par_chunks(self.row_len(queries)?)
            .map(|q| self.novelty(q, k, params))
            .collect()
    }

    /// The exact `k` nearest by a full scan of both segments (the recall
    /// reference; O(N)).
    pub fn search_exact(&self, query: &[f32], k: usize) -> Result<Vec<Neighbor>> {
        let params = SearchParams {
            exact_threshold: usize::MAX,
            ..SearchParams::default()
        };
        self.search_where(query, k, &params, None)
    }

    fn search_where(
        &self,
        query: &[f32],
        k: usize,
        params: &SearchParams,
        filter: Option<&(dyn Fn(&PointMeta) -> bool + Sync)>,
    ) -> Result<Vec<Neighbor>> {
        check_query(query, self.config.dim)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let ef = params.ef.max(k);
        let mut merged: Vec<Neighbor> = Vec::with_capacity(2 * k);
        search::with_scratch(|s| -> Result<()> {
            let mut found = Vec::with_capacity(ef);
            if let Some(seg) = &self.base {
                let view = seg.view()?;
                let keep_base = |id: u32| match filter {
                    Some(f) => view.meta(id).is_some_and(|m| f(&m)),
                    None => true,
                };
                let n = view.len();
                let exact = view.exact(query);
                let mut graph_used = false;
                if n >= params.exact_threshold.max(1) {
                    graph_used = true;
                    if params.quantized {
                        let mut q8 = std::mem::take(&mut s.qbuf);
                        q8.resize(query.len(), 0);
                        crate::distance::quantize(query, view.quant_scale(), &mut q8);
                        let r =
                            search::search_graph(&view, &view.quantized(&q8), ef, &keep_base, s);
                        s.qbuf = q8;
                        r?;
                        rerank(&exact, s, &mut found)?;
                    } else {
                        search::search_graph(&view, &exact, ef, &keep_base, s)?;
                        search::drain_sorted(s, &mut found);
                    }
                }
                if !graph_used || (filter.is_some() && found.len() < k) {
                    crate::build::exact_scan(&exact, n, k, &keep_base, s)?;
                    search::drain_sorted(s, &mut found);
                }
                found.truncate(k);
                for c in &found {
                    merged.push(Neighbor {
                        id: u64::from(c.id),
                        distance: c.dist,
                        meta: view.meta(c.id).unwrap_or_default(),
                    });
                }
            }
            if !self.delta_meta.is_empty() {
                let nb = self.base_len() as u64;
                let keep_delta = |id: u32| match filter {
                    Some(f) => self.delta_meta.get(id as usize).is_some_and(f),
                    None => true,
                };
                let d = F32Rows {
                    metric: self.config.metric,
                    rows: &self.delta.vectors,
                    dim: self.config.dim,
                    query,
                };
                let n = self.delta.len();
                let mut graph_used = false;
                if n >= params.exact_threshold.max(1) {
                    graph_used = true;
                    search::search_graph(&self.delta, &d, ef, &keep_delta, s)?;
                    search::drain_sorted(s, &mut found);
                }
                if !graph_used || (filter.is_some() && found.len() < k) {
                    crate::build::exact_scan(&d, n, k, &keep_delta, s)?;
                    search::drain_sorted(s, &mut found);
                }
                found.truncate(k);
                for c in &found {
                    merged.push(Neighbor {
                        id: nb + u64::from(c.id),
                        distance: c.dist,
                        meta: self
                            .delta_meta
                            .get(c.id as usize)
                            .copied()
                            .unwrap_or_default(),
                    });
                }
            }
            Ok(())
        })?;
        merged.sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        merged.truncate(k);
        Ok(merged)
    }

    /// Persists the delta: writes it as a new generation's delta file and
    /// atomically switches the manifest to it (the base file is shared
    /// with the previous generation, never rewritten).
    pub fn save(&mut self) -> Result<()> {
        self.begin_write()?;
        let generation = self.generation + 1;
        let delta = if self.delta_meta.is_empty() {
            None
        } else {
            let name = store::delta_name(generation);
            store::write_delta(
                &store::dir_path(&self.dir, &name),
                self.config.dim,
                &self.delta.vectors,
                &self.delta_meta,
            )?;
            Some(name)
        };
        let base = self
            .base
            .as_ref()
            .and_then(|s| s.path().file_name())
            .map(|n| n.to_string_lossy().into_owned());
        self.publish(generation, base, delta)
    }

    /// Folds the delta into a new base segment: the base graph is loaded
    /// (O(N) heap for the duration), the delta's points are inserted in
    /// parallel, the result is written as a new generation and mapped, and
    /// the delta is emptied. Readers of the old generation are unaffected.
    pub fn compact(&mut self) -> Result<()> {
        if self.delta_meta.is_empty() && self.base.is_some() {
            return Ok(());
        }
        self.begin_write()?;
        let cfg = self.config;
        let mut graph = match &self.base {
            Some(seg) => MemGraph::thaw(cfg.dim, cfg.metric, cfg.build, &seg.view()?)?,
            None => MemGraph::new(cfg.dim, cfg.metric, cfg.build),
        };
        let mut metas = Vec::with_capacity(self.len());
        if let Some(seg) = &self.base {
            let view = seg.view()?;
            for id in 0..view.len() as u32 {
                metas.push(view.meta(id).unwrap_or_default());
            }
        }
        graph.add(&self.delta.vectors, true)?;
        metas.extend_from_slice(&self.delta_meta);
        let frozen = graph.freeze();
        let generation = self.generation + 1;
        let name = store::base_name(generation);
        let path = store::dir_path(&self.dir, &name);
        store::write_base(
            &path,
            cfg.dim,
            cfg.metric,
            &cfg.build,
            &graph.vectors,
            &metas,
            &frozen,
        )?;
        drop(graph);
        let seg = Segment::open(&path)?;
        self.base = Some(seg);
        self.delta = MemGraph::new(cfg.dim, cfg.metric, cfg.build);
        self.delta_meta.clear();
        self.publish(generation, Some(name), None)
    }

    /// Takes the directory's writer lock now (saves and compactions take
    /// it anyway), so a second writer fails at once with
    /// [`IndexError::Locked`] rather than at its first save. Held until
    /// this handle is dropped.
    pub fn lock(&mut self) -> Result<()> {
        if self.writer.is_none() {
            self.writer = Some(store::WriterLock::acquire(&self.dir)?);
        }
        Ok(())
    }

    /// Before writing a generation: hold the lock, and check that the
    /// directory still holds the generation this handle knows (otherwise
    /// another writer saved in between and publishing would drop its
    /// points).
    fn begin_write(&mut self) -> Result<()> {
        self.lock()?;
        if let Ok(m) = Manifest::read(&self.dir) {
            if m.generation != self.generation {
                return Err(IndexError::Stale {
                    dir: self.dir.clone(),
                    opened: self.generation,
                    found: m.generation,
                });
            }
        }
        Ok(())
    }

    fn publish(
        &mut self,
        generation: u64,
        base: Option<String>,
        delta: Option<String>,
    ) -> Result<()> {
        let previous = Manifest::read(&self.dir).ok();
        let manifest = Manifest {
            format: 1,
            generation,
            dim: self.config.dim,
            metric: self.config.metric,
            build: self.config.build,
            base,
            base_points: self.base_len() as u64,
            delta,
            delta_points: self.delta_meta.len() as u64,
        };
        manifest.write(&self.dir)?;
        self.generation = generation;
        store::remove_stale(&self.dir, &manifest, previous.as_ref());
        Ok(())
    }

    /// Checks every section checksum and every stored id of the base
    /// segment: a full read of the file, unlike opening.
    pub fn verify(&self) -> Result<()> {
        match &self.base {
            Some(seg) => seg.verify(),
            None => Ok(()),
        }
    }

    /// Figures about the index.
    pub fn stats(&self) -> IndexStats {
        let delta_points = self.delta_meta.len() as u64;
        IndexStats {
            points: self.len() as u64,
            base_points: self.base_len() as u64,
            delta_points,
            dim: self.config.dim,
            metric: self.config.metric,
            build: self.config.build,
            generation: self.generation,
            max_level: self.base.as_ref().map_or(0, |s| s.header().max_level),
            mapped_bytes: self.mapped_bytes() as u64,
            delta_heap_bytes: delta_points
                * (self.config.dim as u64 * 4
                    + std::mem::size_of::<PointMeta>() as u64
                    + 2 * self.config.build.m as u64 * 4
                    + 64),
        }
    }
}

/// Re-ranks the quantised search's results on the exact vectors.
fn rerank<D: search::Distances>(exact: &D, s: &mut Scratch, out: &mut Vec<Cand>) -> Result<()> {
    search::drain_sorted(s, out);
    s.ids.clear();
    s.ids.extend(out.iter().map(|c| c.id));
    s.dists.resize(s.ids.len(), 0.0);
    exact.distances(&s.ids, &mut s.dists)?;
    for (c, &d) in out.iter_mut().zip(&s.dists) {
        c.dist = d;
    }
    out.sort_unstable();
    Ok(())
}
