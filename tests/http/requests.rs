//! Unusual and hostile requests, each answered as RFC 9112 says and, when
//! the request cannot be trusted, followed by a close
//! (`docs/reference.md`, "Errors").

use crate::client::Client;
use crate::common::Server;
use crate::{GET, HELLO};

/// Sends `request` on a new connection; returns the one answer's status
/// line, after checking the server then says `Connection: close` and
/// closes.
fn status_then_close(server: &Server, request: &[u8]) -> String {
    let mut client = Client::new(server);
    client.send(request);
    let answer = client.answer();
    assert_eq!(
        answer.header("Connection"),
        Some("close"),
        "{:?}",
        String::from_utf8_lossy(request)
    );
    client.assert_closed();
    answer.status().to_string()
}

#[test]
fn an_absolute_form_target_is_routed_on_its_path() {
    let server = Server::start(&["http"]);
    let mut client = Client::new(&server);
    client.send(b"GET http://test/ HTTP/1.1\r\nHost: test\r\n\r\n");
    let answer = client.answer();
    assert_eq!(answer.status(), "HTTP/1.1 200 OK");
    assert_eq!(answer.body(), HELLO);
    client.send(b"GET HTTP://test:8080/stats?x HTTP/1.1\r\nHost: test:8080\r\n\r\n");
    let stats = client.answer();
    assert_eq!(stats.header("Content-Type"), Some("application/json"));
    client.send(b"GET http://test/nowhere HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(client.answer().status(), "HTTP/1.1 404 Not Found");
}

#[test]
fn http_1_1_without_a_valid_host_is_400() {
    let server = Server::start(&["http"]);
    for request in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
        b"GET http://user@test/ HTTP/1.1\r\nHost: test\r\n\r\n",
        b"GET * HTTP/1.1\r\nHost: test\r\n\r\n",
    ] {
        assert_eq!(
            status_then_close(&server, request),
            "HTTP/1.1 400 Bad Request",
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    // What is valid stays so: an IPv6 literal, a port, HTTP/1.0 without one.
    let mut client = Client::new(&server);
    for request in [
        &b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ] {
        client.send(request);
        assert_eq!(client.answer().body(), HELLO);
    }
}

#[test]
fn a_client_over_max_conns_reads_a_503_that_says_it_closes() {
    let server = Server::start(&["http", "--max-conns", "1"]);
    let mut first = Client::new(&server);
    first.send(GET);
    assert_eq!(first.answer().body(), HELLO);
    let mut refused = Client::new(&server);
    let answer = refused.answer();
    assert_eq!(answer.status(), "HTTP/1.1 503 Service Unavailable");
    assert_eq!(answer.header("Connection"), Some("close"));
    assert_eq!(answer.body(), "Service Unavailable\n");
    refused.assert_closed();
    // The one admitted is still served.
    first.send(GET);
    assert_eq!(first.answer().body(), HELLO);
}

#[test]
fn request_smuggling_shapes_and_foreign_protocols_are_refused_and_closed() {
    let server = Server::start(&["http"]);
    let cases: [(&[u8], &str); 10] = [
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            "501",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            "501",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "400",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -3\r\n\r\n",
            "400",
        ),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x3\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n folded\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n", "400"),
        (b"G(T / HTTP/1.1\r\nHost: t\r\n\r\n", "400"),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "400"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "400"),
    ];
    for (request, status) in cases {
        let got = status_then_close(&server, request);
        assert!(
            got.starts_with(&format!("HTTP/1.1 {status} ")),
            "{got} for {:?}",
            String::from_utf8_lossy(request)
        );
    }
}

#[test]
fn the_head_limit_is_8_kib_to_the_byte() {
    let server = Server::start(&["http"]);
    let head_of = |len: usize| {
        let mut head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Fill: ".to_vec();
        head.resize(len - 4, b'x');
        head.extend_from_slice(b"\r\n\r\n");
        head
    };
    let mut client = Client::new(&server);
    client.send(&head_of(8 * 1024));
    assert_eq!(client.answer().body(), HELLO);
    assert_eq!(
        status_then_close(&server, &head_of(8 * 1024 + 1)),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
}

#[test]
fn a_pipelined_batch_split_anywhere_gets_every_answer_in_order() {
    let server = Server::start(&["http"]);
    let mut batch = b"\r\nPOST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nGET /".to_vec();
    batch.extend_from_slice(GET);
    batch.extend_from_slice(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    batch.extend_from_slice(GET);
    for split in 0..=batch.len() {
        let mut client = Client::new(&server);
        client.send(&batch[..split]);
        client.send(&batch[split..]);
        assert_eq!(
            client.answer().status(),
            "HTTP/1.1 404 Not Found",
            "{split}"
        );
        assert_eq!(client.answer().body(), HELLO, "split at {split}");
        let head = client.answer_to(true);
        assert_eq!(head.header("Content-Length"), Some("13"), "{split}");
        assert_eq!(client.answer().body(), HELLO, "split at {split}");
    }
}
