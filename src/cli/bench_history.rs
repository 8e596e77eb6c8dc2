//! `bench --history FILE`, `bench compare` and `bench plot`: the bench
//! runs kept with their commit, machine and date, and read back
//! (`crate::bench::history` holds the format and the statistics).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::history::{self, CompareConfig, Machine, Record, Run, Verdict};
use crate::league::protocol::time::now_iso;
use crate::plot::{line_chart, Chart, Series};
use clap::{Args, Subcommand};

use super::Failure;

/// The load average when a bench command's arguments were read.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    load_before: Option<[f64; 3]>,
}

impl Started {
    /// Now.
    pub fn now() -> Started {
        Started {
            load_before: history::load_average(),
        }
    }
}

/// The commit of the working directory's checkout (`git describe --always
/// --dirty`), `PMD_BENCH_COMMIT` when set, else `unknown`.
fn commit() -> String {
    if let Ok(c) = std::env::var("PMD_BENCH_COMMIT") {
        return c;
    }
    Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Appends a finished run's report to the history file `path`.
pub fn record(
    path: &Path,
    suite: String,
    started: Started,
    result: serde_json::Value,
) -> Result<(), Failure> {
    let record = Record {
        suite,
        date: now_iso(),
        commit: commit(),
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load_before: started.load_before,
            load_after: history::load_average(),
        },
        result,
    };
    history::append(path, &record).map_err(|e| Failure::other(e.to_string()))
}

/// Tools over recorded runs.
#[derive(Debug, Subcommand)]
pub enum HistoryTool {
    /// Compares the runs of OLD against those of NEW figure by figure;
    /// exits 1 when a figure got worse beyond the noise (see
    /// BENCHMARKS.md, "Regression checks").
    Compare(CompareArgs),
    /// Draws one figure over the runs of a history file (PNG).
    Plot(PlotArgs),
}

