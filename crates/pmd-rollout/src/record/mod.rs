//! Trajectories on disk: Apache Arrow IPC stream files written batch by
//! batch (zstd-compressed bodies, each batch flushed whole, so a run
//! killed with SIGKILL leaves a file readable up to its last flush), a
//! reader that checks the schema version and bounds what it allocates,
//! Parquet export and episode extraction for replays.
//!
//! Schema version 2.0 (one row per environment step; README.md shows it
//! too):
//!
//! | column | type | meaning |
//! |--------|------|---------|
//! | `run_id` | utf8 | the run |
//! | `env` | uint32 | environment index |
//! | `episode` | uint64 | episode of that environment |
//! | `step` | uint32 | step within the episode (a rolled-back step and its retry share it) |
//! | `seed` | uint32 | the episode's dungeon seed |
//! | `floor`, `x`, `y` | uint8 | the leader after the step |
//! | `hp`, `max_hp`, `belly` | int16 | the leader after the step |
//! | `action` | utf8 | the action taken (`move_up`, …) |
//! | `action_id` | uint8 | its dense index |
//! | `legal_actions` | uint32 | the legal actions it was chosen among, bit i = action i |
//! | `reward` | float32 | reward of the step |
//! | `terminated` | bool | the step ended the episode by the game's outcome |
//! | `truncated` | bool | the step cut the episode short |
//! | `reason` | utf8, null unless the episode ended | `fainted`, `cleared`, `left_dungeon`, `step_limit`, `frame_cap`, `step_error`, `panic` |
//! | `rolled_back` | bool | the step failed and was undone: not a transition, and readers skip it by default, unless it also ends the episode (`truncated`, reason `step_error`, `panic` or `frame_cap`: the episode was given up there, and that row is its last) |
//! | `obs` | fixed_size_list<float32>[2395] | the observation the action was chosen on (`rollout::obs`; version 3 added the coarse map, the ways, the stairs, bag and reach scalars to version 2's 1,804) |
//! | `frame` | fixed_size_list<uint8>[9600] | optional: the 120x80 grey frame it was chosen on |
//!
//! Schema metadata: `pmd_agent.schema_version` (`3.0`; readers refuse
//! another major version), `pmd_agent.run_id`, `pmd_agent.rom_crc32`,
//! `pmd_agent.rom_title`, `pmd_agent.game_code`, `pmd_agent.policy`,
//! `pmd_agent.run_seed`, `pmd_agent.start` (`boot` or `state:<crc32 of the
//! savestate file>`), `pmd_agent.seed_scope`, `pmd_agent.autoreset`
//! (`same_step`).

mod episode;
mod export;
mod reader;
mod schema;
pub mod stream;
mod writer;

pub use episode::{episode_actions, EpisodeRecord};
pub use export::export_parquet;
pub use reader::{
    read_trajectories, read_trajectories_with, ReadOptions, Trajectories, TrajectoryStream,
};
pub use schema::{schema, RunMeta, SCHEMA_VERSION};
pub use writer::{valid_run_id, TrajectoryWriter, DEFAULT_BATCH_ROWS, MAX_RUN_ID_LEN};

/// The most decoded bytes one record batch may take: the writer keeps its
/// batches under it and the reader refuses files that state more.
pub const MAX_BATCH_BYTES: usize = 256 << 20;

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
    /// The file has a schema version this build does not read.
    #[error("{path}: trajectory schema version {found} is not supported (this build reads {}.x; re-record it, or read it with the pmd-agent that wrote it)", SCHEMA_VERSION.0)]
    Version {
        /// The file.
        path: String,
        /// The version found.
        found: String,
    },
    /// A run id that cannot name a file.
    #[error(
        "run id {0:?} must be 1 to 128 letters, digits, '.', '_' or '-' (not starting with '.')"
    )]
    BadRunId(String),
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
