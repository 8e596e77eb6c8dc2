//! UTC ISO-8601 timestamps as league.v2 writes them (`2025-01-15T10:30:00.123Z`).
//!
//! Hand-written rather than pulling in a date crate: the protocol needs one
//! formatter and one shape check, about forty lines.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, formatted with millisecond precision and a trailing `Z`.
pub fn now_iso() -> String {
    format_iso(SystemTime::now())
}

/// `t` formatted as UTC ISO-8601 with milliseconds and a trailing `Z`.
pub fn format_iso(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day),
/// counting in 400-year eras of 146,097 days that start on March 1st so the
/// leap day falls at the end of each year.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1st
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Whether `s` is a UTC ISO-8601 date-time: `YYYY-MM-DDTHH:MM:SS`, optional
/// fraction, then `Z` (or `+00:00`, which some Python peers send).
pub fn is_utc_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let shape = b[4] == b'-' && b[7] == b'-' && (b[10] == b'T' || b[10] == b't');
    let shape = shape && b[13] == b':' && b[16] == b':';
    let (Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    if !shape || !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &frac[digits..];
    }
    matches!(rest, "Z" | "z" | "+00:00" | "-00:00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_iso(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day in a century leap year) 12:34:56.789
        let t = UNIX_EPOCH + Duration::from_millis(951_827_696_789);
        assert_eq!(format_iso(t), "2000-02-29T12:34:56.789Z");
        // 2025-01-15T10:30:00Z
        let t = UNIX_EPOCH + Duration::from_secs(1_736_937_000);
        assert_eq!(format_iso(t), "2025-01-15T10:30:00.000Z");
        assert!(is_utc_timestamp(&now_iso()));
    }

    #[test]
    fn checks_timestamp_shape() {
        for ok in [
            "2025-01-15T10:30:00Z",
            "2025-01-15T10:30:00.123456Z",
            "2025-01-15T10:30:00+00:00",
        ] {
            assert!(is_utc_timestamp(ok), "{ok}");
        }
        for bad in [
            "",
            "2025-01-15",
            "2025-01-15T10:30:00",
            "2025-01-15T10:30:00+02:00",
            "2025-13-15T10:30:00Z",
            "2025-01-15T25:30:00Z",
            "2025-01-15T10:30:00.Z",
            "2025-01-15 10:30:00Z",
            "२०२५-01-15T10:30:00Z",
        ] {
            assert!(!is_utc_timestamp(bad), "{bad}");
        }
    }
}
