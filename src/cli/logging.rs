//! `tracing` set-up for the CLI: human-readable or JSON events on stderr,
//! filtered by `RUST_LOG` or `--log-level` (default `warn`), and with
//! `--log-dir` also to hourly-rotated files of which only the newest
//! `--log-keep` are kept.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
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

    /// Log line format, on stderr and in `--log-dir` files.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Also write logs to hourly-rotated files `pmd-agent.<hour>.log` in DIR
    /// (at `info` level unless `--log-level` asks for more).
    #[arg(long, global = true, value_name = "DIR")]
    log_dir: Option<PathBuf>,

    /// Rotated log files kept in `--log-dir` (older ones are deleted).
    #[arg(long, global = true, default_value_t = 24, value_name = "N")]
    log_keep: usize,
}

fn filter(spec: &str) -> Result<EnvFilter, Failure> {
    EnvFilter::try_new(spec).map_err(|e| Failure::bad_input(format!("log filter {spec:?}: {e}")))
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
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::HOURLY)
                .filename_prefix("pmd-agent")
                .filename_suffix("log")
                .max_log_files(args.log_keep)
                .build(dir)
                .map_err(|e| {
                    Failure::bad_input(format!("{}: cannot open log file: {e}", dir.display()))
                })?;
            let file_spec = if args.log_level == "warn" && std::env::var("RUST_LOG").is_err() {
                "info".to_string()
            } else {
                spec.clone()
            };
            let layer = match args.log_format {
                LogFormat::Text => tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(appender)
                    .boxed(),
                LogFormat::Json => tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(appender)
                    .boxed(),
            };
            Some(layer.with_filter(filter(&file_spec)?))
        }
    };

    tracing_subscriber::registry()
        .with(stderr_layer)
        .with(file_layer)
        .try_init()
        .map_err(|e| Failure::other(format!("cannot set up logging: {e}")))
}
