//! The index benchmark of issue 11: build time, recall@10 against exact
//! search, queries/s on one and on all threads at recall ≥ 0.95, open →
//! first answered query (cold and warm) and RSS after opening, on
//! deterministic synthetic data or given vectors. `benches/index/` runs the
//! same measurement on FAISS with the very same vectors.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;
use mhnsw::{Index, IndexConfig, Metric, PointMeta, SearchParams};
use mhnsw::{IndexError, Result};

/// Neighbours per query in the recall measure.
pub const K: usize = 10;
/// Recall the operating point must reach.
pub const TARGET_RECALL: f64 = 0.95;
/// The ef values tried, in order, until the recall target is met.
pub const EF_LADDER: &[usize] = &[
    10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256, 320, 400, 512, 768, 1024,
];

/// Deterministic synthetic data: `clusters` centres drawn from a standard
/// normal and L2-normalised; each point is a centre (chosen uniformly) plus
/// Gaussian noise of standard deviation `spread / sqrt(dim)` per
/// coordinate, then L2-normalised. The project's portable generator
/// ([`crate::rng`]) seeded with `seed`, normal deviates by Box–Muller, so
/// the bytes are the same on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Synthetic {
    /// Number of clusters.
    pub clusters: usize,
    /// Dimension.
    pub dim: usize,
    /// Noise norm relative to the unit centres.
    pub spread: f32,
    /// Seed.
    pub seed: u64,
}

impl Default for Synthetic {
    fn default() -> Self {
        Self {
            clusters: 1000,
            dim: 128,
            spread: 0.6,
            seed: 11,
        }
    }
}

fn normal(rng: &mut Rng) -> f32 {
    // Box–Muller; u1 in (0, 1] so the log is finite.
    let u1 = 1.0 - rng.unit();
    let u2 = rng.unit();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Scales `v` to unit length (left as is if zero).
pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

impl Synthetic {
    fn centres(&self) -> Vec<f32> {
        let mut rng = Rng::new(self.seed, 0);
        let mut c = vec![0.0f32; self.clusters * self.dim];
        for row in c.chunks_exact_mut(self.dim) {
            row.iter_mut().for_each(|x| *x = normal(&mut rng));
            normalize(row);
        }
        c
    }

    /// `n` points of stream `stream` (0 = base vectors, 1 = queries): the
    /// same centres, independent noise.
    pub fn points(&self, n: usize, stream: u64) -> Vec<f32> {
        let centres = self.centres();
        let dim = self.dim;
        let sigma = self.spread / (dim as f32).sqrt();
        let mut out = vec![0.0f32; n * dim];
        // Chunks of 4096 rows, each with its own generator, so generation
        // is parallel and still independent of the thread count.
        out.par_chunks_mut(4096 * dim)
            .enumerate()
            .for_each(|(chunk, rows)| {
                let mut rng = Rng::new(self.seed, ((stream + 1) << 32) | chunk as u64);
                for row in rows.chunks_exact_mut(dim) {
                    let c = rng.below(self.clusters.max(1) as u32) as usize;
                    let centre = &centres[c * dim..(c + 1) * dim];
                    for (x, m) in row.iter_mut().zip(centre) {
                        *x = m + sigma * normal(&mut rng);
                    }
                    normalize(row);
                }
            });
        out
    }
}

/// What the benchmark measures; the first eight keys are the issue's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Points indexed.
    pub points: usize,
    /// Dimension.
    pub dim: usize,
    /// Wall time of the build, seconds (graph + writing the file).
    pub build_s: f64,
    /// Recall@10 against exact search at the chosen ef.
    pub recall_at_10: f64,
    /// CPU seconds (user + system, all threads) the build took: less
    /// sensitive than `build_s` to other load on a shared machine.
    pub build_cpu_s: f64,
    /// Queries/s on one thread at the chosen ef.
    pub qps_1: f64,
    /// Queries/s on all threads (rayon) at the chosen ef.
    pub qps_all: f64,
    /// Open → first answered query in a fresh process, page cache warm, ms.
    pub open_to_first_query_ms: f64,
    /// RSS of that process after opening and answering, MiB.
    pub rss_after_open_mb: f64,
    /// Of which private anonymous memory, MiB.
    pub rss_anon_after_open_mb: f64,
    /// Of which file-backed (mapped index pages, shared), MiB.
    pub rss_file_after_open_mb: f64,
    /// ef of the operating point (first of [`EF_LADDER`] with recall ≥ 0.95).
    pub ef: usize,
    /// Threads used for `qps_all`.
    pub threads: usize,
    /// Queries measured.
    pub queries: usize,
    /// Size of the base file, bytes.
    pub index_bytes: u64,
    /// Open → first query after dropping the page cache (`None` if not permitted).
    pub open_to_first_query_cold_ms: Option<f64>,
    /// RSS of the cold probe process, MiB.
    pub rss_after_open_cold_mb: Option<f64>,
    /// RSS growth of the probe process from before opening to after its first query, MiB.
    pub rss_open_delta_mb: f64,
    /// Exact (flat) search queries/s on one thread, for the FAISS IndexFlatIP row.
    pub exact_qps_1: f64,
    /// Whether traversal used int8 vectors with f32 re-ranking.
    pub quantized: bool,
    /// Recall of every ef tried: (ef, recall).
    pub ef_sweep: Vec<(usize, f64)>,
    /// The other traversal (f32 if `quantized`, else int8), measured in the
    /// same process on the same index: (ef, recall@10, queries/s on one thread).
    pub other_traversal: Option<(usize, f64, f64)>,
}

