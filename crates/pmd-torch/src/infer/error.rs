//! Errors of the inference layer.

use std::path::PathBuf;

/// What can go wrong building, loading or running a policy network.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// libtorch reported an error (bad module, shape mismatch inside it, ...).
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// An input buffer does not have the size the contract requires.
    #[error("{what}: expected {expected} values, got {got}")]
    Shape {
        /// Which buffer.
        what: &'static str,
        /// Expected element count.
        expected: usize,
        /// Actual element count.
        got: usize,
    },
    /// A batch with no rows.
    #[error("empty batch")]
    EmptyBatch,
    /// A row of the action mask allows no action (the contract says at
    /// least one action is always legal).
    #[error("row {row} of the action mask allows no action")]
    NoLegalAction {
        /// The row.
        row: usize,
    },
    /// A model output that breaks the contract (wrong shape, NaN, ...).
    #[error("model output: {0}")]
    BadOutput(String),
    /// `--device cuda` on a machine or libtorch without CUDA.
    #[error(
        "CUDA device {0} requested but CUDA is not available (no GPU, or a CPU-only libtorch)"
    )]
    CudaUnavailable(usize),
    /// A model file that is not what it claims to be.
    #[error("{path}: {reason}")]
    BadModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A network configuration that cannot be built.
    #[error("bad network configuration: {0}")]
    BadConfig(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl InferError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::BadModelFile {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
