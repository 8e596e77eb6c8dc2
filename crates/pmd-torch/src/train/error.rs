//! Errors of the training layer.

use std::path::PathBuf;

use crate::infer::InferError;

/// What can go wrong while training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The network or libtorch failed.
    #[error(transparent)]
    Infer(#[from] InferError),
    /// libtorch reported an error during an update.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A buffer, dataset or configuration that does not fit together.
    #[error("{0}")]
    Invalid(String),
    /// The environment failed.
    #[error("environment: {0}")]
    Env(String),
    /// A loss became NaN or infinite.
    #[error("the {what} became {value} at update {update}")]
    Diverged {
        /// Which quantity.
        what: &'static str,
        /// Its value.
        value: f64,
        /// The update (or epoch) where it happened.
        update: usize,
    },
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Drawing the plot.
    #[error("plot: {0}")]
    Plot(String),
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
