//! The base-segment file: layout, header validation and writing.
//!
//! A base file is one header block followed by 64-byte-aligned sections,
//! all little-endian:
//!
//! | section | type | length |
//! |---------|------|--------|
//! | `vectors` | f32 | `count * dim` |
//! | `quantized` | i8 | `count * dim` (the vectors divided by `quant_scale`, rounded) |
//! | `meta` | [`PointMeta`](crate::PointMeta) record | `count * 32` bytes |
//! | `levels` | u8 | `count` (the top layer of each point) |
//! | `upper_offsets` | u32 | `count` (first upper block of each point, `u32::MAX` if level 0) |
//! | `layer0` | u32 | `count * m0` (neighbour ids, `u32::MAX`-padded) |
//! | `upper` | u32 | `upper_blocks * m` (layers 1.., one block of `m` ids per point and layer) |
//!
//! The header (512 bytes) holds magic, version, dimension, metric, counts,
//! graph parameters, the entry point, the file length, each section's
//! offset, length and CRC-32, and its own CRC-32 in its last 4 bytes.
//! Opening checks the header CRC and that every section lies inside the
//! file with exactly the length the counts imply; section CRCs (a full
//! read) are checked by `verify`. Neighbour ids and upper offsets are
//! bounds-checked when they are used.

use std::io::Write;

use crate::error::{IndexError, Result};
use crate::Metric;

/// The first 8 bytes of every base file.
pub const MAGIC: [u8; 8] = *b"PMDMEMIX";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Bytes of the header block.
pub const HEADER_LEN: usize = 512;
/// Alignment of every section (a cache line; the map itself is page-aligned).
pub const ALIGN: u64 = 64;
/// Id padding in neighbour lists.
pub const NONE: u32 = u32::MAX;
/// Largest number of points an index may hold (ids are u32, `u32::MAX` is padding).
pub const MAX_POINTS: u64 = u32::MAX as u64 - 1;
/// Largest dimension accepted.
pub const MAX_DIM: u32 = 65_536;
/// Largest layer index accepted.
pub const MAX_LEVEL: u32 = 48;

/// Section indices, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Vectors = 0,
    Quantized = 1,
    Meta = 2,
    Levels = 3,
    UpperOffsets = 4,
    Layer0 = 5,
    Upper = 6,
}

pub(crate) const SECTIONS: [Section; 7] = [
    Section::Vectors,
    Section::Quantized,
    Section::Meta,
    Section::Levels,
    Section::UpperOffsets,
    Section::Layer0,
    Section::Upper,
];

impl Section {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Vectors => "vectors",
            Section::Quantized => "quantized",
            Section::Meta => "meta",
            Section::Levels => "levels",
            Section::UpperOffsets => "upper_offsets",
            Section::Layer0 => "layer0",
            Section::Upper => "upper",
        }
    }
}

/// Where one section lies and its checksum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SectionEntry {
    pub offset: u64,
    pub len: u64,
    pub crc: u32,
}

/// The decoded header of a base file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub dim: u32,
    pub metric: Metric,
    pub count: u64,
    pub m: u32,
    pub m0: u32,
    pub max_level: u32,
    pub entry: u32,
    pub upper_blocks: u64,
    pub ef_construction: u32,
    pub quant_scale: f32,
    pub file_len: u64,
    pub sections: [SectionEntry; 7],
}

