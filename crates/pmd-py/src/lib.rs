//! pmd-py: the native half of the Python package `pmd_agent`
//! (`pmd_agent._native`), built with maturin as one abi3 wheel.
//!
//! It exposes the rollout crate's [`VecEnv`](pmd_rollout::VecEnv) with its
//! batch buffers as numpy views (no copy; see [`views`]), steps with the
//! GIL released, and runs the native rule policies on its batch. The
//! gymnasium classes are Python (`python/pmd_agent/`), thin over this.
//!
//! **Depends on** pmd-game, pmd-mgba, pmd-rollout and mhnsw, pyo3 and
//! numpy; never on libtorch, the league, the network or the command line.
//!
//! `unsafe` is denied here and allowed only in [`views`] (the numpy views
//! of the native buffers).
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod errors;
mod index;
mod policy;
mod vec_env;
mod views;

use pmd_game::env::{Action, ACTION_COUNT};
use pmd_rollout::{frames, obs};
use pyo3::prelude::*;

/// The native module `pmd_agent._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<vec_env::NativeVecEnv>()?;
    m.add_class::<policy::NativePolicy>()?;
    m.add_class::<index::NativeIndex>()?;
    m.add_function(wrap_pyfunction!(index::embed_features, m)?)?;
    m.add("PmdAgentError", py.get_type::<errors::PmdAgentError>())?;
    m.add("FEATURES", obs::FEATURES)?;
    m.add("ACTION_COUNT", ACTION_COUNT)?;
    m.add("FRAME_SHAPE", (1usize, frames::HEIGHT, frames::WIDTH))?;
    m.add(
        "SCREEN_SHAPE",
        (pmd_mgba::SCREEN_HEIGHT, pmd_mgba::SCREEN_WIDTH, 3usize),
    )?;
    m.add(
        "ACTION_NAMES",
        Action::all().map(|a| a.name()).collect::<Vec<_>>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
