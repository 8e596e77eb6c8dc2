//! Bench history and regression checks.
//!
//! Every `pmd-agent bench … --json --history FILE` run appends one
//! [`Record`] — the suite's JSON report with the commit, the machine
//! (cores, load average before and after) and the date — as one line of a
//! JSON-lines file ([`append`]). Lines are self-delimiting: a line torn by
//! a crash is skipped and counted when the file is read ([`read`]), never
//! an error for the lines around it.
//!
//! [`compare`] sets two groups of runs (an old build's and a new one's)
//! against each other, figure by figure. A shared machine is noisy, so a
//! change is flagged as a regression only when it is **both**
//!
//! - larger than the noise: the relative change of the medians exceeds the
//!   larger of a floor (`threshold`, 5% by default) and the relative
//!   spread, `(max - min) / median`, of either group's runs; and
//! - unlikely by chance: a one-sided Mann–Whitney rank test of "the new
//!   runs are worse" gives `p <= alpha` (0.05 by default; exact for up to
//!   30 runs a side, the normal approximation beyond).
//!
//! With fewer than three runs a side no rank order can reach `p <= 0.05`
//! (the smallest p for 2 against 2 is 1/6): such a change is reported as
//! [`Verdict::TooFewRuns`], never as a regression. Run each side three
//! times or more to judge.
//!
//! Which numbers are figures, and which way is better, is decided by name
//! ([`direction`]): throughputs, ratios and depths are better higher;
//! times, bytes and latencies lower; everything else in a report (settings
//! such as `episodes` or `seed`, per-episode lists, counts) is a setting,
//! compared only to warn when the two groups were not run alike.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One run of a suite, as a history line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The suite (`overhead`, `policies`, ...).
    pub suite: String,
    /// When the run ended, UTC ISO-8601.
    pub date: String,
    /// The commit the binary was built from (`git describe`-like), or
    /// `unknown`.
    pub commit: String,
    /// The machine and its load.
    pub machine: Machine,
    /// The suite's report, exactly as `--json` prints it.
    pub result: Value,
}

/// The machine a run was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// 1, 5 and 15 minute load averages before the run (absent where the
    /// system does not say).
    pub load_before: Option<[f64; 3]>,
    /// The same after the run.
    pub load_after: Option<[f64; 3]>,
}

/// Why a history could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The record could not be encoded.
    #[error("cannot encode the history record: {0}")]
    Encode(#[from] serde_json::Error),
    /// The file holds no run at all.
    #[error("{0}: no bench run in it (neither history records nor --json reports)")]
    Empty(PathBuf),
}

/// The system's load averages (Linux `/proc/loadavg`).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_ascii_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// Appends `record` to the JSON-lines file `path` (created if missing) as
/// one line, in one write, and syncs it: a crash leaves at most a torn
/// last line, which [`read`] skips.
pub fn append(path: &Path, record: &Record) -> Result<(), HistoryError> {
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    let io = |source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&line).map_err(io)?;
    file.sync_data().map_err(io)
}

/// One run read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Its suite (`None` for a bare `--json` report, which names none).
    pub suite: Option<String>,
    /// Its commit (`None` for a bare report).
    pub commit: Option<String>,
    /// Its report.
    pub result: Value,
}

/// The runs read from a file.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// Each run, in file order.
    pub runs: Vec<Run>,
    /// Lines that were neither (torn, or not JSON objects).
    pub skipped: usize,
}

/// Reads the runs of `path`: history records, or bare `bench --json`
/// reports (one JSON object per line, as the suites print them), or both.
pub fn read(path: &Path) -> Result<Runs, HistoryError> {
    let text = std::fs::read(path).map_err(|source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Runs::default();
    for line in text.split(|&b| b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(value @ Value::Object(_)) => match serde_json::from_value::<Record>(value.clone()) {
                Ok(record) => out.runs.push(Run {
                    suite: Some(record.suite),
                    commit: Some(record.commit),
                    result: record.result,
                }),
                Err(_) => out.runs.push(Run {
                    suite: None,
                    commit: None,
                    result: value,
                }),
            },
            _ => out.skipped += 1,
        }
    }
    if out.runs.is_empty() {
        return Err(HistoryError::Empty(path.to_path_buf()));
    }
    Ok(out)
}

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Throughputs, ratios, depths.
    Higher,
    /// Times, bytes, latencies.
    Lower,
}

