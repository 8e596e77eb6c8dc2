//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pmd_agent::memory::bench::Synthetic;
use pmd_agent::memory::{Index, IndexConfig, Metric, PointMeta};

/// Clustered, normalised vectors (deterministic).
pub fn data(n: usize, dim: usize, stream: u64) -> Vec<f32> {
    Synthetic {
        clusters: 20,
        dim,
        spread: 0.8,
        seed: 5,
    }
    .points(n, stream)
}

/// Metadata with floor = id % 5 and step = id.
pub fn metas(n: usize, run: u64) -> Vec<PointMeta> {
    (0..n)
        .map(|i| PointMeta {
            run,
            episode: (i / 100) as u64,
            step: i as u32,
            env: (i % 4) as u32,
            floor: (i % 5) as u8,
            outcome: (i % 3) as u8,
        })
        .collect()
}

/// Builds a small index in `dir`.
pub fn build(dir: &Path, n: usize, dim: usize, metric: Metric) -> Index {
    let mut cfg = IndexConfig::new(dim, metric);
    cfg.build.m = 8;
    cfg.build.ef_construction = 64;
    Index::build_from_slices(dir, cfg, &data(n, dim, 0), &metas(n, 1)).unwrap()
}

/// The base file of the index in `dir`.
pub fn base_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "mhnsw"))
        .collect();
    files.sort();
    files.pop().expect("a base file")
}

/// Recomputes the header CRC after an edit of header fields.
pub fn reseal(bytes: &mut [u8]) {
    let at = pmd_agent::memory::format::HEADER_LEN - 4;
    let crc = crc32fast::hash(&bytes[..at]);
    bytes[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Fraction of the exact top-k ids found by the index.
pub fn recall(
    index: &Index,
    queries: &[f32],
    k: usize,
    params: &pmd_agent::memory::SearchParams,
) -> f64 {
    let dim = index.dim();
    let mut hit = 0;
    let mut total = 0;
    for q in queries.chunks_exact(dim) {
        let exact: Vec<u64> = index
            .search_exact(q, k)
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        let got: Vec<u64> = index
            .search(q, k, params)
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        total += exact.len();
        hit += exact.iter().filter(|id| got.contains(id)).count();
    }
    hit as f64 / total as f64
}

/// One index per metric (3,000 points of dimension 32), built once per
/// test binary and shared read-only by the tests that only query.
pub fn shared(metric: Metric) -> &'static Index {
    use std::sync::OnceLock;
    static IP: OnceLock<(tempfile::TempDir, Index)> = OnceLock::new();
    static L2: OnceLock<(tempfile::TempDir, Index)> = OnceLock::new();
    let cell = match metric {
        Metric::InnerProduct => &IP,
        Metric::L2 => &L2,
    };
    &cell
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let index = build(dir.path(), 3000, 32, metric);
            (dir, index)
        })
        .1
}
