//! `pmd-agent export FILE --parquet OUT`: a trajectory file to Parquet.

use std::path::PathBuf;

use crate::record::{export_parquet, ReadOptions, RecordError};
use clap::Args;

use super::Failure;

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Trajectory file written by `run --record`.
    file: PathBuf,

    /// The Parquet file to write (atomically).
    #[arg(long, value_name = "OUT")]
    parquet: PathBuf,

    /// Keep the rows of steps that failed and were rolled back (left out
    /// by default: they are not transitions).
    #[arg(long)]
    include_rolled_back: bool,
}

/// Runs `export`.
pub fn export(args: &ExportArgs) -> Result<(), Failure> {
    let options = ReadOptions {
        include_rolled_back: args.include_rolled_back,
    };
    let rows = export_parquet(&args.file, &args.parquet, options).map_err(|e| match e {
        RecordError::Io { .. }
        | RecordError::NotTrajectories { .. }
        | RecordError::Version { .. } => Failure::bad_input(e.to_string()),
        other => Failure::other(other.to_string()),
    })?;
    println!("wrote {rows} rows to {}", args.parquet.display());
    Ok(())
}
