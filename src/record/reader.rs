//! Reading trajectory files back, tolerant of a torn last batch (a run
//! killed mid-write): every complete batch is returned and the damage is
//! reported, not fatal.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::SchemaRef;

use super::{RecordError, RunMeta};

/// The complete batches of a trajectory file.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// The file's schema.
    pub schema: SchemaRef,
    /// The run's metadata.
    pub meta: RunMeta,
    /// Every complete record batch, in order.
    pub batches: Vec<RecordBatch>,
    /// Why reading stopped before a clean end of stream, if it did (a
    /// killed run leaves a torn last batch or no end-of-stream mark).
    pub torn: Option<String>,
}

impl Trajectories {
    /// Rows in all complete batches.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Reads the trajectory file at `path`.
pub fn read_trajectories(path: &Path) -> Result<Trajectories, RecordError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| RecordError::Io {
        path: shown.clone(),
        source,
    })?;
    let reader = StreamReader::try_new(BufReader::new(file), None).map_err(|e| {
        RecordError::NotTrajectories {
            path: shown.clone(),
            reason: e.to_string(),
        }
    })?;
    let schema = reader.schema();
    let meta =
        RunMeta::from_map(schema.metadata()).ok_or_else(|| RecordError::NotTrajectories {
            path: shown.clone(),
            reason: "no pmd_agent metadata in the schema".into(),
        })?;
    for column in [
        "env", "episode", "step", "seed", "action", "floor", "hp", "x", "y",
    ] {
        if schema.field_with_name(column).is_err() {
            return Err(RecordError::NotTrajectories {
                path: shown,
                reason: format!("no {column} column"),
            });
        }
    }
    let mut batches = Vec::new();
    let mut torn = None;
    for batch in reader {
        match batch {
            Ok(b) => batches.push(b),
            Err(e) => {
                torn = Some(e.to_string());
                break;
            }
        }
    }
    Ok(Trajectories {
        schema,
        meta,
        batches,
        torn,
    })
}
