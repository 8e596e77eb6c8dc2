//! Reading the user's input files (ROMs, savestates, battery saves) with
//! one-line errors that name the file.

use std::io;
use std::path::{Path, PathBuf};

use crate::cartridge;
use crate::emu::Rom;

use super::Failure;

/// Largest input file read (a PNG savestate is well under 1 MiB).
const MAX_LEN: u64 = 64 * 1024 * 1024;

/// Reads `path`, a `what` (e.g. "savestate"), refusing missing, empty,
/// directory and oversized files with a bad-input failure.
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Failure::bad_input(format!("{shown}: no such {what} file")),
        _ => Failure::bad_input(format!("{shown}: cannot read {what}: {e}")),
    })?;
    if meta.is_dir() {
        return Err(Failure::bad_input(format!(
            "{shown}: is a directory, not a {what}"
        )));
    }
    if meta.len() == 0 {
        return Err(Failure::bad_input(format!(
            "{shown}: empty file, not a {what}"
        )));
    }
    if meta.len() > MAX_LEN {
        return Err(Failure::bad_input(format!(
            "{shown}: {} bytes is too large for a {what}",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| Failure::bad_input(format!("{shown}: cannot read {what}: {e}")))
}

/// Reads `path` when one is given (see [`read`]).
pub fn read_opt(path: Option<&Path>, what: &str) -> Result<Option<Vec<u8>>, Failure> {
    path.map(|p| read(p, what)).transpose()
}

/// Loads the ROM named by `--rom`, or the bundled cartridge.
pub fn load_rom(path: Option<&PathBuf>) -> Result<Rom, Failure> {
    match path {
        Some(path) => Ok(Rom::from_path(path)?),
        None => cartridge::rom()
            .map_err(|e| Failure::other(format!("the bundled cartridge is damaged: {e}"))),
    }
}

/// The battery save to boot with: `--save FILE` when given, else, as mGBA
/// does, the `.sav` file beside a `--rom` file (`pmd.gba` → `pmd.sav`)
/// when there is one. Returns the file's path with its bytes.
pub fn battery_save(
    rom: Option<&PathBuf>,
    save: Option<&Path>,
) -> Result<Option<(PathBuf, Vec<u8>)>, Failure> {
    if let Some(path) = save {
        return Ok(Some((path.to_path_buf(), read(path, "battery save")?)));
    }
    let Some(beside) = rom.map(|r| r.with_extension("sav")) else {
        return Ok(None);
    };
    if !beside.is_file() {
        return Ok(None);
    }
    tracing::info!(save = %beside.display(), "loading the battery save beside the ROM");
    Ok(Some((beside.clone(), read(&beside, "battery save")?)))
}
