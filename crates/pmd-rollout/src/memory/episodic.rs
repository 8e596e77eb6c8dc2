//! [`EpisodicMemory`]: the vector memory as an agent uses it every step.
//!
//! Each round the runner hands it the batch just produced. It embeds the
//! state every environment reached (the terminal observation when the step
//! ended an episode) in one batch, asks the index how novel each is — the
//! distance to its `k`-th nearest remembered state — and adds the states.
//!
//! **Novelty bonus** (added to the step's reward when the run has a
//! memory): `beta × min(novelty, 1)`, where novelty is the inner-product
//! distance `1 − cos` of the embedding to its `k`-th neighbour (`1` while
//! the memory holds fewer than `k` states). Embeddings are unit vectors,
//! so the distance lies in `[0, 2]`; capping at 1 keeps an unrelated state
//! from outweighing a floor. With the default `beta = 0.05` a completely
//! new state is worth a twentieth of a floor: enough to prefer unexplored
//! corridors, too little to prefer them to the stairs.
//!
//! At the end of a run the memory is compacted into a new base segment,
//! which the next run maps (a warm start: nothing proportional to the
//! points is read or rebuilt). Between, the states added so far are saved
//! as a delta file every [`MemoryConfig::save_every`], so a run that is
//! killed loses at most that much. The memory holds the directory's
//! writer lock from [`EpisodicMemory::open`] to the end of the run: a
//! second run on the same directory fails at once.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::embed::{embed_batch, EMBED_DIM};
use crate::{obs, ObsBatch, StepInfo};
use mhnsw::{Index, IndexConfig, IndexError, Metric, PointMeta, SearchParams};
use pmd_game::env::EndReason;

/// Settings of an [`EpisodicMemory`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryConfig {
    /// Weight of the novelty bonus.
    pub beta: f32,
    /// Which neighbour's distance is the novelty.
    pub k: usize,
    /// Search effort.
    pub search: SearchParams,
    /// How often the states added so far are saved (the whole delta, one
    /// file written atomically); `None` saves only at the end of the run.
    pub save_every: Option<Duration>,
}

/// The default of [`MemoryConfig::save_every`].
pub const DEFAULT_SAVE_EVERY: Duration = Duration::from_secs(30);

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            beta: 0.05,
            k: 10,
            search: SearchParams {
                ef: 32,
                // f32 traversal: on recorded game states (runs of
                // near-duplicates) int8 rounding costs recall — at ef 10
                // f32 found 0.969 of the true neighbours against int8's
                // 0.875, and ran 1.34x faster at equal recall (BENCHMARKS.md,
                // "Real state embeddings").
                quantized: false,
                ..SearchParams::default()
            },
            save_every: Some(DEFAULT_SAVE_EVERY),
        }
    }
}

/// What a run's memory did (part of `run --json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MemoryReport {
    /// States remembered when the run started.
    pub points_at_start: u64,
    /// Of those, how many were memory-mapped (a warm start maps them all).
    pub mapped_at_start: u64,
    /// States remembered at the end.
    pub points_at_end: u64,
    /// Mean novelty bonus per step.
    pub mean_bonus: f64,
}

/// The outcome code stored with a state: 0 while the episode runs, else
/// 1 + the end reason's position in [`EndReason::ALL`].
pub fn outcome_code(reason: Option<EndReason>) -> u8 {
    reason
        .and_then(|r| EndReason::ALL.iter().position(|x| *x == r))
        .map_or(0, |i| i as u8 + 1)
}

/// A run's vector memory.
pub struct EpisodicMemory {
    index: Index,
    config: MemoryConfig,
    run: u64,
    states: Vec<f32>,
    embeddings: Vec<f32>,
    metas: Vec<PointMeta>,
    rows: Vec<usize>,
    bonus: Vec<f32>,
    report: MemoryReport,
    bonus_sum: f64,
    bonus_count: u64,
    last_save: Instant,
}

