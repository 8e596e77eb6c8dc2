//! Writing base and delta files, and the directory's manifest.
//!
//! An index directory holds `MANIFEST.json` and the files it names:
//! `base-<generation>.mhnsw` (the mapped HNSW segment, see
//! [`format`](crate::format)) and optionally `delta-<generation>.rows`
//! (points added since the last compaction). Files are never modified once
//! written; a save writes new files and then replaces the manifest by
//! atomic rename, so a reader sees one generation or the next, and a
//! reader that has mapped a base keeps its view after the name is gone.
//!
//! Writers take an exclusive advisory lock on `LOCK` ([`WriterLock`]) before
//! writing a generation, so two writers never pick the same file names or
//! delete each other's new files; readers take no lock.

use std::fs::{File, TryLockError};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::build::{BuildParams, Frozen};
use crate::error::{IndexError, Result};
use crate::format::{Header, Section, SectionWriter, NONE};
use crate::meta::{PointMeta, META_BYTES};
use crate::Metric;

/// Writes `path` atomically and durably through the project's
/// [`atomic_file`](pmd_util::atomic_file) (temporary file in the same
/// directory, fsync, rename, fsync of the directory), buffered.
pub(crate) fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
{
    pmd_util::atomic_file::write_with(path, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush()
    })
    .map_err(|e| IndexError::io(path, e))
}

/// Name of the manifest in an index directory.
pub const MANIFEST: &str = "MANIFEST.json";
const MANIFEST_MAX: u64 = 1 << 16;
const MANIFEST_FORMAT: u32 = 1;

/// What an index directory holds, replaced atomically on every save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: u32,
    pub generation: u64,
    pub dim: usize,
    pub metric: Metric,
    pub build: BuildParams,
    pub base: Option<String>,
    pub base_points: u64,
    pub delta: Option<String>,
    pub delta_points: u64,
}

impl Manifest {
    pub(crate) fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(MANIFEST);
        let file = std::fs::File::open(&path).map_err(|e| IndexError::io(&path, e))?;
        let mut text = String::new();
        file.take(MANIFEST_MAX)
            .read_to_string(&mut text)
            .map_err(|e| IndexError::io(&path, e))?;
        let bad = |message: String| IndexError::BadManifest {
            path: path.clone(),
            message,
        };
        let m: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if m.format != MANIFEST_FORMAT {
            return Err(bad(format!("manifest format {}", m.format)));
        }
        let safe = |name: &Option<String>| {
            name.as_deref()
                .is_none_or(|n| !n.is_empty() && !n.contains(['/', '\\']) && n != ".." && n != ".")
        };
        if !safe(&m.base) || !safe(&m.delta) {
            return Err(bad("file names must be plain names in the directory".into()));
        }
        if m.dim == 0 || m.dim > crate::format::MAX_DIM as usize {
            return Err(bad(format!("dimension {}", m.dim)));
        }
        m.build.check().map_err(|e| bad(e.to_string()))?;
        Ok(m)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| IndexError::BadManifest {
            path: dir.join(MANIFEST),
            message: e.to_string(),
        })?;
        write_atomic(&dir.join(MANIFEST), |w| w.write_all(&text))
    }

    pub(crate) fn files(&self) -> impl Iterator<Item = &str> {
        self.base
            .iter()
            .chain(self.delta.iter())
            .map(String::as_str)
    }
}

/// Name of the writer lock file in an index directory.
pub const LOCK: &str = "LOCK";

/// The exclusive advisory lock (`flock`) on an index directory's [`LOCK`]
/// file, held by one writer at a time until dropped. The operating system
/// releases it when the process dies, SIGKILL included.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock without waiting: [`IndexError::Locked`] when another
    /// process, or another open handle in this one, holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(LOCK);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| IndexError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(IndexError::Locked { path }),
            Err(TryLockError::Error(e)) => Err(IndexError::io(&path, e)),
        }
    }
}

pub(crate) fn base_name(generation: u64) -> String {
    format!("base-{generation:08}.mhnsw")
}

pub(crate) fn delta_name(generation: u64) -> String {
    format!("delta-{generation:08}.rows")
}

/// Writes a complete base file atomically.
pub(crate) fn write_base(
    path: &Path,
    dim: usize,
    metric: Metric,
    params: &BuildParams,
    vectors: &[f32],
    metas: &[PointMeta],
    graph: &Frozen,
) -> Result<()> {
    let count = metas.len();
    if vectors.len() != count * dim || graph.levels.len() != count {
        return Err(IndexError::corrupt(
            "base rows, metadata and graph differ in length",
        ));
    }
    let max_abs = vectors.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = crate::distance::quant_scale(max_abs);
    let (entry, max_level) = graph.entry.map_or((NONE, 0), |(e, l)| (e, l as u32));
    let mut header = Header {
        dim: dim as u32,
        metric,
        count: count as u64,
        m: params.m as u32,
        m0: 2 * params.m as u32,
        max_level,
        entry,
        upper_blocks: graph.upper_blocks,
        ef_construction: params.ef_construction as u32,
        quant_scale: scale,
        file_len: 0,
        sections: Default::default(),
    };
    header.layout()?;
    write_atomic(path, |w| {
        let mut sw = SectionWriter::new(&mut *w, header)?;
        sw.begin(Section::Vectors)?;
        sw.write(bytemuck::cast_slice(vectors))?;
        sw.begin(Section::Quantized)?;
        let mut q = vec![0i8; dim];
        for row in vectors.chunks_exact(dim) {
            crate::distance::quantize(row, scale, &mut q);
            sw.write(bytemuck::cast_slice(&q))?;
        }
        sw.begin(Section::Meta)?;
        for m in metas {
            sw.write(&m.to_bytes())?;
        }
        sw.begin(Section::Levels)?;
        sw.write(&graph.levels)?;
        sw.begin(Section::UpperOffsets)?;
        sw.write(bytemuck::cast_slice(&graph.upper_offsets))?;
        sw.begin(Section::Layer0)?;
        sw.write(bytemuck::cast_slice(&graph.layer0))?;
        sw.begin(Section::Upper)?;
        sw.write(bytemuck::cast_slice(&graph.upper))?;
        let (w, header) = sw.finish()?;
        use std::io::Seek;
        w.seek(std::io::SeekFrom::Start(0))?;
        w.write_all(&header.encode())
    })
}

