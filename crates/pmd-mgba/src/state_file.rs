//! Structural checks on mGBA frontend savestate files before mGBA parses
//! them: a PNG must be complete and intact (every chunk's length and CRC)
//! and carry the `gbAs` state chunk; a raw state must be at least one
//! state long. mGBA's PNG reader reports damage by printing to stderr, so
//! damaged files are refused here first, with a reason.

const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Whether `bytes` start like a PNG file.
pub(crate) fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(PNG_SIGNATURE)
}

/// Checks a savestate file; `state_size` is the core's raw state size.
pub(crate) fn check(bytes: &[u8], state_size: usize) -> Result<(), &'static str> {
    if !is_png(bytes) {
        return if bytes.len() >= state_size {
            Ok(())
        } else {
            Err("neither a PNG savestate nor long enough for a raw one")
        };
    }
    let mut rest = &bytes[PNG_SIGNATURE.len()..];
    let (mut first, mut has_state) = (true, false);
    loop {
        if rest.len() < 12 {
            return Err("PNG ends in the middle of a chunk");
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        let body_end = 8usize
            .checked_add(len)
            .filter(|end| end + 4 <= rest.len())
            .ok_or("PNG chunk runs past the end of the file")?;
        let stored = u32::from_be_bytes([
            rest[body_end],
            rest[body_end + 1],
            rest[body_end + 2],
            rest[body_end + 3],
        ]);
        if crc32fast::hash(&rest[4..body_end]) != stored {
            return Err("PNG chunk checksum mismatch");
        }
        if first && kind != b"IHDR" {
            return Err("PNG does not start with a header chunk");
        }
        first = false;
        has_state |= kind == b"gbAs";
        if kind == b"IEND" {
            return if has_state {
                Ok(())
            } else {
                Err("PNG carries no mGBA state chunk")
            };
        }
        rest = &rest[body_end + 4..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(body);
        out.extend_from_slice(&crc32fast::hash(&crc_input).to_be_bytes());
        out
    }

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    }

    #[test]
    fn accepts_complete_png_with_state() {
        let file = png(&[
            chunk(b"IHDR", &[0; 13]),
            chunk(b"gbAs", b"zz"),
            chunk(b"IEND", b""),
        ]);
        assert_eq!(check(&file, 1000), Ok(()));
    }

    #[test]
    fn refuses_damage() {
        let good = png(&[
            chunk(b"IHDR", &[0; 13]),
            chunk(b"gbAs", b"zz"),
            chunk(b"IEND", b""),
        ]);
        assert!(check(&good[..good.len() - 3], 1000).is_err());
        let mut flipped = good.clone();
        flipped[40] ^= 1;
        assert!(check(&flipped, 1000).is_err());
        let no_state = png(&[chunk(b"IHDR", &[0; 13]), chunk(b"IEND", b"")]);
        assert_eq!(
            check(&no_state, 1000),
            Err("PNG carries no mGBA state chunk")
        );
        assert!(check(b"short raw", 1000).is_err());
        assert_eq!(check(&[0u8; 1000], 1000), Ok(()));
    }
}
