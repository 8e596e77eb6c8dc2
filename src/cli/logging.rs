//! `tracing` set-up for the CLI: human-readable or JSON events on stderr,
//! filtered by `RUST_LOG` or `--log-level` (default `warn`), and with
//! `--log-dir` also to rotated files (JSON lines unless `--log-file-format`
//! says otherwise):
//!
//! - by default hourly-rotated files `NAME.<YYYY-MM-DD-HH>.log` of which only
//!   the newest `--log-keep` are kept (tracing-appender);
//! - with `--log-max-bytes BYTES`, size-rotated files `NAME.log` (the one
//!   being written), `NAME.log.1` (the newest old one) … `NAME.log.KEEP`
//!   (the oldest), none over BYTES and no event split between two files
//!   ([`SizeRotatingFile`]).
//!
//! `NAME` is `--log-name` (default `pmd-agent`): processes that share a log
//! directory (a league's manager, referees and players) each need their own.
//!
//! Size rotation is written here rather than taken from a crate because
//! none of those looked at keeps both promises — every file within the
//! limit, and whole lines only: `file-rotate`'s `ContentLimit::Bytes` cuts
//! a line at the limit and its `BytesSurpassed` lets a file grow past it;
//! `rolling-file` and `logroller` check the size after writing, so a file
//! ends up one record over; tracing-appender 0.2 has no size rotation.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use clap::{Args, ValueEnum};
use tracing::Subscriber;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::Failure;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging options, accepted by every subcommand.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log filter (tracing `EnvFilter` syntax); `RUST_LOG` overrides it.
    #[arg(long, global = true, default_value = "warn", value_name = "FILTER")]
    log_level: String,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Log line format in `--log-dir` files: one JSON object per line by
    /// default, whatever `--log-format` says, since files are read by tools
    /// (and a JSON event is always one line; a text one may not be).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Json)]
    log_file_format: LogFormat,

    /// Also write logs to rotated files in DIR (at `info` level unless
    /// `--log-level` asks for more): hourly `NAME.<YYYY-MM-DD-HH>.log`, or
    /// by size with `--log-max-bytes`.
    #[arg(long, global = true, value_name = "DIR")]
    log_dir: Option<PathBuf>,

    /// Rotated log files kept in `--log-dir` (older ones are deleted). Hourly,
    /// the N newest files in all; by size, N old files besides the current
    /// one (so at most N + 1 files and (N + 1) × BYTES).
    #[arg(long, global = true, default_value_t = 24, value_name = "N")]
    log_keep: usize,

    /// Rotate `--log-dir` files by size instead of hourly: `NAME.log` is
    /// renamed `NAME.log.1` (and `.1` to `.2` …, the oldest beyond
    /// `--log-keep` deleted) before a write would take it past BYTES, so no
    /// file is larger and no event is split between files (an event that
    /// alone is larger than BYTES gets a file of its own). A plain number
    /// of bytes, or one with a suffix K, M or G (also KiB, MiB, GiB; powers
    /// of 1024): `10M`. A restarted process appends to its `NAME.log`.
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes,
          requires = "log_dir")]
    log_max_bytes: Option<u64>,

    /// Name of this process's files in `--log-dir`: `NAME.log` (by size) or
    /// `NAME.<hour>.log` (hourly). Processes logging to the same directory
    /// need different names, e.g. `manager`, `referee-1`, `player-7`; the
    /// name is not taken from the subcommand since a league runs many
    /// players. Letters, digits, `-`, `_` and `.`, not starting with `.`.
    /// Hourly rotation (tracing-appender) counts every `NAME*.log` file in
    /// the directory as its own when it deletes old ones, so there no name
    /// may begin with another (`player-1` and `player-10`); size rotation
    /// touches only `NAME.log` and `NAME.log.<n>`.
    #[arg(long, global = true, default_value = "pmd-agent", value_name = "NAME",
          value_parser = parse_log_name)]
    log_name: String,
}

fn filter(spec: &str) -> Result<EnvFilter, Failure> {
    EnvFilter::try_new(spec).map_err(|e| Failure::bad_input(format!("log filter {spec:?}: {e}")))
}

