//! Micro-benchmarks (`cargo bench`) for the pieces a change could slow down
//! without any test noticing: the line framer, an HTTP batch answered, the
//! output queue's gathered write, the WebSocket frame codec, and a chat
//! line's recipients listed (the work done under the lock that
//! `--workers` share, see docs/benchmarks.md, "Workers"). Each works on
//! memory only (no socket, no clock in the measured code), so its figure is
//! the code's own cost; the side-by-side server comparisons are
//! `benches/compare.sh`.

use std::hint::black_box;
use std::io::{self, Write};
use std::rc::Rc;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use reactor::event_loop::{Chunk, OutQueue, Stats};
use reactor::proto::chat::state::ChatState;
use reactor::proto::http::exchange::{ConnState, Responder};
use reactor::proto::http::response::StatsView;
use reactor::proto::line::{Frame, LineFramer};
use reactor::proto::web::frame::{encode_client, encode_text, Event, FrameDecoder, Opcode, Role};

/// 1,000 chat lines of 40-odd bytes, as one read would bring them.
fn chat_lines() -> Vec<u8> {
    (0..1000)
        .map(|i| format!("guest-{i}: a line of chat, number {i}\n"))
        .collect::<String>()
        .into_bytes()
}

fn line_framer(c: &mut Criterion) {
    let input = chat_lines();
    let mut group = c.benchmark_group("line framer");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("1000 lines in one read", |b| {
        b.iter(|| {
            let mut framer = LineFramer::new(4096);
            let mut lines = framer.lines(black_box(&input));
            let count = (&mut lines).count();
            black_box((count, lines.consumed()))
        })
    });
    group.finish();
}

fn http_batch(c: &mut Criterion) {
    let request = b"GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\n\r\n";
    let batch: Vec<u8> = request.repeat(16);
    let stats = Stats::default();
    let mut responder = Responder::new(SystemTime::now());
    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Elements(16));
    group.bench_function("16 pipelined GET / answered", |b| {
        b.iter(|| {
            let mut state = ConnState::FRESH;
            let answered =
                responder.answer_all(&mut state, black_box(&batch), StatsView::Loop(&stats));
            responder.out.clear();
            black_box(answered)
        })
    });
    group.finish();
}

/// A writer that takes everything, as an empty socket buffer would.
struct Sink(usize);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.0 += n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn out_queue(c: &mut Criterion) {
    let line: Rc<[u8]> = Rc::from(&b"guest-17: a chat line fanned out to a room\n"[..]);
    let mut scratch = vec![0u8; 64 * 1024];
    let mut group = c.benchmark_group("output queue");
    group.throughput(Throughput::Elements(64));
    group.bench_function("64 shared lines gathered and written", |b| {
        b.iter(|| {
            let mut queue = OutQueue::default();
            for _ in 0..64 {
                queue.push(Chunk::Shared(Rc::clone(&line)));
            }
            let mut sink = Sink(0);
            while !queue.is_empty() {
                let _ = queue.write_gathered(&mut sink, &mut scratch);
            }
            black_box(sink.0)
        })
    });
    group.finish();
}

fn websocket(c: &mut Criterion) {
    let text = "guest-17: a chat line, as a browser would send it";
    let mut frames = Vec::new();
    for i in 0..100u8 {
        encode_client(&mut frames, Opcode::Text, text.as_bytes(), [i, 7, 42, 99]);
    }
    let mut group = c.benchmark_group("websocket");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100 masked client frames decoded", |b| {
        b.iter(|| {
            let mut decoder = FrameDecoder::new(Role::Server, 1_000_000);
            let (mut used, mut texts) = (0, 0);
            loop {
                let (n, event) = decoder.decode(black_box(&frames[used..]));
                used += n;
                match event {
                    Ok(Some(Event::Text(_))) => texts += 1,
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            black_box(texts)
        })
    });
    group.bench_function("100 server frames encoded", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            out.clear();
            for _ in 0..100 {
                encode_text(&mut out, black_box(text));
            }
            black_box(out.len())
        })
    });
    group.finish();
}

fn chat_line(c: &mut Criterion) {
    // A room of 1,000 members: what one line costs the chat state, which
    // with --workers is the time the shared directory stays locked.
    let mut chat = ChatState::new(4096);
    let mut actions = Vec::new();
    let members: Vec<_> = (0..1000).map(|_| chat.join(&mut actions)).collect();
    actions.clear();
    chat.input(members[0], Frame::Line("hello, room"), &mut actions);
    assert_eq!(actions.len(), 999, "a line reaches the 999 others");
    actions.clear();
    let mut group = c.benchmark_group("chat");
    group.throughput(Throughput::Elements(members.len() as u64 - 1));
    group.bench_function("one line's 999 recipients listed", |b| {
        b.iter(|| {
            chat.input(
                members[0],
                Frame::Line(black_box("hello, room")),
                &mut actions,
            );
            let listed = actions.len();
            actions.clear();
            black_box(listed)
        })
    });
    group.finish();
}

criterion_group!(
    micro,
    line_framer,
    http_batch,
    out_queue,
    websocket,
    chat_line
);
criterion_main!(micro);
