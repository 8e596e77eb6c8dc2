//! Damaged, truncated and foreign files give typed errors, never a panic
//! or an out-of-bounds read.

mod memory_common;

use pmd_agent::memory::format::HEADER_LEN;
use pmd_agent::memory::{Index, IndexError, Metric, SearchParams, Verify};
use proptest::prelude::*;

const DIM: usize = 8;
const N: usize = 2100; // above the exact threshold: searches walk the graph

/// A fresh directory holding a copy of one valid index (built once).
fn fixture() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    static BUILT: std::sync::OnceLock<(String, Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    let (name, manifest, bytes) = BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        memory_common::build(dir.path(), N, DIM, Metric::InnerProduct);
        let base = memory_common::base_file(dir.path());
        (
            base.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read(dir.path().join(pmd_agent::memory::MANIFEST)).unwrap(),
            std::fs::read(&base).unwrap(),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(pmd_agent::memory::MANIFEST), manifest).unwrap();
    let base = dir.path().join(name);
    std::fs::write(&base, bytes).unwrap();
    (dir, base, bytes.clone())
}

fn section(bytes: &[u8], i: usize) -> (usize, usize) {
    let at = 96 + i * 24;
    let off = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let len = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
    (off, len)
}

/// Opens without verifying (so damaged bytes reach the search code),
/// searches (graph and quantised), verifies: returns the first error.
fn exercise(dir: &std::path::Path) -> Result<(), IndexError> {
    let index = Index::open_with(dir, Verify::Never)?;
    let q = vec![0.3f32; DIM];
    let graph = SearchParams {
        exact_threshold: 0,
        ..SearchParams::default()
    };
    index.search(&q, 10, &graph)?;
    index.search(
        &q,
        10,
        &SearchParams {
            quantized: false,
            ..graph
        },
    )?;
    index.search_filtered(&q, 5, &graph, &|m| m.floor == 1)?;
    index.search_exact(&q, 3)?;
    index.verify()
}

#[test]
fn the_fixture_is_valid() {
    let (dir, _, _) = fixture();
    exercise(dir.path()).unwrap();
}

