//! Index rows from recorded trajectories: each step's observation,
//! embedded (see [`super::embed`]), with its metadata.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, UInt32Type, UInt64Type, UInt8Type};
use arrow_array::Array;

use super::embed::{embed_batch, EMBED_DIM};
use super::outcome_code;
use crate::record::{read_trajectories, RecordError};
use mhnsw::PointMeta;
use pmd_game::env::EndReason;
use pmd_game::obs;

/// Embeddings `[rows, EMBED_DIM]` and their metadata.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedSteps {
    /// Embeddings, row-major.
    pub vectors: Vec<f32>,
    /// One per row.
    pub metas: Vec<PointMeta>,
    /// Trajectory files read.
    pub files: usize,
}

/// The `.arrows` files of `dir`, sorted (or `dir` itself when it is a file).
pub fn trajectory_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "arrows"))
        .collect();
    files.sort();
    Ok(files)
}

fn bad(path: &Path, reason: &str) -> RecordError {
    RecordError::NotTrajectories {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Embeds every (not rolled-back) step of the trajectory files at `paths`.
pub fn embed_trajectories(paths: &[PathBuf]) -> Result<EmbeddedSteps, RecordError> {
    let mut out = EmbeddedSteps::default();
    for path in paths {
        let t = read_trajectories(path)?;
        let run = u64::from(crc32fast::hash(t.meta.run_id.as_bytes()));
        for batch in &t.batches {
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or_else(|| bad(path, &format!("no {name} column")))
            };
            let obs_col = col("obs")?
                .as_fixed_size_list_opt()
                .ok_or_else(|| bad(path, "obs is not a fixed-size list"))?;
            let values = obs_col
                .values()
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(|| bad(path, "obs is not float32"))?;
            if obs_col.value_length() as usize != obs::FEATURES {
                return Err(bad(path, "obs rows are not observations"));
            }
            let start = obs_col.offset() * obs::FEATURES;
            let rows = batch.num_rows();
            let states = &values.values()[start..start + rows * obs::FEATURES];
            let first = out.vectors.len();
            out.vectors.resize(first + rows * EMBED_DIM, 0.0);
            embed_batch(states, &mut out.vectors[first..])
                .map_err(|e| bad(path, &e.to_string()))?;
            let envs = col("env")?
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| bad(path, "env"))?;
            let episodes = col("episode")?
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(|| bad(path, "episode"))?;
            let steps = col("step")?
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| bad(path, "step"))?;
            let floors = col("floor")?
                .as_primitive_opt::<UInt8Type>()
                .ok_or_else(|| bad(path, "floor"))?;
            let reasons = col("reason")?
                .as_string_opt::<i32>()
                .ok_or_else(|| bad(path, "reason"))?;
            for r in 0..rows {
                let reason = reasons
                    .is_valid(r)
                    .then(|| EndReason::from_code(reasons.value(r)))
                    .flatten();
                out.metas.push(PointMeta {
                    run,
                    episode: episodes.value(r),
                    step: steps.value(r),
                    env: envs.value(r),
                    floor: floors.value(r),
                    outcome: outcome_code(reason),
                });
            }
        }
        out.files += 1;
    }
    Ok(out)
}
