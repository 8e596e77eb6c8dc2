//! Reading and writing 2-D float32 `.npy` files (NumPy's format 1.0–3.0,
//! little-endian `<f4`, C order), the exchange format with the FAISS
//! script.
//!
//! Hand-written rather than a crate: the subset needed is ~100 lines, and
//! a strict parser that rejects everything else (other dtypes, Fortran
//! order, more or fewer than 2 dimensions, sizes that disagree with the
//! file length) is what makes a malformed file a typed error.

use std::io::Write;
use std::path::Path;

use crate::error::{IndexError, Result};

const MAGIC: &[u8] = b"\x93NUMPY";
const MAX_HEADER: usize = 1 << 16;

/// A row-major `[rows, cols]` float32 matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` values, row-major.
    pub data: Vec<f32>,
}

fn bad(m: impl Into<String>) -> IndexError {
    IndexError::BadNpy(m.into())
}

/// Parses `.npy` bytes holding a 2-D `<f4` C-order array.
pub fn parse(bytes: &[u8]) -> Result<Matrix> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("missing \\x93NUMPY magic"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header length"));
            }
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
            (n, 12)
        }
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    if header_len > MAX_HEADER || start + header_len > bytes.len() {
        return Err(bad("header longer than the file"));
    }
    let header = std::str::from_utf8(&bytes[start..start + header_len])
        .map_err(|_| bad("header is not text"))?;
    let descr = dict_value(header, "descr")?;
    if descr != "'<f4'" && descr != "\"<f4\"" {
        return Err(bad(format!("dtype {descr}, expected '<f4'")));
    }
    if dict_value(header, "fortran_order")? != "False" {
        return Err(bad("Fortran order is not supported"));
    }
    let shape = dict_value(header, "shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| bad(format!("shape {shape}")))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("shape {shape}")))
        })
        .collect::<Result<_>>()?;
    let [rows, cols] = dims[..] else {
        return Err(bad(format!("shape {shape}: expected 2 dimensions")));
    };
    let data = &bytes[start + header_len..];
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| bad("shape overflows"))?;
    if data.len() != expected {
        return Err(bad(format!(
            "{} data bytes for shape ({rows}, {cols}), expected {expected}",
            data.len()
        )));
    }
    let data = data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Matrix { rows, cols, data })
}

/// The raw text of `key`'s value in a Python dict literal of scalars,
/// strings and one tuple.
fn dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let quoted = [format!("'{key}'"), format!("\"{key}\"")];
    let at = quoted
        .iter()
        .find_map(|q| header.find(q.as_str()).map(|i| i + q.len()))
        .ok_or_else(|| bad(format!("header has no {key}")))?;
    let rest = header[at..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| bad(format!("no ':' after {key}")))?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| bad(format!("unterminated value of {key}")))?;
    Ok(rest[..end].trim())
}

/// Reads a `.npy` file.
pub fn read(path: &Path) -> Result<Matrix> {
    let bytes = std::fs::read(path).map_err(|e| IndexError::io(path, e))?;
    parse(&bytes)
}

/// The `.npy` (format 1.0) bytes of a `[rows, cols]` float32 matrix.
pub fn to_bytes(rows: usize, cols: usize, data: &[f32]) -> Result<Vec<u8>> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(bad("data length differs from shape"));
    }
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic, version, length, dict, padding, newline: a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let pad = unpadded.div_ceil(64) * 64 - unpadded;
    let header_len = dict.len() + pad + 1;
    let mut out = Vec::with_capacity(10 + header_len + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes a `[rows, cols]` float32 matrix to `path` atomically.
pub fn write(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    let bytes = to_bytes(rows, cols, data)?;
    crate::store::write_atomic(path, |w| w.write_all(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let bytes = to_bytes(3, 4, &data).unwrap();
        let header_end = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!(header_end % 64, 0);
        let m = parse(&bytes).unwrap();
        assert_eq!((m.rows, m.cols), (3, 4));
        assert_eq!(m.data, data);
    }

    #[test]
    fn malformed_files_are_typed_errors() {
        let good = to_bytes(2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        let header = String::from_utf8_lossy(&good[10..]).into_owned();
        let swap = |from: &str, to: &str| {
            let mut b = good.clone();
            let h = header.replacen(from, to, 1);
            b.truncate(10);
            b.extend_from_slice(h.as_bytes());
            b
        };
        let cases = [
            good[..good.len() - 1].to_vec(),
            good[..8].to_vec(),
            b"NOTNUMPY0000".to_vec(),
            swap("<f4", "<f8"),
            swap("False", "True "),
            swap("(2, 2)", "(2,)  "),
            swap("(2, 2)", "(9, 9)"),
            swap("(2, 2)", "(2, x)"),
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!(matches!(parse(c), Err(IndexError::BadNpy(_))), "case {i}");
        }
        let mut v9 = good.clone();
        v9[6] = 9;
        assert!(parse(&v9).is_err());
    }
}
