#!/usr/bin/env python3
"""FAISS side of the index benchmark (issue 11), on the very vectors that
`pmd-agent bench index --export DIR` wrote.

Measures IndexHNSWFlat (M=16, efConstruction=200, inner product, efSearch
raised along the same ladder as pmd-agent until recall@10 >= 0.95) and
IndexFlatIP: build time, recall@10 against IndexFlatIP, queries/s on one
thread and on all threads (one batched search call each, FAISS's fastest
way), open -> first answered query in a fresh process (read_index with
IO_FLAG_MMAP_IFC | IO_FLAG_READ_ONLY, falling back to IO_FLAG_MMAP; warm, and cold after dropping the page cache when root), and
that process's RSS. Prints one JSON object per index with pmd-agent bench index's keys.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import faiss
import numpy as np

K = 10
TARGET = 0.95
EF_LADDER = [10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 200, 256,
             320, 400, 512, 768, 1024]


def rss_kb(field="VmRSS:"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def recall(truth, found):
    hits = sum(len(set(t) & set(f)) for t, f in zip(truth, found))
    return hits / truth.size


def throughput(fn, nq, min_time):
    fn()  # warm-up
    start = time.perf_counter()
    done = 0
    while time.perf_counter() - start < min_time or done == 0:
        fn()
        done += nq
    return done / (time.perf_counter() - start)


def drop_caches():
    subprocess.run(["sync"], check=False)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return True
    except OSError:
        return False


def probe(path, ef, mmap):
    """Runs in a fresh process: open the index and answer one query."""
    before = rss_kb()
    t0 = time.perf_counter()
    # IO_FLAG_MMAP_IFC (FAISS >= 1.9) maps the flat vector storage in place
    # (measured: 22 ms at 100k against 330 ms for IO_FLAG_MMAP, which
    # copies); the HNSW graph itself is always read onto the heap.
    flags = 0
    if mmap:
        flags = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP)
        flags |= getattr(faiss, "IO_FLAG_READ_ONLY", 0)
    index = faiss.read_index(path, flags)
    t1 = time.perf_counter()
    if ef:
        index.hnsw.efSearch = ef
    q = np.zeros((1, index.d), dtype="float32")
    q[0, 0] = 1.0
    index.search(q, K)
    t2 = time.perf_counter()
    print(json.dumps({"open_ms": (t1 - t0) * 1e3, "first_query_ms": (t2 - t1) * 1e3,
                      "total_ms": (t2 - t0) * 1e3, "rss_before_kb": before,
                      "rss_after_kb": rss_kb(), "rss_anon_after_kb": rss_kb("RssAnon:"),
                      "rss_file_after_kb": rss_kb("RssFile:")}))


def run_probe(path, ef, mmap):
    args = [sys.executable, os.path.abspath(__file__), "--probe", path, "--ef", str(ef)]
    if not mmap:
        args.append("--no-mmap")
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def open_figures(path, ef, mmap, cold):
    cold_run = None
    if cold and drop_caches():
        cold_run = run_probe(path, ef, mmap)
    warm = sorted((run_probe(path, ef, mmap) for _ in range(5)), key=lambda r: r["total_ms"])
    mid = warm[len(warm) // 2]
    return {
        "open_to_first_query_ms": mid["total_ms"],
        "rss_after_open_mb": mid["rss_after_kb"] / 1024,
        "rss_anon_after_open_mb": mid["rss_anon_after_kb"] / 1024,
        "rss_file_after_open_mb": mid["rss_file_after_kb"] / 1024,
        "open_to_first_query_cold_ms": cold_run and cold_run["total_ms"],
        "rss_after_open_cold_mb": cold_run and cold_run["rss_after_kb"] / 1024,
        "rss_open_delta_mb": max(0, mid["rss_after_kb"] - mid["rss_before_kb"]) / 1024,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors")
    ap.add_argument("--queries")
    ap.add_argument("--dir", default="target/faiss-index")
    ap.add_argument("--cold", action="store_true")
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--probe")
    ap.add_argument("--ef", type=int, default=0)
    ap.add_argument("--no-mmap", action="store_true")
    a = ap.parse_args()
    if a.probe:
        probe(a.probe, a.ef, not a.no_mmap)
        return
    xb = np.ascontiguousarray(np.load(a.vectors), dtype="float32")
    xq = np.ascontiguousarray(np.load(a.queries), dtype="float32")
    n, d = xb.shape
    nq = xq.shape[0]
    threads = os.cpu_count() or 1
    os.makedirs(a.dir, exist_ok=True)

    # IndexFlatIP: exact, also the ground truth.
    faiss.omp_set_num_threads(threads)
    t = time.perf_counter()
    flat = faiss.IndexFlatIP(d)
    flat.add(xb)
    flat_build = time.perf_counter() - t
    _, truth = flat.search(xq, K)
    nq_flat = min(nq, 200)
    faiss.omp_set_num_threads(1)
    flat_q1 = throughput(lambda: flat.search(xq[:nq_flat], K), nq_flat, a.min_time)
    faiss.omp_set_num_threads(threads)
    flat_qa = throughput(lambda: flat.search(xq[:nq_flat], K), nq_flat, a.min_time)
    flat_path = os.path.join(a.dir, "flat.faiss")
    faiss.write_index(flat, flat_path)
    flat_bytes = os.path.getsize(flat_path)
    del flat
    out_flat = {"index": "faiss IndexFlatIP", "points": n, "dim": d, "build_s": flat_build,
                "recall_at_10": 1.0, "qps_1": flat_q1, "qps_all": flat_qa, "ef": 0,
                "threads": threads, "queries": nq_flat, "index_bytes": flat_bytes}
    out_flat.update(open_figures(flat_path, 0, False, a.cold))
    print(json.dumps(out_flat), flush=True)

    # IndexHNSWFlat.
    faiss.omp_set_num_threads(threads)
    t = time.perf_counter()
    cpu = time.process_time()  # all threads of the process
    hnsw = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 200
    hnsw.add(xb)
    build_s = time.perf_counter() - t
    build_cpu_s = time.process_time() - cpu
    sweep = []
    chosen = None
    for ef in EF_LADDER:
        hnsw.hnsw.efSearch = ef
        _, found = hnsw.search(xq, K)
        r = recall(truth, found)
        sweep.append([ef, r])
        if r >= TARGET:
            chosen = (ef, r)
            break
    if chosen is None:
        chosen = tuple(sweep[-1])
    ef, r = chosen
    hnsw.hnsw.efSearch = ef
    faiss.omp_set_num_threads(1)
    q1 = throughput(lambda: hnsw.search(xq, K), nq, a.min_time)
    faiss.omp_set_num_threads(threads)
    qa = throughput(lambda: hnsw.search(xq, K), nq, a.min_time)
    path = os.path.join(a.dir, "hnsw.faiss")
    faiss.write_index(hnsw, path)
    del hnsw
    out = {"index": "faiss IndexHNSWFlat", "points": n, "dim": d, "build_s": build_s,
           "build_cpu_s": build_cpu_s,
           "recall_at_10": r, "qps_1": q1, "qps_all": qa, "ef": ef, "threads": threads,
           "queries": nq, "index_bytes": os.path.getsize(path), "ef_sweep": sweep,
           "faiss_version": faiss.__version__}
    out.update(open_figures(path, ef, True, a.cold))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