#[test]
fn truncated_files_are_typed_errors() {
    let (dir, base, bytes) = fixture();
    for cut in [
        0,
        5,
        11,
        100,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 1,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        std::fs::write(&base, &bytes[..cut]).unwrap();
        let e = Index::open(dir.path())
            .err()
            .unwrap_or_else(|| panic!("cut at {cut} opened"));
        assert!(
            matches!(e, IndexError::Truncated { .. } | IndexError::BadMagic),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn a_flipped_header_byte_fails_the_header_checksum() {
    let (dir, base, bytes) = fixture();
    for at in [16, 24, 40, 44, 100, 300, HEADER_LEN - 5] {
        let mut b = bytes.clone();
        b[at] ^= 0x04;
        std::fs::write(&base, &b).unwrap();
        let e = Index::open(dir.path()).err().unwrap();
        assert!(
            matches!(
                e,
                IndexError::Checksum {
                    section: "header",
                    ..
                }
            ),
            "byte {at}: {e}"
        );
    }
    let mut b = bytes.clone();
    b[0] = b'X';
    std::fs::write(&base, &b).unwrap();
    assert!(matches!(Index::open(dir.path()), Err(IndexError::BadMagic)));
}

#[test]
fn flipped_vector_and_graph_bytes_fail_verify() {
    let (dir, base, bytes) = fixture();
    for (i, name) in [
        (0, "vectors"),
        (1, "quantized"),
        (2, "meta"),
        (5, "layer0"),
        (6, "upper"),
    ] {
        let (off, len) = section(&bytes, i);
        let mut b = bytes.clone();
        b[off + len / 2] ^= 0x20;
        std::fs::write(&base, &b).unwrap();
        // Without verification opening is constant-time and does not read
        // the sections; verify finds the damage.
        let index = Index::open_with(dir.path(), Verify::Never).unwrap();
        match index.verify() {
            Err(IndexError::Checksum { section, .. }) => assert_eq!(section, name),
            other => panic!("{name}: {other:?}"),
        }
        // A small index is verified when opened by default.
        match Index::open(dir.path()) {
            Err(IndexError::Checksum { section, .. }) => assert_eq!(section, name),
            other => panic!("{name}: opened with damage: {:?}", other.map(|i| i.len())),
        }
        match Index::open_with(dir.path(), Verify::Always) {
            Err(IndexError::Checksum { section, .. }) => assert_eq!(section, name),
            other => panic!("{name}: opened with damage: {:?}", other.map(|i| i.len())),
        }
    }
}

#[test]
fn out_of_range_neighbour_ids_are_corruption_errors_at_search() {
    let (dir, base, bytes) = fixture();
    for i in [5usize, 4] {
        let (off, len) = section(&bytes, i);
        let mut b = bytes.clone();
        for w in b[off..off + len].chunks_exact_mut(4) {
            w.copy_from_slice(&(N as u32 + 7).to_le_bytes());
        }
        std::fs::write(&base, &b).unwrap();
        let e = exercise(dir.path())
            .err()
            .unwrap_or_else(|| panic!("section {i} accepted"));
        assert!(matches!(e, IndexError::Corrupt(_)), "section {i}: {e}");
    }
}

#[test]
fn wrong_version_dimension_and_metric_are_typed_errors() {
    let (dir, base, bytes) = fixture();
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&2u32.to_le_bytes());
    memory_common::reseal(&mut b);
    std::fs::write(&base, &b).unwrap();
    assert!(matches!(
        Index::open(dir.path()),
        Err(IndexError::UnsupportedVersion {
            found: 2,
            supported: 1
        })
    ));
    std::fs::write(&base, &bytes).unwrap();
    assert!(matches!(
        Index::open_expecting(dir.path(), DIM + 1, Metric::InnerProduct),
        Err(IndexError::WrongDimension {
            expected: 9,
            found: 8
        })
    ));
    assert!(matches!(
        Index::open_expecting(dir.path(), DIM, Metric::L2),
        Err(IndexError::WrongMetric { .. })
    ));
    // A base file whose header disagrees with the manifest.
    let mut b = bytes.clone();
    b[20..24].copy_from_slice(&2u32.to_le_bytes());
    memory_common::reseal(&mut b);
    std::fs::write(&base, &b).unwrap();
    assert!(matches!(
        Index::open(dir.path()),
        Err(IndexError::WrongMetric { .. })
    ));
    let mut b = bytes.clone();
    b[16..20].copy_from_slice(&4u32.to_le_bytes());
    memory_common::reseal(&mut b);
    std::fs::write(&base, &b).unwrap();
    assert!(Index::open(dir.path()).is_err());
    // An unknown metric code.
    let mut b = bytes.clone();
    b[20..24].copy_from_slice(&9u32.to_le_bytes());
    memory_common::reseal(&mut b);
    std::fs::write(&base, &b).unwrap();
    assert!(matches!(
        Index::open(dir.path()),
        Err(IndexError::Corrupt(_))
    ));
    // A damaged manifest.
    std::fs::write(&base, &bytes).unwrap();
    std::fs::write(
        dir.path().join(pmd_agent::memory::MANIFEST),
        b"{\"format\": 1",
    )
    .unwrap();
    assert!(matches!(
        Index::open(dir.path()),
        Err(IndexError::BadManifest { .. })
    ));
}

#[test]
fn damaged_delta_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = memory_common::build(dir.path(), 50, DIM, Metric::L2);
    index
        .add(
            &memory_common::data(20, DIM, 3),
            &memory_common::metas(20, 1),
        )
        .unwrap();
    index.save().unwrap();
    let delta = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "rows"))
        .unwrap();
    let bytes = std::fs::read(&delta).unwrap();
    for cut in [0, 10, 40, bytes.len() - 3] {
        std::fs::write(&delta, &bytes[..cut]).unwrap();
        assert!(Index::open(dir.path()).is_err(), "cut {cut}");
    }
    let mut b = bytes.clone();
    b[100] ^= 1;
    std::fs::write(&delta, &b).unwrap();
    assert!(matches!(
        Index::open(dir.path()),
        Err(IndexError::Checksum { .. })
    ));
}

/// A header field and a value to write there (CRC recomputed), so that
/// validation itself, not the checksum, must catch it.
fn header_edit() -> impl Strategy<Value = (usize, u64, usize)> {
    (
        prop::sample::select(vec![
            12usize, 16, 24, 32, 36, 40, 44, 48, 56, 60, 64, 96, 104, 120, 128, 144, 152, 168, 176,
            216, 224, 240, 248,
        ]),
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(u64::MAX),
            Just(u32::MAX as u64),
            any::<u64>(),
            0u64..5000
        ],
        prop::sample::select(vec![4usize, 8]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_byte_damage_never_panics(flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8)) {
        let (dir, base, mut bytes) = fixture();
        let len = bytes.len();
        for (at, x) in flips {
            bytes[at.index(len)] ^= x;
        }
        std::fs::write(&base, &bytes).unwrap();
        let _ = exercise(dir.path());
    }

    #[test]
    fn resealed_header_edits_never_panic(edits in prop::collection::vec(header_edit(), 1..4)) {
        let (dir, base, mut bytes) = fixture();
        for (at, value, width) in edits {
            bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        memory_common::reseal(&mut bytes);
        std::fs::write(&base, &bytes).unwrap();
        let _ = exercise(dir.path());
    }

    #[test]
    fn random_neighbour_lists_never_panic(ids in prop::collection::vec(any::<u32>(), 1..64), at in any::<prop::sample::Index>(), section_i in prop::sample::select(vec![3usize, 4, 5, 6])) {
        let (dir, base, mut bytes) = fixture();
        let (off, len) = section(&bytes, section_i);
        let words = len / 4;
        if words > 0 {
            let start = at.index(words);
            for (k, id) in ids.iter().enumerate() {
                let w = (start + k) % words;
                bytes[off + 4 * w..off + 4 * w + 4].copy_from_slice(&id.to_le_bytes());
            }
        }
        std::fs::write(&base, &bytes).unwrap();
        let _ = exercise(dir.path());
    }
}
