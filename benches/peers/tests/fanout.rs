//! The fan-out driver is a verifier: it passes a pub/sub server that
//! delivers everything in order, and fails one that drops or repeats a
//! delivery. The chat side runs against a small stand-in server in this
//! file; the Redis side against `redis-server` when it is installed.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use common::{free_port, tool, Result, BOUND};

/// How the stand-in misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The 10th line relayed is not delivered to the first member.
    DropOne,
    /// The 10th line relayed is delivered twice to the first member.
    RepeatOne,
}

/// A chat room on threads: welcome each member, relay each line to every
/// other member as `guest-N: line`. Returns its address.
fn chat_stand_in(fault: Fault) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    let members: Arc<Mutex<Vec<(u64, TcpStream)>>> = Arc::default();
    let relayed = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let id = n as u64 + 1;
            let welcome = format!("* welcome guest-{id}, you are in #lobby\n");
            let Ok(mut writer) = stream.try_clone() else {
                return;
            };
            // In the room before the welcome says so, as in a real chat.
            let Ok(mut all) = members.lock() else { return };
            if writer.write_all(welcome.as_bytes()).is_err() {
                return;
            }
            all.push((id, writer));
            drop(all);
            let (members, relayed) = (Arc::clone(&members), Arc::clone(&relayed));
            std::thread::spawn(move || relay(id, stream, &members, &relayed, fault));
        }
    });
    Ok(addr)
}

fn relay(
    id: u64,
    stream: TcpStream,
    members: &Mutex<Vec<(u64, TcpStream)>>,
    relayed: &AtomicU64,
    fault: Fault,
) {
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let nth = relayed.fetch_add(1, Ordering::SeqCst) + 1;
        let Ok(mut all) = members.lock() else { return };
        let out = format!("guest-{id}: {line}\n");
        for (index, (other, member)) in all.iter_mut().enumerate() {
            let copies = match (fault, index, nth) {
                (Fault::DropOne, 0, 10) => 0,
                (Fault::RepeatOne, 0, 10) => 2,
                _ => 1,
            };
            for _ in 0..copies {
                if *other != id {
                    let _ = member.write_all(out.as_bytes());
                }
            }
        }
    }
}

/// Runs `fanout --json` briefly; returns its exit code and report.
fn fanout(addr: &str, proto: &str) -> Result<(Option<i32>, serde_json::Value)> {
    let output = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args([
            addr,
            "--proto",
            proto,
            "--json",
            "--subscribers",
            "5",
            "--publishers",
            "2",
        ])
        .args([
            "--rate",
            "200",
            "--warmup",
            "0",
            "--duration",
            "0.5",
            "--drain",
            "1",
        ])
        .output()?;
    let report = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    Ok((output.status.code(), report))
}

#[test]
fn a_faithful_chat_passes() -> Result {
    let (code, report) = fanout(&chat_stand_in(Fault::None)?, "chat")?;
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["errors"]["total"], 0);
    // 100 publications in the half second, each to 5 subscribers.
    assert_eq!(report["ops"], 500, "{report}");
    Ok(())
}

#[test]
fn a_dropped_delivery_fails() -> Result {
    let (code, report) = fanout(&chat_stand_in(Fault::DropOne)?, "chat")?;
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["errors"]["lost"], 1);
    Ok(())
}

#[test]
fn a_repeated_delivery_fails() -> Result {
    let (code, report) = fanout(&chat_stand_in(Fault::RepeatOne)?, "chat")?;
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["errors"]["mismatch"], 1);
    Ok(())
}

#[test]
fn a_server_that_is_not_there_is_an_error_line() -> Result {
    let port = free_port()?;
    let (code, _) = fanout(&format!("127.0.0.1:{port}"), "chat")?;
    assert_eq!(code, Some(1));
    Ok(())
}

/// Kills Redis when the test ends, however it ends.
struct Redis(std::process::Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn redis_pub_sub_passes() -> Result {
    let Some(redis) = tool("redis-server", "the Redis fan-out check")? else {
        return Ok(());
    };
    let port = free_port()?.to_string();
    let _redis = Redis(
        Command::new(redis)
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()?,
    );
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + BOUND;
    while TcpStream::connect(&addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server never listened"
        );
        std::thread::yield_now();
    }
    let (code, report) = fanout(&addr, "redis")?;
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ops"], 500);
    Ok(())
}
