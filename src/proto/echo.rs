//! TCP echo: every byte received is sent back, in order, unchanged.
//!
//! The smallest protocol, and the clearest view of the loop's mechanics,
//! since echo adds nothing of its own:
//!
//! * each read is answered with [`Io::send`], which writes at once when
//!   nothing is queued: one `read` and one `write` per message, no copy;
//! * what the kernel does not take is queued, and once `--max-outbuf` bytes
//!   are queued the loop stops reading this client ([`Overflow::PauseReading`]):
//!   a client that sends without reading is slowed by its own TCP window,
//!   and nobody else notices;
//! * end of input from the client (a half-close) lets the queue drain, then
//!   the connection closes: the default `on_peer_closed`.

use crate::event_loop::{ConnId, Io, NoTimer, Overflow, Protocol};

/// The echo protocol. Stateless: everything it needs is the input.
#[derive(Debug, Default)]
pub struct Echo;

impl Protocol for Echo {
    type Timer = NoTimer;

    const OVERFLOW: Overflow = Overflow::PauseReading;

    fn on_input(&mut self, io: &mut Io, conn: ConnId, input: &[u8]) -> usize {
        io.send(conn, input);
        input.len()
    }
}