impl std::fmt::Debug for EpisodicMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpisodicMemory")
            .field("dir", &self.index.dir())
            .field("points", &self.index.len())
            .finish()
    }
}

impl EpisodicMemory {
    /// Opens the memory in `dir` (mapping what an earlier run left there)
    /// or creates it, and takes its writer lock; `run_id` tags the states
    /// this run adds.
    pub fn open(dir: &Path, run_id: &str, config: MemoryConfig) -> Result<Self, IndexError> {
        let mut index =
            Index::open_or_create(dir, IndexConfig::new(EMBED_DIM, Metric::InnerProduct))?;
        if index.dim() != EMBED_DIM || index.metric() != Metric::InnerProduct {
            return Err(IndexError::InvalidParameter(format!(
                "{} holds {}-dimensional {:?} vectors, not the agent's {EMBED_DIM}-dimensional inner-product embeddings",
                dir.display(),
                index.dim(),
                index.metric()
            )));
        }
        index.lock()?;
        let report = MemoryReport {
            points_at_start: index.len() as u64,
            mapped_at_start: index.mapped_points() as u64,
            ..MemoryReport::default()
        };
        Ok(EpisodicMemory {
            index,
            config,
            run: u64::from(crc32fast::hash(run_id.as_bytes())),
            states: Vec::new(),
            embeddings: Vec::new(),
            metas: Vec::new(),
            rows: Vec::new(),
            bonus: Vec::new(),
            report,
            bonus_sum: 0.0,
            bonus_count: 0,
            last_save: Instant::now(),
        })
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Remembers the states the last step reached and returns each
    /// environment's novelty bonus (0 for quarantined and rolled-back
    /// ones, whose step was no transition).
    pub fn observe(
        &mut self,
        batch: &ObsBatch<'_>,
        infos: &[StepInfo],
    ) -> Result<&[f32], IndexError> {
        let n = batch.len();
        self.states.clear();
        self.metas.clear();
        self.bonus.clear();
        self.bonus.resize(n, 0.0);
        self.rows.clear();
        for (i, info) in infos.iter().enumerate().take(n) {
            if info.quarantined || info.rolled_back {
                continue;
            }
            let row = if info.done() {
                batch.final_row(i)
            } else {
                batch.row(i)
            };
            self.states.extend_from_slice(&row[..obs::FEATURES]);
            self.metas.push(PointMeta {
                run: self.run,
                episode: info.episode,
                step: info.step,
                env: i as u32,
                floor: info.state.floor,
                outcome: outcome_code(info.reason),
            });
            self.rows.push(i);
        }
        if self.rows.is_empty() {
            return Ok(&self.bonus);
        }
        self.embeddings.resize(self.rows.len() * EMBED_DIM, 0.0);
        embed_batch(&self.states, &mut self.embeddings)?;
        let novelty =
            self.index
                .novelty_batch(&self.embeddings, self.config.k, &self.config.search)?;
        for (&i, novelty) in self.rows.iter().zip(novelty) {
            let bonus = self.config.beta * novelty.unwrap_or(1.0).clamp(0.0, 1.0);
            self.bonus[i] = bonus;
            self.bonus_sum += f64::from(bonus);
            self.bonus_count += 1;
        }
        self.index.add(&self.embeddings, &self.metas)?;
        if let Some(every) = self.config.save_every {
            if self.last_save.elapsed() >= every {
                self.index.save()?;
                self.last_save = Instant::now();
            }
        }
        Ok(&self.bonus)
    }

    /// Folds what this run added into a new mapped base (what the next
    /// run opens) and returns the report.
    pub fn finish(mut self) -> Result<MemoryReport, IndexError> {
        if self.index.delta_points() > 0 {
            self.index.compact()?;
        }
        Ok(self.report())
    }

    /// The report so far.
    pub fn report(&self) -> MemoryReport {
        MemoryReport {
            points_at_end: self.index.len() as u64,
            mean_bonus: if self.bonus_count > 0 {
                self.bonus_sum / self.bonus_count as f64
            } else {
                0.0
            },
            ..self.report
        }
    }
}