/// Settings whose names look like figures (a time or a size one asked
/// for, not one measured).
const SETTINGS: &[&str] = &["jitter_us", "max_wait_us", "max_batch", "soak_frames"];

/// Which way the figure named `key` (the last part of its path, without
/// an index) is better; `None` when it is a setting.
pub fn direction(key: &str) -> Option<Better> {
    let key = key.to_ascii_lowercase();
    if SETTINGS.contains(&key.as_str()) {
        return None;
    }
    // Costs first: "cpu_seconds_per_step" is a time, however it ends.
    const LOWER_PARTS: &[&str] = &["seconds", "bytes", "rss", "latency", "p50", "p90", "p99"];
    const LOWER_SUFFIXES: &[&str] = &["_us", "_ms", "_ns", "_kb", "_mb", "_kib", "_mib"];
    const HIGHER_EXACT: &[&str] = &["lockstep", "async_", "baseline_lockstep"];
    const HIGHER_PARTS: &[&str] = &[
        "fps",
        "recall",
        "ratio",
        "_vs_",
        "speedup",
        "efficiency",
        "mean_max_floor",
        "revealed_per_step",
        "qps",
        "throughput",
    ];
    if LOWER_PARTS.iter().any(|p| key.contains(p))
        || LOWER_SUFFIXES.iter().any(|x| key.ends_with(x))
        || ["us_per", "ms_per", "ns_per"]
            .iter()
            .any(|x| key.starts_with(x))
    {
        Some(Better::Lower)
    } else if key.ends_with("per_s")
        || key.ends_with("per_cpu_s")
        || HIGHER_EXACT.contains(&key.as_str())
        || HIGHER_PARTS.iter().any(|p| key.contains(p))
    {
        Some(Better::Higher)
    } else if key.ends_with("_s") {
        // build_s, build_cpu_s: seconds
        Some(Better::Lower)
    } else {
        None
    }
}

/// The numbers of a report by path: `results[policy=search].steps_per_s`,
/// `steps_per_s[2]`. An array element that is an object is named by its
/// first string field among `policy`, `name`, `design`, `label`, `path`
/// (else by its index), so reordered results still match.
pub fn numbers(report: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    walk(report, String::new(), &mut out);
    out
}

fn walk(value: &Value, path: String, out: &mut BTreeMap<String, f64>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(path, x);
            }
        }
        Value::Object(map) => {
            for (key, v) in map {
                walk(v, join(key), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let label = item.as_object().and_then(|o| {
                    ["policy", "name", "design", "label", "path"]
                        .iter()
                        .find_map(|k| Some(format!("{k}={}", o.get(*k)?.as_str()?)))
                });
                let part = label.unwrap_or_else(|| i.to_string());
                walk(item, format!("{path}[{part}]"), out);
            }
        }
        _ => {}
    }
}

/// The last key of a number's path, without an index: the name
/// [`direction`] judges.
fn leaf_key(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

/// A group's runs of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Runs.
    pub n: usize,
    /// Their median.
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Summary {
    fn of(values: &[f64]) -> Summary {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Summary {
            n,
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// `(max - min) / |median|`: the group's own noise.
    fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.max - self.min) / self.median.abs()
        }
    }
}

/// What a comparison says of one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Worse beyond the noise, and the rank test agrees.
    Regression,
    /// Better beyond the noise, and the rank test agrees.
    Improvement,
    /// Within the noise, or the rank test does not single it out.
    Same,
    /// Beyond the noise but too few runs for the rank test to judge.
    TooFewRuns,
}

/// One figure, old against new.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The figure's path in the report.
    pub figure: String,
    /// Which way is better.
    pub better: Better,
    /// The old runs.
    pub old: Summary,
    /// The new runs.
    pub new: Summary,
    /// `(new - old) / |old|` of the medians.
    pub change: f64,
    /// The noise the change had to beat: the larger of the threshold and
    /// either group's spread.
    pub noise: f64,
    /// One-sided rank-test p of "the new runs are worse" (or better, for an
    /// improvement).
    pub p: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// How strict a comparison is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareConfig {
    /// The smallest relative change of the medians that can count (0.05:
    /// 5%).
    pub threshold: f64,
    /// The rank test's level.
    pub alpha: f64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            threshold: 0.05,
            alpha: 0.05,
        }
    }
}

