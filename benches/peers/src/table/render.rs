//! Turning records into the printed table: per-round ratios, then their
//! median and range; aligned Markdown so it reads in a terminal and pastes
//! into a document unchanged.

use std::fmt::Write as _;

use super::{Idle, Profile, Record};

/// The heading, one row per profile, driver and server, then idle memory.
pub fn render(profiles: &[Profile], records: &[Record], idle: &[Idle]) -> String {
    let mut rows = vec![header()];
    for profile in profiles {
        for server in servers(profile, records) {
            rows.push(row(profile, &server, records));
        }
    }
    let mut out = String::new();
    if !profiles.is_empty() {
        let _ = writeln!(
            out,
            "x ref: median of the per-round ratios against the profile's reference \
             (the row showing 1.00) [min-max over rounds]; x peer: the same against \
             the Rust peer (tokio, hyper). CPU: server user+system time per operation. \
             RSS: peak, KiB.\n"
        );
        out.push_str(&aligned(&rows));
    }
    if !idle.is_empty() {
        let mut rows = vec![idle_header()];
        rows.extend(idle.iter().map(idle_row));
        let _ = writeln!(
            out,
            "\nIdle memory: RSS before and after opening idle connections.\n"
        );
        out.push_str(&aligned(&rows));
    }
    out
}

fn header() -> Vec<String> {
    [
        "profile",
        "driver",
        "server",
        "ops/s",
        "x ref",
        "p50 us",
        "p99 us",
        "p99.9 us",
        "CPU us/op",
        "CPU x ref",
        "CPU x peer",
        "RSS",
        "errors",
    ]
    .map(String::from)
    .to_vec()
}

/// Servers of a profile in the order they were first run.
fn servers(profile: &Profile, records: &[Record]) -> Vec<String> {
    let mut servers: Vec<String> = Vec::new();
    for r in records.iter().filter(|r| same(profile, r)) {
        if !servers.contains(&r.server) {
            servers.push(r.server.clone());
        }
    }
    servers
}

fn same(profile: &Profile, record: &Record) -> bool {
    record.profile == profile.name && record.driver == profile.driver
}

fn row(profile: &Profile, server: &str, records: &[Record]) -> Vec<String> {
    let mine: Vec<&Record> = records
        .iter()
        .filter(|r| same(profile, r) && r.server == server)
        .collect();
    let measured: Vec<(&Record, &super::Measure)> = mine
        .iter()
        .filter_map(|r| Some((*r, r.measure.as_ref()?)))
        .collect();
    let latency = |f: &dyn Fn(&super::Measure) -> Option<f64>| -> String {
        let values: Vec<f64> = measured.iter().filter_map(|(_, m)| f(m)).collect();
        match profile.latency {
            true => micros(median(&values)),
            false => "-".into(),
        }
    };
    let pick = |f: &dyn Fn(&Record, &super::Measure) -> Option<f64>| -> Vec<f64> {
        measured.iter().filter_map(|(r, m)| f(r, m)).collect()
    };
    let ops = pick(&|_, m| Some(m.ops_per_sec));
    let cpu = pick(&|r, m| m.cpu_us_per_op(r.cpu_secs));
    let against = |other: &str, value: &dyn Fn(&Record) -> Option<f64>| {
        let ratios: Vec<f64> = mine
            .iter()
            .filter_map(|r| {
                let base = records
                    .iter()
                    .find(|o| same(profile, o) && o.server == other && o.round == r.round)?;
                Some(value(r)? / value(base)?).filter(|x| x.is_finite())
            })
            .collect();
        ratio(&ratios)
    };
    let ops_of = |r: &Record| r.measure.as_ref().map(|m| m.ops_per_sec);
    let cpu_of = |r: &Record| r.measure.as_ref()?.cpu_us_per_op(r.cpu_secs);
    let errors: u64 = measured.iter().map(|(_, m)| m.errors).sum();
    let failed = mine.len() - measured.len();
    vec![
        profile.name.clone(),
        profile.driver.clone(),
        server.to_string(),
        median(&ops).map_or("-".into(), count),
        against(&profile.reference, &ops_of),
        latency(&|m| m.p50_us),
        latency(&|m| m.p99_us),
        latency(&|m| m.p999_us),
        micros(median(&cpu)),
        against(&profile.reference, &cpu_of),
        match &profile.peer {
            Some(peer) => against(peer, &cpu_of),
            None => "-".into(),
        },
        mine.iter()
            .map(|r| r.rss_kib)
            .max()
            .map_or("-".into(), |k| count(k as f64)),
        match failed {
            0 => count(errors as f64),
            n => format!("{errors}, {n}/{} rounds failed", mine.len()),
        },
    ]
}

