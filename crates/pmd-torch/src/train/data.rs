//! Behaviour-cloning rows from recorded trajectories (`run --record`):
//! each step's observation (`obs`), the actions legal when it was chosen
//! (`legal_actions`, bit i = action i) and the action taken
//! (`action_id`). Rolled-back rows are not transitions: the reader skips
//! them. Rows whose action was not legal under their mask are skipped and
//! counted by the dataset.
//!
//! Each row also gets its value target within its episode (`reward`,
//! `terminated`/`truncated`, grouped by `env` and `episode`): the
//! discounted return-to-go when the episode ended for good; when it was
//! cut (a truncation, or the end of the recording) the rewards up to its
//! last row and then, as PPO does, the network's own value of the state
//! it was cut in (that last row's observation, which stands for everything
//! from there on; see [`ValueTarget`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::{Array, RecordBatch};

use super::bc::{BcDataset, ValueTarget};
use super::TrainError;
use pmd_game::env::{ActionMask, ACTION_COUNT};
use pmd_game::obs;
use pmd_rollout::record::{ReadOptions, TrajectoryStream};

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Trajectory files read.
    pub files: usize,
    /// Rows read (rolled-back ones excluded).
    pub rows: usize,
    /// Rolled-back rows the reader left out.
    pub rolled_back: usize,
    /// Files with a torn tail (a killed run): their complete batches were
    /// used.
    pub torn: usize,
}

fn bad(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Invalid(format!("{}: {}", path.display(), reason.into()))
}

/// One file's columns, row by row.
#[derive(Default)]
struct FileRows {
    obs: Vec<f32>,
    legal: Vec<u32>,
    actions: Vec<u8>,
    rewards: Vec<f32>,
    ends: Vec<bool>,
    /// The episode ended for good (not cut by a limit).
    terminal: Vec<bool>,
    keys: Vec<(u32, u64)>,
}

/// A row's value target within its file: the discounted rewards `partial`,
/// then `tail` times the value of the observation of row `cut` (the last
/// row of an episode that was cut short; `tail` 0 and no row when it ended
/// for good).
#[derive(Debug, Clone, Copy, PartialEq)]
struct FileTarget {
    partial: f32,
    tail: f32,
    cut: Option<usize>,
}

impl FileRows {
    /// Rows read so far.
    fn len(&self) -> usize {
        self.actions.len()
    }

    fn read(&mut self, path: &Path, batch: &RecordBatch) -> Result<(), TrainError> {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| bad(path, format!("no {name} column")))
        };
        let obs_col = col("obs")?
            .as_fixed_size_list_opt()
            .ok_or_else(|| bad(path, "obs is not a fixed-size list"))?;
        if obs_col.value_length() as usize != obs::FEATURES {
            return Err(bad(path, "obs rows are not observations"));
        }
        let values = obs_col
            .values()
            .as_primitive_opt::<Float32Type>()
            .ok_or_else(|| bad(path, "obs is not float32"))?;
        let legal = col("legal_actions")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| bad(path, "legal_actions is not uint32"))?;
        let actions = col("action_id")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| bad(path, "action_id is not uint8"))?;
        let rewards = col("reward")?
            .as_primitive_opt::<Float32Type>()
            .ok_or_else(|| bad(path, "reward is not float32"))?;
        let terminated = col("terminated")?
            .as_boolean_opt()
            .ok_or_else(|| bad(path, "terminated is not boolean"))?;
        let truncated = col("truncated")?
            .as_boolean_opt()
            .ok_or_else(|| bad(path, "truncated is not boolean"))?;
        let envs = col("env")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| bad(path, "env is not uint32"))?;
        let episodes = col("episode")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| bad(path, "episode is not uint64"))?;
        let rows = batch.num_rows();
        let start = obs_col.offset() * obs::FEATURES;
        let states = values
            .values()
            .get(start..start + rows * obs::FEATURES)
            .ok_or_else(|| bad(path, "obs column shorter than its rows"))?;
        for r in 0..rows {
            if legal.is_null(r) || actions.is_null(r) || obs_col.is_null(r) {
                continue;
            }
            self.obs
                .extend_from_slice(&states[r * obs::FEATURES..(r + 1) * obs::FEATURES]);
            self.legal.push(legal.value(r));
            self.actions.push(actions.value(r));
            let reward = if rewards.is_null(r) {
                0.0
            } else {
                rewards.value(r)
            };
            self.rewards
                .push(if reward.is_finite() { reward } else { 0.0 });
            self.ends.push(terminated.value(r) || truncated.value(r));
            self.terminal.push(terminated.value(r));
            self.keys.push((envs.value(r), episodes.value(r)));
        }
        Ok(())
    }

    /// Value targets, each episode on its own (see [`FileTarget`]). An
    /// episode that ended for good counts its rewards to the end; one cut
    /// short (truncated, or still running when the recording ends) is
    /// bootstrapped at its last row: that row's target is its own value,
    /// and each earlier row's is its reward plus γ times the next one's.
    fn targets(&self, gamma: f32) -> Vec<FileTarget> {
        let mut running: HashMap<(u32, u64), FileTarget> = HashMap::new();
        let mut out = Vec::with_capacity(self.rewards.len());
        for i in (0..self.rewards.len()).rev() {
            let next = running.get(&self.keys[i]).filter(|_| !self.ends[i]);
            let t = match next {
                Some(n) => FileTarget {
                    partial: self.rewards[i] + gamma * n.partial,
                    tail: gamma * n.tail,
                    cut: n.cut,
                },
                None if self.terminal[i] => FileTarget {
                    partial: self.rewards[i],
                    tail: 0.0,
                    cut: None,
                },
                None => FileTarget {
                    partial: 0.0,
                    tail: 1.0,
                    cut: Some(i),
                },
            };
            running.insert(self.keys[i], t);
            out.push(t);
        }
        out.reverse();
        out
    }
}

