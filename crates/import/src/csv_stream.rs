//! Reads CSV on a blocking thread and sends validated rows to the async side in bounded batches.

use std::io::Read;

use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::RowError;
use super::lines::LineTracking;

/// Rows per batch: one multi-row insert each.
pub const BATCH_ROWS: usize = 500;
/// Batches parsed ahead of the inserter; bounds memory whatever the file size.
const BATCHES_IN_FLIGHT: usize = 2;

/// A row that passed validation, with its line in the file.
#[derive(Debug, Clone)]
pub struct ParsedRow<T> {
    pub line: u64,
    pub row: T,
}

/// Up to [`BATCH_ROWS`] rows, each valid or rejected.
pub type RowBatch<T> = Vec<Result<ParsedRow<T>, RowError>>;

/// Why a whole import stopped (as opposed to one row being rejected).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The header lacks a required column.
    #[error("CSV header must contain the column '{0}'")]
    MissingColumn(&'static str),
    /// The CSV could not be read at all (not UTF-8 in the header, empty file).
    #[error("CSV could not be read: {0}")]
    Unreadable(String),
    /// The byte stream itself failed (client went away, body over its limit).
    #[error("reading the upload failed: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts parsing `reader` on a blocking thread. Each record is deserialized into `Raw`
/// by header name, then validated by `parse`. `required` columns must be in the header.
pub fn spawn<R, Raw, T, F>(
    reader: R,
    required: &'static [&'static str],
    parse: F,
) -> mpsc::Receiver<Result<RowBatch<T>, ImportError>>
where
    R: Read + Send + 'static,
    Raw: DeserializeOwned,
    T: Send + 'static,
    F: Fn(Raw) -> Result<T, String> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(BATCHES_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        if let Err(error) = read_batches(reader, required, parse, &sender) {
            // The receiver may be gone already; then nobody is waiting for the error.
            let _ = sender.blocking_send(Err(error));
        }
    });
    receiver
}

fn read_batches<R, Raw, T, F>(
    reader: R,
    required: &'static [&'static str],
    parse: F,
    sender: &mpsc::Sender<Result<RowBatch<T>, ImportError>>,
) -> Result<(), ImportError>
where
    R: Read,
    Raw: DeserializeOwned,
    F: Fn(Raw) -> Result<T, String>,
{
    let (reader, lines) = LineTracking::new(reader);
    let line_of = |position: Option<&csv::Position>, fallback: u64| {
        position
            .and_then(|position| lines.line_of(position.byte()))
            .unwrap_or(fallback)
    };
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = csv.headers().map_err(fatal)?.clone();
    if headers.is_empty() || headers.iter().all(str::is_empty) {
        return Err(ImportError::Unreadable("the file is empty".to_owned()));
    }
    if let Some(missing) = required
        .iter()
        .find(|column| !headers.iter().any(|h| h == **column))
    {
        return Err(ImportError::MissingColumn(missing));
    }
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_of(record.position(), line);
                let parsed = record
                    .deserialize::<Raw>(Some(&headers))
                    .map_err(|error| describe_row_error(&error))
                    .and_then(&parse)
                    .map(|row| ParsedRow { line, row })
                    .map_err(|error| RowError { line, error });
                batch.push(parsed);
            }
            Err(error) if is_row_error(&error) => batch.push(Err(RowError {
                line: line_of(error.position(), line),
                error: describe_row_error(&error),
            })),
            Err(error) => return Err(fatal(error)),
        }
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if sender.blocking_send(Ok(full)).is_err() {
                return Ok(()); // the inserter stopped; nothing more to do
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.blocking_send(Ok(batch));
    }
    Ok(())
}

/// Errors confined to one record: the reader can carry on with the next.
fn is_row_error(error: &csv::Error) -> bool {
    matches!(
        error.kind(),
        csv::ErrorKind::UnequalLengths { .. }
            | csv::ErrorKind::Utf8 { .. }
            | csv::ErrorKind::Deserialize { .. }
    )
}

fn describe_row_error(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields, found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "row is not valid UTF-8".to_owned(),
        csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
        _ => error.to_string(),
    }
}

fn fatal(error: csv::Error) -> ImportError {
    match error.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Io(io),
        other => ImportError::Unreadable(format!("{other:?}")),
    }
}
