//! What the user sees: the table (or one JSON object) at the end, and a
//! progress line on a terminal while the run goes.
//!
//! The JSON comes from `serde`, so every field is named once and every
//! string (the address) is escaped as JSON wants.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use super::args::LoadArgs;
use super::tally::{Errors, Tally};
use super::Mode;

/// Latency percentiles reported, with their names in the table and JSON.
const PERCENTILES: [(&str, &str, f64); 4] = [
    ("p50", "p50", 50.0),
    ("p90", "p90", 90.0),
    ("p99", "p99", 99.0),
    ("p99.9", "p999", 99.9),
];

/// The publishers of a fan-out mode (chat, socketio); `None` for the
/// others, where every connection sends.
fn publishers(options: &LoadArgs) -> Option<u64> {
    match options.mode {
        Mode::Chat | Mode::Socketio => Some(options.senders()),
        Mode::Echo | Mode::Udp | Mode::Http => None,
    }
}

/// Operations per second and MiB per second over the measured time.
fn throughput(options: &LoadArgs, total: &Tally) -> (f64, f64) {
    let secs = options.duration().as_secs_f64().max(f64::MIN_POSITIVE);
    (
        total.ops as f64 / secs,
        total.bytes as f64 / secs / (1024.0 * 1024.0),
    )
}

/// The human-readable report.
pub fn table(options: &LoadArgs, addr: SocketAddr, total: &Tally) -> String {
    let (ops_per_sec, mib_per_sec) = throughput(options, total);
    let loop_kind = match options.rate {
        0 => format!("closed loop, pipeline {}", options.pipeline),
        rate => format!("open loop, {rate} msgs/s"),
    };
    let who = match publishers(options) {
        // How many joined matters: one that joins late misses what was
        // published before, so a short warm-up means fewer deliveries.
        Some(p) => format!(
            "{} members ({p} publishing, {} joined)",
            options.connections, total.connected
        ),
        None => format!("{} connections", options.connections),
    };
    let messages = match publishers(options) {
        // A fan-out message is a fixed-form `load` line, whatever --size.
        Some(_) => String::new(),
        None => format!("{} B messages, ", options.size),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "load {} {addr}: {who} on {} thread(s), {messages}{loop_kind}, {:.1} s measured",
        options.mode.name(),
        options.threads,
        options.duration().as_secs_f64()
    );
    let _ = writeln!(out, "  operations  {}", total.ops);
    let _ = writeln!(
        out,
        "  throughput  {ops_per_sec:.0} ops/s, {mib_per_sec:.2} MiB/s"
    );
    let mut latency = String::new();
    for (name, _, q) in PERCENTILES {
        let _ = write!(
            latency,
            "{name} {} µs, ",
            total.latency.value_at_percentile(q)
        );
    }
    let _ = writeln!(out, "  latency     {latency}max {} µs", total.latency.max());
    let e = &total.errors;
    let _ = writeln!(
        out,
        "  errors      {} (connect {}, reset {}, timeout {}, mismatch {}, lost {}, status {})",
        e.total(),
        e.connect,
        e.reset,
        e.timeout,
        e.mismatch,
        e.lost,
        e.status
    );
    out
}

/// The report as JSON, as `serde` writes it.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    mode: Mode,
    addr: String,
    connections: u64,
    /// Connections made (fan-out modes: members that joined the room).
    connected: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    publishers: Option<u64>,
    threads: u64,
    size: u64,
    rate: u64,
    pipeline: u64,
    duration_s: f64,
    ops: u64,
    ops_per_sec: f64,
    mib_per_sec: f64,
    bytes: u64,
    latency_us: BTreeMap<&'static str, u64>,
    errors: JsonErrors<'a>,
}

/// The error counts, with their total.
#[derive(Debug, Serialize)]
struct JsonErrors<'a> {
    total: u64,
    #[serde(flatten)]
    by_kind: &'a Errors,
}

/// The report as one JSON object on one line.
pub fn json(options: &LoadArgs, addr: SocketAddr, total: &Tally) -> String {
    let (ops_per_sec, mib_per_sec) = throughput(options, total);
    let mut latency_us: BTreeMap<&str, u64> = PERCENTILES
        .iter()
        .map(|&(_, key, q)| (key, total.latency.value_at_percentile(q)))
        .collect();
    latency_us.insert("max", total.latency.max());
    let report = JsonReport {
        mode: options.mode,
        addr: addr.to_string(),
        connections: options.connections,
        connected: total.connected,
        publishers: publishers(options),
        threads: options.threads,
        size: options.size,
        rate: options.rate,
        pipeline: options.pipeline,
        duration_s: options.duration().as_secs_f64(),
        ops: total.ops,
        ops_per_sec,
        mib_per_sec,
        bytes: total.bytes,
        latency_us,
        errors: JsonErrors {
            total: total.errors.total(),
            by_kind: &total.errors,
        },
    };
    // Serialising plain numbers and strings cannot fail.
    let mut line = serde_json::to_string(&report).unwrap_or_default();
    line.push('\n');
    line
}

/// The live line on stderr, shown only when stderr is a terminal (a log
/// file or a pipe gets no carriage-return noise).
#[derive(Debug)]
pub struct Progress {
    on_terminal: bool,
    start: Instant,
    warmup_end: Instant,
    last: Option<(Instant, u64)>,
}

impl Progress {
    /// A progress line for a run that started at `start`.
    pub fn new(start: Instant, warmup_end: Instant) -> Progress {
        Progress {
            on_terminal: std::io::stderr().is_terminal(),
            start,
            warmup_end,
            last: None,
        }
    }

    /// Shows the operations counted so far, and the recent rate.
    pub fn show(&mut self, ops: u64) {
        if !self.on_terminal {
            return;
        }
        let now = Instant::now();
        let rate = match self.last {
            Some((at, before)) if now > at => (ops - before) as f64 / (now - at).as_secs_f64(),
            _ => 0.0,
        };
        self.last = Some((now, ops));
        let phase = if now < self.warmup_end {
            "warm-up"
        } else {
            "running"
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[2K{phase} {:.1} s: {ops} ops, {rate:.0} ops/s",
            (now - self.start).as_secs_f64()
        );
        let _ = stderr.flush();
    }

    /// Removes the line before the report is printed.
    pub fn clear(&self) {
        if self.on_terminal && self.last.is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}
