//! `pmd_agent._native.Policy`: the native rule policies (`random`,
//! `heuristic`, `search[:horizon=H:branches=B:commit=C]`) deciding for
//! every environment of a `VecEnv` at once, on its pool.

use std::str::FromStr;
use std::sync::Mutex;

use numpy::PyArray1;
use pyo3::prelude::*;

use crate::errors::{runtime, value};
use crate::vec_env::NativeVecEnv;
use pmd_game::env::Action;
use pmd_rollout::policy::{BatchPolicy, PolicySpec};

/// A native batch policy.
#[pyclass(module = "pmd_agent._native", name = "Policy", frozen)]
pub(crate) struct NativePolicy {
    policy: Mutex<Box<dyn BatchPolicy>>,
    spec: String,
}

#[pymethods]
impl NativePolicy {
    /// Builds the policy `spec` names (`random`, `heuristic`, `search`,
    /// `search:horizon=8:branches=4:commit=2`). `torch:PATH` models run in
    /// Python instead (`pmd_agent.TorchPolicy`): this module links no
    /// libtorch.
    #[new]
    fn new(spec: &str) -> PyResult<Self> {
        let parsed = PolicySpec::from_str(spec).map_err(value)?;
        if matches!(parsed, PolicySpec::Torch(_)) {
            return Err(value(
                "torch:PATH policies run through PyTorch in Python: use pmd_agent.TorchPolicy(PATH)",
            ));
        }
        let policy = parsed.build().map_err(value)?;
        Ok(NativePolicy {
            policy: Mutex::new(policy),
            spec: spec.to_owned(),
        })
    }

    /// The spec it was built from.
    #[getter]
    fn spec(&self) -> &str {
        &self.spec
    }

    /// One action per environment of `env` for its current batch (int64),
    /// decided with the GIL released. Policies that look ahead (search)
    /// branch on savestates and leave every environment as it was.
    fn act<'py>(&self, py: Python<'py>, env: &NativeVecEnv) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let mut guard = env.lock()?;
        let mut policy = self
            .policy
            .try_lock()
            .map_err(|_| runtime("the policy is busy in another thread"))?;
        let n = guard.env.len();
        let mut actions = vec![Action::Wait; n];
        let vec_env = &mut guard.env;
        let policy = &mut **policy;
        py.detach(|| policy.act(vec_env.policy_input(), &mut actions))
            .map_err(runtime)?;
        Ok(PyArray1::from_iter(
            py,
            actions.iter().map(|a| a.index() as i64),
        ))
    }
}
