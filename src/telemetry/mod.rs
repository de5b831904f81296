//! Logging set-up: JSON lines in production, pretty output for people, written off the
//! request path by one writer thread.

mod access_lines;
mod batched_stderr;
mod log_file;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use std::path::Path;

use crate::config::LogFormat;
use access_lines::AccessLines;
use batched_stderr::{BatchedStderr, WriterThread};
use log_file::LogFile;
use shortener_metrics as metrics;

/// Writes what is still buffered when dropped: keep it alive until the process exits.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _writer: Option<WriterThread>,
}

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
///
/// Lines are formatted on the thread that logs them and appended to a buffer that one
/// thread writes out every few milliseconds: a request pays neither a syscall nor a
/// wake-up for its access line. Should standard error stall, lines beyond the buffer are
/// dropped rather than stalling requests, and counted in
/// `shortener_log_lines_dropped_total`. A process killed with SIGKILL loses at most the
/// last few milliseconds of lines.
/// With `file`, the lines are appended there instead (rotated by [`log_file::LogFile`]);
/// the error is one line naming the file.
pub fn init(format: LogFormat, file: Option<&Path>) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let started = match file {
        Some(path) => {
            let file = LogFile::open(path)
                .map_err(|error| format!("LOG_FILE {}: {error}", path.display()))?;
            BatchedStderr::start_with(file)
        }
        None => BatchedStderr::start(),
    };
    let Ok((writer, thread)) = started else {
        // No thread to spare: log synchronously rather than not at all.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .json()
            .try_init();
        return Ok(LogGuard { _writer: None });
    };
    let dropped = writer.dropped_lines();
    // A second init (tests calling it twice) is harmless: the first subscriber stays, and
    // the second writer thread stops with its guard.
    let installed = match format {
        // The access lines are written by hand (access_lines.rs); tracing's JSON
        // formatter writes every other event.
        LogFormat::Json => {
            let not_access = tracing_subscriber::filter::filter_fn(|metadata| {
                metadata.target() != shortener_http::ACCESS_LOG_TARGET
            });
            let events = tracing_subscriber::fmt::layer()
                .with_writer(writer.clone())
                .json()
                .flatten_event(true)
                .with_filter(not_access);
            tracing_subscriber::registry()
                .with(filter)
                .with(events)
                .with(AccessLines::new(writer))
                .try_init()
        }
        LogFormat::Pretty => tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .compact(),
            )
            .try_init(),
    };
    if installed.is_ok() {
        metrics::watch_dropped_log_lines(dropped);
    }
    Ok(LogGuard {
        _writer: Some(thread),
    })
}
