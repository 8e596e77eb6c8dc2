//! A base file opened by memory map, and the typed, bounds-checked view of
//! its sections that search reads.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::distance::{self, QueryRef, Rows};
use crate::error::{IndexError, Result};
use crate::format::{Header, Section, HEADER_LEN, NONE, SECTIONS};
use crate::meta::{PointMeta, META_BYTES};
use crate::mmap::Mapping;
use crate::search::{Distances, Graph};

/// An open, mapped base file whose header has been validated.
#[derive(Debug)]
pub(crate) struct Segment {
    map: Mapping,
    header: Header,
    path: PathBuf,
}

fn cast<'a, T: bytemuck::AnyBitPattern>(bytes: &'a [u8], what: &'static str) -> Result<&'a [T]> {
    bytemuck::try_cast_slice(bytes)
        .map_err(|e| IndexError::corrupt(format!("section {what} cannot be read as an array: {e}")))
}

impl Segment {
    /// Maps `path` and validates its header: constant work whatever the
    /// number of points (only the first page is read).
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| IndexError::io(path, e))?;
        let len = file.metadata().map_err(|e| IndexError::io(path, e))?.len();
        if len < HEADER_LEN as u64 {
            // Too short to map meaningfully: read what is there to tell
            // a foreign file from a truncated one.
            let bytes = std::fs::read(path).map_err(|e| IndexError::io(path, e))?;
            Header::decode(&bytes, len)?;
            return Err(IndexError::Truncated {
                what: "header",
                needed: HEADER_LEN as u64,
                len,
            });
        }
        let map = Mapping::of(&file).map_err(|e| IndexError::io(path, e))?;
        let header = Header::decode(&map, map.len() as u64)?;
        let seg = Self {
            map,
            header,
            path: path.to_path_buf(),
        };
        // Check the typed casts once (alignment and size); they cannot fail
        // later because the mapping does not change.
        seg.view()?;
        Ok(seg)
    }

    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn mapped_bytes(&self) -> usize {
        self.map.len()
    }

    fn bytes(&self, s: Section) -> &[u8] {
        // Ranges were checked against the mapping's length on open.
        &self.map[self.header.range(s)]
    }

    /// Typed slices of every section.
    pub(crate) fn view(&self) -> Result<View<'_>> {
        let h = &self.header;
        Ok(View {
            header: h,
            vectors: cast(self.bytes(Section::Vectors), "vectors")?,
            quantized: cast(self.bytes(Section::Quantized), "quantized")?,
            meta: self.bytes(Section::Meta),
            levels: self.bytes(Section::Levels),
            upper_offsets: cast(self.bytes(Section::UpperOffsets), "upper_offsets")?,
            layer0: cast(self.bytes(Section::Layer0), "layer0")?,
            upper: cast(self.bytes(Section::Upper), "upper")?,
        })
    }

    /// Reads every section and checks its CRC-32, then every level, upper
    /// offset and neighbour id: O(file size).
    pub(crate) fn verify(&self) -> Result<()> {
        for s in SECTIONS {
            let stored = self.header.sections[s as usize].crc;
            let computed = crc32fast::hash(self.bytes(s));
            if stored != computed {
                return Err(IndexError::Checksum {
                    section: s.name(),
                    stored,
                    computed,
                });
            }
        }
        let v = self.view()?;
        let mut buf = Vec::new();
        for id in 0..v.len() as u32 {
            for l in 0..=v.level(id)? {
                for &x in v.neighbors(id, l, &mut buf)? {
                    if x != NONE && x as usize >= v.len() {
                        return Err(IndexError::corrupt(format!(
                            "neighbour {x} of node {id} on layer {l}"
                        )));
                    }
                }
            }
        }
        if let Some((e, top)) = v.entry() {
            if v.level(e)? != top {
                return Err(IndexError::corrupt("entry point is not on the top layer"));
            }
        }
        Ok(())
    }
}

/// Typed sections of a mapped base file. Every accessor bounds-checks.
pub(crate) struct View<'a> {
    header: &'a Header,
    vectors: &'a [f32],
    quantized: &'a [i8],
    meta: &'a [u8],
    levels: &'a [u8],
    upper_offsets: &'a [u32],
    layer0: &'a [u32],
    upper: &'a [u32],
}

