//! Property tests of the request parser (the CI stand-in for the cargo-fuzz
//! target in `fuzz/`): arbitrary bytes never panic, framing is the same
//! however the bytes are split into reads, and what the parser accepts
//! round-trips.

use pmd_agent::socket::command::Command;
use pmd_agent::socket::hex;
use pmd_agent::socket::protocol::{next_frame, parse_request, Frame, FrameError, TERMINATOR};
use proptest::prelude::*;

/// Every message of `stream`, parsed from reads split at `cuts`.
fn frames_split(stream: &[u8], cuts: &[usize], limit: usize) -> (Vec<Vec<u8>>, bool) {
    let mut inbox = Vec::new();
    let mut scanned = 0;
    let mut out = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    let mut from = 0;
    for to in points {
        inbox.extend_from_slice(&stream[from..to]);
        from = to;
        loop {
            match next_frame(&inbox, scanned, limit) {
                Ok(Frame::Message { body, consumed }) => {
                    out.push(body.to_vec());
                    inbox.drain(..consumed);
                    scanned = 0;
                }
                Ok(Frame::Incomplete) => {
                    scanned = inbox.len();
                    break;
                }
                Err(FrameError::TooLong { .. }) => return (out, true),
            }
        }
    }
    (out, false)
}

/// Bytes likely to contain terminators, brackets, commas and junk.
fn protocol_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(TERMINATOR.to_vec()),
        Just(b"<|".to_vec()),
        Just(b"END|>".to_vec()),
        Just(b",".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b"memoryDomain.readRange".to_vec()),
        Just(b"wram".to_vec()),
        Just(b"0x".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn framing_does_not_depend_on_how_bytes_arrive(
        stream in protocol_bytes(),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
    ) {
        let whole = frames_split(&stream, &[], 1 << 20);
        let split = frames_split(&stream, &cuts, 1 << 20);
        prop_assert_eq!(&whole, &split);
        for body in &whole.0 {
            prop_assert!(!body.windows(TERMINATOR.len()).any(|w| w == TERMINATOR));
        }
    }

    #[test]
    fn the_size_limit_holds_for_any_input(stream in protocol_bytes(), limit in 0usize..64) {
        let (messages, too_long) = frames_split(&stream, &[], limit);
        for body in &messages {
            prop_assert!(body.len() <= limit);
        }
        // Without an error, everything after the last message is shorter
        // than the limit plus a terminator.
        if !too_long {
            let used: usize = messages.iter().map(|m| m.len() + TERMINATOR.len()).sum();
            prop_assert!(stream.len() - used <= limit + TERMINATOR.len());
        }
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(body in protocol_bytes()) {
        if let Ok(request) = parse_request(&body) {
            prop_assert!(!request.name.is_empty());
            prop_assert!(request.args.iter().all(|a| !a.is_empty()));
            let _ = Command::from_request(&request);
        }
    }

    #[test]
    fn plain_requests_round_trip(
        name in "[a-zA-Z][a-zA-Z0-9.\\-]{0,20}",
        args in proptest::collection::vec("[a-zA-Z0-9;]{1,10}", 0..5),
    ) {
        let mut text = name.clone();
        for a in &args {
            text.push(',');
            text.push_str(a);
        }
        let request = parse_request(text.as_bytes()).unwrap();
        prop_assert_eq!(request.name, name.as_str());
        prop_assert_eq!(request.args, args.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut text = Vec::new();
        hex::encode(&bytes, &mut text);
        let mut back = Vec::new();
        hex::decode(&text, &mut back).unwrap();
        prop_assert_eq!(back, bytes);
    }

    #[test]
    fn hex_decoding_arbitrary_text_never_panics(text in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        let _ = hex::decode(&text, &mut out);
    }
}
