//! `OutQueue`, where a connection's output waits for the kernel: any
//! sequence of pushes (copied, owned, shared; empty to large) and writes
//! (plain, gathered) against a writer that takes any amount, or nothing, or
//! fails with `WouldBlock`.
//!
//! Checks after every step: the bytes the writer took are exactly the bytes
//! pushed, in order; `len()` is what was pushed less what was written; a
//! write never claims more than it offered; a failed write changes nothing.
//! At the end everything drains.

#![no_main]

use std::io::{self, IoSlice, Write};
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use reactor::event_loop::{Chunk, OutQueue};

/// A socket with a send buffer of `room` bytes for the next call.
struct Socket {
    /// Bytes the next call takes at most.
    room: usize,
    /// Fail the next call with `WouldBlock`.
    fail: bool,
    /// Take only from the first slice of a vectored write, as `Write`'s
    /// default `write_vectored` does.
    first_slice_only: bool,
    /// Everything taken so far.
    taken: Vec<u8>,
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if std::mem::take(&mut self.fail) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut taken = 0;
        for buf in bufs {
            let take = buf.len().min(self.room - taken);
            self.taken.extend_from_slice(&buf[..take]);
            taken += take;
            if self.first_slice_only && !buf.is_empty() {
                break;
            }
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads the operations off the input, one byte (and its arguments) each.
struct Ops<'a>(&'a [u8]);

impl Ops<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    /// A length from one byte: 0 to 199 most of the time (chat lines),
    /// else 160 to 8960 in steps of 160, across the queue's 2 KiB gather
    /// and 4 KiB coalesce thresholds. (Two bytes, uniform up to 9000, made
    /// every run push megabytes: 500 runs a second.)
    fn len(&mut self) -> usize {
        match self.byte() {
            small @ 0..=199 => usize::from(small),
            large => usize::from(large - 199) * 160,
        }
    }
}

/// The queue, the socket, and every byte pushed.
struct Model {
    queue: OutQueue,
    socket: Socket,
    pushed: Vec<u8>,
    /// How many of the taken bytes were already compared with `pushed`.
    checked: usize,
    gather: Vec<u8>,
}

impl Model {
    /// `len` fresh bytes, numbered so that a reordering shows.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let start = self.pushed.len();
        let bytes: Vec<u8> = (start..start + len).map(|i| (i % 251) as u8).collect();
        self.pushed.extend_from_slice(&bytes);
        bytes
    }

    /// One write, as the loop makes it, and the checks.
    fn write(&mut self, gathered: bool) {
        let before = self.queue.len();
        let result = if gathered {
            self.queue
                .write_gathered(&mut self.socket, &mut self.gather)
        } else {
            self.queue.write_to(&mut self.socket)
        };
        match result {
            Ok((written, offered)) => {
                assert!(written <= offered, "wrote {written} of {offered} offered");
                assert!(offered <= before, "offered {offered} of {before} queued");
            }
            Err(_) => assert_eq!(self.queue.len(), before, "a failed write changed the queue"),
        }
        self.check();
    }

    /// Checks what was taken since the last check (all of it, each time,
    /// made the target quadratic and slow).
    fn check(&mut self) {
        let taken = &self.socket.taken;
        assert_eq!(self.queue.len(), self.pushed.len() - taken.len());
        assert_eq!(
            taken[self.checked..],
            self.pushed[self.checked..taken.len()],
            "bytes out of order"
        );
        self.checked = taken.len();
        assert_eq!(self.queue.is_empty(), self.pushed.len() == taken.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops(data);
    let mut model = Model {
        queue: OutQueue::default(),
        socket: Socket {
            room: 0,
            fail: false,
            first_slice_only: false,
            taken: Vec::new(),
        },
        pushed: Vec::new(),
        checked: 0,
        gather: Vec::new(),
    };
    while !ops.0.is_empty() {
        match ops.byte() % 8 {
            0 => {
                let len = ops.len();
                let bytes = model.bytes(len);
                model.queue.push_copy(&bytes);
            }
            1 => {
                let len = ops.len();
                let bytes = model.bytes(len);
                model.queue.push(Chunk::Owned(bytes));
            }
            2 => {
                let len = ops.len();
                let bytes = model.bytes(len);
                model.queue.push(Chunk::Shared(Rc::from(bytes)));
            }
            3 => model.write(false),
            4 => model.write(true),
            5 => model.socket.room = ops.len(),
            6 => model.socket.fail = true,
            _ => {
                let how = ops.byte();
                model.socket.first_slice_only = how & 1 == 1;
                // The loop's scratch buffer, or none while it is lent out.
                model.gather = vec![0; usize::from(how >> 1) * 64];
            }
        }
        model.check();
    }
    model.socket = Socket {
        room: usize::MAX,
        fail: false,
        first_slice_only: false,
        taken: std::mem::take(&mut model.socket.taken),
    };
    while !model.queue.is_empty() {
        let before = model.queue.len();
        model.write(true);
        assert!(model.queue.len() < before, "a write with room took nothing");
    }
    assert_eq!(model.socket.taken, model.pushed);
});
