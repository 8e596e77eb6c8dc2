//! Search quality and the query operations, against exact search.

mod memory_common;

use pmd_agent::memory::{Index, IndexConfig, Metric, PointMeta, SearchParams};

const DIM: usize = 32;

fn graph_params(ef: usize, quantized: bool) -> SearchParams {
    SearchParams {
        ef,
        quantized,
        exact_threshold: 0,
    }
}

#[test]
fn hnsw_recall_is_high_for_both_metrics_and_traversals() {
    for metric in [Metric::InnerProduct, Metric::L2] {
        let index = memory_common::shared(metric);
        let queries = memory_common::data(100, DIM, 7);
        for quantized in [false, true] {
            let r = memory_common::recall(index, &queries, 10, &graph_params(64, quantized));
            assert!(r >= 0.9, "{metric} quantized={quantized}: recall {r}");
        }
        // Below the threshold the scan is exact.
        let exact = SearchParams {
            exact_threshold: 10_000,
            ..SearchParams::default()
        };
        assert_eq!(memory_common::recall(index, &queries, 10, &exact), 1.0);
    }
}

#[test]
fn results_are_sorted_and_distances_match_the_metric() {
    let index = memory_common::shared(Metric::L2);
    let q = memory_common::data(1, DIM, 9);
    let found = index.search(&q, 10, &graph_params(50, true)).unwrap();
    assert_eq!(found.len(), 10);
    for w in found.windows(2) {
        assert!(w[0].distance <= w[1].distance);
    }
    for n in &found {
        let v = index.vector(n.id).unwrap();
        let d: f32 = q.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
        assert!(
            (d - n.distance).abs() < 1e-4,
            "re-ranked distances are exact"
        );
        assert_eq!(Some(n.meta), index.meta(n.id));
        assert_eq!(n.meta.step as u64, n.id);
    }
}

#[test]
fn batch_search_equals_one_by_one() {
    let index = memory_common::shared(Metric::InnerProduct);
    let queries = memory_common::data(40, DIM, 3);
    let p = graph_params(40, true);
    let batch = index.search_batch(&queries, 5, &p).unwrap();
    for (q, b) in queries.chunks_exact(DIM).zip(&batch) {
        assert_eq!(&index.search(q, 5, &p).unwrap(), b);
    }
    assert!(index.search_batch(&queries[1..], 5, &p).is_err());
}

#[test]
fn filtered_search_returns_only_matching_points_and_the_exact_ones() {
    let index = memory_common::shared(Metric::InnerProduct);
    let queries = memory_common::data(30, DIM, 11);
    let floor3 = |m: &PointMeta| m.floor == 3;
    let rare = |m: &PointMeta| m.step % 1000 == 5; // 3 points
    let (mut hit, mut total) = (0, 0);
    for q in queries.chunks_exact(DIM) {
        let got = index
            .search_filtered(q, 10, &graph_params(64, true), &floor3)
            .unwrap();
        assert_eq!(got.len(), 10);
        assert!(got.iter().all(|n| n.meta.floor == 3));
        let all = index.search_exact(q, 3000).unwrap();
        let exact: Vec<u64> = all
            .iter()
            .filter(|n| n.meta.floor == 3)
            .take(10)
            .map(|n| n.id)
            .collect();
        total += 10;
        hit += exact
            .iter()
            .filter(|id| got.iter().any(|n| n.id == **id))
            .count();
        // A filter matching fewer than k points returns all of them.
        let few = index
            .search_filtered(q, 10, &graph_params(16, true), &rare)
            .unwrap();
        assert_eq!(few.len(), 3, "{few:?}");
    }
    assert!(
        hit as f64 / total as f64 >= 0.9,
        "filtered recall {hit}/{total}"
    );
}

#[test]
fn novelty_is_the_distance_to_the_kth_neighbour() {
    let dir = tempfile::tempdir().unwrap();
    let index = memory_common::shared(Metric::InnerProduct);
    let q = memory_common::data(1, DIM, 4);
    let exact = index.search_exact(&q, 5).unwrap();
    let p = SearchParams {
        exact_threshold: 10_000, // exact: the figure must equal the scan's
        ..SearchParams::default()
    };
    assert_eq!(index.novelty(&q, 5, &p).unwrap(), Some(exact[4].distance));
    // A stored point is not novel at k = 1.
    let v = index.vector(17).unwrap().to_vec();
    assert!(index.novelty(&v, 1, &p).unwrap().unwrap().abs() < 1e-5);
    assert!(index.novelty(&q, 0, &p).is_err());
    let batch = index
        .novelty_batch(&[q.clone(), v].concat(), 5, &p)
        .unwrap();
    assert_eq!(batch[0], Some(exact[4].distance));
    let empty = Index::create(dir.path().join("empty"), IndexConfig::new(DIM, Metric::L2)).unwrap();
    assert_eq!(empty.novelty(&q, 1, &p).unwrap(), None);
}

#[test]
fn unnormalised_and_bad_queries_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = memory_common::build(dir.path(), 500, DIM, Metric::InnerProduct);
    let big: Vec<f32> = (0..DIM).map(|i| 1e3 * (i as f32 - 10.0)).collect();
    assert_eq!(
        index
            .search(&big, 3, &graph_params(20, true))
            .unwrap()
            .len(),
        3
    );
    assert!(index
        .search(&big[1..], 3, &SearchParams::default())
        .is_err());
    let mut nan = big.clone();
    nan[0] = f32::NAN;
    assert!(index.search(&nan, 3, &SearchParams::default()).is_err());
    assert!(index.add(&nan, &[PointMeta::default()]).is_err());
    assert!(index.add(&big, &[]).is_err());
    assert!(index
        .search(&big, 0, &SearchParams::default())
        .unwrap()
        .is_empty());
    // Huge vectors are accepted and searchable.
    index.add(&big, &[PointMeta::default()]).unwrap();
    assert_eq!(
        index.search(&big, 1, &SearchParams::default()).unwrap()[0].id,
        500
    );
}
