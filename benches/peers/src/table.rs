//! The one table `benches/compare.sh` prints, computed from the raw
//! records of one run.
//!
//! Only ratios measured side by side mean anything on a machine that
//! drifts by ±20%: every round runs every server of a profile one after
//! the other, so each round gives each server a ratio against the
//! profile's reference (the floor) measured minutes apart at most. The
//! table shows the median of those per-round ratios and their range, next
//! to medians of the absolute figures for orientation.
//!
//! Files of a run (tab-separated, written by the script):
//! - `profiles.tsv`: `profile driver reference peer latency` per profile
//!   and driver (`latency` is `no` where the driver's latencies are not
//!   to be trusted);
//! - `records.tsv`: `profile driver server round status cpu_ticks rss_kib
//!   output` per measurement, `output` naming the driver's report
//!   (`reactor load --json`, `fanout --json`, or wrk's text);
//! - `idle.tsv`: `server connections rss_before_kib rss_after_kib`.

mod render;

use std::path::Path;

pub use render::render;

use crate::wrk;

/// A profile: which server its ratios are against, and which Rust peer
/// the second CPU ratio is against (`-` for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub driver: String,
    pub reference: String,
    pub peer: Option<String>,
    /// Whether the driver's latency figures mean anything here.
    pub latency: bool,
}

/// One server driven once.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub profile: String,
    pub driver: String,
    pub server: String,
    pub round: u32,
    /// Server CPU time (user + system) in the measured window, seconds.
    pub cpu_secs: f64,
    pub rss_kib: u64,
    /// `None` when the driver failed or its report could not be read.
    pub measure: Option<Measure>,
}

/// What a driver reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub ops: f64,
    pub ops_per_sec: f64,
    pub p50_us: Option<f64>,
    pub p99_us: Option<f64>,
    pub p999_us: Option<f64>,
    pub errors: u64,
}

impl Measure {
    /// Server CPU microseconds per operation.
    pub fn cpu_us_per_op(&self, cpu_secs: f64) -> Option<f64> {
        (self.ops > 0.0).then(|| cpu_secs * 1e6 / self.ops)
    }
}

/// Idle memory of one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Idle {
    pub server: String,
    pub connections: u64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
}

/// Everything one run left.
#[derive(Debug, Default)]
pub struct Run {
    pub profiles: Vec<Profile>,
    pub records: Vec<Record>,
    pub idle: Vec<Idle>,
}

/// Reads what a run left in `dir`. `clk_tck` converts `/proc` ticks to
/// seconds.
pub fn load(dir: &Path, clk_tck: f64) -> Result<Run, String> {
    let read = |name: &str| -> Result<String, String> {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(format!("{}: {e}", dir.join(name).display())),
        }
    };
    let profiles = rows(&read("profiles.tsv")?, 5)
        .map(|f| Profile {
            name: f[0].to_string(),
            driver: f[1].to_string(),
            reference: f[2].to_string(),
            peer: (f[3] != "-").then(|| f[3].to_string()),
            latency: f[4] != "no",
        })
        .collect();
    let mut records = Vec::new();
    for f in rows(&read("records.tsv")?, 8) {
        let output = std::fs::read_to_string(dir.join(f[7])).unwrap_or_default();
        let ok = f[4] == "0";
        records.push(Record {
            profile: f[0].to_string(),
            driver: f[1].to_string(),
            server: f[2].to_string(),
            round: f[3].parse().unwrap_or(0),
            cpu_secs: f[5].parse::<f64>().unwrap_or(f64::NAN) / clk_tck,
            rss_kib: f[6].parse().unwrap_or(0),
            measure: measure(f[1], &output).filter(|m| ok || m.errors > 0),
        });
    }
    let idle = rows(&read("idle.tsv")?, 4)
        .filter_map(|f| {
            Some(Idle {
                server: f[0].to_string(),
                connections: f[1].parse().ok()?,
                rss_before_kib: f[2].parse().ok()?,
                rss_after_kib: f[3].parse().ok()?,
            })
        })
        .collect();
    Ok(Run {
        profiles,
        records,
        idle,
    })
}

/// Tab-separated rows with at least `fields` fields.
fn rows(text: &str, fields: usize) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .filter(move |f| f.len() >= fields)
}

/// A driver's report: wrk's text, or the JSON of `reactor load` and
/// `fanout` (the same keys).
pub fn measure(driver: &str, output: &str) -> Option<Measure> {
    if driver == "wrk" {
        let report = wrk::parse(output)?;
        let at = |q: f64| report.latency_us.iter().find(|p| p.0 == q).map(|p| p.1);
        return Some(Measure {
            ops: report.requests as f64,
            ops_per_sec: report.requests_per_sec,
            p50_us: at(50.0),
            p99_us: at(99.0),
            p999_us: None,
            errors: report.errors,
        });
    }
    let json = output.lines().find_map(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .filter(|v| v.is_object())
    })?;
    let latency = |key: &str| json["latency_us"][key].as_f64();
    Some(Measure {
        ops: json["ops"].as_f64()?,
        ops_per_sec: json["ops_per_sec"].as_f64()?,
        p50_us: latency("p50"),
        p99_us: latency("p99"),
        p999_us: latency("p999"),
        errors: json["errors"]["total"].as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_report_and_a_fanout_report_read_the_same() {
        let load = r#"{"mode":"echo","ops":1000,"ops_per_sec":500.0,"latency_us":{"p50":10,"p90":20,"p99":30,"p999":40,"max":50},"errors":{"total":0}}"#;
        let m = measure("load", load);
        assert_eq!(
            m,
            Some(Measure {
                ops: 1000.0,
                ops_per_sec: 500.0,
                p50_us: Some(10.0),
                p99_us: Some(30.0),
                p999_us: Some(40.0),
                errors: 0
            })
        );
        assert_eq!(m.and_then(|m| m.cpu_us_per_op(0.002)), Some(2.0));
        assert_eq!(measure("load", "error: cannot connect"), None);
        assert_eq!(measure("wrk", "garbage"), None);
    }
}