/// Benchmark inputs.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Base vectors `[points, dim]`.
    pub vectors: Vec<f32>,
    /// Query vectors `[queries, dim]`.
    pub queries: Vec<f32>,
    /// Dimension.
    pub dim: usize,
    /// Metric.
    pub metric: Metric,
    /// Graph parameters.
    pub config: IndexConfig,
    /// Directory to build into (replaced).
    pub dir: PathBuf,
    /// Traverse on int8 vectors.
    pub quantized: bool,
    /// Command that runs [`probe_open`] in a fresh process and prints its
    /// JSON (`DIR`, then the probe arguments are appended); `None` runs
    /// the probe in this process (open time only; RSS then means little).
    pub probe_command: Option<Vec<String>>,
    /// Try to drop the page cache before a cold probe (needs root).
    pub cold: bool,
    /// Minimum measuring time per throughput figure.
    pub min_time: Duration,
}

/// Exact k nearest of every query by brute force (parallel over queries).
pub fn ground_truth(
    vectors: &[f32],
    queries: &[f32],
    dim: usize,
    metric: Metric,
    k: usize,
) -> Vec<Vec<u32>> {
    queries
        .par_chunks(dim)
        .map(|q| {
            let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
            for (i, row) in vectors.chunks_exact(dim).enumerate() {
                let d = metric.distance(q, row);
                if best.len() < k || d < best[best.len() - 1].0 {
                    let at = best.partition_point(|&(bd, _)| bd <= d);
                    best.insert(at, (d, i as u32));
                    best.truncate(k);
                }
            }
            best.into_iter().map(|(_, i)| i).collect()
        })
        .collect()
}

/// Mean fraction of the true `k` found in each answer.
pub fn recall(truth: &[Vec<u32>], found: &[Vec<u64>]) -> f64 {
    let mut hit = 0usize;
    let mut total = 0usize;
    for (t, f) in truth.iter().zip(found) {
        total += t.len();
        hit += t.iter().filter(|&&id| f.contains(&u64::from(id))).count();
    }
    if total == 0 {
        1.0
    } else {
        hit as f64 / total as f64
    }
}

