//! Feeds arbitrary bytes to the mGBA-http request parser, in arbitrary
//! read sizes: framing, request splitting and command typing must never
//! panic, and a message never contains a terminator.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mgba_http::command::Command;
use mgba_http::protocol::{next_frame, parse_request, Frame, TERMINATOR};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the read size, the rest is the stream.
    let Some((&step, stream)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut inbox = Vec::new();
    let mut scanned = 0;
    for piece in stream.chunks(step) {
        inbox.extend_from_slice(piece);
        loop {
            match next_frame(&inbox, scanned, 4096) {
                Ok(Frame::Message { body, consumed }) => {
                    assert!(!body.windows(TERMINATOR.len()).any(|w| w == TERMINATOR));
                    if let Ok(request) = parse_request(body) {
                        let _ = Command::from_request(&request);
                    }
                    inbox.drain(..consumed);
                    scanned = 0;
                }
                Ok(Frame::Incomplete) => {
                    scanned = inbox.len();
                    break;
                }
                Err(_) => return,
            }
        }
    }
});
