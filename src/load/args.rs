//! `reactor load`'s command line. The doc comments are the `--help` text.

use std::time::Duration;

use clap::Args;

use super::{requests, Mode};
use crate::process::{host_and_port, seconds, MAX_SECONDS};

/// `reactor load`'s options (the command's help is in `cli.rs`).
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Server address, e.g. 127.0.0.1:7000, `[::1]:8080` or localhost:7002.
    #[arg(value_name = "ADDR", value_parser = host_and_port)]
    pub addr: String,
    /// What to send: echo (TCP, verified), udp (datagrams, verified,
    /// lost after 1 s), http (GET / pipelined), chat (members of one
    /// room publishing lines; needs --rate), socketio (the same over
    /// Socket.IO, to the address of `reactor chat --web`; needs --rate).
    #[arg(long, value_enum, default_value = "echo")]
    pub mode: Mode,
    /// Connections (UDP: sockets) over all threads.
    #[arg(long, allow_negative_numbers = true, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub connections: u64,
    /// Seconds to measure, after the warm-up.
    #[arg(long, allow_negative_numbers = true, default_value_t = 10, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_SECONDS))]
    pub duration: u64,
    /// Bytes per message (echo, udp; a UDP datagram is at least 24
    /// bytes, its header).
    #[arg(long, allow_negative_numbers = true, default_value_t = 64, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=16 * 1024 * 1024))]
    pub size: u64,
    /// Messages per second over all connections: open loop. 0 = closed
    /// loop.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0, value_name = "MSGS_PER_SEC", value_parser = clap::value_parser!(u64).range(0..=100_000_000))]
    pub rate: u64,
    /// chat, socketio: how many of the members publish (the first P);
    /// every member receives. Default: all of them.
    #[arg(long, allow_negative_numbers = true, value_name = "P", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub publishers: Option<u64>,
    /// Messages in flight per connection, in closed loop.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub pipeline: u64,
    /// Event loops, one per thread; connections are split among them.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "T", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub threads: u64,
    /// Seconds of load before measuring starts (connections open,
    /// caches warm); operations that end sooner are not counted.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1, value_name = "SECS", value_parser = seconds())]
    pub warmup: u64,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl LoadArgs {
    /// Combinations of options that cannot run: a usage error each.
    pub fn check(&self) -> Result<(), String> {
        let fan_out = matches!(self.mode, Mode::Chat | Mode::Socketio);
        if fan_out && self.rate == 0 {
            return Err(format!(
                "--mode {} needs --rate: a chat message gets no reply to pace a closed loop",
                self.mode.name()
            ));
        }
        match self.publishers {
            Some(_) if !fan_out => {
                return Err("--publishers is for --mode chat and --mode socketio".into())
            }
            Some(p) if p > self.connections => {
                return Err(format!(
                    "--publishers {p} is more than the --connections {}",
                    self.connections
                ))
            }
            Some(_) | None => {}
        }
        let window = requests::window(self.size());
        if self.pipeline() > window {
            return Err(format!(
                "--pipeline {} of --size {} bytes is more than {} MiB in flight per connection; \
                 at most {window} messages of that size",
                self.pipeline,
                self.size,
                requests::MAX_BYTES_IN_FLIGHT >> 20
            ));
        }
        Ok(())
    }

    /// Connections that send: the publishers of a fan-out mode, every
    /// connection otherwise.
    pub fn senders(&self) -> u64 {
        self.publishers.unwrap_or(self.connections)
    }

    /// The measured time.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration)
    }

    /// The warm-up before it.
    pub fn warmup(&self) -> Duration {
        Duration::from_secs(self.warmup)
    }

    /// Bytes per message.
    pub fn size(&self) -> usize {
        usize::try_from(self.size).unwrap_or(usize::MAX)
    }

    /// Messages in flight per connection.
    pub fn pipeline(&self) -> usize {
        usize::try_from(self.pipeline).unwrap_or(usize::MAX)
    }
}
