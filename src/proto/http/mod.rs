//! HTTP/1.1 plaintext: the target `wrk`, `ab` and `oha` are pointed at
//! (SPEC section 6).
//!
//! * `request.rs`: a request head, parsed by `httparse`, reduced to what
//!   decides the answer and the connection's fate;
//! * `response.rs`: responses appended to one shared buffer;
//! * `date.rs`: the `Date` header, formatted once a second.

pub mod date;
pub mod request;
pub mod response;
