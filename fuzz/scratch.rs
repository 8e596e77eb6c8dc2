#![allow(dead_code)] // each target uses what it needs
//! A per-process scratch directory for targets whose readers take a path.

use std::path::{Path, PathBuf};

/// This process's scratch directory `name` (created once).
pub fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pmd-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Writes `bytes` to `path` (replacing it).
pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("scratch file");
}

/// `bytes` as the scratch file `name`; its path.
pub fn file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir("files").join(name);
    write(&path, bytes);
    path
}
