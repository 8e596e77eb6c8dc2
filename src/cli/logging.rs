//! `tracing` set-up for the CLI: human-readable events on stderr, filtered
//! by `RUST_LOG` or `--log-level` (default `warn`).

use tracing_subscriber::EnvFilter;

use super::Failure;

/// Installs the global subscriber.
pub fn init(default_filter: &str) -> Result<(), Failure> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => EnvFilter::try_new(&value)
            .map_err(|e| Failure::bad_input(format!("RUST_LOG={value:?}: {e}")))?,
        _ => EnvFilter::try_new(default_filter)
            .map_err(|e| Failure::bad_input(format!("--log-level {default_filter:?}: {e}")))?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init()
        .map_err(|e| Failure::other(format!("cannot set up logging: {e}")))
}