/// Arguments of `bench compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The old runs: a history file or `bench --json` output (one JSON
    /// object per line).
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The new runs (the same file as OLD is fine with --old-commit and
    /// --new-commit).
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// Only runs of this suite (needed when a file holds several).
    #[arg(long, value_name = "SUITE")]
    suite: Option<String>,
    /// Only OLD's runs whose commit starts with this.
    #[arg(long, value_name = "COMMIT")]
    old_commit: Option<String>,
    /// Only NEW's runs whose commit starts with this.
    #[arg(long, value_name = "COMMIT")]
    new_commit: Option<String>,
    /// The smallest relative change of the medians that can count.
    #[arg(long, default_value_t = 0.05, value_name = "FRACTION")]
    threshold: f64,
    /// The rank test's level.
    #[arg(long, default_value_t = 0.05, value_name = "P")]
    alpha: f64,
    /// Print the comparison as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Arguments of `bench plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The history file.
    #[arg(value_name = "HISTORY")]
    history: PathBuf,
    /// The figure's path, as `bench compare` names it (e.g. `cpu_ratio`,
    /// `results[policy=heuristic].steps_per_s`).
    #[arg(long, value_name = "PATH")]
    figure: String,
    /// Only runs of this suite.
    #[arg(long, value_name = "SUITE")]
    suite: Option<String>,
    /// The PNG to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Runs a history tool.
pub fn run(tool: &HistoryTool) -> Result<(), Failure> {
    match tool {
        HistoryTool::Compare(args) => compare(args),
        HistoryTool::Plot(args) => plot(args),
    }
}

/// The runs of `path` of one suite (`suite`, or the only one the file
/// names) whose commit starts with `commit`.
fn select(path: &Path, suite: Option<&str>, commit: Option<&str>) -> Result<Vec<Run>, Failure> {
    let runs = history::read(path).map_err(|e| Failure::bad_input(e.to_string()))?;
    if runs.skipped > 0 {
        eprintln!(
            "pmd-agent: {}: skipped {} line(s) that were not bench runs (torn or foreign)",
            path.display(),
            runs.skipped
        );
    }
    let mut suites: Vec<&str> = runs
        .runs
        .iter()
        .filter_map(|r| r.suite.as_deref())
        .collect();
    suites.sort_unstable();
    suites.dedup();
    let suite = match suite {
        Some(s) => Some(s.to_string()),
        None if suites.len() > 1 => {
            return Err(Failure::bad_input(format!(
                "{}: runs of several suites ({}); choose one with --suite",
                path.display(),
                suites.join(", ")
            )))
        }
        None => suites.first().map(|s| s.to_string()),
    };
    let chosen: Vec<Run> = runs
        .runs
        .into_iter()
        .filter(|r| suite.is_none() || r.suite.is_none() || r.suite == suite)
        .filter(|r| match commit {
            Some(c) => r.commit.as_deref().is_some_and(|rc| rc.starts_with(c)),
            None => true,
        })
        .collect();
    if chosen.is_empty() {
        return Err(Failure::bad_input(format!(
            "{}: no run of suite {} and commit {}",
            path.display(),
            suite.as_deref().unwrap_or("(any)"),
            commit.unwrap_or("(any)")
        )));
    }
    Ok(chosen)
}

fn compare(args: &CompareArgs) -> Result<(), Failure> {
    if !(args.threshold >= 0.0 && args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(Failure::bad_input(
            "--threshold must be at least 0 and --alpha between 0 and 1",
        ));
    }
    let suite = args.suite.as_deref();
    let old = select(&args.old, suite, args.old_commit.as_deref())?;
    let new = select(&args.new, suite, args.new_commit.as_deref())?;
    let values = |runs: Vec<Run>| runs.into_iter().map(|r| r.result).collect::<Vec<_>>();
    let config = CompareConfig {
        threshold: args.threshold,
        alpha: args.alpha,
    };
    let comparison = history::compare(&values(old), &values(new), config);
    if comparison.changes.is_empty() {
        return Err(Failure::bad_input(
            "the two sides have no figure in common (different suites?)",
        ));
    }
    if args.json {
        let line = serde_json::to_string(&comparison)
            .map_err(|e| Failure::other(format!("cannot encode the comparison: {e}")))?;
        println!("{line}");
    } else {
        for s in &comparison.differing_settings {
            println!("warning: settings differ: {s}");
        }
        println!(
            "{:<52} {:>12} {:>12} {:>8} {:>7} {:>7}  verdict",
            "figure (median, runs)", "old", "new", "change", "noise", "p"
        );
        let mut changes: Vec<_> = comparison.changes.iter().collect();
        changes.sort_by_key(|c| c.verdict != Verdict::Regression);
        for c in changes {
            println!(
                "{:<52} {:>9.4} ({}) {:>9.4} ({}) {:>+7.1}% {:>6.1}% {:>7.3}  {}",
                c.figure,
                c.old.median,
                c.old.n,
                c.new.median,
                c.new.n,
                c.change * 100.0,
                c.noise * 100.0,
                c.p,
                match c.verdict {
                    Verdict::Regression => "REGRESSION",
                    Verdict::Improvement => "better",
                    Verdict::Same => "same",
                    Verdict::TooFewRuns => "changed, too few runs to judge (3+ a side)",
                }
            );
        }
    }
    let regressions: Vec<&str> = comparison
        .regressions()
        .map(|c| c.figure.as_str())
        .collect();
    if regressions.is_empty() {
        Ok(())
    } else {
        Err(Failure::other(format!(
            "{} regression(s): {}",
            regressions.len(),
            regressions.join(", ")
        )))
    }
}

fn plot(args: &PlotArgs) -> Result<(), Failure> {
    let runs = select(&args.history, args.suite.as_deref(), None)?;
    let points: Vec<(f64, f64)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i as f64, *history::numbers(&r.result).get(&args.figure)?)))
        .collect();
    if points.is_empty() {
        return Err(Failure::bad_input(format!(
            "{}: no run has the figure {}",
            args.history.display(),
            args.figure
        )));
    }
    let chart = Chart {
        title: format!("{} over {} runs", args.figure, points.len()),
        x_label: "run (history order)".to_string(),
        y_label: args.figure.clone(),
        log2_x: false,
        log10_y: false,
    };
    let series = Series {
        name: args.figure.clone(),
        points,
    };
    line_chart(&args.out, &chart, &[series]).map_err(|e| Failure::other(e.to_string()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
