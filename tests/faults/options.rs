//! Options given wrong: each is a usage error that says what is wrong,
//! never a silent change of meaning.

use crate::common::*;

#[test]
fn a_zone_on_an_address_that_is_not_link_local_is_a_usage_error() {
    for args in [
        &["echo", "--bind", "[::1%999]:0"][..],
        &["udp-echo", "--bind", "[::1%999]:0"],
        &["chat", "--bind", "127.0.0.1:0", "--web", "[::1%2]:0"],
        &["client", "[::1%999]:7000"],
    ] {
        let (status, stdout, stderr) = run_to_exit(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "nothing was bound: {args:?}");
        assert!(stderr.starts_with("error:"), "{stderr}");
        assert!(
            stderr.contains("link-local") && stderr.contains("%"),
            "the error says why: {stderr}"
        );
    }
}

#[test]
fn a_zone_on_a_link_local_address_is_passed_to_the_kernel() {
    // Interface 999 does not exist: the kernel's refusal is a runtime
    // error that names the address, not a usage error.
    let (status, _, stderr) = run_to_exit(&["echo", "--bind", "[fe80::1%999]:0"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot bind [fe80::1%999]:0: "),
        "{stderr}"
    );
}

/// The range an out-of-range error states, `LOW..=HIGH`, as numbers.
fn stated_range(stderr: &str) -> (u64, u64) {
    let range = stderr
        .split(" is not in ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no range in {stderr}"));
    let (low, high) = range
        .split_once("..=")
        .unwrap_or_else(|| panic!("{range} is not an inclusive range: {stderr}"));
    (
        low.parse().expect("low end"),
        high.parse().expect("high end"),
    )
}

#[test]
fn max_outbuf_states_the_range_it_accepts() {
    for command in [&["echo"][..], &["udp-echo"], &["chat"], &["http"]] {
        let mut args = command.to_vec();
        args.extend(["--max-outbuf", "0"]);
        let (status, _, stderr) = run_to_exit(&args);
        assert_eq!(status.code(), Some(2), "{stderr}");
        let (low, high) = stated_range(&stderr);
        assert_eq!(low, 1, "{stderr}");
        // Both ends of the stated range are accepted.
        for edge in [low, high] {
            let edge = edge.to_string();
            let mut args = command.to_vec();
            args.extend(["--max-outbuf", &edge]);
            if command == ["chat"] {
                args.extend(["--max-line", "1"]);
            }
            if command == ["chat"] && edge == "1" {
                // A 1-byte queue cannot hold one relayed line: refused
                // for that reason, which names --max-line.
                let (status, _, stderr) = run_to_exit(&args);
                assert_eq!(status.code(), Some(2), "{stderr}");
                assert!(stderr.contains("--max-line"), "{stderr}");
                continue;
            }
            let server = Server::start(&args);
            server.signal("TERM");
            let (status, log) = server.wait_exit();
            assert_eq!(status.code(), Some(0), "--max-outbuf {edge}: {log:#?}");
        }
    }
    let (status, _, stderr) = run_to_exit(&["client", "--max-outbuf", "0", "127.0.0.1:0"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stated_range(&stderr), (1, u64::MAX), "{stderr}");
}
