//! `fanout ADDR --proto chat|redis`: the verifying open-loop fan-out
//! driver (see the `fanout` module). Prints a report like `reactor load`'s,
//! or with `--json` one JSON object of the same shape, so a script reads
//! both the same way. Exit status 1 on any lost, corrupt, duplicated or
//! reordered delivery, a closed connection or a refusal; 2 on a usage
//! error.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use reactor_bench_peers::args::Args;
use reactor_bench_peers::fanout::{self, Options, Outcome, Proto};
use serde_json::json;

const USAGE: &str = "fanout ADDR [--proto chat|redis] [--subscribers N] [--publishers P] \
[--rate PUBLISHES_PER_SEC] [--size BYTES] [--warmup SECS] [--duration SECS] [--drain SECS] [--json]";

const VALUED: &[&str] = &[
    "proto",
    "subscribers",
    "publishers",
    "rate",
    "size",
    "warmup",
    "duration",
    "drain",
];

fn main() -> ExitCode {
    let (options, json) = match options() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("error: {e}\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    match fanout::run(&options) {
        Ok(outcome) => {
            match json {
                true => println!("{}", report_json(&options, &outcome)),
                false => print!("{}", report_text(&options, &outcome)),
            }
            match outcome.tally.errors.total() {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options() -> Result<(Options, bool), String> {
    let args = Args::parse(std::env::args().skip(1), VALUED, &["json"])?;
    let [addr] = args.positional.as_slice() else {
        return Err("one server address is needed".into());
    };
    let addr: SocketAddr = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr}: no address"))?;
    let secs = |name, default| args.get(name, default).map(Duration::from_secs_f64);
    let options = Options {
        addr,
        proto: args.get("proto", Proto::Chat)?,
        subscribers: args.get("subscribers", 1000)?,
        publishers: args.get("publishers", 4)?,
        rate: args.get("rate", 100)?,
        size: args.get("size", 64)?,
        warmup: secs("warmup", 1.0)?,
        duration: secs("duration", 10.0)?,
        drain: secs("drain", 2.0)?,
    };
    Ok((options, args.flag("json")))
}

fn proto_name(proto: Proto) -> &'static str {
    match proto {
        Proto::Chat => "chat",
        Proto::Redis => "redis",
    }
}

/// Deliveries per second measured, and offered (every publication to
/// every subscriber).
fn rates(options: &Options, outcome: &Outcome) -> (f64, f64) {
    let secs = options.duration.as_secs_f64().max(f64::MIN_POSITIVE);
    let offered = options.rate as f64 * options.subscribers as f64;
    (outcome.tally.measured as f64 / secs, offered)
}

fn percentile(outcome: &Outcome, q: f64) -> u64 {
    outcome.tally.latency.value_at_percentile(q)
}

fn report_text(options: &Options, outcome: &Outcome) -> String {
    let (held, offered) = rates(options, outcome);
    let e = &outcome.tally.errors;
    format!(
        "fanout {} {}: {} subscribers, {} publishers, {} publishes/s, {} B, {:.1} s measured\n  \
         deliveries  {} ({} published)\n  \
         throughput  {held:.0} deliveries/s of {offered:.0} offered\n  \
         latency     p50 {} µs, p99 {} µs, p99.9 {} µs, max {} µs\n  \
         errors      {} (reset {}, lost {}, mismatch {}, refused {})\n",
        proto_name(options.proto),
        options.addr,
        options.subscribers,
        options.publishers,
        options.rate,
        options.size,
        options.duration.as_secs_f64(),
        outcome.tally.measured,
        outcome.published,
        percentile(outcome, 50.0),
        percentile(outcome, 99.0),
        percentile(outcome, 99.9),
        outcome.tally.latency.max(),
        e.total(),
        e.reset,
        e.lost,
        e.mismatch,
        e.refused,
    )
}

/// The same keys as `reactor load --json` where they mean the same.
fn report_json(options: &Options, outcome: &Outcome) -> serde_json::Value {
    let (held, offered) = rates(options, outcome);
    let e = &outcome.tally.errors;
    json!({
        "mode": format!("fanout-{}", proto_name(options.proto)),
        "subscribers": options.subscribers,
        "publishers": options.publishers,
        "rate": options.rate,
        "size": options.size,
        "duration_s": options.duration.as_secs_f64(),
        "published": outcome.published,
        "ops": outcome.tally.measured,
        "ops_per_sec": held,
        "offered_per_sec": offered,
        "latency_us": {
            "p50": percentile(outcome, 50.0),
            "p90": percentile(outcome, 90.0),
            "p99": percentile(outcome, 99.0),
            "p999": percentile(outcome, 99.9),
            "max": outcome.tally.latency.max(),
        },
        "errors": {
            "total": e.total(),
            "reset": e.reset,
            "lost": e.lost,
            "mismatch": e.mismatch,
            "refused": e.refused,
        },
    })
}