const DELTA_MAGIC: [u8; 8] = *b"PMDDELTA";
const DELTA_VERSION: u32 = 1;
const DELTA_HEADER: usize = 32;

/// Writes delta rows (vectors then metadata per row) atomically.
pub(crate) fn write_delta(
    path: &Path,
    dim: usize,
    vectors: &[f32],
    metas: &[PointMeta],
) -> Result<()> {
    let mut crc = crc32fast::Hasher::new();
    let rows = || vectors.chunks_exact(dim).zip(metas);
    for (v, m) in rows() {
        crc.update(bytemuck::cast_slice(v));
        crc.update(&m.to_bytes());
    }
    let crc = crc.finalize();
    write_atomic(path, |w| {
        let mut h = [0u8; DELTA_HEADER];
        h[0..8].copy_from_slice(&DELTA_MAGIC);
        h[8..12].copy_from_slice(&DELTA_VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(dim as u32).to_le_bytes());
        h[16..24].copy_from_slice(&(metas.len() as u64).to_le_bytes());
        h[24..28].copy_from_slice(&crc.to_le_bytes());
        let hcrc = crc32fast::hash(&h[..28]);
        h[28..32].copy_from_slice(&hcrc.to_le_bytes());
        w.write_all(&h)?;
        for (v, m) in rows() {
            w.write_all(bytemuck::cast_slice(v))?;
            w.write_all(&m.to_bytes())?;
        }
        Ok(())
    })
}

/// Reads a delta file, checking magic, version, dimension, length and CRC.
pub(crate) fn read_delta(path: &Path, dim: usize) -> Result<(Vec<f32>, Vec<PointMeta>)> {
    let bytes = std::fs::read(path).map_err(|e| IndexError::io(path, e))?;
    if bytes.len() < DELTA_HEADER {
        return Err(IndexError::Truncated {
            what: "delta header",
            needed: DELTA_HEADER as u64,
            len: bytes.len() as u64,
        });
    }
    if bytes[0..8] != DELTA_MAGIC {
        return Err(IndexError::BadMagic);
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = u32_at(8);
    if version != DELTA_VERSION {
        return Err(IndexError::UnsupportedVersion {
            found: version,
            supported: DELTA_VERSION,
        });
    }
    let (stored, computed) = (u32_at(28), crc32fast::hash(&bytes[..28]));
    if stored != computed {
        return Err(IndexError::Checksum {
            section: "delta header",
            stored,
            computed,
        });
    }
    let found = u32_at(12) as usize;
    if found != dim {
        return Err(IndexError::WrongDimension {
            expected: dim,
            found,
        });
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[16..24]);
    let count = u64::from_le_bytes(count);
    let row = dim * 4 + META_BYTES;
    let needed = count
        .checked_mul(row as u64)
        .and_then(|b| b.checked_add(DELTA_HEADER as u64))
        .ok_or_else(|| IndexError::corrupt("delta count overflows"))?;
    if needed != bytes.len() as u64 {
        return Err(if needed > bytes.len() as u64 {
            IndexError::Truncated {
                what: "delta rows",
                needed,
                len: bytes.len() as u64,
            }
        } else {
            IndexError::corrupt("delta file longer than its rows")
        });
    }
    let payload = &bytes[DELTA_HEADER..];
    let (stored, computed) = (u32_at(24), crc32fast::hash(payload));
    if stored != computed {
        return Err(IndexError::Checksum {
            section: "delta rows",
            stored,
            computed,
        });
    }
    let mut vectors = Vec::with_capacity(count as usize * dim);
    let mut metas = Vec::with_capacity(count as usize);
    for r in payload.chunks_exact(row) {
        vectors.extend(
            r[..dim * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        metas.push(PointMeta::from_bytes(&r[dim * 4..]).unwrap_or_default());
    }
    Ok((vectors, metas))
}

/// Removes files of older generations that neither `keep` nor `previous`
/// names (best effort: a reader that mapped one keeps it regardless).
pub(crate) fn remove_stale(dir: &Path, keep: &Manifest, previous: Option<&Manifest>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let named = |n: &str| {
        keep.files()
            .chain(previous.into_iter().flat_map(|p| p.files()))
            .any(|f| f == n)
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = (name.starts_with("base-") && name.ends_with(".mhnsw"))
            || (name.starts_with("delta-") && name.ends_with(".rows"));
        if ours && !named(&name) {
            let _ = std::fs::remove_file(dir.join(&name));
        }
    }
}

pub(crate) fn dir_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
