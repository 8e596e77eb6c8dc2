//! Reading trajectory files back: the schema version is checked, what is
//! allocated is bounded ([`super::stream`]), rolled-back rows are skipped
//! unless asked for, and a torn last batch (a run killed mid-write) is
//! reported, not fatal: every complete batch is returned.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use arrow_select::filter::filter_record_batch;

use super::schema::{version_of, SCHEMA_VERSION};
use super::stream::BoundedStreamReader;
use super::{RecordError, RunMeta};

/// What to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Keep the rows of steps that failed and were rolled back (they are
    /// not transitions; skipped by default).
    pub include_rolled_back: bool,
}

/// The complete batches of a trajectory file.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// The file's schema.
    pub schema: SchemaRef,
    /// The run's metadata.
    pub meta: RunMeta,
    /// Every complete record batch, in order (filtered as asked).
    pub batches: Vec<RecordBatch>,
    /// Rows left out because they were rolled back.
    pub rolled_back_rows: usize,
    /// Why reading stopped before a clean end of stream, if it did (a
    /// killed run leaves a torn last batch or no end-of-stream mark).
    pub torn: Option<String>,
}

impl Trajectories {
    /// Rows in all (kept) batches.
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Reads the trajectory file at `path`, skipping rolled-back rows.
pub fn read_trajectories(path: &Path) -> Result<Trajectories, RecordError> {
    read_trajectories_with(path, ReadOptions::default())
}

/// Reads the trajectory file at `path`.
pub fn read_trajectories_with(
    path: &Path,
    options: ReadOptions,
) -> Result<Trajectories, RecordError> {
    let mut stream = TrajectoryStream::open(path, options)?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next_batch()? {
        batches.push(batch);
    }
    Ok(Trajectories {
        schema: stream.schema,
        meta: stream.meta,
        batches,
        rolled_back_rows: stream.rolled_back_rows,
        torn: stream.torn,
    })
}

/// A trajectory file read one record batch at a time (each bounded by the
/// reader, see [`super::stream`]): for readers that stop early, e.g. after
/// as many rows as they need, without decoding the rest of the file.
pub struct TrajectoryStream {
    reader: BoundedStreamReader<BufReader<File>>,
    options: ReadOptions,
    shown: String,
    /// The file's schema.
    pub schema: SchemaRef,
    /// The run's metadata.
    pub meta: RunMeta,
    /// Rows left out so far because they were rolled back.
    pub rolled_back_rows: usize,
    /// Why reading stopped before a clean end of stream, once it has (a
    /// killed run leaves a torn last batch or no end-of-stream mark).
    pub torn: Option<String>,
}

impl std::fmt::Debug for TrajectoryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrajectoryStream")
            .field("path", &self.shown)
            .field("rolled_back_rows", &self.rolled_back_rows)
            .field("torn", &self.torn)
            .finish()
    }
}

impl TrajectoryStream {
    /// Opens `path` and checks its schema (version, metadata, columns).
    pub fn open(path: &Path, options: ReadOptions) -> Result<TrajectoryStream, RecordError> {
        let shown = path.display().to_string();
        let not_ours = |reason: String| RecordError::NotTrajectories {
            path: shown.clone(),
            reason,
        };
        let file = File::open(path).map_err(|source| RecordError::Io {
            path: shown.clone(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| RecordError::Io {
                path: shown.clone(),
                source,
            })?
            .len();
        let reader =
            BoundedStreamReader::new(BufReader::new(file), len).map_err(|e| not_ours(e.0))?;
        let schema = reader.schema();
        match version_of(schema.metadata()) {
            None => {
                return Err(RecordError::Version {
                    path: shown,
                    found: "1 (no version in its metadata)".into(),
                })
            }
            Some(Err(text)) => {
                return Err(RecordError::Version {
                    path: shown,
                    found: text,
                })
            }
            Some(Ok((major, _))) if major != SCHEMA_VERSION.0 => {
                return Err(RecordError::Version {
                    path: shown,
                    found: format!("{major}.x"),
                })
            }
            Some(Ok(_)) => {}
        }
        let meta = RunMeta::from_map(schema.metadata())
            .ok_or_else(|| not_ours("no pmd_agent metadata in the schema".into()))?;
        for column in [
            "env",
            "episode",
            "step",
            "seed",
            "action_id",
            "floor",
            "hp",
            "x",
            "y",
            "rolled_back",
            "terminated",
            "truncated",
        ] {
            if schema.field_with_name(column).is_err() {
                return Err(not_ours(format!("no {column} column")));
            }
        }
        Ok(TrajectoryStream {
            reader,
            options,
            shown,
            schema,
            meta,
            rolled_back_rows: 0,
            torn: None,
        })
    }

    /// The next batch (filtered as asked), or `None` at the end of the
    /// stream or at a torn tail (then [`torn`](Self::torn) says why).
    pub fn next_batch(&mut self) -> Result<Option<RecordBatch>, RecordError> {
        if self.torn.is_some() {
            return Ok(None);
        }
        match self.reader.next_batch() {
            Ok(Some(batch)) if self.options.include_rolled_back => Ok(Some(batch)),
            Ok(Some(batch)) => {
                let (kept, dropped) =
                    without_rolled_back(batch).map_err(|reason| RecordError::NotTrajectories {
                        path: self.shown.clone(),
                        reason,
                    })?;
                self.rolled_back_rows += dropped;
                Ok(Some(kept))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.torn = Some(e.0);
                Ok(None)
            }
        }
    }
}

/// The batch without its rolled-back rows, and how many were dropped.
fn without_rolled_back(batch: RecordBatch) -> Result<(RecordBatch, usize), String> {
    let flag = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_boolean_opt())
            .ok_or(format!("{name} is not a boolean column"))
    };
    let rolled_back = flag("rolled_back")?;
    if rolled_back.true_count() == 0 {
        return Ok((batch, 0));
    }
    // A failed step that ends its episode (given up: `step_error`,
    // `panic`, `frame_cap`) is the episode's last row and stays; only the
    // undone steps the episode went on after are dropped.
    let ended = arrow_arith::boolean::or(flag("terminated")?, flag("truncated")?)
        .map_err(|e| e.to_string())?;
    let keep = arrow_arith::boolean::or(
        &arrow_arith::boolean::not(rolled_back).map_err(|e| e.to_string())?,
        &ended,
    )
    .map_err(|e| e.to_string())?;
    let dropped = batch.num_rows() - keep.true_count();
    let kept = filter_record_batch(&batch, &keep).map_err(|e| e.to_string())?;
    Ok((kept, dropped))
}
