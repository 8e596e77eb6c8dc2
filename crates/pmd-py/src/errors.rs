//! How native failures reach Python: one line each, as a Python exception.
//!
//! Bad arguments (a wrong shape, an out-of-range action, a damaged ROM or
//! savestate) are `ValueError`; failures of a well-formed request (an
//! environment that cannot be built, a step refused) are
//! [`PmdAgentError`], a `RuntimeError`.

use std::fmt::Display;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

pyo3::create_exception!(
    _native,
    PmdAgentError,
    PyRuntimeError,
    "A native pmd-agent failure (the message is the native error's one line)."
);

/// A bad argument: `ValueError` with the native error's line.
pub(crate) fn value(e: impl Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A native failure: [`PmdAgentError`] with the native error's line.
pub(crate) fn runtime(e: impl Display) -> PyErr {
    PmdAgentError::new_err(e.to_string())
}
