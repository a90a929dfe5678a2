//! HTTP/1.1 plaintext: the target `wrk`, `ab` and `oha` are pointed at
//! (SPEC section 6).
//!
//! * `request.rs`: a request head, parsed by `httparse`, reduced to what
//!   decides the answer and the connection's fate.

pub mod request;