fn idle_header() -> Vec<String> {
    [
        "server",
        "connections",
        "RSS before KiB",
        "RSS after KiB",
        "bytes per connection",
    ]
    .map(String::from)
    .to_vec()
}

fn idle_row(idle: &Idle) -> Vec<String> {
    let grown = idle.rss_after_kib.saturating_sub(idle.rss_before_kib) as f64 * 1024.0;
    vec![
        idle.server.clone(),
        count(idle.connections as f64),
        count(idle.rss_before_kib as f64),
        count(idle.rss_after_kib as f64),
        count(grown / idle.connections.max(1) as f64),
    ]
}

/// The median; `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// `1.02 [0.95-1.10]`, or `1.02` for one round, or `-` for none.
fn ratio(ratios: &[f64]) -> String {
    let Some(mid) = median(ratios) else {
        return "-".into();
    };
    let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match ratios.len() {
        1 => format!("{mid:.2}"),
        _ => format!("{mid:.2} [{low:.2}-{high:.2}]"),
    }
}

/// A whole number with thousands separators.
fn count(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Microseconds with the precision that matters at their size.
fn micros(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v < 10.0 => format!("{v:.2}"),
        Some(v) if v < 100.0 => format!("{v:.1}"),
        Some(v) => count(v),
    }
}

/// Markdown rows with every column padded to its widest cell.
fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|cell| cell.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&line(row));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
            out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Measure;
    use super::*;

    fn record(server: &str, round: u32, ops_per_sec: f64, cpu_secs: f64) -> Record {
        Record {
            profile: "small".into(),
            driver: "load".into(),
            server: server.into(),
            round,
            cpu_secs,
            rss_kib: 1000,
            measure: Some(Measure {
                ops: ops_per_sec,
                ops_per_sec,
                p50_us: Some(100.0),
                p99_us: Some(200.0),
                p999_us: None,
                errors: 0,
            }),
        }
    }

    #[test]
    fn ratios_are_paired_by_round_then_summarised() {
        let profile = Profile {
            name: "small".into(),
            driver: "load".into(),
            reference: "floor".into(),
            peer: None,
            latency: true,
        };
        // Round 2 is twice as fast for both: the ratio must not move.
        let records = [
            record("floor", 1, 100.0, 1.0),
            record("mine", 1, 110.0, 1.0),
            record("floor", 2, 200.0, 1.0),
            record("mine", 2, 220.0, 1.0),
            record("floor", 3, 100.0, 1.0),
            record("mine", 3, 90.0, 1.0),
        ];
        let mine = row(&profile, "mine", &records);
        assert_eq!(mine[3], "110");
        assert_eq!(mine[4], "1.10 [0.90-1.10]");
        assert_eq!(mine[9], "0.91 [0.91-1.11]");
        assert_eq!(mine[10], "-");
        assert_eq!(mine[5], "100");
        let untrusted = Profile {
            latency: false,
            ..profile.clone()
        };
        assert_eq!(row(&untrusted, "mine", &records)[5], "-");
        let text = render(&[profile], &records, &[]);
        assert!(text.contains("| small   | load   | floor  | 100"));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(count(1_234_567.4), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(micros(Some(5.4321)), "5.43");
        assert_eq!(micros(Some(1500.0)), "1,500");
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(ratio(&[]), "-");
    }
}
