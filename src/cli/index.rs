//! `pmd-agent index build|query|stats|compact`: the vector memory from the
//! command line.

use std::path::PathBuf;

use crate::memory::embed::EMBED_DIM;
use crate::memory::trajectories::{embed_trajectories, trajectory_files};
use crate::memory::{bench, npy, Index, IndexConfig, IndexError, Metric, SearchParams};
use clap::{Args, Subcommand};

use super::Failure;

/// Arguments of `index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Build an index of the states in recorded trajectories.
    Build {
        /// A trajectory file, or a directory of them (`run --record`).
        #[arg(long, value_name = "TRAJ_DIR")]
        from: PathBuf,
        /// The index directory to create (replaced if it exists).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// The nearest remembered states of some queries.
    Query {
        /// The index directory.
        dir: PathBuf,
        /// Queries: a .npy float32 [Q, 128] file of embeddings.
        #[arg(long, value_name = "FILE", conflicts_with = "trajectory")]
        npy: Option<PathBuf>,
        /// Queries: the observations of a trajectory file (embedded).
        #[arg(long, value_name = "FILE")]
        trajectory: Option<PathBuf>,
        /// With --trajectory: the rows to query.
        #[arg(long, value_delimiter = ',', default_values_t = [0usize], value_name = "R,R..")]
        rows: Vec<usize>,
        /// Neighbours per query.
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        /// Search effort.
        #[arg(long, default_value_t = 64)]
        ef: usize,
        /// Only states of this floor.
        #[arg(long)]
        floor: Option<u8>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// What an index holds.
    Stats {
        /// The index directory.
        dir: PathBuf,
        /// Also check every section's checksum (reads the whole file).
        #[arg(long)]
        verify: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Fold the in-memory delta into a new mapped base.
    Compact {
        /// The index directory.
        dir: PathBuf,
    },
    /// Open → first query in this process, as JSON (used by `bench index`).
    #[command(hide = true)]
    Probe {
        /// The index directory.
        dir: PathBuf,
        /// Search effort.
        ef: usize,
    },
}

fn index_failure(e: IndexError) -> Failure {
    match e {
        IndexError::Io { .. } | IndexError::InvalidParameter(_) => Failure::other(e.to_string()),
        other => Failure::bad_input(other.to_string()),
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let line = serde_json::to_string(value)
        .map_err(|e| Failure::other(format!("cannot encode the report: {e}")))?;
    println!("{line}");
    Ok(())
}

/// Runs `index`.
pub fn index(args: &IndexArgs) -> Result<(), Failure> {
    match &args.command {
        IndexCommand::Build { from, out, json } => {
            let files = trajectory_files(from)
                .map_err(|e| Failure::bad_input(format!("{}: {e}", from.display())))?;
            if files.is_empty() {
                return Err(Failure::bad_input(format!(
                    "{}: no trajectory files (.arrows)",
                    from.display()
                )));
            }
            let steps =
                embed_trajectories(&files).map_err(|e| Failure::bad_input(e.to_string()))?;
            if out.exists() {
                std::fs::remove_dir_all(out)
                    .map_err(|e| Failure::bad_input(format!("{}: {e}", out.display())))?;
            }
            let started = std::time::Instant::now();
            let index = Index::build_from_slices(
                out,
                IndexConfig::new(EMBED_DIM, Metric::InnerProduct),
                &steps.vectors,
                &steps.metas,
            )
            .map_err(index_failure)?;
            let seconds = started.elapsed().as_secs_f64();
            let stats = index.stats();
            if *json {
                print_json(&serde_json::json!({
                    "files": steps.files, "points": stats.points, "build_s": seconds,
                    "index_bytes": stats.mapped_bytes, "dir": out,
                }))
            } else {
                println!(
                    "indexed {} states from {} files into {} in {seconds:.2} s ({} bytes)",
                    stats.points,
                    steps.files,
                    out.display(),
                    stats.mapped_bytes
                );
                Ok(())
            }
        }
        IndexCommand::Query {
            dir,
            npy: npy_file,
            trajectory,
            rows,
            k,
            ef,
            floor,
            json,
        } => {
            let index = Index::open(dir).map_err(index_failure)?;
            let queries: Vec<f32> = match (npy_file, trajectory) {
                (Some(path), _) => {
                    let q = npy::read(path).map_err(index_failure)?;
                    if q.cols != index.dim() {
                        return Err(Failure::bad_input(format!(
                            "{}: {} columns, the index holds {}-dimensional vectors",
                            path.display(),
                            q.cols,
                            index.dim()
                        )));
                    }
                    q.data
                }
                (None, Some(path)) => {
                    let all = embed_trajectories(std::slice::from_ref(path))
                        .map_err(|e| Failure::bad_input(e.to_string()))?;
                    let mut out = Vec::with_capacity(rows.len() * EMBED_DIM);
                    for &r in rows {
                        let row = all
                            .vectors
                            .get(r * EMBED_DIM..(r + 1) * EMBED_DIM)
                            .ok_or_else(|| {
                                Failure::bad_input(format!(
                                    "{}: no row {r} ({} rows)",
                                    path.display(),
                                    all.metas.len()
                                ))
                            })?;
                        out.extend_from_slice(row);
                    }
                    out
                }
                (None, None) => {
                    return Err(Failure::bad_input(
                        "give queries with --npy FILE or --trajectory FILE",
                    ))
                }
            };
            let params = SearchParams {
                ef: *ef,
                ..SearchParams::default()
            };
            let mut results = Vec::new();
            for q in queries.chunks_exact(index.dim()) {
                let found = match floor {
                    Some(f) => index.search_filtered(q, *k, &params, &|m| m.floor == *f),
                    None => index.search(q, *k, &params),
                }
                .map_err(index_failure)?;
                results.push(found);
            }
            if *json {
                print_json(&serde_json::json!({ "k": k, "results": results }))
            } else {
                for (i, found) in results.iter().enumerate() {
                    println!("query {i}:");
                    for n in found {
                        println!(
                            "  id {:>8}  distance {:.4}  env {} episode {} step {} floor {} outcome {}",
                            n.id, n.distance, n.meta.env, n.meta.episode, n.meta.step, n.meta.floor, n.meta.outcome
                        );
                    }
                }
                Ok(())
            }
        }
        IndexCommand::Stats { dir, verify, json } => {
            let index = Index::open(dir).map_err(index_failure)?;
            if *verify {
                index.verify().map_err(index_failure)?;
            }
            let stats = index.stats();
            if *json {
                print_json(&stats)
            } else {
                println!("{}: {} points ({} mapped, {} in the delta), {}-dimensional {:?}, generation {}, {} bytes mapped{}",
                    dir.display(), stats.points, stats.base_points, stats.delta_points, stats.dim,
                    stats.metric, stats.generation, stats.mapped_bytes,
                    if *verify { ", every checksum verified" } else { "" });
                Ok(())
            }
        }
        IndexCommand::Compact { dir } => {
            let mut index = Index::open(dir).map_err(index_failure)?;
            index.compact().map_err(index_failure)?;
            println!(
                "{}: compacted, {} points mapped",
                dir.display(),
                index.len()
            );
            Ok(())
        }
        IndexCommand::Probe { dir, ef } => {
            let report = bench::probe_open(dir, *ef).map_err(index_failure)?;
            print_json(&report)
        }
    }
}
