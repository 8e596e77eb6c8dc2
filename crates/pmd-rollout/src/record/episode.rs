//! One episode's actions out of a trajectory file, for replays.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int16Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::Array;

use super::{RecordError, Trajectories};
use pmd_game::env::Action;

/// What a replay needs of one recorded step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodeRecord {
    /// The action taken.
    pub action: Action,
    /// Floor after it.
    pub floor: u8,
    /// Leader HP after it.
    pub hp: i16,
    /// Leader x after it.
    pub x: u8,
    /// Leader y after it.
    pub y: u8,
    /// The step failed and was rolled back (a replay skips it: the
    /// environment went back to the state before it).
    pub rolled_back: bool,
}

/// The seed and steps of episode `episode` of environment `env`, in the
/// order they were taken (a rolled-back step comes before its retry; read
/// the file with rolled-back rows to see them).
pub fn episode_actions(
    t: &Trajectories,
    path: &str,
    env: u32,
    episode: u64,
) -> Result<(u32, Vec<EpisodeRecord>), RecordError> {
    let bad = |reason: &str| RecordError::NotTrajectories {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let mut rows: Vec<(u32, u32, EpisodeRecord)> = Vec::new();
    for batch in &t.batches {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| bad(&format!("no {name} column")))
        };
        let envs = col("env")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| bad("env is not uint32"))?;
        let episodes = col("episode")?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| bad("episode is not uint64"))?;
        let steps = col("step")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| bad("step is not uint32"))?;
        let seeds = col("seed")?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| bad("seed is not uint32"))?;
        let actions = col("action_id")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| bad("action_id is not uint8"))?;
        let floors = col("floor")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| bad("floor is not uint8"))?;
        let hps = col("hp")?
            .as_primitive_opt::<Int16Type>()
            .ok_or_else(|| bad("hp is not int16"))?;
        let xs = col("x")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| bad("x is not uint8"))?;
        let ys = col("y")?
            .as_primitive_opt::<UInt8Type>()
            .ok_or_else(|| bad("y is not uint8"))?;
        let rolled_back = col("rolled_back")?
            .as_boolean_opt()
            .ok_or_else(|| bad("rolled_back is not bool"))?;
        for r in 0..batch.num_rows() {
            if envs.value(r) != env || episodes.value(r) != episode {
                continue;
            }
            let action = Action::from_index(usize::from(actions.value(r)))
                .ok_or_else(|| bad("action_id out of range"))?;
            rows.push((
                steps.value(r),
                seeds.value(r),
                EpisodeRecord {
                    action,
                    floor: floors.value(r),
                    hp: hps.value(r),
                    x: xs.value(r),
                    y: ys.value(r),
                    rolled_back: rolled_back.is_valid(r) && rolled_back.value(r),
                },
            ));
        }
    }
    if rows.is_empty() {
        return Err(RecordError::NoSuchEpisode {
            path: path.to_string(),
            env,
            episode,
        });
    }
    // Stable: a rolled-back step and its retry share a step index and
    // keep their recorded order.
    rows.sort_by_key(|(step, _, _)| *step);
    let seed = rows[0].1;
    Ok((seed, rows.into_iter().map(|(_, _, r)| r).collect()))
}
