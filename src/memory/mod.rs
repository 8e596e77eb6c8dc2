//! The vector memory: the [`mhnsw`] index (re-exported whole), the agent's
//! episodic memory over it (from pmd-rollout: [`EpisodicMemory`],
//! [`embed`], [`trajectories`]) and [`bench`](mod@bench), which measures
//! the index the way the FAISS script measures FAISS.

pub mod bench;

pub use mhnsw::*;
pub use pmd_rollout::memory::*;
