//! mhnsw: a memory-mapped HNSW index of vectors with small fixed-size
//! metadata records.
//!
//! An [`Index`] lives in a directory: a base segment file that is opened
//! by memory map (graph and vectors read in place, no work proportional to
//! the number of points, pages shared between processes) and an in-memory
//! delta of points added since the last compaction. The index knows no
//! game: what a vector means (pmd-agent embeds game states) is its user's.
//!
//! **Depends on** pmd-util only (atomic writes). Its one `unsafe` is the
//! memory map (`mmap`); the rest of the crate denies it.
//!
//! ```
//! use mhnsw::{Index, IndexConfig, Metric, PointMeta, SearchParams};
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

#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]
#[cfg(target_endian = "big")]
compile_error!(
    "index files are little-endian and mapped in place: big-endian hosts are not supported"
);

mod build;
mod distance;
mod error;
pub mod format;
mod index;
mod meta;
mod metric;
mod mmap;
pub mod npy;
mod search;
mod segment;
mod store;

pub use build::BuildParams;
pub use error::{IndexError, Result};
pub use index::{
    Index, IndexConfig, IndexStats, Neighbor, SearchParams, Verify, EXACT_THRESHOLD,
    VERIFY_AUTO_MAX_BYTES,
};
pub use meta::{PointMeta, META_BYTES};
pub use metric::Metric;
pub use store::{LOCK, MANIFEST};
