//! [`TrajectoryWriter`]: rows accumulated in column buffers, written as
//! zstd-compressed record batches and flushed every `batch_rows` rows.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int16Array, RecordBatch, StringArray,
    UInt32Array, UInt64Array, UInt8Array,
};
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_ipc::CompressionType;
use arrow_schema::{DataType, Field, Schema};

use super::schema::max_row_bytes;
use super::{schema, RecordError, RunMeta, MAX_BATCH_BYTES};
use crate::{frames, obs, ObsBatch, StepInfo};
use pmd_game::env::Action;

/// Default rows per record batch.
pub const DEFAULT_BATCH_ROWS: usize = 2048;

/// Longest run id (it names the file).
pub const MAX_RUN_ID_LEN: usize = 128;

#[derive(Default)]
struct Columns {
    env: Vec<u32>,
    episode: Vec<u64>,
    step: Vec<u32>,
    seed: Vec<u32>,
    floor: Vec<u8>,
    hp: Vec<i16>,
    max_hp: Vec<i16>,
    belly: Vec<i16>,
    x: Vec<u8>,
    y: Vec<u8>,
    action: Vec<&'static str>,
    action_id: Vec<u8>,
    legal: Vec<u32>,
    reward: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    reason: Vec<Option<&'static str>>,
    rolled_back: Vec<bool>,
    obs: Vec<f32>,
    frame: Vec<u8>,
}

impl Columns {
    fn len(&self) -> usize {
        self.env.len()
    }
}

/// Writes one run's steps to an Arrow IPC stream file.
///
/// Each round of a rollout is two calls: [`begin_round`](Self::begin_round)
/// with the batch the actions are chosen on (its observations are copied
/// straight into the column buffers, the only copy), then
/// [`end_round`](Self::end_round) with the actions and what the steps did.
pub struct TrajectoryWriter {
    path: PathBuf,
    schema: Arc<Schema>,
    writer: Option<StreamWriter<BufWriter<File>>>,
    meta: RunMeta,
    with_frames: bool,
    batch_rows: usize,
    columns: Columns,
    /// Which environments `begin_round` recorded, to pair rows with steps.
    pending: Vec<usize>,
    rows: u64,
}

impl std::fmt::Debug for TrajectoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrajectoryWriter")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

