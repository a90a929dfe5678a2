//! Engine.IO: a long-polling body, one packet (a WebSocket message's
//! text), a `/socket.io/` query string, and the open packet's JSON as a
//! client reads it: any bytes into each.
//!
//! Checks: nothing panics; what decodes encodes back to the same bytes
//! (the body and each packet), so nothing a peer sent is lost or changed
//! on the way; a query that parses names `EIO=4` and its session id is a
//! piece of the query.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reactor::proto::web::engineio::{
    decode_packet, decode_payload, encode_packet, encode_payload, parse_handshake, parse_query,
    PROTOCOL,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(packets) = decode_payload(data) {
        let mut again = Vec::new();
        encode_payload(&mut again, &packets);
        assert_eq!(again, data, "the body did not survive a round trip");
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(packet) = decode_packet(&text) {
        let mut again = Vec::new();
        encode_packet(&mut again, &packet);
        assert_eq!(again, text.as_bytes(), "{packet:?} did not survive");
    }
    if let Ok(query) = parse_query(&text) {
        assert!(text
            .split('&')
            .any(|pair| pair == format!("EIO={PROTOCOL}")));
        if let Some(sid) = query.sid {
            assert!(text.contains(sid));
        }
    }
    // The load generator and the tests read the server's open packet; a
    // hostile server must not make them panic either.
    let _ = parse_handshake(&text);
});
