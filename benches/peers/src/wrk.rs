//! Reads `wrk --latency`'s text report: the cross-check driver for HTTP.
//!
//! ```text
//!   Latency Distribution
//!      50%  218.00us
//!      99%    3.79ms
//!   1234567 requests in 5.00s, 150.70MB read
//!   Non-2xx or 3xx responses: 3
//! Requests/sec: 246913.40
//! ```
//!
//! wrk reports latencies of pipelined requests as 0 for most of them
//! (wg/wrk#236), so pipelined percentiles are not to be quoted.

/// What the comparison needs from one wrk run.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkReport {
    pub requests: u64,
    pub requests_per_sec: f64,
    /// Percentile -> microseconds, for those wrk printed.
    pub latency_us: Vec<(f64, f64)>,
    /// Non-2xx/3xx answers and socket errors together.
    pub errors: u64,
}

/// Parses a report; `None` if it has no `Requests/sec` line (wrk failed).
pub fn parse(text: &str) -> Option<WrkReport> {
    let mut report = WrkReport {
        requests: 0,
        requests_per_sec: f64::NAN,
        latency_us: Vec::new(),
        errors: 0,
    };
    let mut in_distribution = false;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            report.requests_per_sec = rest.trim().parse().ok()?;
        } else if line.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        } else if let Some((count, _)) = line.split_once(" requests in ") {
            report.requests = count.trim().parse().ok()?;
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.errors += rest.trim().parse::<u64>().ok()?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            report.errors += socket_errors(rest);
        }
        if in_distribution {
            match percentile_line(line) {
                Some(point) => report.latency_us.push(point),
                None => in_distribution = false,
            }
        }
    }
    report.requests_per_sec.is_finite().then_some(report)
}

/// `50%  218.00us` -> (50, 218).
fn percentile_line(line: &str) -> Option<(f64, f64)> {
    let (percent, value) = line.split_once('%')?;
    Some((percent.trim().parse().ok()?, micros(value.trim())?))
}

/// `218.00us`, `3.79ms`, `1.02s` -> microseconds.
fn micros(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// `connect 0, read 2, write 0, timeout 0` -> 2.
fn socket_errors(text: &str) -> u64 {
    text.split(',')
        .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 5s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   420.00us  100.00us   5.00ms   90.00%
    Req/Sec   120.00k     5.00k  130.00k    70.00%
  Latency Distribution
     50%  218.00us
     75%  300.50us
     90%    1.50ms
     99%    3.79ms
  600000 requests in 5.00s, 73.24MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 119999.50
Transfer/sec:     14.65MB
";

    #[test]
    fn a_full_report() {
        let report = parse(SAMPLE);
        assert_eq!(
            report,
            Some(WrkReport {
                requests: 600_000,
                requests_per_sec: 119_999.5,
                latency_us: vec![(50.0, 218.0), (75.0, 300.5), (90.0, 1500.0), (99.0, 3790.0)],
                errors: 7,
            })
        );
    }

    #[test]
    fn a_failed_run_is_none() {
        assert_eq!(
            parse("unable to connect to 127.0.0.1:1 Connection refused\n"),
            None
        );
    }
}
