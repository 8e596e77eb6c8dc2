//! What Linux says about a process in `/proc`: CPU time and memory fields.
//! The benchmarks' one reader of it (`None` elsewhere than Linux, or for a
//! process that is gone).

/// User + system CPU seconds, all threads, of a process (`None`: this
/// one), from `/proc/<pid>/stat` (clock ticks of 1/100 s, Linux's fixed
/// USER_HZ).
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let stat = std::fs::read_to_string(path(pid, "stat")).ok()?;
    // The command name may contain spaces; fields resume after ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// This process's CPU seconds, user + system, all threads (for
/// before/after differences): the process CPU clock
/// (`CLOCK_PROCESS_CPUTIME_ID`, through the `cpu-time` crate), which
/// resolves nanoseconds where `/proc`'s ticks are 10 ms — a short
/// measurement would otherwise read 0.
pub fn self_cpu_seconds() -> f64 {
    cpu_time::ProcessTime::try_now()
        .map(|t| t.as_duration().as_secs_f64())
        .unwrap_or_else(|_| cpu_seconds(None).unwrap_or(0.0))
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`, `RssAnon:`,
/// ...) in KiB, of a process (`None`: this one).
pub fn status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path(pid, "status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(field))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Resident set size of this process in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_kib(None, "VmRSS:").map(|k| k * 1024)
}

fn path(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(p) => format!("/proc/{p}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

#[cfg(test)]
mod clock_tests {
    #[test]
    fn the_process_clock_sees_a_millisecond_of_work() {
        let before = super::self_cpu_seconds();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(3) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let spent = super::self_cpu_seconds() - before;
        assert!(spent > 0.0005 && spent < 1.0, "{spent}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn this_process_is_readable_and_a_missing_one_is_not() {
        let spin: u64 = (0..2_000_000u64).map(|i| i ^ (i >> 3)).sum();
        std::hint::black_box(spin);
        assert!(cpu_seconds(None).is_some_and(|s| s >= 0.0));
        assert!(rss_bytes().is_some_and(|b| b > 1 << 20));
        assert!(status_kib(None, "VmHWM:").is_some_and(|k| k > 1024));
        assert!(status_kib(None, "NoSuchField:").is_none());
        assert!(cpu_seconds(Some(u32::MAX)).is_none());
        assert!(status_kib(Some(u32::MAX), "VmRSS:").is_none());
    }
}