const SECTION_TABLE: usize = 96;
const SECTION_ENTRY: usize = 24;
const CRC_AT: usize = HEADER_LEN - 4;

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl Header {
    /// Expected byte length of each section given the counts.
    fn expected_lens(&self) -> Result<[u64; 7]> {
        let n = self.count;
        let dim = u64::from(self.dim);
        let mul = |a: u64, b: u64, what: &str| {
            a.checked_mul(b)
                .ok_or_else(|| IndexError::corrupt(format!("{what} size overflows")))
        };
        Ok([
            mul(mul(n, dim, "vectors")?, 4, "vectors")?,
            mul(n, dim, "quantized")?,
            mul(n, crate::meta::META_BYTES as u64, "meta")?,
            n,
            mul(n, 4, "upper_offsets")?,
            mul(mul(n, u64::from(self.m0), "layer0")?, 4, "layer0")?,
            mul(
                mul(self.upper_blocks, u64::from(self.m), "upper")?,
                4,
                "upper",
            )?,
        ])
    }

    /// Lays out sections one after the other from the end of the header,
    /// each aligned, and sets `file_len`. Checksums are filled by the writer.
    pub(crate) fn layout(&mut self) -> Result<()> {
        let lens = self.expected_lens()?;
        let mut at = HEADER_LEN as u64;
        for (entry, len) in self.sections.iter_mut().zip(lens) {
            at = at.div_ceil(ALIGN) * ALIGN;
            entry.offset = at;
            entry.len = len;
            at += len;
        }
        self.file_len = at;
        Ok(())
    }

    /// The 512 header bytes, CRC included.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..12].copy_from_slice(&VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
        b[16..20].copy_from_slice(&self.dim.to_le_bytes());
        b[20..24].copy_from_slice(&self.metric.code().to_le_bytes());
        b[24..32].copy_from_slice(&self.count.to_le_bytes());
        b[32..36].copy_from_slice(&self.m.to_le_bytes());
        b[36..40].copy_from_slice(&self.m0.to_le_bytes());
        b[40..44].copy_from_slice(&self.max_level.to_le_bytes());
        b[44..48].copy_from_slice(&self.entry.to_le_bytes());
        b[48..56].copy_from_slice(&self.upper_blocks.to_le_bytes());
        b[56..60].copy_from_slice(&self.ef_construction.to_le_bytes());
        b[60..64].copy_from_slice(&self.quant_scale.to_le_bytes());
        b[64..72].copy_from_slice(&self.file_len.to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = SECTION_TABLE + i * SECTION_ENTRY;
            b[at..at + 8].copy_from_slice(&s.offset.to_le_bytes());
            b[at + 8..at + 16].copy_from_slice(&s.len.to_le_bytes());
            b[at + 16..at + 20].copy_from_slice(&s.crc.to_le_bytes());
        }
        let crc = crc32fast::hash(&b[..CRC_AT]);
        b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and validates the header of a file of `file_len` bytes whose
    /// first bytes are `bytes`. Every offset and length is checked against
    /// the file, so later section slicing cannot go out of bounds.
    pub(crate) fn decode(bytes: &[u8], file_len: u64) -> Result<Self> {
        if bytes.len() < 12 || !bytes.starts_with(&MAGIC) {
            return Err(if bytes.len() < MAGIC.len() {
                IndexError::Truncated {
                    what: "header",
                    needed: HEADER_LEN as u64,
                    len: file_len,
                }
            } else {
                IndexError::BadMagic
            });
        }
        let version = u32_at(bytes, 8);
        if version != VERSION {
            return Err(IndexError::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        if bytes.len() < HEADER_LEN {
            return Err(IndexError::Truncated {
                what: "header",
                needed: HEADER_LEN as u64,
                len: file_len,
            });
        }
        let b = &bytes[..HEADER_LEN];
        let stored = u32_at(b, CRC_AT);
        let computed = crc32fast::hash(&b[..CRC_AT]);
        if stored != computed {
            return Err(IndexError::Checksum {
                section: "header",
                stored,
                computed,
            });
        }
        if u32_at(b, 12) as usize != HEADER_LEN {
            return Err(IndexError::corrupt("header length field"));
        }
        let metric_code = u32_at(b, 20);
        let metric = Metric::from_code(metric_code)
            .ok_or_else(|| IndexError::corrupt(format!("unknown metric code {metric_code}")))?;
        let mut sections = [SectionEntry::default(); 7];
        for (i, s) in sections.iter_mut().enumerate() {
            let at = SECTION_TABLE + i * SECTION_ENTRY;
            *s = SectionEntry {
                offset: u64_at(b, at),
                len: u64_at(b, at + 8),
                crc: u32_at(b, at + 16),
            };
        }
        let h = Header {
            dim: u32_at(b, 16),
            metric,
            count: u64_at(b, 24),
            m: u32_at(b, 32),
            m0: u32_at(b, 36),
            max_level: u32_at(b, 40),
            entry: u32_at(b, 44),
            upper_blocks: u64_at(b, 48),
            ef_construction: u32_at(b, 56),
            quant_scale: f32::from_le_bytes(b[60..64].try_into().unwrap_or([0; 4])),
            file_len: u64_at(b, 64),
            sections,
        };
        h.validate(file_len)?;
        Ok(h)
    }

    fn validate(&self, file_len: u64) -> Result<()> {
        let bad = |m: String| Err(IndexError::Corrupt(m));
        if self.dim == 0 || self.dim > MAX_DIM {
            return bad(format!("dimension {} out of range", self.dim));
        }
        if self.count > MAX_POINTS {
            return bad(format!("count {} out of range", self.count));
        }
        if !(2..=256).contains(&self.m) || !(2..=512).contains(&self.m0) {
            return bad(format!("degrees m={} m0={} out of range", self.m, self.m0));
        }
        if self.max_level > MAX_LEVEL {
            return bad(format!("max level {} out of range", self.max_level));
        }
        let entry_ok = if self.count == 0 {
            self.entry == NONE && self.max_level == 0
        } else {
            u64::from(self.entry) < self.count
        };
        if !entry_ok {
            return bad(format!(
                "entry point {} for {} points",
                self.entry, self.count
            ));
        }
        if self.upper_blocks > self.count.saturating_mul(u64::from(self.max_level)) {
            return bad(format!(
                "{} upper blocks for {} points",
                self.upper_blocks, self.count
            ));
        }
        if !(self.quant_scale.is_finite() && self.quant_scale > 0.0) {
            return bad(format!("quantisation step {}", self.quant_scale));
        }
        if self.file_len != file_len {
            return if file_len < self.file_len {
                Err(IndexError::Truncated {
                    what: "file",
                    needed: self.file_len,
                    len: file_len,
                })
            } else {
                bad(format!(
                    "file is {file_len} bytes, header says {}",
                    self.file_len
                ))
            };
        }
        let lens = self.expected_lens()?;
        let mut prev_end = HEADER_LEN as u64;
        for ((s, expected), sec) in self.sections.iter().zip(lens).zip(SECTIONS) {
            if s.len != expected {
                return bad(format!(
                    "section {} is {} bytes, counts imply {expected}",
                    sec.name(),
                    s.len
                ));
            }
            let end = s.offset.checked_add(s.len);
            if s.offset % ALIGN != 0 || s.offset < prev_end || end.is_none_or(|e| e > file_len) {
                return bad(format!(
                    "section {} at {}+{} does not fit the file",
                    sec.name(),
                    s.offset,
                    s.len
                ));
            }
            prev_end = end.unwrap_or(u64::MAX);
        }
        Ok(())
    }

    /// The byte range of a section (validated on decode).
    pub(crate) fn range(&self, s: Section) -> std::ops::Range<usize> {
        let e = self.sections[s as usize];
        e.offset as usize..(e.offset + e.len) as usize
    }
}

/// A writer that streams sections in order, checksumming each.
pub(crate) struct SectionWriter<W: Write> {
    out: W,
    at: u64,
    header: Header,
    current: Option<(usize, crc32fast::Hasher, u64)>,
}

impl<W: Write> SectionWriter<W> {
    /// Starts a file: reserves the header block (rewritten by the caller
    /// after `finish`, which returns the final header bytes).
    pub(crate) fn new(mut out: W, header: Header) -> std::io::Result<Self> {
        out.write_all(&[0u8; HEADER_LEN])?;
        Ok(Self {
            out,
            at: HEADER_LEN as u64,
            header,
            current: None,
        })
    }

    /// Starts section `s`: pads to its offset.
    pub(crate) fn begin(&mut self, s: Section) -> std::io::Result<()> {
        self.end()?;
        let offset = self.header.sections[s as usize].offset;
        let pad = offset.checked_sub(self.at).ok_or_else(|| {
            std::io::Error::other(format!("section {} written out of order", s.name()))
        })?;
        self.out.write_all(&vec![0u8; pad as usize])?;
        self.at = offset;
        self.current = Some((s as usize, crc32fast::Hasher::new(), 0));
        Ok(())
    }

    /// Appends bytes to the current section.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let Some((_, hasher, written)) = self.current.as_mut() else {
            return Err(std::io::Error::other("write outside a section"));
        };
        hasher.update(bytes);
        *written += bytes.len() as u64;
        self.at += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    fn end(&mut self) -> std::io::Result<()> {
        if let Some((i, hasher, written)) = self.current.take() {
            let entry = &mut self.header.sections[i];
            if written != entry.len {
                return Err(std::io::Error::other(format!(
                    "section {} got {written} bytes, expected {}",
                    SECTIONS[i].name(),
                    entry.len
                )));
            }
            entry.crc = hasher.finalize();
        }
        Ok(())
    }

    /// Ends the last section; returns the sink and the header with all
    /// checksums, to be written at offset 0.
    pub(crate) fn finish(mut self) -> std::io::Result<(W, Header)> {
        self.end()?;
        if self.at != self.header.file_len {
            return Err(std::io::Error::other("file length differs from layout"));
        }
        Ok((self.out, self.header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        let mut h = Header {
            dim: 8,
            metric: Metric::L2,
            count: 10,
            m: 4,
            m0: 8,
            max_level: 1,
            entry: 3,
            upper_blocks: 2,
            ef_construction: 40,
            quant_scale: 0.01,
            file_len: 0,
            sections: Default::default(),
        };
        h.layout().unwrap();
        h
    }

    #[test]
    fn header_round_trips_and_sections_are_aligned() {
        let h = sample();
        let bytes = h.encode();
        let back = Header::decode(&bytes, h.file_len).unwrap();
        assert_eq!(back, h);
        for s in &h.sections {
            assert_eq!(s.offset % ALIGN, 0);
        }
    }

    #[test]
    fn every_header_byte_is_covered_by_the_checksum() {
        let h = sample();
        let bytes = h.encode();
        for i in 12..HEADER_LEN {
            let mut b = bytes;
            b[i] ^= 0x10;
            assert!(Header::decode(&b, h.file_len).is_err(), "byte {i}");
        }
    }
}
