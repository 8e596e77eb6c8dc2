//! Behaviour-cloning rows from recordings, read only as far as they are
//! needed (the `torch` feature): `load_recordings` with `max_rows` decodes
//! a batch or so, not the whole file.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::{heuristic_run, pmd_agent, stderr};
use pmd_agent::record::read_trajectories;
use pmd_torch::train::{load_recordings, BcDataset};

#[test]
fn max_rows_bounds_what_is_decoded_not_only_what_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = pmd_agent(&heuristic_run(
        "3000",
        &[
            "--max-episode-steps",
            "60",
            "--record",
            d,
            "--record-batch-rows",
            "256",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "arrows"))
        .collect();
    let recorded = read_trajectories(&files[0]).unwrap();
    assert!(
        recorded.batches.len() >= 4,
        "{} batches",
        recorded.batches.len()
    );
    let all_rows = recorded.rows();
    drop(recorded);

    let mut all = BcDataset::new();
    let whole = allocation_counter::measure(|| {
        load_recordings(&files, &mut all, None, 0.99).unwrap();
    });
    assert!(all.len() + 50 >= all_rows, "{} of {all_rows}", all.len());

    let mut few = BcDataset::new();
    let mut report = None;
    let bounded = allocation_counter::measure(|| {
        report = Some(load_recordings(&files, &mut few, Some(10), 0.99).unwrap());
    });
    assert_eq!(few.len(), 10);
    assert_eq!(report.unwrap().rows, 10);
    // ten rows are a fraction of one batch: what was decoded is a batch or
    // so, far less than the whole file (before: every batch, then ten kept)
    assert!(
        bounded.bytes_total * 4 < whole.bytes_total,
        "max_rows 10 allocated {} bytes, the whole file {}",
        bounded.bytes_total,
        whole.bytes_total
    );
}
