//! SIGINT and SIGTERM as a flag: long-running commands (`script`,
//! `serve-socket`) finish cleanly (the script's "shutdown" callbacks run,
//! servers close their connections) instead of dying mid-write.

use crate::script_ffi;

/// Makes SIGINT and SIGTERM set the flag instead of ending the process
/// (process-wide; call once at start).
pub fn install() {
    script_ffi::install_stop_signals();
}

/// Whether SIGINT or SIGTERM arrived since [`install`].
pub fn requested() -> bool {
    script_ffi::stop_requested()
}