/// Parses `--log-max-bytes`: digits, then optionally K, M or G (or KiB,
/// MiB, GiB; any case), powers of 1024. Zero is refused.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a size in bytes (e.g. 1048576, 512K, 10M, 1G)");
    let text_trimmed = text.trim();
    let split = text_trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text_trimmed.len());
    let (digits, unit) = text_trimmed.split_at(split);
    let count: u64 = digits.parse().map_err(|_| bad())?;
    let shift = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return Err(bad()),
    };
    let bytes = count
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes == 0 {
        return Err("the size must be at least 1 byte".to_string());
    }
    Ok(bytes)
}

/// Parses `--log-name`: a plain file name (no directories, not hidden).
fn parse_log_name(text: &str) -> Result<String, String> {
    let plain = !text.is_empty()
        && !text.starts_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if plain {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?}: a log name is letters, digits, '-', '_' and '.', not starting with '.'"
        ))
    }
}

/// A fmt layer in `format` writing to `writer`, without ANSI colours.
fn file_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync + 'static>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .boxed(),
    }
}

/// Opens the `--log-dir` writer: size-rotated with `--log-max-bytes`,
/// hourly otherwise.
fn file_writer(args: &LogArgs, dir: &Path) -> Result<BoxMakeWriter, Failure> {
    let cannot_open = |e: &dyn std::fmt::Display| {
        Failure::bad_input(format!("{}: cannot open log file: {e}", dir.display()))
    };
    match args.log_max_bytes {
        Some(max_bytes) => {
            let file_name = format!("{}.log", args.log_name);
            let file = SizeRotatingFile::open(dir, &file_name, max_bytes, args.log_keep)
                .map_err(|e| cannot_open(&e))?;
            Ok(BoxMakeWriter::new(file))
        }
        None => {
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::HOURLY)
                .filename_prefix(args.log_name.as_str())
                .filename_suffix("log")
                .max_log_files(args.log_keep)
                .build(dir)
                .map_err(|e| cannot_open(&e))?;
            Ok(BoxMakeWriter::new(appender))
        }
    }
}

/// Installs the global subscriber.
pub fn init(args: &LogArgs) -> Result<(), Failure> {
    let spec = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => value,
        _ => args.log_level.clone(),
    };
    let stderr_layer = match args.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    }
    .with_filter(filter(&spec)?);

    let file_layer = match &args.log_dir {
        None => None,
        Some(dir) => {
            if args.log_keep == 0 {
                return Err(Failure::bad_input("--log-keep must be at least 1"));
            }
            std::fs::create_dir_all(dir).map_err(|e| {
                Failure::bad_input(format!(
                    "{}: cannot create log directory: {e}",
                    dir.display()
                ))
            })?;
            let writer = file_writer(args, dir)?;
            let file_spec = if args.log_level == "warn" && std::env::var("RUST_LOG").is_err() {
                "info".to_string()
            } else {
                spec.clone()
            };
            Some(file_layer(args.log_file_format, writer).with_filter(filter(&file_spec)?))
        }
    };

    tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init()
        .map_err(|e| Failure::other(format!("cannot set up logging: {e}")))
}

/// Log files rotated by size: `NAME` being written, `NAME.1` the newest
/// old one … `NAME.KEEP` the oldest. Each record (all a [`MakeWriter`]
/// writer was given, written when it is dropped: one event from a fmt
/// layer) goes whole into one file, and the file is rotated first when the
/// record would take it past `max_bytes`; so no file is larger unless a
/// single record is (that one is written alone into a fresh file). Safe to
/// share between threads; one process per `NAME`.
pub(crate) struct SizeRotatingFile {
    state: Mutex<RotatingState>,
}

struct RotatingState {
    /// `DIR/NAME`, the file being written.
    path: PathBuf,
    max_bytes: u64,
    /// Old files kept besides `path`.
    keep: usize,
    /// `None` after a failure: the next record reopens it.
    file: Option<File>,
    /// Bytes in `path`.
    len: u64,
    /// Whether the last failure was reported on stderr (reported once until
    /// a record goes through again).
    failing: bool,
}

