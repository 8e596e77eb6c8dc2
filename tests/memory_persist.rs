//! The delta segment, saving, compaction, readers during replacement and
//! warm starts.

mod memory_common;

use pmd_agent::memory::{Index, IndexConfig, IndexError, Metric, PointMeta, SearchParams};

const DIM: usize = 16;

#[test]
fn delta_points_are_searched_saved_and_compacted_with_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = memory_common::build(dir.path(), 2500, DIM, Metric::InnerProduct);
    let extra = memory_common::data(300, DIM, 21);
    let extra_meta = memory_common::metas(300, 2);
    let ids = index.add(&extra, &extra_meta).unwrap();
    assert_eq!(ids, 2500..2800);
    assert_eq!((index.mapped_points(), index.delta_points()), (2500, 300));
    let p = SearchParams::default();
    // Each new point is its own nearest neighbour, found in the delta.
    for (i, v) in extra.chunks_exact(DIM).enumerate().step_by(37) {
        let top = index.search(v, 1, &p).unwrap()[0];
        assert_eq!(top.id, 2500 + i as u64);
        assert_eq!(top.meta, extra_meta[i]);
    }
    index.save().unwrap();
    let reopened = Index::open(dir.path()).unwrap();
    assert_eq!(
        (reopened.mapped_points(), reopened.delta_points()),
        (2500, 300)
    );
    assert_eq!(reopened.vector(2600), index.vector(2600));

    index.compact().unwrap();
    assert_eq!((index.mapped_points(), index.delta_points()), (2800, 0));
    index.verify().unwrap();
    let compacted = Index::open(dir.path()).unwrap();
    assert_eq!(compacted.len(), 2800);
    for (i, v) in extra.chunks_exact(DIM).enumerate().step_by(29) {
        let top = compacted.search(v, 1, &p).unwrap()[0];
        assert_eq!(top.id, 2500 + i as u64);
        assert_eq!(top.meta, extra_meta[i]);
    }
    assert_eq!(compacted.meta(7).unwrap().step, 7);
    let q = memory_common::data(50, DIM, 8);
    assert!(
        memory_common::recall(
            &compacted,
            &q,
            10,
            &SearchParams {
                exact_threshold: 0,
                ..p
            }
        ) >= 0.9
    );
}

#[test]
fn a_reader_keeps_its_view_while_a_writer_replaces_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = memory_common::build(dir.path(), 2200, DIM, Metric::L2);
    let reader = Index::open(dir.path()).unwrap();
    let q = memory_common::data(5, DIM, 30);
    let before: Vec<_> = q
        .chunks_exact(DIM)
        .map(|v| reader.search(v, 5, &SearchParams::default()).unwrap())
        .collect();
    // Two generations of compaction: the reader's base file is deleted
    // from the directory, its mapping stays valid.
    for round in 0..2 {
        let pts = memory_common::data(400, DIM, 40 + round);
        writer.add(&pts, &memory_common::metas(400, 9)).unwrap();
        writer.compact().unwrap();
    }
    assert_eq!(writer.len(), 3000);
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != pmd_agent::memory::LOCK)
        .collect();
    assert!(
        files.len() <= 3,
        "old generations are cleaned up: {files:?}"
    );
    assert_eq!(reader.len(), 2200);
    for (v, b) in q.chunks_exact(DIM).zip(&before) {
        assert_eq!(&reader.search(v, 5, &SearchParams::default()).unwrap(), b);
    }
    reader.verify().unwrap();
    let fresh = Index::open(dir.path()).unwrap();
    assert_eq!(fresh.len(), 3000);
}

#[test]
fn saves_leave_no_temporary_files_and_replace_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create(dir.path(), IndexConfig::new(DIM, Metric::InnerProduct)).unwrap();
    index
        .add(
            &memory_common::data(10, DIM, 1),
            &memory_common::metas(10, 1),
        )
        .unwrap();
    index.save().unwrap();
    index
        .add(
            &memory_common::data(10, DIM, 2),
            &memory_common::metas(10, 1),
        )
        .unwrap();
    index.save().unwrap();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    let manifest = std::fs::read_to_string(dir.path().join(pmd_agent::memory::MANIFEST)).unwrap();
    assert!(manifest.contains("\"generation\": 2"), "{manifest}");
    assert_eq!(Index::open(dir.path()).unwrap().len(), 20);
}

/// One run of the agent: open or create, add this run's points, compact.
fn agent_run(dir: &std::path::Path, run: u64, n: usize) -> usize {
    let mut cfg = IndexConfig::new(DIM, Metric::InnerProduct);
    cfg.build.m = 8;
    cfg.build.ef_construction = 32;
    let mut index = Index::open_or_create(dir, cfg).unwrap();
    let start = index.len();
    let metas: Vec<PointMeta> = memory_common::metas(n, run);
    index
        .add(&memory_common::data(n, DIM, 100 + run), &metas)
        .unwrap();
    index.compact().unwrap();
    start
}

