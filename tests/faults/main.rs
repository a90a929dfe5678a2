//! Faults every server survives, black-box over loopback: peers that
//! reset, half-close, trickle, never read, or send garbage; ten thousand
//! connections opened and closed, and a thousand at once; too few
//! descriptors; signals under load; and addresses and limits given wrong
//! on the command line.
//!
//! Each test ends by checking that the server still serves a client that
//! behaves (`support::*_serves`): surviving a fault means going on, not
//! only not crashing. `docs/reliability.md` lists what each one asserts.
//!
//! Linux only: RSS, descriptors and CPU time are read from `/proc`.

#![cfg(target_os = "linux")]

#[path = "../common/mod.rs"]
mod common;

mod burst;
mod churn;
mod descriptors;
mod garbage;
mod half_open;
mod never_reads;
mod options;
mod resets;
mod signals;
mod slowloris;
mod support;
