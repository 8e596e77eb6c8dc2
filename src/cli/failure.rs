//! A command's failure: one line for stderr and the exit code.

use crate::emu::{EmuError, RomError};

/// Exit code for bad input: a missing or invalid file, a bad argument.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code for any other failure.
pub const EXIT_FAILURE: i32 = 1;

/// Why a command stopped.
#[derive(Debug)]
pub struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    /// Bad input from the user (exit code 2).
    pub fn bad_input(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    /// Any other failure (exit code 1).
    pub fn other(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// Prints the message as one line on stderr; returns the exit code.
    pub fn report(&self) -> i32 {
        let line = self.message.replace(['\n', '\r'], " ");
        eprintln!("pmd-agent: error: {line}");
        self.code
    }
}

impl From<RomError> for Failure {
    fn from(err: RomError) -> Failure {
        Failure::bad_input(err.to_string())
    }
}

impl From<EmuError> for Failure {
    fn from(err: EmuError) -> Failure {
        match err {
            EmuError::Rom(rom) => rom.into(),
            EmuError::Snapshot(_) => Failure::bad_input(err.to_string()),
            other => Failure::other(other.to_string()),
        }
    }
}