/// A comparison of two groups of runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Every figure both groups have, by path.
    pub changes: Vec<Change>,
    /// Settings whose values differ between the groups (`path: old vs
    /// new`): the runs were not made alike.
    pub differing_settings: Vec<String>,
}

impl Comparison {
    /// The figures flagged as regressions.
    pub fn regressions(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.verdict == Verdict::Regression)
    }
}

/// Compares the runs `old` against `new` (the reports of one suite),
/// figure by figure (see the module text for the rule).
pub fn compare(old: &[Value], new: &[Value], config: CompareConfig) -> Comparison {
    let gather = |runs: &[Value]| {
        let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for run in runs {
            for (path, x) in numbers(run) {
                by.entry(path).or_default().push(x);
            }
        }
        by
    };
    let (old_by, new_by) = (gather(old), gather(new));
    let mut changes = Vec::new();
    let mut differing_settings = Vec::new();
    for (path, old_values) in &old_by {
        let Some(new_values) = new_by.get(path) else {
            continue;
        };
        let Some(better) = direction(leaf_key(path)) else {
            let (o, n) = (Summary::of(old_values), Summary::of(new_values));
            if o.min != n.min || o.max != n.max {
                differing_settings.push(format!("{path}: {} vs {}", o.median, n.median));
            }
            continue;
        };
        changes.push(judge(path, better, old_values, new_values, config));
    }
    Comparison {
        changes,
        differing_settings,
    }
}

fn judge(path: &str, better: Better, old: &[f64], new: &[f64], config: CompareConfig) -> Change {
    let (o, n) = (Summary::of(old), Summary::of(new));
    let change = if o.median == 0.0 {
        if n.median == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(n.median)
        }
    } else {
        (n.median - o.median) / o.median.abs()
    };
    let worse = match better {
        Better::Higher => change < 0.0,
        Better::Lower => change > 0.0,
    };
    // Orient both groups so that larger is better, then ask whether the
    // new runs rank below (worse) or above (better) the old ones.
    let sign = if better == Better::Higher { 1.0 } else { -1.0 };
    let old_o: Vec<f64> = old.iter().map(|x| x * sign).collect();
    let new_o: Vec<f64> = new.iter().map(|x| x * sign).collect();
    let p = if worse {
        p_first_smaller(&new_o, &old_o)
    } else {
        p_first_smaller(&old_o, &new_o)
    };
    let noise = config.threshold.max(o.spread()).max(n.spread());
    let beyond = change.abs() > noise;
    let smallest_p = 1.0 / binomial(old.len() + new.len(), old.len());
    let verdict = if !beyond || change == 0.0 {
        Verdict::Same
    } else if smallest_p > config.alpha {
        Verdict::TooFewRuns
    } else if p <= config.alpha {
        if worse {
            Verdict::Regression
        } else {
            Verdict::Improvement
        }
    } else {
        Verdict::Same
    };
    Change {
        figure: path.to_string(),
        better,
        old: o,
        new: n,
        change,
        noise,
        p,
        verdict,
    }
}

/// C(n, k) as a float.
fn binomial(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// One-sided Mann–Whitney p of "the values of `a` tend to be smaller than
/// those of `b`": the chance, if both came from one distribution, of a
/// statistic `U = #{(i, j): a_i < b_j} + ties / 2` at least this large.
/// Exact (by counting rank orders) for up to 30 values a side; the normal
/// approximation beyond. Ties count half, and the exact count then takes
/// the integer part (slightly conservative).
fn p_first_smaller(a: &[f64], b: &[f64]) -> f64 {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return 1.0;
    }
    let mut u2 = 0usize; // twice U
    for x in a {
        for y in b {
            u2 += match x.total_cmp(y) {
                std::cmp::Ordering::Less => 2,
                std::cmp::Ordering::Equal => 1,
                std::cmp::Ordering::Greater => 0,
            };
        }
    }
    if m <= 30 && n <= 30 {
        let counts = u_counts(m, n);
        let total: f64 = counts.iter().sum();
        let u = u2 / 2;
        counts[u..].iter().sum::<f64>() / total
    } else {
        let (mf, nf) = (m as f64, n as f64);
        let mean = mf * nf / 2.0;
        let sd = (mf * nf * (mf + nf + 1.0) / 12.0).sqrt();
        let z = (u2 as f64 / 2.0 - 0.5 - mean) / sd;
        0.5 * erfc(z / std::f64::consts::SQRT_2)
    }
}

