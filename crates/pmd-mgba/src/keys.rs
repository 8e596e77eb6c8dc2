//! The GBA buttons as a bitmask, in mGBA's bit order (the `KEYINPUT`
//! register's order with pressed = 1).

use std::fmt;
use std::str::FromStr;

bitflags::bitflags! {
    /// A set of held GBA buttons.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Keys: u16 {
        /// A button.
        const A = 1 << 0;
        /// B button.
        const B = 1 << 1;
        /// Select.
        const SELECT = 1 << 2;
        /// Start.
        const START = 1 << 3;
        /// D-pad right.
        const RIGHT = 1 << 4;
        /// D-pad left.
        const LEFT = 1 << 5;
        /// D-pad up.
        const UP = 1 << 6;
        /// D-pad down.
        const DOWN = 1 << 7;
        /// Right shoulder.
        const R = 1 << 8;
        /// Left shoulder.
        const L = 1 << 9;
    }
}

const NAMES: [(&str, Keys); 10] = [
    ("a", Keys::A),
    ("b", Keys::B),
    ("select", Keys::SELECT),
    ("start", Keys::START),
    ("right", Keys::RIGHT),
    ("left", Keys::LEFT),
    ("up", Keys::UP),
    ("down", Keys::DOWN),
    ("r", Keys::R),
    ("l", Keys::L),
];

/// A key name that [`Keys::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key {name:?} (known: a, b, select, start, right, left, up, down, r, l, none)")]
pub struct ParseKeysError {
    /// The name as given.
    pub name: String,
}

impl FromStr for Keys {
    type Err = ParseKeysError;

    /// Parses `+`-separated, case-insensitive key names such as `"up+a"`;
    /// `"none"` or an empty string is no key. Unlike the socket design, a
    /// misspelled key is an error rather than a silent no-op.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut keys = Keys::empty();
        for part in s.split('+').map(str::trim) {
            if part.is_empty() || part.eq_ignore_ascii_case("none") {
                continue;
            }
            let (_, key) = NAMES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(part))
                .ok_or_else(|| ParseKeysError {
                    name: part.to_string(),
                })?;
            keys |= *key;
        }
        Ok(keys)
    }
}

impl fmt::Display for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (name, key) in NAMES {
            if self.contains(key) {
                if !first {
                    f.write_str("+")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        let keys: Keys = "Up+a".parse().unwrap();
        assert_eq!(keys, Keys::UP | Keys::A);
        assert_eq!(keys.to_string(), "a+up");
        assert_eq!("none".parse::<Keys>().unwrap(), Keys::empty());
        assert_eq!(Keys::empty().to_string(), "none");
    }

    #[test]
    fn misspelled_key_is_an_error() {
        let err = "up+jump".parse::<Keys>().unwrap_err();
        assert_eq!(err.name, "jump");
    }

    #[test]
    fn bit_order_matches_mgba() {
        // mGBA numbers the keys A=0 .. L=9, as the socket protocol does.
        assert_eq!(Keys::A.bits(), 1);
        assert_eq!(Keys::DOWN.bits(), 1 << 7);
        assert_eq!(Keys::L.bits(), 1 << 9);
        assert_eq!(Keys::all().bits(), 0x3FF);
    }
}