#[test]
fn warm_start_maps_the_first_runs_points_instead_of_loading_them() {
    let small = tempfile::tempdir().unwrap();
    let large = tempfile::tempdir().unwrap();
    assert_eq!(agent_run(small.path(), 1, 500), 0);
    assert_eq!(agent_run(large.path(), 1, 3000), 0);
    // The second run starts with the first run's points.
    assert_eq!(agent_run(small.path(), 2, 100), 500);

    let measure_open = |dir: &std::path::Path| {
        let mut opened = None;
        let info = allocation_counter::measure(|| {
            opened = Some(Index::open(dir).unwrap());
        });
        (opened.unwrap(), info.bytes_total)
    };
    let (index, small_bytes) = measure_open(small.path());
    assert_eq!((index.mapped_points(), index.delta_points()), (600, 0));
    assert_eq!(index.meta(499).unwrap().run, 1);
    assert_eq!(index.meta(500).unwrap().run, 2);
    let (index, large_bytes) = measure_open(large.path());
    assert_eq!((index.mapped_points(), index.delta_points()), (3000, 0));
    let file_bytes = index.mapped_bytes() as u64;
    assert!(file_bytes > 3000 * DIM as u64 * 4);
    // Opening allocates the same small amount whatever the size: nothing
    // proportional to the points is read onto the heap.
    assert!(
        large_bytes < 64 * 1024,
        "open allocated {large_bytes} bytes"
    );
    assert!(
        large_bytes < small_bytes + 4096,
        "{large_bytes} vs {small_bytes}"
    );
    assert!(large_bytes * 20 < file_bytes);
}

#[test]
fn building_from_no_rows_replaces_an_existing_index_with_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    memory_common::build(dir.path(), 40, DIM, Metric::L2);
    let empty = Index::build(dir.path(), IndexConfig::new(DIM, Metric::L2), Vec::new()).unwrap();
    assert!(empty.is_empty());
    let reopened = Index::open(dir.path()).unwrap();
    assert!(reopened.is_empty());
    assert!(reopened
        .search(&[0.5; DIM], 3, &SearchParams::default())
        .unwrap()
        .is_empty());
    reopened.verify().unwrap();
    // Rows of the wrong length are refused.
    let bad = vec![(vec![0.0; DIM + 1], PointMeta::default())];
    assert!(matches!(
        Index::build(dir.path(), IndexConfig::new(DIM, Metric::L2), bad),
        Err(pmd_agent::memory::IndexError::WrongDimension { .. })
    ));
}

#[test]
fn a_second_writer_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    drop(memory_common::build(dir.path(), 50, DIM, Metric::L2));
    let mut a = Index::open(dir.path()).unwrap();
    let mut b = Index::open(dir.path()).unwrap();
    a.add(
        &memory_common::data(10, DIM, 1),
        &memory_common::metas(10, 2),
    )
    .unwrap();
    a.save().unwrap();
    b.add(&memory_common::data(7, DIM, 2), &memory_common::metas(7, 3))
        .unwrap();
    // Without the lock b's save wrote the same generation's delta file
    // over a's and published a manifest without a's ten points.
    assert!(
        matches!(b.save(), Err(IndexError::Locked { .. })),
        "a holds the lock"
    );
    assert!(matches!(b.compact(), Err(IndexError::Locked { .. })));
    assert_eq!(Index::open(dir.path()).unwrap().len(), 60);
    // Once a is gone, b may lock but must not publish over a's generation.
    drop(a);
    match b.save() {
        Err(IndexError::Stale { opened, found, .. }) => assert_eq!((opened, found), (1, 2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        Index::open(dir.path()).unwrap().len(),
        60,
        "a's points kept"
    );
    // A reopened handle writes on top of a's points.
    drop(b);
    let mut c = Index::open(dir.path()).unwrap();
    c.add(&memory_common::data(7, DIM, 2), &memory_common::metas(7, 3))
        .unwrap();
    c.compact().unwrap();
    assert_eq!(Index::open(dir.path()).unwrap().len(), 67);
}

#[test]
fn an_episodic_memory_holds_the_lock_for_its_whole_run() {
    use pmd_agent::memory::{EpisodicMemory, MemoryConfig};
    let dir = tempfile::tempdir().unwrap();
    let first = EpisodicMemory::open(dir.path(), "one", MemoryConfig::default()).unwrap();
    let second = EpisodicMemory::open(dir.path(), "two", MemoryConfig::default());
    assert!(
        matches!(second, Err(IndexError::Locked { .. })),
        "{second:?}"
    );
    drop(first);
    EpisodicMemory::open(dir.path(), "two", MemoryConfig::default()).unwrap();
}
