//! The one error type of the index, with a variant per kind of bad input.

use std::path::PathBuf;

/// Everything that can go wrong opening, building, querying or saving an
/// index. Corrupt or foreign files always end here, never in a panic.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// An operating-system error on a file of the index.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file does not start with the index's magic bytes.
    #[error("not a memindex file (bad magic)")]
    BadMagic,
    /// The file is of a format version this build does not read.
    #[error("unsupported format version {found} (this build reads {supported})")]
    UnsupportedVersion {
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// The file is shorter than its header says.
    #[error("truncated file: {what} needs {needed} bytes, the file has {len}")]
    Truncated {
        /// The part that does not fit.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        len: u64,
    },
    /// A checksum does not match: the bytes were damaged.
    #[error("checksum mismatch in {section}: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// Header or section name.
        section: &'static str,
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum of the bytes present.
        computed: u32,
    },
    /// A structural field is out of range (offsets, counts, neighbour ids…).
    #[error("corrupt index: {0}")]
    Corrupt(String),
    /// The index holds vectors of another dimension than expected.
    #[error("dimension mismatch: expected {expected}, found {found}")]
    WrongDimension {
        /// The dimension the caller asked for or passed.
        expected: usize,
        /// The dimension of the index.
        found: usize,
    },
    /// The index uses another metric than expected.
    #[error("metric mismatch: expected {expected}, found {found}")]
    WrongMetric {
        /// The metric the caller asked for.
        expected: crate::Metric,
        /// The metric of the index.
        found: crate::Metric,
    },
    /// A vector holds NaN or an infinity.
    #[error("vector {row} has a non-finite component")]
    NonFinite {
        /// Row of the offending vector in the batch (0 for a single query).
        row: usize,
    },
    /// A parameter is out of its allowed range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// The index would exceed the 2^32 - 2 points an id can address.
    #[error("index full: {0} points is the maximum")]
    Full(u64),
    /// A manifest file that cannot be parsed.
    #[error("bad manifest {path}: {message}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Another writer (a process, or another handle in this one) holds the
    /// index directory's lock.
    #[error("{path}: the index is being written by another process or handle")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// Another writer saved the directory since this handle opened it:
    /// saving now would drop that writer's points.
    #[error("{dir}: another writer saved generation {found} after this index was opened at generation {opened}; reopen it")]
    Stale {
        /// The index directory.
        dir: PathBuf,
        /// The generation this handle opened or last saved.
        opened: u64,
        /// The generation the directory holds now.
        found: u64,
    },
    /// A malformed `.npy` file.
    #[error("bad .npy file: {0}")]
    BadNpy(String),
}

impl IndexError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        Self::Corrupt(message.into())
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
