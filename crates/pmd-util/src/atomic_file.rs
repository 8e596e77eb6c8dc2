//! Atomic file writes: a temporary file in the destination's directory,
//! flushed to disk, renamed over the destination, then the directory
//! flushed too (the rename itself lives in the directory: without that
//! flush a crash can forget it). A crash leaves either the old file or the
//! new one, never a mix.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |file| file.write_all(bytes))
}

/// Creates `path` atomically from what `fill` writes into the temporary
/// file (for outputs too large to build in memory first).
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let (dir, mut tmp) = temporary_beside(path)?;
    fill(tmp.as_file_mut())?;
    persist(tmp, path, dir)
}

/// Creates `path` atomically from what `fill` writes to the temporary
/// file's path (for writers that only take a path, such as libtorch's
/// `save`; they must write that file in place, not replace it). The
/// temporary file has `path`'s own name, inside a temporary directory
/// beside it: a writer that records its file's name in what it writes
/// (libtorch names the archive's folder after it) writes the same bytes
/// every time.
pub fn write_via_path(path: &Path, fill: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
    let dir = directory_of(path);
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    // Removed with whatever is left in it when this returns.
    let staging = tempfile::Builder::new()
        .prefix(".pmd-agent-")
        .tempdir_in(dir)?;
    let tmp = staging.path().join(name);
    fill(&tmp)?;
    let file = std::fs::File::open(&tmp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    sync_dir(dir)
}

/// The directory `path` is in.
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// An empty temporary file in `path`'s directory, readable by all (as
/// the written artefact will be), and that directory.
fn temporary_beside(path: &Path) -> io::Result<(&Path, tempfile::NamedTempFile)> {
    let dir = directory_of(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pmd-agent-").suffix(".tmp");
    #[cfg(unix)]
    {
        // tempfile creates 0600 files; a written artefact is for sharing.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    Ok((dir, builder.tempfile_in(dir)?))
}

/// Flushes the temporary file, renames it to `path` and flushes `dir`.
fn persist(tmp: tempfile::NamedTempFile, path: &Path, dir: &Path) -> io::Result<()> {
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Flushes a directory's entries to disk (after creating, renaming or
/// removing files in it). A no-op where directories cannot be opened as
/// files, and under Miri (which has no `fsync` for directories).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(all(unix, not(miri)))]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(any(not(unix), miri))]
    {
        std::fs::metadata(dir).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        super::write(&path, b"first").unwrap();
        super::write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let entries = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, 1);
    }

    #[test]
    fn directories_are_synced() {
        let dir = tempfile::tempdir().unwrap();
        super::sync_dir(dir.path()).unwrap();
        assert!(super::sync_dir(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn writers_that_take_a_path_write_atomically_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.pt");
        super::write_via_path(&path, |tmp| std::fs::write(tmp, b"made by path")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"made by path");
        let failed = super::write_via_path(&path, |tmp| {
            std::fs::write(tmp, b"half")?;
            Err(std::io::Error::other("the writer failed"))
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"made by path", "untouched");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn a_writer_that_takes_a_path_sees_the_final_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.pt");
        let mut seen = None;
        super::write_via_path(&path, |tmp| {
            seen = tmp.file_name().map(|n| n.to_owned());
            std::fs::write(tmp, b"x")
        })
        .unwrap();
        assert_eq!(seen.as_deref(), Some(std::ffi::OsStr::new("model.pt")));
        assert!(super::write_via_path(dir.path().join("..").as_path(), |_| Ok(())).is_err());
    }

    #[test]
    fn missing_directory_is_an_error() {
        let err = super::write(std::path::Path::new("/nonexistent-dir/x.png"), b"x");
        assert!(err.is_err());
    }
}