impl SizeRotatingFile {
    /// Opens (appending to) `dir/file_name`, and deletes old files numbered
    /// beyond `keep` (left by a run with a larger `--log-keep`).
    pub(crate) fn open(
        dir: &Path,
        file_name: &str,
        max_bytes: u64,
        keep: usize,
    ) -> io::Result<SizeRotatingFile> {
        let mut state = RotatingState {
            path: dir.join(file_name),
            max_bytes: max_bytes.max(1),
            keep,
            file: None,
            len: 0,
            failing: false,
        };
        state.reopen()?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_prefix(file_name)?.strip_prefix('.'))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u64>().ok());
            if number.is_some_and(|n| n == 0 || n > keep as u64) {
                remove_if_present(&entry.path())?;
            }
        }
        Ok(SizeRotatingFile {
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> MutexGuard<'_, RotatingState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `record` whole into one file, rotating first if it would not
    /// fit.
    pub(crate) fn write_record(&self, record: &[u8]) -> io::Result<()> {
        if record.is_empty() {
            return Ok(());
        }
        let mut state = self.lock();
        let result = state.write_record(record);
        match &result {
            Ok(()) => state.failing = false,
            Err(e) if !state.failing => {
                state.failing = true;
                eprintln!("pmd-agent: log file {}: {e}", state.path.display());
            }
            Err(_) => {}
        }
        result
    }
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl RotatingState {
    fn numbered(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn reopen(&mut self) -> io::Result<()> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.len = file.metadata()?.len();
        self.file = Some(file);
        Ok(())
    }

    /// `NAME.KEEP` deleted, `NAME.n` → `NAME.n+1`, `NAME` → `NAME.1`, a new
    /// empty `NAME`.
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        remove_if_present(&self.numbered(self.keep))?;
        for n in (1..self.keep).rev() {
            rename_if_present(&self.numbered(n), &self.numbered(n + 1))?;
        }
        rename_if_present(&self.path, &self.numbered(1))?;
        self.reopen()
    }

    fn write_record(&mut self, record: &[u8]) -> io::Result<()> {
        if self.file.is_none() {
            self.reopen()?;
        }
        if self.len > 0 && self.len.saturating_add(record.len() as u64) > self.max_bytes {
            self.rotate()?;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("log file not open"));
        };
        match file.write_all(record) {
            Ok(()) => {
                self.len += record.len() as u64;
                Ok(())
            }
            Err(e) => {
                // How much went in is unknown: reopening reads the length.
                self.file = None;
                Err(e)
            }
        }
    }
}

/// The writer [`SizeRotatingFile`] hands out: it gathers what it is given
/// and writes it as one record when dropped (`flush` writes the complete
/// lines gathered so far).
pub(crate) struct RecordWriter<'a> {
    file: &'a SizeRotatingFile,
    buffer: Vec<u8>,
}

impl Write for RecordWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(last) = self.buffer.iter().rposition(|&b| b == b'\n') {
            self.file.write_record(&self.buffer[..=last])?;
            self.buffer.drain(..=last);
        }
        Ok(())
    }
}

impl Drop for RecordWriter<'_> {
    fn drop(&mut self) {
        // Failures were reported on stderr by `write_record`.
        let _ = self.file.write_record(&self.buffer);
    }
}

impl<'a> MakeWriter<'a> for SizeRotatingFile {
    type Writer = RecordWriter<'a>;

