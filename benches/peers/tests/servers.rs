//! Every peer server behaves as `benches/compare.sh` assumes: announces
//! itself, serves correctly (echo returns every byte, HTTP answers
//! pipelined requests in order), and exits 0 on SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{scratch_dir, tool, Result, Server, BOUND};

/// Sends `len` bytes of a pattern from another thread (so a server that
/// echoes while we are still writing cannot deadlock us) and checks every
/// byte comes back.
fn echoes(addr: &str, len: usize) -> Result {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(BOUND))?;
    let sent: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let mut writer = stream.try_clone()?;
    let to_send = sent.clone();
    let writing = std::thread::spawn(move || writer.write_all(&to_send));
    let mut got = vec![0u8; len];
    stream.read_exact(&mut got)?;
    writing.join().map_err(|_| "writer panicked")??;
    assert!(got == sent, "echoed bytes differ from those sent");
    Ok(())
}

fn echo_server(program: &Path, args: &[&str]) -> Result {
    let server = Server::start(program, args, "tcp")?;
    echoes(&server.addr, 1)?;
    echoes(&server.addr, 300_000)?;
    let status = server.stop()?;
    assert!(status.success(), "exit status {status}");
    Ok(())
}

#[test]
fn tokio_echo_on_both_runtimes() -> Result {
    let program = Path::new(env!("CARGO_BIN_EXE_tokio-echo"));
    echo_server(program, &[])?;
    echo_server(program, &["--multi"])
}

#[test]
fn threads_echo() -> Result {
    echo_server(Path::new(env!("CARGO_BIN_EXE_threads-echo")), &[])
}

#[test]
fn a_server_without_bind_is_a_usage_error() -> Result {
    let status = Command::new(env!("CARGO_BIN_EXE_tokio-echo")).status()?;
    assert_eq!(status.code(), Some(2));
    Ok(())
}

/// Sends `request` (any number of pipelined requests), then reads until
/// `answers` complete responses have come back; returns them as text.
fn http_exchange(addr: &str, request: &[&[u8]], answers: usize) -> Result<Vec<String>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(BOUND))?;
    for part in request {
        stream.write_all(part)?;
        stream.flush()?;
    }
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    let mut responses = Vec::new();
    while responses.len() < answers {
        let n = stream.read(&mut buf)?;
        assert!(n > 0, "closed after {} responses", responses.len());
        text.push_str(std::str::from_utf8(&buf[..n])?);
        while let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .ok_or("no Content-Length")?
                .parse()?;
            if text.len() < end + 4 + length {
                break;
            }
            responses.push(text[..end + 4 + length].to_string());
            text.drain(..end + 4 + length);
        }
    }
    Ok(responses)
}

fn hello(response: &str) -> bool {
    let lower = response.to_ascii_lowercase();
    response.starts_with("HTTP/1.1 200 OK\r\n")
        && lower.contains("\r\ncontent-type: text/plain\r\n")
        && lower.contains("\r\ncontent-length: 13\r\n")
        && lower.contains("\r\ndate: ")
        && response.ends_with("\r\n\r\nHello, World!")
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

#[test]
fn hyper_hello_keeps_alive_and_pipelines() -> Result {
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_hyper-hello")), &[], "http")?;
    let three = [GET, GET, GET].concat();
    let answers = http_exchange(&server.addr, &[&three], 3)?;
    assert!(answers.iter().all(|a| hello(a)), "{answers:?}");
    let missing = http_exchange(&server.addr, &[b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"], 1)?;
    assert!(missing[0].starts_with("HTTP/1.1 404"), "{missing:?}");
    let status = server.stop()?;
    assert!(status.success(), "exit status {status}");
    Ok(())
}

/// Compiles the C floors into a scratch directory, as the script does;
/// `None` (skipped) without a C compiler.
fn floors() -> Result<Option<PathBuf>> {
    let Some(cc) = tool("cc", "the C floors")? else {
        return Ok(None);
    };
    let dir = scratch_dir("floors")?;
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("floors");
    for name in ["epoll-echo", "epoll-http", "udp-floor"] {
        let status = Command::new(&cc)
            .args(["-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(dir.join(name))
            .arg(sources.join(format!("{name}.c")))
            .status()?;
        assert!(status.success(), "cc {name}.c failed");
    }
    Ok(Some(dir))
}

#[test]
fn the_c_floors() -> Result {
    let Some(dir) = floors()? else {
        return Ok(());
    };
    echo_server(&dir.join("epoll-echo"), &[])?;

    let http = Server::start(&dir.join("epoll-http"), &[], "http")?;
    // Two pipelined heads, the second cut in the middle of its end.
    let answers = http_exchange(
        &http.addr,
        &[&[GET, b"GET / HTTP/1.1\r\nHost: a\r\n"].concat(), b"\r\n"],
        2,
    )?;
    assert!(answers.iter().all(|a| hello(a)), "{answers:?}");
    assert!(http.stop()?.success());

    let udp = Server::start(&dir.join("udp-floor"), &[], "udp")?;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(BOUND))?;
    socket.send_to(b"ping", &udp.addr)?;
    let mut buf = [0u8; 16];
    let (n, from) = socket.recv_from(&mut buf)?;
    assert_eq!(
        (&buf[..n], from.to_string()),
        (&b"ping"[..], udp.addr.clone())
    );
    assert!(udp.stop()?.success());
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn python_asyncio_echo() -> Result {
    let Some(python) = tool("python3", "the asyncio echo")? else {
        return Ok(());
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("asyncio_echo.py");
    echo_server(&python, &[&script.to_string_lossy()])
}
