//! SIGINT and SIGTERM as a flag: long-running commands (`script`,
//! `serve-socket`) finish cleanly (the script's "shutdown" callbacks run,
//! servers close their connections) instead of dying mid-write.

use crate::{script_ffi, EmuError};

/// Makes SIGINT and SIGTERM set the flag instead of ending the process
/// (process-wide; call once at start). The handlers are mGBA's shim's: an
/// error when it cannot be loaded.
pub fn install() -> Result<(), EmuError> {
    script_ffi::install_stop_signals().map_err(EmuError::Library)
}

/// Whether SIGINT or SIGTERM arrived since [`install`].
pub fn requested() -> bool {
    script_ffi::stop_requested()
}
