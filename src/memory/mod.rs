//! The vector memory: a memory-mapped HNSW index of game states.
//!
//! An [`Index`] lives in a directory: a base segment file that is opened
//! by memory map (graph and vectors read in place, no work proportional to
//! the number of points, pages shared between processes) and an in-memory
//! delta of points added since the last compaction. [`embed`] turns an
//! observation into the 128-dimensional vector the agent stores; [`bench`](mod@bench)
//! measures the index the way the FAISS script measures FAISS.
//!
//! ```
//! use pmd_agent::memory::{Index, IndexConfig, Metric, PointMeta, SearchParams};
//!
//! let dir = tempfile::tempdir()?;
//! let dim = 4;
//! let vectors = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.6, 0.8, 0.0, 0.0];
//! let metas = [PointMeta { floor: 1, ..Default::default() }; 3];
//! let mut index = Index::build_from_slices(dir.path(), IndexConfig::new(dim, Metric::InnerProduct), &vectors, &metas)?;
//! let found = index.search(&[0.8, 0.6, 0.0, 0.0], 2, &SearchParams::default())?;
//! assert_eq!(found[0].id, 2);
//! index.add(&[0.0, 0.0, 1.0, 0.0], &[PointMeta::default()])?;
//! index.save()?;
//! let reopened = Index::open(dir.path())?;
//! assert_eq!(reopened.len(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// This module has no `unsafe`: its one memory map is `crate::sys::mmap`.
#[cfg(target_endian = "big")]
compile_error!(
    "index files are little-endian and mapped in place: big-endian hosts are not supported"
);

pub mod bench;
mod build;
mod distance;
pub mod embed;
mod episodic;
mod error;
pub mod format;
mod index;
mod meta;
mod metric;
pub mod npy;
mod search;
mod segment;
mod store;
pub mod trajectories;

pub use build::BuildParams;
pub use episodic::{outcome_code, EpisodicMemory, MemoryConfig, MemoryReport, DEFAULT_SAVE_EVERY};
pub use error::{IndexError, Result};
pub use index::{
    Index, IndexConfig, IndexStats, Neighbor, SearchParams, Verify, EXACT_THRESHOLD,
    VERIFY_AUTO_MAX_BYTES,
};
pub use meta::{PointMeta, META_BYTES};
pub use metric::Metric;
pub use store::{LOCK, MANIFEST};
