//! Bytes as the protocol's comma-separated lowercase hex (`0a,ff,...`),
//! both ways, without per-byte allocation.

/// `"00," .. "ff,"`: three bytes of text per byte value.
static TABLE: [[u8; 3]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 3]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 15], b','];
        i += 1;
    }
    table
};

/// Appends `bytes` as `0a,ff,...` (no trailing comma) to `out`.
pub fn encode(bytes: &[u8], out: &mut Vec<u8>) {
    if bytes.is_empty() {
        return;
    }
    out.reserve(bytes.len() * 3);
    for &b in bytes {
        out.extend_from_slice(&TABLE[usize::from(b)]);
    }
    out.pop();
}

/// Appends `bytes` as `0a,ff,...` to `out` a piece at a time, calling
/// `flush` whenever `out` holds `flush_at` bytes or more, so that the text
/// of a large reply (three bytes per byte) never sits in memory whole.
/// Stops at the first error of `flush`.
pub fn encode_streaming<E>(
    bytes: &[u8],
    out: &mut Vec<u8>,
    flush_at: usize,
    flush: &mut dyn FnMut(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    // A third of the flush size per piece keeps `out` under about twice it.
    let piece = (flush_at / 3).max(1);
    for (i, chunk) in bytes.chunks(piece).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        encode(chunk, out);
        if out.len() >= flush_at {
            flush(out)?;
        }
    }
    Ok(())
}

/// Text that is not a hex byte list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a hex byte list (at byte {at})")]
pub struct HexError {
    /// Where it went wrong.
    pub at: usize,
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes `0a,ff,...` (one or two digits per byte) into `out`, which is
/// cleared first. An empty text is no bytes.
pub fn decode(text: &[u8], out: &mut Vec<u8>) -> Result<(), HexError> {
    out.clear();
    out.reserve(text.len() / 3 + 1);
    let mut i = 0;
    while i < text.len() {
        let hi = nibble(text[i]).ok_or(HexError { at: i })?;
        let value = match text.get(i + 1) {
            Some(&c) if c != b',' => {
                let lo = nibble(c).ok_or(HexError { at: i + 1 })?;
                i += 2;
                (hi << 4) | lo
            }
            _ => {
                i += 1;
                hi
            }
        };
        out.push(value);
        match text.get(i) {
            None => break,
            Some(b',') if i + 1 < text.len() => i += 1,
            Some(_) => return Err(HexError { at: i }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_byte() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut text = Vec::new();
        encode(&bytes, &mut text);
        assert_eq!(text.len(), 256 * 3 - 1);
        assert!(text.starts_with(b"00,01,02"));
        assert!(text.ends_with(b"fe,ff"));
        let mut back = Vec::new();
        decode(&text, &mut back).unwrap();
        assert_eq!(back, bytes);
    }

    #[test]
    fn streaming_gives_the_same_text_in_bounded_pieces() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mut whole = Vec::new();
        encode(&bytes, &mut whole);
        let (mut sent, mut out, mut largest) = (Vec::new(), Vec::new(), 0);
        encode_streaming::<()>(&bytes, &mut out, 300, &mut |o| {
            largest = largest.max(o.len());
            sent.append(o);
            Ok(())
        })
        .unwrap();
        sent.append(&mut out);
        assert_eq!(sent, whole);
        assert!(largest < 600, "{largest}");
    }

    #[test]
    fn decoding_checks_the_syntax() {
        let mut out = Vec::new();
        decode(b"", &mut out).unwrap();
        assert!(out.is_empty());
        decode(b"a,0F,7", &mut out).unwrap();
        assert_eq!(out, [0x0a, 0x0f, 0x07]);
        for bad in [&b"0g"[..], b"00,", b",00", b"000", b"00;01", b"00,,01"] {
            assert!(
                decode(bad, &mut out).is_err(),
                "{:?}",
                std::str::from_utf8(bad)
            );
        }
    }
}
