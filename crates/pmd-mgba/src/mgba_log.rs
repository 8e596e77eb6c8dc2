//! Routes mGBA's log messages into `tracing` (target `mgba`).
//!
//! mGBA's levels are shifted down one step, because what mGBA calls an
//! error is usually a game doing something odd, not a failure of ours:
//! nothing reaches stderr under the CLI's default `warn` filter unless mGBA
//! reports a fatal or emulator-level error.

use tracing::level_filters::LevelFilter;
use tracing::Level;

// mGBA's mLogLevel bits (mgba/core/log.h).
const FATAL: i32 = 0x01;
const ERROR: i32 = 0x02;
const WARN: i32 = 0x04;
const INFO: i32 = 0x08;
const DEBUG: i32 = 0x10;
const STUB: i32 = 0x20;
const GAME_ERROR: i32 = 0x40;

fn tracing_level(mgba_level: i32) -> Level {
    match mgba_level {
        FATAL => Level::ERROR,
        ERROR => Level::WARN,
        WARN => Level::INFO,
        INFO => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// The mGBA levels worth formatting under the current `tracing` filter, so
/// that filtered-out messages cost mGBA no `vsnprintf`.
pub(crate) fn level_mask() -> i32 {
    let max = LevelFilter::current();
    [FATAL, ERROR, WARN, INFO, DEBUG, STUB, GAME_ERROR]
        .into_iter()
        .filter(|&bit| max >= tracing_level(bit))
        .fold(0, |mask, bit| mask | bit)
}

/// Emits one mGBA message as a tracing event.
pub(crate) fn emit(level: i32, category: &str, message: &str) {
    let message = message.trim_end();
    match tracing_level(level) {
        Level::ERROR => tracing::error!(target: "mgba", category, "{message}"),
        Level::WARN => tracing::warn!(target: "mgba", category, "{message}"),
        Level::INFO => tracing::info!(target: "mgba", category, "{message}"),
        Level::DEBUG => tracing::debug!(target: "mgba", category, "{message}"),
        _ => tracing::trace!(target: "mgba", category, "{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_shift_down_one_step() {
        assert_eq!(tracing_level(FATAL), Level::ERROR);
        assert_eq!(tracing_level(ERROR), Level::WARN);
        assert_eq!(tracing_level(STUB), Level::TRACE);
        assert_eq!(tracing_level(GAME_ERROR), Level::TRACE);
    }
}