/// How many of the C(m + n, m) rank orders of m values of one group and n
/// of another give each count u = 0..=m·n of (first, second) pairs in
/// either fixed order (the two counts have the same distribution).
/// Recurrence on the largest value: if it is one of the m, it outranks all
/// n others (u grows by n); if one of the n, it adds nothing.
fn u_counts(m: usize, n: usize) -> Vec<f64> {
    // prev[j]: the counts for (i - 1, j); row[j]: for (i, j).
    let mut prev: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut row: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        row.push(vec![1.0]);
        for j in 1..=n {
            let mut c = vec![0.0; i * j + 1];
            for (u, v) in row[j - 1].iter().enumerate() {
                c[u] += v;
            }
            for (u, v) in prev[j].iter().enumerate() {
                c[u + j] += v;
            }
            row.push(c);
        }
        prev = row;
    }
    prev.swap_remove(n)
}

/// The complementary error function (Numerical Recipes' Chebyshev fit,
/// relative error below 1.2e-7): enough for a p-value.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(fps: f64, seconds: f64) -> Value {
        json!({"envs": 2, "agent_fps": fps, "agent_seconds": seconds,
               "results": [{"policy": "heuristic", "steps_per_s": fps / 10.0, "max_floors": [1, 2]}]})
    }

    #[test]
    fn figures_are_named_by_path_and_judged_by_name() {
        let n = numbers(&report(1000.0, 2.0));
        assert_eq!(n["agent_fps"], 1000.0);
        assert_eq!(n["results[policy=heuristic].steps_per_s"], 100.0);
        assert_eq!(n["results[policy=heuristic].max_floors[1]"], 2.0);
        assert_eq!(direction("agent_fps"), Some(Better::Higher));
        assert_eq!(direction("steps_per_s"), Some(Better::Higher));
        assert_eq!(direction("cpu_ratio"), Some(Better::Higher));
        assert_eq!(direction("mean_max_floor"), Some(Better::Higher));
        assert_eq!(direction("agent_seconds"), Some(Better::Lower));
        assert_eq!(direction("us_per_batch"), Some(Better::Lower));
        assert_eq!(direction("rss_64"), Some(Better::Lower));
        assert_eq!(direction("per_env_bytes"), Some(Better::Lower));
        assert_eq!(direction("build_s"), Some(Better::Lower));
        assert_eq!(direction("cpu_seconds_per_step"), Some(Better::Lower));
        assert_eq!(direction("ram_bytes_per_step"), Some(Better::Lower));
        assert_eq!(direction("revealed_per_step"), Some(Better::Higher));
        assert_eq!(direction("steps_per_cpu_s"), Some(Better::Higher));
        assert_eq!(
            direction("rust_server_vs_lua_steps_per_s"),
            Some(Better::Higher)
        );
        assert_eq!(direction("p99_ms"), Some(Better::Lower));
        assert_eq!(direction("qps_all"), Some(Better::Higher));
        assert_eq!(direction("jitter_us"), None, "a setting");
        assert_eq!(direction("episodes"), None);
        assert_eq!(direction("max_floors"), None);
        assert_eq!(leaf_key("results[policy=a].steps_per_s[3]"), "steps_per_s");
    }

    #[test]
    fn exact_rank_test_matches_hand_counts() {
        // 3 against 3, the a-values all below: 1 order in C(6,3) = 20.
        let p = p_first_smaller(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert!((p - 0.05).abs() < 1e-12, "{p}");
        // interleaved a1 < b1 < a2 < b2: U = 3 of 4; orders with U >= 3: 2 of 6
        let p = p_first_smaller(&[1.0, 3.0], &[2.0, 4.0]);
        assert!((p - 2.0 / 6.0).abs() < 1e-12, "{p}");
        // the counts of every U sum to C(m + n, m)
        let c = u_counts(4, 5);
        assert_eq!(c.iter().sum::<f64>(), 126.0);
        assert_eq!(c.len(), 21);
        // the normal approximation agrees with the exact test near 30 a side
        let a: Vec<f64> = (0..31).map(f64::from).collect();
        let b: Vec<f64> = (0..31).map(|i| f64::from(i) + 8.0).collect();
        let approx = p_first_smaller(&a, &b);
        let exact = p_first_smaller(&a[..30], &b[..30]);
        assert!((approx - exact).abs() < 0.02, "{approx} vs {exact}");
    }

    #[test]
    fn a_slowed_build_is_a_regression_and_the_same_build_is_not() {
        // same build, five runs a side, ±4% noise
        let old: Vec<Value> = [1000.0, 1030.0, 985.0, 1012.0, 970.0]
            .iter()
            .map(|&f| report(f, 10_000.0 / f))
            .collect();
        let same: Vec<Value> = [1020.0, 990.0, 1005.0, 962.0, 1035.0]
            .iter()
            .map(|&f| report(f, 10_000.0 / f))
            .collect();
        let c = compare(&old, &same, CompareConfig::default());
        assert_eq!(c.regressions().count(), 0, "{:#?}", c.changes);
        assert!(c.differing_settings.is_empty());
        // a build 25% slower
        let slow: Vec<Value> = [760.0, 742.0, 771.0, 735.0, 755.0]
            .iter()
            .map(|&f| report(f, 10_000.0 / f))
            .collect();
        let c = compare(&old, &slow, CompareConfig::default());
        let flagged: Vec<&str> = c.regressions().map(|r| r.figure.as_str()).collect();
        assert_eq!(
            flagged,
            [
                "agent_fps",
                "agent_seconds",
                "results[policy=heuristic].steps_per_s"
            ]
        );
        // and the other way round it is an improvement, not a regression
        let c = compare(&slow, &old, CompareConfig::default());
        assert_eq!(c.regressions().count(), 0);
        assert!(c
            .changes
            .iter()
            .all(|ch| ch.verdict == Verdict::Improvement));
    }

    #[test]
    fn one_run_a_side_is_never_a_regression_and_noise_raises_the_bar() {
        let c = compare(
            &[report(1000.0, 10.0)],
            &[report(500.0, 20.0)],
            CompareConfig::default(),
        );
        assert!(c.changes.iter().all(|ch| ch.verdict == Verdict::TooFewRuns));
        // a 10% drop inside groups that each spread 30% is noise
        let old: Vec<Value> = [1000.0, 1300.0, 1150.0]
            .iter()
            .map(|&f| report(f, 1.0))
            .collect();
        let new: Vec<Value> = [900.0, 1170.0, 1035.0]
            .iter()
            .map(|&f| report(f, 1.0))
            .collect();
        let c = compare(&old, &new, CompareConfig::default());
        let fps = c
            .changes
            .iter()
            .find(|ch| ch.figure == "agent_fps")
            .unwrap();
        assert_eq!(fps.verdict, Verdict::Same);
        assert!(fps.noise > 0.25);
    }

    #[test]
    fn differing_settings_are_reported() {
        let mut other = report(1000.0, 1.0);
        other["envs"] = json!(4);
        let c = compare(&[report(1000.0, 1.0)], &[other], CompareConfig::default());
        assert_eq!(c.differing_settings, ["envs: 2 vs 4"]);
    }

    #[test]
    fn history_lines_round_trip_and_a_torn_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("pmd-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.jsonl");
        let _ = std::fs::remove_file(&path);
        let record = Record {
            suite: "overhead".into(),
            date: "2026-12-03T17:00:00.000Z".into(),
            commit: "abc1234".into(),
            machine: Machine {
                cores: 2,
                load_before: Some([0.5, 0.4, 0.3]),
                load_after: None,
            },
            result: report(1000.0, 1.0),
        };
        append(&path, &record).unwrap();
        append(&path, &record).unwrap();
        // a crash mid-append, then a bare --json report
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"suite\": \"overh").unwrap();
        f.write_all(b"\n{\"agent_fps\": 7}\n").unwrap();
        drop(f);
        let runs = read(&path).unwrap();
        assert_eq!(runs.skipped, 1);
        assert_eq!(runs.runs.len(), 3);
        assert_eq!(runs.runs[0].suite.as_deref(), Some("overhead"));
        assert_eq!(runs.runs[0].commit.as_deref(), Some("abc1234"));
        assert_eq!(runs.runs[0].result, record.result);
        assert_eq!(runs.runs[2].suite, None);
        assert_eq!(runs.runs[2].result, json!({"agent_fps": 7}));
        std::fs::write(&path, b"not json\n").unwrap();
        assert!(matches!(read(&path), Err(HistoryError::Empty(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
