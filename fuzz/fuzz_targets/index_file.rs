//! Feeds arbitrary bytes to the memory index as a directory: a manifest,
//! a base file and a delta file, cut from the input by two little-endian
//! u32 lengths (manifest, base; the delta is the rest). Opening (with
//! checksum verification and without), searching the graph, the quantised
//! vectors and exhaustively, and verifying give typed errors, never a
//! panic, a hang or an out-of-bounds read through the memory map.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhnsw::{Index, SearchParams, Verify, MANIFEST};

fn split(data: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let len = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let (head, rest) = data.split_at_checked(8)?;
    let (manifest, rest) = rest.split_at_checked(len(&head[..4]))?;
    let (base, delta) = rest.split_at_checked(len(&head[4..]))?;
    Some((manifest, base, delta))
}

fuzz_target!(|data: &[u8]| {
    let Some((manifest, base, delta)) = split(data) else {
        return;
    };
    let dir = scratch::dir("index");
    scratch::write(&dir.join(MANIFEST), manifest);
    // The seed corpus's manifests name these two files.
    scratch::write(&dir.join("base"), base);
    scratch::write(&dir.join("delta"), delta);
    for verify in [Verify::Never, Verify::Always] {
        let Ok(index) = Index::open_with(&dir, verify) else {
            continue;
        };
        let q = vec![0.25f32; index.dim()];
        let graph = SearchParams {
            exact_threshold: 0,
            ..SearchParams::default()
        };
        let _ = index.search(&q, 5, &graph);
        let _ = index.search(
            &q,
            5,
            &SearchParams {
                quantized: false,
                ..graph
            },
        );
        let _ = index.search_exact(&q, 3);
        let _ = index.verify();
    }
});

#[path = "../scratch.rs"]
mod scratch;
