//! A log destination that never makes a request wait on a syscall: each line is appended
//! to a shared buffer, and one thread writes the buffer to standard error (or a file) in
//! batches.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer lets lines gather after the first one of a batch.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Bytes held for the writer before new lines are dropped (and counted): reached only
/// when standard error itself stalls (a reader that stopped reading the pipe).
const BUFFER_LIMIT: usize = 8 * 1024 * 1024;

/// The lines not yet written, and whether the process is done logging.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when a line lands in an empty buffer, and at close.
    arrived: Condvar,
    dropped: Arc<AtomicU64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves bytes, not a broken invariant.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `MakeWriter` handed to the subscriber.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Stops the writer thread when dropped, after it has written every buffered line.
pub struct WriterThread {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchedStderr {
    /// The destination, and the thread that drains it (keep it until the process exits).
    pub fn start() -> std::io::Result<(Self, WriterThread)> {
        Self::start_with(std::io::stderr())
    }

    /// The same, writing to `sink` instead of standard error.
    pub fn start_with(
        mut sink: impl Write + Send + 'static,
    ) -> std::io::Result<(Self, WriterThread)> {
        let shared = Arc::new(Shared::default());
        let drainer = shared.clone();
        let thread = std::thread::Builder::new()
            .name("shortener-log".into())
            .spawn(move || write_batches(&drainer, &mut sink))?;
        Ok((
            Self {
                shared: shared.clone(),
            },
            WriterThread {
                shared,
                thread: Some(thread),
            },
        ))
    }

    /// Lines dropped so far because the buffer was full.
    pub fn dropped_lines(&self) -> Arc<AtomicU64> {
        self.shared.dropped.clone()
    }
}

/// Waits for a line, lets a batch gather, writes it in one call; until closed and empty.
fn write_batches(shared: &Shared, sink: &mut impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.bytes.is_empty() && !pending.closing {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(|e| e.into_inner());
        }
        if pending.bytes.is_empty() {
            return; // closing, and everything is out
        }
        if !pending.closing {
            drop(pending);
            std::thread::sleep(BATCH_WINDOW);
            pending = shared.lock();
        }
        std::mem::swap(&mut pending.bytes, &mut batch);
        drop(pending);
        // Nowhere to report a failure to write the log itself; the lines are gone.
        let _ = sink.write_all(&batch).and_then(|()| sink.flush());
        batch.clear();
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = LineSink<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineSink(&self.shared)
    }
}

/// One event's writer: the subscriber formats a whole line, then writes it at once.
pub struct LineSink<'a>(&'a Shared);

impl Write for LineSink<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.0.lock();
        if pending.bytes.len() + line.len() > BUFFER_LIMIT {
            drop(pending);
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(line.len());
        }
        let was_empty = pending.bytes.is_empty();
        pending.bytes.extend_from_slice(line);
        drop(pending);
        // Only the first line of a batch wakes the writer.
        if was_empty {
            self.0.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink a test can read, shared with the writer thread.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl BatchedStderr {
    /// A destination whose lines a test reads back with [`Self::captured`].
    pub(crate) fn start_capturing() -> std::io::Result<(Self, (WriterThread, Captured))> {
        let captured = Captured::default();
        let (writer, thread) = Self::start_with(captured.clone())?;
        Ok((writer, (thread, captured)))
    }

    /// Everything written, once the writer thread has stopped.
    pub(crate) fn captured((thread, captured): (WriterThread, Captured)) -> String {
        drop(thread);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_written_in_order_by_the_time_the_thread_stops() {
        let captured = Captured::default();
        let (writer, thread) = BatchedStderr::start_with(captured.clone()).unwrap();
        for i in 0..10_000 {
            writer
                .make_writer()
                .write_all(format!("line {i}\n").as_bytes())
                .unwrap();
        }
        drop(thread);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let expected: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert_eq!(writer.dropped_lines().load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_quiet_line_is_written_without_waiting_for_more() {
        let captured = Captured::default();
        let (writer, _thread) = BatchedStderr::start_with(captured.clone()).unwrap();
        writer.make_writer().write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while captured.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line never came out"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*captured.0.lock().unwrap(), b"alone\n");
    }

    /// A sink that never returns, like a pipe nobody reads.
    struct Stalled(std::sync::mpsc::Receiver<()>);

    impl Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_destination_costs_lines_counted_never_a_blocked_caller() {
        let (release, stalled) = std::sync::mpsc::channel();
        let (writer, thread) = BatchedStderr::start_with(Stalled(stalled)).unwrap();
        let line = vec![b'x'; 1023];
        // Far more than the buffer holds: every call returns, the excess is counted. At
        // most two buffers' worth is kept: the batch stuck in the sink, and a full buffer.
        let lines = 3 * BUFFER_LIMIT / 1024;
        for _ in 0..lines {
            writer.make_writer().write_all(&line).unwrap();
        }
        let dropped = writer.dropped_lines().load(Ordering::Relaxed) as usize;
        assert!(
            dropped >= lines - 2 * (BUFFER_LIMIT / 1023) - 2,
            "dropped {dropped} of {lines}"
        );
        assert!(dropped < lines, "some lines were kept");
        drop(release);
        drop(thread);
    }
}
