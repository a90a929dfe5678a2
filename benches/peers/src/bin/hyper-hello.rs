//! `GET /` -> `200 Hello, World!` on hyper 1 and a tokio current-thread
//! runtime: the HTTP server a Rust programmer writes instead.
//!
//! Keep-alive is on (hyper's default) and `pipeline_flush` is set, so the
//! answers to requests that arrived pipelined in one read leave in one
//! write, as `reactor http` does; without it hyper writes each answer on
//! its own and would be measured on a handicap it does not need. hyper adds
//! `Content-Length` (the body's size is known) and `Date` itself. Any other
//! path is `404`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use reactor_bench_peers::{announce, args::server_args};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};

const USAGE: &str = "hyper-hello --bind ADDR";
const HELLO: &[u8] = b"Hello, World!";

fn main() -> ExitCode {
    let (bind, _) = match server_args(USAGE, &[]) {
        Ok(parsed) => parsed,
        Err(status) => return status,
    };
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|runtime| runtime.block_on(serve(bind)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Accepts until SIGTERM or SIGINT.
async fn serve(bind: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(bind).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    announce("http", listener.local_addr()?)?;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    tokio::spawn(connection(stream));
                }
                Err(e) => eprintln!("accept: {e}"),
            },
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}

/// Serves one connection's requests until it closes.
async fn connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let served = http1::Builder::new()
        .keep_alive(true)
        .pipeline_flush(true)
        .serve_connection(TokioIo::new(stream), service_fn(hello))
        .await;
    // A peer that resets or sends garbage ends its own connection only.
    let _ = served;
}

async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let found = request.method() == Method::GET && request.uri().path() == "/";
    let (status, body) = match found {
        true => (StatusCode::OK, Bytes::from_static(HELLO)),
        false => (StatusCode::NOT_FOUND, Bytes::from_static(b"Not Found")),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}
