//! Promises of `docs/reference.md` about how the loop behaves, checked
//! from outside, each on a real server over loopback: one connection's
//! flood does not stall another's round trips (the read budget); a close
//! lingers up to 2 s for the peer's own close, so the last answer is not
//! destroyed by a reset; and the system calls behind "one write per read"
//! (HTTP pipelining) and "one write per member per turn" (chat), counted
//! with `strace`. (Reading resuming at half of `--max-outbuf` and stale
//! events for a reused slot need the loop's insides: they are unit tests
//! in `src/event_loop/tests.rs`.)

#![cfg(target_os = "linux")]

#[path = "../common/mod.rs"]
mod common;

mod fairness;
mod linger;
mod syscalls;