/// Whether `id` can name a run (and a file): 1 to 128 characters of
/// letters, digits, `.`, `_` and `-`, not starting with `.`.
pub fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_RUN_ID_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl TrajectoryWriter {
    /// Creates `dir/<run_id>.arrows` (creating `dir` if needed). Batches
    /// hold at most `batch_rows` rows, and never more than fit in
    /// [`MAX_BATCH_BYTES`] decoded (the bound readers enforce).
    pub fn create(
        dir: &Path,
        meta: RunMeta,
        with_frames: bool,
        batch_rows: usize,
    ) -> Result<Self, RecordError> {
        if !valid_run_id(&meta.run_id) {
            return Err(RecordError::BadRunId(meta.run_id));
        }
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| RecordError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(format!("{}.arrows", meta.run_id));
        let file = File::create_new(&path).map_err(io(&path))?;
        // The new file's name must outlive a crash like its batches do.
        pmd_util::atomic_file::sync_dir(dir).map_err(io(dir))?;
        let schema = Arc::new(schema(&meta, with_frames));
        let arrow = |source| RecordError::Arrow {
            path: path.display().to_string(),
            source,
        };
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::ZSTD))
            .map_err(arrow)?;
        let writer = StreamWriter::try_new_with_options(BufWriter::new(file), &schema, options)
            .map_err(arrow)?;
        let most = (MAX_BATCH_BYTES / max_row_bytes(&schema)).max(1);
        Ok(TrajectoryWriter {
            path,
            schema,
            writer: Some(writer),
            meta,
            with_frames,
            batch_rows: batch_rows.clamp(1, most),
            columns: Columns::default(),
            pending: Vec::new(),
            rows: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written or buffered so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.columns.len() as u64
    }

    /// Records the observations the round's actions are chosen on, for
    /// every active environment of `batch`.
    pub fn begin_round(&mut self, batch: &ObsBatch<'_>) {
        self.pending.clear();
        let c = &mut self.columns;
        for i in (0..batch.len()).filter(|&i| batch.active[i]) {
            self.pending.push(i);
            c.obs.extend_from_slice(batch.row(i));
            c.legal.push(batch.mask(i).bits());
            if self.with_frames {
                match batch.frame(i) {
                    Some(f) => c.frame.extend_from_slice(f),
                    None => c.frame.extend(std::iter::repeat_n(0, frames::LEN)),
                }
            }
        }
    }

    /// Completes the rows of the round begun with
    /// [`begin_round`](Self::begin_round): the actions and what the steps
    /// did (`infos`, one per environment).
    /// A batch is written as soon as it holds `batch_rows` rows, in the
    /// middle of a round if need be, so no batch ever exceeds the bound
    /// readers enforce, however many environments a round has.
    pub fn end_round(&mut self, actions: &[Action], infos: &[StepInfo]) -> Result<(), RecordError> {
        for k in 0..self.pending.len() {
            let i = self.pending[k];
            let (Some(action), Some(info)) = (actions.get(i), infos.get(i)) else {
                // The observations of the remaining rows are buffered:
                // leaving any row out would pair them with the wrong steps.
                return Err(RecordError::Io {
                    path: self.path.display().to_string(),
                    source: std::io::Error::other(format!(
                        "end_round: no action or step info for environment {i} ({} actions, {} infos)",
                        actions.len(),
                        infos.len()
                    )),
                });
            };
            let c = &mut self.columns;
            c.env.push(i as u32);
            c.episode.push(info.episode);
            c.step.push(info.step);
            c.seed.push(info.seed);
            c.floor.push(info.state.floor);
            c.hp.push(info.state.hp);
            c.max_hp.push(info.state.max_hp);
            c.belly.push(info.state.belly);
            c.x.push(info.state.x);
            c.y.push(info.state.y);
            c.action.push(action.name());
            c.action_id.push(action.index() as u8);
            c.reward.push(info.reward);
            c.terminated.push(info.terminated);
            c.truncated.push(info.truncated);
            c.reason.push(info.reason.map(|r| r.code()));
            c.rolled_back.push(info.rolled_back);
            if self.columns.len() >= self.batch_rows {
                self.flush()?;
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Writes the buffered rows as one record batch and flushes the file.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        if self.columns.len() == 0 {
            return Ok(());
        }
        let mut columns = std::mem::take(&mut self.columns);
        let n = columns.len();
        // Observations `begin_round` buffered for rows `end_round` has not
        // completed yet stay for the next batch.
        self.columns.obs = columns.obs.split_off(n * obs::FEATURES);
        self.columns.legal = columns.legal.split_off(n);
        if self.with_frames {
            self.columns.frame = columns.frame.split_off(n * frames::LEN);
        }
        let rows = n as u64;
        let path = self.path.display().to_string();
        let batch = self.batch(columns).map_err(|source| RecordError::Arrow {
            path: path.clone(),
            source,
        })?;
        let writer = self.writer.as_mut().ok_or_else(|| RecordError::Io {
            path: path.clone(),
            source: std::io::Error::other("writer already finished"),
        })?;
        writer.write(&batch).map_err(|source| RecordError::Arrow {
            path: path.clone(),
            source,
        })?;
        writer
            .flush()
            .map_err(|source| RecordError::Arrow { path, source })?;
        self.rows += rows;
        Ok(())
    }

    /// Moves the buffered columns into a record batch (no copies of the
    /// numeric columns).
    fn batch(&self, c: Columns) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let n = c.len();
        let list = |values: ArrayRef, width: usize, inner: DataType| {
            FixedSizeListArray::try_new(
                Arc::new(Field::new("item", inner, false)),
                width as i32,
                values,
                None,
            )
        };
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![self.meta.run_id.as_str(); n])),
            Arc::new(UInt32Array::from(c.env)),
            Arc::new(UInt64Array::from(c.episode)),
            Arc::new(UInt32Array::from(c.step)),
            Arc::new(UInt32Array::from(c.seed)),
            Arc::new(UInt8Array::from(c.floor)),
            Arc::new(Int16Array::from(c.hp)),
            Arc::new(Int16Array::from(c.max_hp)),
            Arc::new(Int16Array::from(c.belly)),
            Arc::new(UInt8Array::from(c.x)),
            Arc::new(UInt8Array::from(c.y)),
            Arc::new(StringArray::from(c.action)),
            Arc::new(UInt8Array::from(c.action_id)),
            Arc::new(UInt32Array::from(c.legal)),
            Arc::new(Float32Array::from(c.reward)),
            Arc::new(BooleanArray::from(c.terminated)),
            Arc::new(BooleanArray::from(c.truncated)),
            Arc::new(StringArray::from(c.reason)),
            Arc::new(BooleanArray::from(c.rolled_back)),
            Arc::new(list(
                Arc::new(Float32Array::from(c.obs)),
                obs::FEATURES,
                DataType::Float32,
            )?),
        ];
        if self.with_frames {
            columns.push(Arc::new(list(
                Arc::new(UInt8Array::from(c.frame)),
                frames::LEN,
                DataType::UInt8,
            )?));
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
    }

    /// Writes what is buffered and closes the stream (end-of-stream mark).
    pub fn finish(mut self) -> Result<u64, RecordError> {
        self.flush()?;
        if let Some(mut writer) = self.writer.take() {
            let path = self.path.display().to_string();
            writer
                .finish()
                .map_err(|source| RecordError::Arrow { path, source })?;
        }
        Ok(self.rows)
    }
}

impl Drop for TrajectoryWriter {
    fn drop(&mut self) {
        // Best effort on an early exit: keep what is buffered.
        if self.writer.is_some() {
            if let Err(e) = self.flush() {
                tracing::warn!(error = %e, "could not flush the trajectory file");
            }
            if let Some(mut writer) = self.writer.take() {
                let _ = writer.finish();
            }
        }
    }
}
