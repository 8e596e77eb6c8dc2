//! The mGBA-http socket protocol's framing and request syntax, on bytes,
//! with no I/O: [`next_frame`] finds one message in a receive buffer
//! ("incomplete" versus a message versus an over-long one), and
//! [`parse_request`] splits a message into a command name and arguments
//! exactly as the Lua server does.
//!
//! Wire format: `name,arg1,arg2,...<|END|>`; trailing whitespace is
//! dropped, fields are split on commas and empty fields dropped; a first
//! argument starting with `[` runs to its matching `]` (a hex byte list,
//! which contains commas). Replies are text followed by `<|END|>`.

/// Ends every request and every reply.
pub const TERMINATOR: &[u8] = b"<|END|>";
/// The reply of a command with no value.
pub const SUCCESS: &str = "<|SUCCESS|>";
/// The reply of a failed or unknown command.
pub const ERROR: &str = "<|ERROR|>";
/// Largest request accepted by default: a savestate uploaded as a hex byte
/// list is about 1.3 MB, so 4 MiB leaves room without letting a client
/// make the server buffer without bound.
pub const DEFAULT_MAX_MESSAGE: usize = 4 << 20;

/// What the start of a receive buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// No terminator yet: read more.
    Incomplete,
    /// One message (terminator excluded) and the bytes it used, terminator
    /// included.
    Message {
        /// The message body.
        body: &'a [u8],
        /// Bytes to drop from the buffer.
        consumed: usize,
    },
}

/// A receive buffer that can never become a valid message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More than `limit` bytes without a terminator (or a longer message).
    #[error("message longer than {limit} bytes")]
    TooLong {
        /// The limit.
        limit: usize,
    },
}

/// The position of the first terminator at or after `from`.
pub fn find_terminator(buf: &[u8], from: usize) -> Option<usize> {
    let first = TERMINATOR[0];
    let mut at = from;
    while at + TERMINATOR.len() <= buf.len() {
        let rel = buf[at..].iter().position(|&b| b == first)?;
        let pos = at + rel;
        if buf.get(pos..pos + TERMINATOR.len()) == Some(TERMINATOR) {
            return Some(pos);
        }
        at = pos + 1;
    }
    None
}

/// Finds the first message in `buf`. `scanned` is how many bytes an
/// earlier call already searched without finding a terminator (so a long
/// message arriving in pieces is scanned once, not once per piece); pass 0
/// when unsure.
pub fn next_frame(buf: &[u8], scanned: usize, limit: usize) -> Result<Frame<'_>, FrameError> {
    // A terminator may straddle the old end of the buffer.
    let from = scanned.saturating_sub(TERMINATOR.len() - 1).min(buf.len());
    match find_terminator(buf, from) {
        Some(end) if end > limit => Err(FrameError::TooLong { limit }),
        Some(end) => Ok(Frame::Message {
            body: &buf[..end],
            consumed: end + TERMINATOR.len(),
        }),
        None if buf.len() > limit + TERMINATOR.len() => Err(FrameError::TooLong { limit }),
        None => Ok(Frame::Incomplete),
    }
}

/// A message split into its command name and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The command, e.g. `memoryDomain.readRange`.
    pub name: &'a str,
    /// Its arguments, empty fields dropped.
    pub args: Vec<&'a str>,
}

/// A message that is not a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not UTF-8 text.
    #[error("the message is not UTF-8 text")]
    InvalidUtf8,
    /// Nothing but whitespace and commas.
    #[error("empty message")]
    Empty,
}

/// Splits a message body into name and arguments (see the module docs).
pub fn parse_request(body: &[u8]) -> Result<Request<'_>, RequestError> {
    let text = std::str::from_utf8(body).map_err(|_| RequestError::InvalidUtf8)?;
    // Lua's `%s`: exactly these, not Unicode's whitespace.
    let text = text.trim_end_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if let Some((name, rest)) = text.split_once(',') {
        if !name.is_empty() && rest.starts_with('[') {
            if let Some(close) = matching_bracket(rest) {
                let mut args = vec![&rest[..=close]];
                args.extend(fields(&rest[close + 1..]));
                return Ok(Request { name, args });
            }
            // An unclosed list: like the Lua server, no arguments at all.
            return Ok(Request {
                name,
                args: Vec::new(),
            });
        }
    }
    let mut parts = fields(text);
    let name = parts.next().ok_or(RequestError::Empty)?;
    Ok(Request {
        name,
        args: parts.collect(),
    })
}

fn fields(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|f| !f.is_empty())
}

/// The index of the `]` closing the `[` at the start of `text`.
fn matching_bracket(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Appends `reply` and the terminator to `out`.
pub fn frame_reply(out: &mut Vec<u8>, reply: &str) {
    out.extend_from_slice(reply.as_bytes());
    out.extend_from_slice(TERMINATOR);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(buf: &[u8]) -> Result<Frame<'_>, FrameError> {
        next_frame(buf, 0, 64)
    }

    #[test]
    fn incomplete_until_the_terminator_arrives() {
        assert_eq!(frame(b""), Ok(Frame::Incomplete));
        assert_eq!(frame(b"core.platform"), Ok(Frame::Incomplete));
        assert_eq!(frame(b"core.platform<|EN"), Ok(Frame::Incomplete));
        assert_eq!(
            frame(b"core.platform<|END|>core.pl"),
            Ok(Frame::Message {
                body: b"core.platform",
                consumed: 20
            })
        );
    }

    #[test]
    fn a_terminator_split_across_reads_is_found_with_scanned() {
        let buf = b"core.platform<|END|>";
        // The first 16 bytes were searched before the rest arrived.
        assert_eq!(
            next_frame(buf, 16, 64),
            Ok(Frame::Message {
                body: b"core.platform",
                consumed: 20
            })
        );
    }

    #[test]
    fn too_long_with_or_without_terminator() {
        let long = vec![b'x'; 100];
        assert_eq!(frame(&long), Err(FrameError::TooLong { limit: 64 }));
        let mut terminated = vec![b'x'; 65];
        terminated.extend_from_slice(TERMINATOR);
        assert_eq!(frame(&terminated), Err(FrameError::TooLong { limit: 64 }));
        // Exactly at the limit is fine.
        let mut ok = vec![b'x'; 64];
        ok.extend_from_slice(TERMINATOR);
        assert!(matches!(frame(&ok), Ok(Frame::Message { .. })));
    }

    #[test]
    fn splits_on_commas_dropping_empty_fields_and_trailing_space() {
        let r = parse_request(b"memoryDomain.readRange,,wram,0x10,,4 \r\n").unwrap();
        assert_eq!(r.name, "memoryDomain.readRange");
        assert_eq!(r.args, vec!["wram", "0x10", "4"]);
        let r = parse_request(b"core.currentFrame").unwrap();
        assert_eq!(r.args, Vec::<&str>::new());
    }

    #[test]
    fn a_byte_list_keeps_its_commas() {
        let r = parse_request(b"core.loadStateBuffer,[0a,ff,[1]],3").unwrap();
        assert_eq!(r.args, vec!["[0a,ff,[1]]", "3"]);
        let r = parse_request(b"core.loadStateBuffer,[0a,ff").unwrap();
        assert_eq!(r.args, Vec::<&str>::new());
    }

    #[test]
    fn empty_and_invalid_messages() {
        assert_eq!(parse_request(b""), Err(RequestError::Empty));
        assert_eq!(parse_request(b",,, "), Err(RequestError::Empty));
        assert_eq!(parse_request(b"\xff\xfe"), Err(RequestError::InvalidUtf8));
    }
}
