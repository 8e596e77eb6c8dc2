//! Trajectories on disk: Apache Arrow IPC stream files written batch by
//! batch (each batch flushed whole, so a run killed with SIGKILL leaves a
//! file readable up to its last flush), a tolerant reader, Parquet export
//! and episode extraction for replays.
//!
//! Schema (one row per environment step; README.md shows it too):
//!
//! | column | type | meaning |
//! |--------|------|---------|
//! | `run_id` | utf8 | the run |
//! | `env` | uint32 | environment index |
//! | `episode` | uint64 | episode of that environment |
//! | `step` | uint32 | step within the episode |
//! | `seed` | uint32 | the episode's dungeon seed |
//! | `floor`, `x`, `y` | uint8 | the leader after the step |
//! | `hp`, `max_hp`, `belly` | int16 | the leader after the step |
//! | `action` | utf8 | the action taken (`move_up`, …) |
//! | `action_id` | uint8 | its dense index |
//! | `reward` | float32 | reward of the step |
//! | `done` | bool | the step ended the episode |
//! | `failed` | bool | the step failed and was rolled back |
//! | `obs` | fixed_size_list<float32>[1804] | the observation the action was chosen on |
//! | `frame` | fixed_size_list<uint8>[9600] | optional: the 120x80 grey frame it was chosen on |
//!
//! Schema metadata: `pmd_agent.rom_crc32`, `pmd_agent.rom_title`,
//! `pmd_agent.game_code`, `pmd_agent.policy`, `pmd_agent.run_seed`,
//! `pmd_agent.start` (`boot` or `state:<crc32 of the savestate file>`).

mod episode;
mod export;
mod reader;
mod schema;
mod writer;

pub use episode::{episode_actions, EpisodeRecord};
pub use export::export_parquet;
pub use reader::{read_trajectories, Trajectories};
pub use schema::{schema, RunMeta};
pub use writer::{TrajectoryWriter, DEFAULT_BATCH_ROWS};

/// Why a trajectory file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The reason.
        source: std::io::Error,
    },
    /// Arrow could not encode or decode.
    #[error("{path}: {source}")]
    Arrow {
        /// The file.
        path: String,
        /// The reason.
        source: arrow_schema::ArrowError,
    },
    /// The file is not a pmd-agent trajectory file.
    #[error("{path}: not a pmd-agent trajectory file ({reason})")]
    NotTrajectories {
        /// The file.
        path: String,
        /// What is missing.
        reason: String,
    },
    /// The asked-for episode is not in the file.
    #[error("{path}: no rows for env {env}, episode {episode}")]
    NoSuchEpisode {
        /// The file.
        path: String,
        /// Environment index.
        env: u32,
        /// Episode.
        episode: u64,
    },
}