/// Appends every usable row of the trajectory files at `paths` to `data`,
/// with its return-to-go discounted by `gamma`, stopping after `max_rows`
/// rows when given. Files are decoded a record batch at a time and only
/// as far as `max_rows` needs, so memory follows the rows taken, not the
/// files' size.
pub fn load_recordings(
    paths: &[PathBuf],
    data: &mut BcDataset,
    max_rows: Option<usize>,
    gamma: f32,
) -> Result<LoadReport, TrainError> {
    let mut report = LoadReport::default();
    let mut mask = [false; ACTION_COUNT];
    for path in paths {
        if max_rows.is_some_and(|m| data.len() >= m) {
            break;
        }
        let invalid = |e: pmd_rollout::record::RecordError| TrainError::Invalid(e.to_string());
        let mut stream = TrajectoryStream::open(path, ReadOptions::default()).map_err(invalid)?;
        // Decode only what `max_rows` can take: batch by batch, stopping
        // once the rows read cover what is left of it (one batch over at
        // most). An episode still running there is cut there, as at the
        // end of a recording.
        let wanted = max_rows.map(|m| m.saturating_sub(data.len()));
        let mut rows = FileRows::default();
        while wanted.is_none_or(|w| rows.len() < w) {
            match stream.next_batch().map_err(invalid)? {
                Some(batch) => rows.read(path, &batch)?,
                None => break,
            }
        }
        report.files += 1;
        report.rolled_back += stream.rolled_back_rows;
        report.torn += usize::from(stream.torn.is_some());
        let targets = rows.targets(gamma);
        // The bootstrap state of each cut episode, added once.
        let mut states: HashMap<usize, u32> = HashMap::new();
        let obs_of = |r: usize| &rows.obs[r * obs::FEATURES..(r + 1) * obs::FEATURES];
        for (r, t) in targets.iter().enumerate() {
            if max_rows.is_some_and(|m| data.len() >= m) {
                break;
            }
            let state = match t.cut {
                Some(cut) => match states.get(&cut) {
                    Some(&s) => Some(s),
                    None => {
                        let s = data.add_bootstrap_state(obs_of(cut))?;
                        states.insert(cut, s);
                        Some(s)
                    }
                },
                None => None,
            };
            ActionMask::from_bits(rows.legal[r]).write(&mut mask);
            let target = ValueTarget {
                ret: t.partial,
                tail: t.tail,
                state,
            };
            data.push_with_target(obs_of(r), &mask, rows.actions[r], false, target)?;
            report.rows += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_per_episode_and_bootstrap_where_cut() {
        // Two environments interleaved. Env 0's episode 0 terminates at its
        // second row; its episode 1 runs to the end of the recording. Env
        // 1's episode 0 is truncated at its second row.
        let rows = FileRows {
            rewards: vec![1.0, 0.0, 2.0, 5.0, 1.0, 3.0],
            ends: vec![false, false, true, true, false, false],
            terminal: vec![false, false, true, false, false, false],
            keys: vec![(0, 0), (1, 0), (0, 0), (1, 0), (0, 1), (0, 1)],
            ..FileRows::default()
        };
        let g = rows.targets(0.5);
        let t = |partial, tail, cut| FileTarget { partial, tail, cut };
        assert_eq!(
            g,
            [
                // ended for good: the whole return
                t(1.0 + 0.5 * 2.0, 0.0, None),
                // truncated at row 3: its reward, then γ·V(row 3's state)
                t(0.0, 0.5, Some(3)),
                t(2.0, 0.0, None),
                t(0.0, 1.0, Some(3)),
                // cut by the end of the recording at row 5
                t(1.0, 0.5, Some(5)),
                t(0.0, 1.0, Some(5)),
            ]
        );
    }
}
