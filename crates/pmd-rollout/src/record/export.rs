//! Trajectory files to Parquet, written atomically (temporary file in the
//! destination directory, then rename).

use std::path::Path;

use parquet::arrow::ArrowWriter;

use super::{read_trajectories_with, ReadOptions, RecordError};

/// Converts the trajectory file `input` to a Parquet file `output`
/// (rolled-back rows left out unless `options` keeps them); returns the
/// rows written.
pub fn export_parquet(
    input: &Path,
    output: &Path,
    options: ReadOptions,
) -> Result<usize, RecordError> {
    let trajectories = read_trajectories_with(input, options)?;
    let shown = output.display().to_string();
    pmd_util::atomic_file::write_with(output, |file| {
        let mut writer = ArrowWriter::try_new(file, trajectories.schema.clone(), None)
            .map_err(std::io::Error::other)?;
        for batch in &trajectories.batches {
            writer.write(batch).map_err(std::io::Error::other)?;
        }
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    })
    .map_err(|source| RecordError::Io {
        path: shown,
        source,
    })?;
    Ok(trajectories.rows())
}