/// Repeats `round` (one pass over `n` queries) until `min_time` has passed;
/// queries per second.
fn throughput(n: usize, min_time: Duration, mut round: impl FnMut() -> Result<()>) -> Result<f64> {
    round()?; // warm-up
    let start = Instant::now();
    let mut done = 0usize;
    while start.elapsed() < min_time || done == 0 {
        round()?;
        done += n;
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// What one probe process reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// `Index::open`, ms.
    pub open_ms: f64,
    /// First search after opening, ms.
    pub first_query_ms: f64,
    /// Both, ms.
    pub total_ms: f64,
    /// RSS before opening, KiB.
    pub rss_before_kb: u64,
    /// RSS after the first query, KiB.
    pub rss_after_kb: u64,
    /// Of which private anonymous memory (heap, stacks), KiB.
    pub rss_anon_after_kb: u64,
    /// Of which file-backed pages mapped in (the index's pages, shared
    /// with every process mapping the file; includes the kernel's
    /// fault-around of neighbouring cached pages), KiB.
    pub rss_file_after_kb: u64,
    /// Points in the index.
    pub points: usize,
}

/// A field of `/proc/self/status` in KiB (0 where unreadable).
fn status_kb(field: &str) -> u64 {
    crate::procfs::status_kib(None, field).unwrap_or(0)
}

/// Resident set size of this process in KiB (0 where unreadable).
fn rss_kb() -> u64 {
    status_kb("VmRSS:")
}

/// Opens the index in `dir` and answers one query (the unit vector on the
/// first axis) with `ef`: the "open → first query" measurement, meant to
/// run in a fresh process.
pub fn probe_open(dir: &Path, ef: usize) -> Result<ProbeReport> {
    let rss_before_kb = rss_kb();
    let t0 = Instant::now();
    // The mapped open itself: verification would read every page.
    let index = Index::open_with(dir, crate::memory::Verify::Never)?;
    let t1 = Instant::now();
    let mut q = vec![0.0f32; index.dim()];
    if let Some(x) = q.first_mut() {
        *x = 1.0;
    }
    let params = SearchParams {
        ef,
        ..SearchParams::default()
    };
    let found = index.search(&q, K, &params)?;
    let t2 = Instant::now();
    std::hint::black_box(found);
    Ok(ProbeReport {
        open_ms: (t1 - t0).as_secs_f64() * 1e3,
        first_query_ms: (t2 - t1).as_secs_f64() * 1e3,
        total_ms: (t2 - t0).as_secs_f64() * 1e3,
        rss_before_kb,
        rss_after_kb: rss_kb(),
        rss_anon_after_kb: status_kb("RssAnon:"),
        rss_file_after_kb: status_kb("RssFile:"),
        points: index.len(),
    })
}

/// Drops the kernel's page cache (needs root). False if not permitted.
pub fn drop_page_cache() -> bool {
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", b"1\n").is_ok()
}

fn run_probe(opts: &BenchOptions, ef: usize) -> Result<ProbeReport> {
    let Some(cmd) = &opts.probe_command else {
        return probe_open(&opts.dir, ef);
    };
    let (prog, args) = cmd
        .split_first()
        .ok_or_else(|| IndexError::InvalidParameter("empty probe command".into()))?;
    let out = std::process::Command::new(prog)
        .args(args)
        .arg(&opts.dir)
        .arg(ef.to_string())
        .output()
        .map_err(|e| IndexError::io(prog, e))?;
    if !out.status.success() {
        return Err(IndexError::InvalidParameter(format!(
            "probe failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| IndexError::InvalidParameter(format!("probe output: {e}")))
}

/// Search parameters reaching the recall target, their recall, and the sweep.
type OperatingPoint = (SearchParams, f64, Vec<(usize, f64)>);

/// Runs the whole measurement.
pub fn run(opts: &BenchOptions) -> Result<BenchReport> {
    let dim = opts.dim;
    let points = opts.vectors.len() / dim;
    let nq = opts.queries.len() / dim;
    let metas: Vec<PointMeta> = (0..points)
        .map(|i| PointMeta {
            step: i as u32,
            floor: (i % 10) as u8,
            ..PointMeta::default()
        })
        .collect();
    if opts.dir.exists() {
        std::fs::remove_dir_all(&opts.dir).map_err(|e| IndexError::io(&opts.dir, e))?;
    }
    let t = Instant::now();
    let cpu = crate::procfs::self_cpu_seconds();
    let index = Index::build_from_slices(&opts.dir, opts.config, &opts.vectors, &metas)?;
    let build_s = t.elapsed().as_secs_f64();
    let build_cpu_s = crate::procfs::self_cpu_seconds() - cpu;
    drop(index);
    let index = Index::open(&opts.dir)?;
    let truth = ground_truth(&opts.vectors, &opts.queries, dim, opts.metric, K);

    let answer = |params: &SearchParams| -> Result<Vec<Vec<u64>>> {
        opts.queries
            .chunks_exact(dim)
            .map(|q| Ok(index.search(q, K, params)?.iter().map(|n| n.id).collect()))
            .collect()
    };
    let operating_point = |quantized: bool| -> Result<OperatingPoint> {
        let mut sweep = Vec::new();
        for &ef in EF_LADDER {
            let params = SearchParams {
                ef,
                quantized,
                ..SearchParams::default()
            };
            let r = recall(&truth, &answer(&params)?);
            sweep.push((ef, r));
            if r >= TARGET_RECALL {
                return Ok((params, r, sweep));
            }
        }
        let (ef, r) = sweep.last().copied().unwrap_or((64, 0.0));
        let params = SearchParams {
            ef,
            quantized,
            ..SearchParams::default()
        };
        Ok((params, r, sweep))
    };
    let one_thread = |params: &SearchParams| {
        throughput(nq, opts.min_time, || {
            for q in opts.queries.chunks_exact(dim) {
                std::hint::black_box(index.search(q, K, params)?);
            }
            Ok(())
        })
    };
    let (params, recall_at_10, ef_sweep) = operating_point(opts.quantized)?;
    let qps_1 = one_thread(&params)?;
    let (other, other_recall, _) = operating_point(!opts.quantized)?;
    let other_traversal = Some((other.ef, other_recall, one_thread(&other)?));
    let qps_all = throughput(nq, opts.min_time, || {
        std::hint::black_box(index.search_batch(&opts.queries, K, &params)?);
        Ok(())
    })?;
    let exact_queries = nq.min(200);
    let exact_qps_1 = throughput(exact_queries, opts.min_time, || {
        for q in opts.queries.chunks_exact(dim).take(exact_queries) {
            std::hint::black_box(index.search_exact(q, K)?);
        }
        Ok(())
    })?;
    let index_bytes = index.mapped_bytes() as u64;
    drop(index);

    let cold = if opts.cold && drop_page_cache() {
        Some(run_probe(opts, params.ef)?)
    } else {
        None
    };
    // Warm: the file's pages are cached; the median of five fresh processes.
    let mut warm = Vec::new();
    for _ in 0..5 {
        warm.push(run_probe(opts, params.ef)?);
    }
    warm.sort_by(|a, b| a.total_ms.total_cmp(&b.total_ms));
    let mid = &warm[warm.len() / 2];
    Ok(BenchReport {
        points,
        dim,
        build_s,
        recall_at_10,
        build_cpu_s,
        qps_1,
        qps_all,
        open_to_first_query_ms: mid.total_ms,
        rss_after_open_mb: mid.rss_after_kb as f64 / 1024.0,
        rss_anon_after_open_mb: mid.rss_anon_after_kb as f64 / 1024.0,
        rss_file_after_open_mb: mid.rss_file_after_kb as f64 / 1024.0,
        ef: params.ef,
        threads: rayon::current_num_threads(),
        queries: nq,
        index_bytes,
        open_to_first_query_cold_ms: cold.as_ref().map(|c| c.total_ms),
        rss_after_open_cold_mb: cold.as_ref().map(|c| c.rss_after_kb as f64 / 1024.0),
        rss_open_delta_mb: mid.rss_after_kb.saturating_sub(mid.rss_before_kb) as f64 / 1024.0,
        exact_qps_1,
        quantized: opts.quantized,
        ef_sweep,
        other_traversal,
    })
}

/// One row of the exact-search threshold measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdRow {
    /// Points.
    pub points: usize,
    /// Exact scan queries/s, one thread.
    pub exact_qps_1: f64,
    /// HNSW queries/s, one thread, at the first ef reaching recall ≥ 0.95.
    pub hnsw_qps_1: f64,
    /// That ef.
    pub ef: usize,
    /// Its recall@10.
    pub recall_at_10: f64,
}

/// Measures exact scan against HNSW search for each size in `sizes` on
/// synthetic data (the graph forced on with `exact_threshold: 0`).
pub fn threshold_sweep(
    sizes: &[usize],
    dir: &Path,
    min_time: Duration,
) -> Result<Vec<ThresholdRow>> {
    let syn = Synthetic::default();
    let queries = syn.points(500, 1);
    let mut rows = Vec::new();
    for &n in sizes {
        let vectors = syn.points(n, 0);
        let metas = vec![PointMeta::default(); n];
        let sub = dir.join(format!("threshold-{n}"));
        if sub.exists() {
            std::fs::remove_dir_all(&sub).map_err(|e| IndexError::io(&sub, e))?;
        }
        let index = Index::build_from_slices(
            &sub,
            IndexConfig::new(syn.dim, Metric::InnerProduct),
            &vectors,
            &metas,
        )?;
        let truth = ground_truth(&vectors, &queries, syn.dim, Metric::InnerProduct, K);
        let mut pick = None;
        for &ef in EF_LADDER {
            let params = SearchParams {
                ef,
                exact_threshold: 0,
                ..SearchParams::default()
            };
            let found: Vec<Vec<u64>> = queries
                .chunks_exact(syn.dim)
                .map(|q| Ok(index.search(q, K, &params)?.iter().map(|x| x.id).collect()))
                .collect::<Result<_>>()?;
            let r = recall(&truth, &found);
            if r >= TARGET_RECALL {
                pick = Some((params, r));
                break;
            }
        }
        let Some((params, r)) = pick else { continue };
        let nq = queries.len() / syn.dim;
        let hnsw = throughput(nq, min_time, || {
            for q in queries.chunks_exact(syn.dim) {
                std::hint::black_box(index.search(q, K, &params)?);
            }
            Ok(())
        })?;
        let exact = throughput(nq, min_time, || {
            for q in queries.chunks_exact(syn.dim) {
                std::hint::black_box(index.search_exact(q, K)?);
            }
            Ok(())
        })?;
        rows.push(ThresholdRow {
            points: n,
            exact_qps_1: exact,
            hnsw_qps_1: hnsw,
            ef: params.ef,
            recall_at_10: r,
        });
        drop(index);
        let _ = std::fs::remove_dir_all(&sub);
    }
    Ok(rows)
}