impl<'a> View<'a> {
    pub(crate) fn dim(&self) -> usize {
        self.header.dim as usize
    }

    pub(crate) fn vectors(&self) -> &'a [f32] {
        self.vectors
    }

    pub(crate) fn vector(&self, id: u32) -> Option<&'a [f32]> {
        let d = self.dim();
        let s = (id as usize).checked_mul(d)?;
        self.vectors.get(s..s + d)
    }

    pub(crate) fn meta(&self, id: u32) -> Option<PointMeta> {
        let s = (id as usize).checked_mul(META_BYTES)?;
        PointMeta::from_bytes(self.meta.get(s..s + META_BYTES)?)
    }

    /// Top layer of `id`, checked against the header's maximum.
    pub(crate) fn level(&self, id: u32) -> Result<usize> {
        let l = *self
            .levels
            .get(id as usize)
            .ok_or_else(|| IndexError::corrupt(format!("node {id} out of range")))?;
        if u32::from(l) > self.header.max_level {
            return Err(IndexError::corrupt(format!(
                "node {id} on layer {l} above the top layer {}",
                self.header.max_level
            )));
        }
        Ok(l as usize)
    }

    /// Distances to full-precision rows for `query`.
    pub(crate) fn exact<'q>(&self, query: &'q [f32]) -> MappedDistances<'q>
    where
        'a: 'q,
    {
        MappedDistances {
            metric: self.header.metric,
            dim: self.dim(),
            rows: Rows::F32(self.vectors),
            query: QueryRef::F32(query),
        }
    }

    /// Distances to int8 rows for an int8 query.
    pub(crate) fn quantized<'q>(&self, query: &'q [i8]) -> MappedDistances<'q>
    where
        'a: 'q,
    {
        MappedDistances {
            metric: self.header.metric,
            dim: self.dim(),
            rows: Rows::I8 {
                rows: self.quantized,
                scale: self.header.quant_scale,
            },
            query: QueryRef::I8(query),
        }
    }

    pub(crate) fn quant_scale(&self) -> f32 {
        self.header.quant_scale
    }
}

impl Graph for View<'_> {
    fn len(&self) -> usize {
        self.header.count as usize
    }

    fn entry(&self) -> Option<(u32, usize)> {
        (self.header.count > 0).then_some((self.header.entry, self.header.max_level as usize))
    }

    fn neighbors<'b>(
        &'b self,
        node: u32,
        level: usize,
        _buf: &'b mut Vec<u32>,
    ) -> Result<&'b [u32]> {
        let bad = || IndexError::corrupt(format!("adjacency of node {node} on layer {level}"));
        if level == 0 {
            let m0 = self.header.m0 as usize;
            let s = (node as usize).checked_mul(m0).ok_or_else(bad)?;
            return self.layer0.get(s..s + m0).ok_or_else(bad);
        }
        if level > self.level(node)? {
            return Err(bad());
        }
        let off = *self.upper_offsets.get(node as usize).ok_or_else(bad)?;
        if off == NONE {
            return Err(bad());
        }
        let m = self.header.m as usize;
        let block = (off as usize)
            .checked_add(level - 1)
            .filter(|&b| (b as u64) < self.header.upper_blocks)
            .ok_or_else(bad)?;
        let s = block.checked_mul(m).ok_or_else(bad)?;
        self.upper.get(s..s + m).ok_or_else(bad)
    }
}

/// Distances from one query to a mapped segment's rows.
pub(crate) struct MappedDistances<'a> {
    metric: crate::Metric,
    dim: usize,
    rows: Rows<'a>,
    query: QueryRef<'a>,
}

impl Distances for MappedDistances<'_> {
    fn distances(&self, ids: &[u32], out: &mut [f32]) -> Result<()> {
        if distance::distances(self.metric, self.rows, self.dim, self.query, ids, out) {
            Ok(())
        } else {
            Err(IndexError::corrupt("vector id out of range"))
        }
    }
}
