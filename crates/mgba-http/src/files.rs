//! The one directory the Rust server reads and writes files in
//! (`--screenshot-dir`): screenshots and savestate files named by clients
//! must resolve inside it. The Lua server, like the original, writes
//! wherever a client says.

use std::io;
use std::path::{Component, Path, PathBuf};

/// A path a client named that the server will not use.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The server was started without `--screenshot-dir`.
    #[error("file commands are disabled (start the server with --screenshot-dir)")]
    Disabled,
    /// Empty, or not a plain relative path inside the directory.
    #[error("{0:?} is not a file name inside the server's directory")]
    Outside(String),
    /// Names a directory, or an existing symbolic link (which could point
    /// anywhere).
    #[error("{0:?} is not a regular file name")]
    NotAFile(String),
    /// Its parent directory does not exist (or cannot be read).
    #[error("{path:?}: {source}")]
    Io {
        /// The path as sent.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// Largest file read back (a savestate file is well under 1 MiB).
pub const MAX_READ: u64 = 16 << 20;

/// The server's file directory, canonical.
#[derive(Debug, Clone)]
pub struct FileArea {
    root: Option<PathBuf>,
}

impl FileArea {
    /// No directory: every file command fails.
    pub fn disabled() -> FileArea {
        FileArea { root: None }
    }

    /// Uses `dir` (created if missing).
    pub fn new(dir: &Path) -> io::Result<FileArea> {
        std::fs::create_dir_all(dir)?;
        Ok(FileArea {
            root: Some(dir.canonicalize()?),
        })
    }

    /// The directory, if any.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// Where `requested` (relative to the directory, or absolute inside
    /// it) lives. `..`, symbolic links out of the directory and names of
    /// directories are refused.
    pub fn resolve(&self, requested: &str) -> Result<PathBuf, PathError> {
        let root = self.root.as_deref().ok_or(PathError::Disabled)?;
        let outside = || PathError::Outside(requested.to_string());
        if requested.is_empty() || requested.contains('\0') {
            return Err(outside());
        }
        let path = Path::new(requested);
        let relative = if path.is_absolute() {
            path.strip_prefix(root).map_err(|_| outside())?
        } else {
            path
        };
        let mut clean = PathBuf::new();
        for part in relative.components() {
            match part {
                Component::Normal(name) => clean.push(name),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(outside())
                }
            }
        }
        if clean.as_os_str().is_empty() || requested.ends_with('/') {
            return Err(PathError::NotAFile(requested.to_string()));
        }
        let target = root.join(&clean);
        // A directory on the way may be a symbolic link out of the area.
        let parent = target.parent().ok_or_else(outside)?;
        let real_parent = parent.canonicalize().map_err(|source| PathError::Io {
            path: requested.to_string(),
            source,
        })?;
        if !real_parent.starts_with(root) {
            return Err(outside());
        }
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if !meta.file_type().is_file() => {
                Err(PathError::NotAFile(requested.to_string()))
            }
            _ => Ok(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_the_directory_only() {
        let dir = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path()).unwrap();
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(area.resolve("a.png").unwrap(), root.join("a.png"));
        assert_eq!(area.resolve("./a.png").unwrap(), root.join("a.png"));
        let absolute = root.join("b.png");
        assert_eq!(area.resolve(absolute.to_str().unwrap()).unwrap(), absolute);
        for bad in [
            "",
            "../a.png",
            "x/../../a.png",
            "/etc/passwd",
            "/tmp/a.png",
            ".",
        ] {
            assert!(area.resolve(bad).is_err(), "{bad} accepted");
        }
        // A missing subdirectory is an error, not created.
        assert!(matches!(
            area.resolve("sub/a.png"),
            Err(PathError::Io { .. })
        ));
        std::fs::create_dir(root.join("sub")).unwrap();
        assert!(area.resolve("sub/a.png").is_ok());
        assert!(matches!(area.resolve("sub"), Err(PathError::NotAFile(_))));
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_of_the_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let area = FileArea::new(dir.path()).unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.join("out")).unwrap();
        assert!(area.resolve("out/a.png").is_err());
        std::os::unix::fs::symlink("/etc/hostname", root.join("link.png")).unwrap();
        assert!(matches!(
            area.resolve("link.png"),
            Err(PathError::NotAFile(_))
        ));
    }

    #[test]
    fn disabled_refuses_everything() {
        assert!(matches!(
            FileArea::disabled().resolve("a.png"),
            Err(PathError::Disabled)
        ));
    }
}
