//! pmd-util: small general pieces every other crate of pmd-agent uses —
//! the deterministic random streams ([`rng`]), atomic file writes
//! ([`atomic_file`]), this process's own figures from `/proc`
//! ([`procfs`]) and the one metrics exposition ([`openmetrics`]).
//!
//! **Depends on** no other crate of the workspace, and has no game, emulator
//! or network types.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod atomic_file;
pub mod openmetrics;
pub mod procfs;
pub mod rng;
