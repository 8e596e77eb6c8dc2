//! The training log: one CSV line per update, written and flushed as it
//! happens, so a killed run keeps every finished update (a torn last line
//! is skipped when reading back).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::driver::UpdateReport;
use super::ppo::UpdateStats;
use super::TrainError;

/// Column names, in order.
pub const COLUMNS: [&str; 12] = [
    "update",
    "env_steps",
    "episodes",
    "mean_return",
    "mean_progress",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "policy_loss",
    "value_loss",
    "epochs",
    "seconds",
];

/// An open CSV log.
#[derive(Debug)]
pub struct MetricsLog {
    file: File,
    path: PathBuf,
}

impl MetricsLog {
    /// Creates (or truncates) `path` and writes the header.
    pub fn create(path: &Path) -> Result<Self, TrainError> {
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| TrainError::io(path, e))?;
        writeln!(file, "{}", COLUMNS.join(",")).map_err(|e| TrainError::io(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends one update as a single write, then flushes it to the file.
    pub fn append(&mut self, r: &UpdateReport) -> Result<(), TrainError> {
        let s = &r.stats;
        let line = format!(
            "{},{},{},{},{},{},{},{},{},{},{},{:.3}\n",
            r.update,
            r.env_steps,
            r.episodes,
            r.mean_return,
            r.mean_progress,
            s.entropy,
            s.approx_kl,
            s.clip_fraction,
            s.policy_loss,
            s.value_loss,
            s.epochs,
            r.seconds
        );
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| TrainError::io(&self.path, e))?;
        self.file.flush().map_err(|e| TrainError::io(&self.path, e))
    }
}

/// Reads a log written by [`MetricsLog`]. Only whole lines count: a torn
/// last line after a kill (no newline yet) is skipped even where its
/// fields happen to parse, and lines that do not parse are skipped too; a
/// wrong header is an error.
pub fn read_log(path: &Path) -> Result<Vec<UpdateReport>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let mut lines = text
        .split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'));
    let header = lines.next().unwrap_or_default();
    if header != COLUMNS.join(",") {
        return Err(TrainError::Invalid(format!(
            "{}: not a training log (header {header:?})",
            path.display()
        )));
    }
    Ok(lines.filter_map(parse_line).collect())
}

fn parse_line(line: &str) -> Option<UpdateReport> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != COLUMNS.len() {
        return None;
    }
    let num = |i: usize| f[i].parse::<f64>().ok();
    Some(UpdateReport {
        update: f[0].parse().ok()?,
        env_steps: f[1].parse().ok()?,
        episodes: f[2].parse().ok()?,
        mean_return: num(3)?,
        mean_progress: num(4)?,
        stats: UpdateStats {
            entropy: num(5)?,
            approx_kl: num(6)?,
            clip_fraction: num(7)?,
            policy_loss: num(8)?,
            value_loss: num(9)?,
            epochs: f[10].parse().ok()?,
        },
        seconds: num(11)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv");
        let mut log = MetricsLog::create(&path).unwrap();
        let mut r = UpdateReport {
            update: 1,
            env_steps: 64,
            episodes: 0,
            mean_return: f64::NAN,
            ..Default::default()
        };
        r.stats.entropy = 2.5;
        log.append(&r).unwrap();
        r.update = 2;
        r.mean_return = 1.25;
        log.append(&r).unwrap();
        drop(log);
        // A kill mid-line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"3,192,4,0.5").unwrap();
        let back = read_log(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back[0].mean_return.is_nan());
        assert_eq!(back[1].mean_return, 1.25);
        assert_eq!(back[1].stats.entropy, 2.5);
        // A last line whose fields are all there (the kill came before
        // its newline, or inside its last number) parses, but is torn.
        let whole = std::fs::read_to_string(&path).unwrap();
        let second_end = whole.match_indices('\n').nth(2).unwrap().0;
        std::fs::write(&path, &whole[..second_end]).unwrap();
        assert_eq!(read_log(&path).unwrap().len(), 1);
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        assert!(read_log(&path).is_err());
    }
}
