//! Standard input as a source on the loop.
//!
//! Pipes and terminals can be watched by epoll/kqueue like sockets: stdin is
//! duplicated, made non-blocking, and registered through mio's
//! pipe `Receiver`. A **regular file** cannot
//! be: epoll refuses it with `EPERM` (a file is "always ready", so readiness
//! means nothing for it). For that case alone a small thread reads the file
//! with blocking reads and hands chunks to the loop over a bounded channel,
//! waking it through the loop's waker. The channel's bound is the
//! backpressure: when the loop stops taking chunks, the thread blocks.
//!
//! Either way the protocol sees the same thing: [`Stdin::read`] returns a
//! chunk, "nothing now", or end of input.

use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use crate::event_loop::{Handle, Io, PipeReceiver, SourceInterest};
use log::debug;

/// Bytes per read of stdin.
const CHUNK: usize = 64 * 1024;

/// Chunks the reader thread may have in flight before it blocks.
const THREAD_CHANNEL_BOUND: usize = 16;

/// What one attempt to read stdin gave.
#[derive(Debug, PartialEq, Eq)]
pub enum StdinRead<'a> {
    /// Some bytes.
    Data(&'a [u8]),
    /// Nothing now; a later event (readable, or a wake) brings more.
    WouldBlock,
    /// End of input.
    Eof,
}

/// How stdin reaches the loop.
#[derive(Debug)]
enum Source {
    /// A pipe or terminal registered with `poll`.
    Polled(PipeReceiver),
    /// A reader thread for what `poll` refuses (regular files).
    Thread(Receiver<io::Result<Vec<u8>>>),
    /// End of input was seen.
    Done,
}

/// Standard input, readable without blocking the loop.
#[derive(Debug)]
pub struct Stdin {
    source: Source,
    buf: Vec<u8>,
}

impl Stdin {
    /// Registers stdin as source number `source`, or starts the reader
    /// thread when `poll` cannot watch it.
    pub fn open<T>(io: &Io<T>, source: usize, handle: Handle) -> io::Result<Stdin> {
        let owned = io::stdin().as_fd().try_clone_to_owned()?;
        let mut receiver = PipeReceiver::from(owned);
        let polled = receiver
            .set_nonblocking(true)
            .and_then(|()| SourceInterest::register(io, &mut receiver, source));
        let source = match polled {
            Ok(_) => Source::Polled(receiver),
            Err(e) => {
                debug!("stdin cannot be polled ({e}); reading it on a thread");
                let _ = receiver.set_nonblocking(false);
                drop(receiver);
                Source::Thread(spawn_reader(handle)?)
            }
        };
        Ok(Stdin {
            source,
            buf: Vec::new(),
        })
    }

    /// Reads what is available now.
    pub fn read(&mut self) -> io::Result<StdinRead<'_>> {
        match &mut self.source {
            Source::Done => Ok(StdinRead::Eof),
            Source::Polled(receiver) => {
                self.buf.resize(CHUNK, 0);
                loop {
                    match receiver.read(&mut self.buf) {
                        Ok(0) => {
                            self.finish();
                            return Ok(StdinRead::Eof);
                        }
                        Ok(n) => return Ok(StdinRead::Data(&self.buf[..n])),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            return Ok(StdinRead::WouldBlock)
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Source::Thread(chunks) => match chunks.try_recv() {
                Ok(Ok(chunk)) => {
                    self.buf = chunk;
                    Ok(StdinRead::Data(&self.buf))
                }
                Ok(Err(e)) => Err(e),
                Err(TryRecvError::Empty) => Ok(StdinRead::WouldBlock),
                Err(TryRecvError::Disconnected) => {
                    self.finish();
                    Ok(StdinRead::Eof)
                }
            },
        }
    }

    /// Stops watching stdin and gives the terminal back its blocking mode.
    fn finish(&mut self) {
        if let Source::Polled(receiver) = &mut self.source {
            let _ = receiver.set_nonblocking(false);
        }
        self.source = Source::Done;
    }
}

impl Drop for Stdin {
    fn drop(&mut self) {
        // O_NONBLOCK is a property of the open file, shared with the shell
        // that started us: leave it as we found it.
        self.finish();
    }
}

/// Starts the thread that reads a regular file (or anything else `poll`
/// refuses) with blocking reads.
fn spawn_reader(handle: Handle) -> io::Result<Receiver<io::Result<Vec<u8>>>> {
    let (chunks, receiver) = mpsc::sync_channel(THREAD_CHANNEL_BOUND);
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut chunk = vec![0; CHUNK];
                let sent = match stdin.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        chunk.truncate(n);
                        chunks.send(Ok(chunk))
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = chunks.send(Err(e));
                        break;
                    }
                };
                if sent.is_err() {
                    return; // the loop is gone
                }
                handle.wake();
            }
            // Dropping the sender is the end-of-input signal.
            drop(chunks);
            handle.wake();
        })?;
    Ok(receiver)
}
