//! The agent's episodic memory on the [`mhnsw`] index: the embedding of an
//! observation ([`embed`]), the memory a run consults and feeds every step
//! ([`EpisodicMemory`]) and indexes built from recorded trajectories
//! ([`trajectories`]). The index itself knows no game; this is where game
//! states become its vectors and metadata.

pub mod embed;
mod episodic;
pub mod trajectories;

pub use episodic::{outcome_code, EpisodicMemory, MemoryConfig, MemoryReport, DEFAULT_SAVE_EVERY};