    fn make_writer(&'a self) -> RecordWriter<'a> {
        RecordWriter {
            file: self,
            buffer: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        log: LogArgs,
    }

    /// The files in `dir`, oldest first (`NAME.KEEP` … `NAME.1`, `NAME`),
    /// with their contents; panics on any other file.
    fn rotated_files(dir: &Path, file_name: &str, keep: usize) -> Vec<(String, String)> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        let order = |name: &str| -> usize {
            if name == file_name {
                return 0;
            }
            let n: usize = name
                .strip_prefix(file_name)
                .and_then(|n| n.strip_prefix('.'))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected file {name}"));
            assert!((1..=keep).contains(&n), "{name} beyond keep {keep}");
            n
        };
        names.sort_by_key(|name| std::cmp::Reverse(order(name)));
        names
            .into_iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.join(&name)).unwrap();
                (name, text)
            })
            .collect()
    }

    /// Checks the files hold whole lines, none over `max_bytes`, at most
    /// `keep + 1` of them, and returns all the lines, oldest first.
    fn check_files(dir: &Path, file_name: &str, max_bytes: u64, keep: usize) -> Vec<String> {
        let files = rotated_files(dir, file_name, keep);
        assert!(files.len() <= keep + 1, "{} files", files.len());
        let mut lines = Vec::new();
        for (name, text) in &files {
            assert!(
                text.len() as u64 <= max_bytes,
                "{name} has {} bytes, over {max_bytes}",
                text.len()
            );
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{name} ends mid-line: {text:?}"
            );
            lines.extend(text.lines().map(str::to_string));
        }
        lines
    }

    fn line(i: usize) -> String {
        // 10 to 60 bytes with the newline, varying so records don't line up
        // with the limit.
        format!("line {i:04} {}\n", "x".repeat((i * 7) % 51))
    }

    #[test]
    fn size_rotation_keeps_files_within_the_limit_and_lines_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (max_bytes, keep, count) = (200, 3, 1000);
        let file = SizeRotatingFile::open(dir.path(), "test.log", max_bytes, keep).unwrap();
        for i in 0..count {
            let mut writer = file.make_writer();
            // A record in several writes, as `write!` makes.
            let text = line(i);
            let (start, rest) = text.split_at(5);
            writer.write_all(start.as_bytes()).unwrap();
            writer.write_all(rest.as_bytes()).unwrap();
        }
        drop(file);

        let files = rotated_files(dir.path(), "test.log", keep);
        assert_eq!(files.len(), keep + 1, "rotation kept {files:?}");
        let lines = check_files(dir.path(), "test.log", max_bytes, keep);
        // What is left is the newest lines, in order, none lost in between.
        let first: usize = lines[0][5..9].parse().unwrap();
        let expected: Vec<String> = (first..count)
            .map(|i| line(i).trim_end().to_string())
            .collect();
        assert_eq!(lines, expected);
        // Four files of up to 200 bytes of ~35-byte lines: well over a dozen.
        assert!(count - first > 12, "only {} lines kept", count - first);
        // The newest line is in the current file.
        let (name, current) = files.last().unwrap();
        assert_eq!(name, "test.log");
        assert!(current.ends_with(&line(count - 1)), "{current:?}");
        // Old files were rotated because the next line did not fit.
        for pair in files.windows(2) {
            let next_line = pair[1].1.lines().next().unwrap().len() + 1;
            assert!(pair[0].1.len() + next_line > max_bytes as usize);
        }
    }

    #[test]
    fn json_events_rotate_into_files_of_whole_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (max_bytes, keep, count) = (1024, 2, 400);
        let file = SizeRotatingFile::open(dir.path(), "player-7.log", max_bytes, keep).unwrap();
        let subscriber = tracing_subscriber::registry().with(file_layer(LogFormat::Json, file));
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..count {
                tracing::info!(i, padding = %"y".repeat(i % 40), "event {i}");
            }
        });

        let lines = check_files(dir.path(), "player-7.log", max_bytes, keep);
        assert_eq!(
            rotated_files(dir.path(), "player-7.log", keep).len(),
            keep + 1
        );
        let numbers: Vec<u64> = lines
            .iter()
            .map(|l| {
                let value: serde_json::Value =
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}"));
                assert_eq!(value["level"], "INFO");
                value["fields"]["i"].as_u64().unwrap()
            })
            .collect();
        let first = numbers[0];
        assert_eq!(numbers, (first..count as u64).collect::<Vec<_>>());
        assert!(first > 0, "nothing was rotated away");
    }

    #[test]
    fn threads_writing_at_once_keep_their_lines_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (max_bytes, keep) = (4096, 100);
        let file = SizeRotatingFile::open(dir.path(), "t.log", max_bytes, keep).unwrap();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let file = &file;
                scope.spawn(move || {
                    for i in 0..500 {
                        let mut writer = file.make_writer();
                        write!(writer, "thread {t} line {i:03} ").unwrap();
                        writeln!(writer, "{}", "z".repeat(i % 30)).unwrap();
                    }
                });
            }
        });
        let lines = check_files(dir.path(), "t.log", max_bytes, keep);
        assert_eq!(lines.len(), 4 * 500, "keep 100 keeps everything");
        for t in 0..4 {
            let mine: Vec<&String> = lines
                .iter()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            assert_eq!(mine.len(), 500);
            for (i, l) in mine.iter().enumerate() {
                assert_eq!(
                    **l,
                    format!("thread {t} line {i:03} {}", "z".repeat(i % 30))
                );
            }
        }
    }

    #[test]
    fn a_record_larger_than_the_limit_gets_a_file_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let file = SizeRotatingFile::open(dir.path(), "big.log", 20, 5).unwrap();
        file.write_record(b"small 1\n").unwrap();
        let big = format!("{}\n", "B".repeat(49));
        file.write_record(big.as_bytes()).unwrap();
        file.write_record(b"small 2\n").unwrap();
        let files = rotated_files(dir.path(), "big.log", 5);
        let texts: Vec<&str> = files.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["small 1\n", big.as_str(), "small 2\n"]);
    }

    #[test]
    fn reopening_appends_and_deletes_files_beyond_keep() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("m.log"), "old 1\n").unwrap();
        std::fs::write(d.join("m.log.1"), "old 0\n").unwrap();
        std::fs::write(d.join("m.log.3"), "too old\n").unwrap();
        std::fs::write(d.join("m.log.0"), "not ours\n").unwrap();
        std::fs::write(d.join("m.log.x"), "not ours\n").unwrap();
        std::fs::write(d.join("m.logger.2"), "not ours\n").unwrap();
        std::fs::write(d.join("other.log.3"), "not ours\n").unwrap();
        let file = SizeRotatingFile::open(d, "m.log", 12, 2).unwrap();
        assert!(!d.join("m.log.3").exists());
        file.write_record(b"new 1\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("m.log")).unwrap(),
            "old 1\nnew 1\n"
        );
        file.write_record(b"new 2\n").unwrap();
        file.write_record(b"new 3\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("m.log")).unwrap(),
            "new 2\nnew 3\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("m.log.1")).unwrap(),
            "old 1\nnew 1\n"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("m.log.2")).unwrap(),
            "old 0\n"
        );
        for other in ["m.log.x", "m.logger.2", "other.log.3"] {
            assert!(d.join(other).exists(), "{other} was deleted");
        }
    }

    #[test]
    fn byte_sizes_parse() {
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("512K"), Ok(512 << 10));
        assert_eq!(parse_bytes("10M"), Ok(10 << 20));
        assert_eq!(parse_bytes("10mib"), Ok(10 << 20));
        assert_eq!(parse_bytes("2 GiB"), Ok(2 << 30));
        for bad in [
            "",
            "0",
            "0K",
            "M",
            "10MB",
            "10Q",
            "-1",
            "1.5M",
            "99999999999999G",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn options_parse_and_check() {
        let cli = TestCli::try_parse_from(["t"]).unwrap();
        assert_eq!(cli.log.log_file_format, LogFormat::Json);
        assert_eq!(cli.log.log_format, LogFormat::Text);
        assert_eq!(cli.log.log_name, "pmd-agent");
        assert_eq!(cli.log.log_max_bytes, None);

        let cli = TestCli::try_parse_from([
            "t",
            "--log-dir",
            "logs",
            "--log-max-bytes",
            "10M",
            "--log-name",
            "referee-2",
            "--log-file-format",
            "text",
        ])
        .unwrap();
        assert_eq!(cli.log.log_max_bytes, Some(10 << 20));
        assert_eq!(cli.log.log_name, "referee-2");
        assert_eq!(cli.log.log_file_format, LogFormat::Text);

        // Size rotation needs a directory.
        assert!(TestCli::try_parse_from(["t", "--log-max-bytes", "10M"]).is_err());
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(
                TestCli::try_parse_from(["t", "--log-name", bad]).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn file_writer_names_files_after_log_name() {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap();
        let cli = TestCli::try_parse_from([
            "t",
            "--log-dir",
            dir_arg,
            "--log-max-bytes",
            "1K",
            "--log-name",
            "manager",
        ])
        .unwrap();
        let writer = file_writer(&cli.log, dir.path()).unwrap();
        writer.make_writer().write_all(b"hello\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("manager.log")).unwrap(),
            "hello\n"
        );
    }
}
