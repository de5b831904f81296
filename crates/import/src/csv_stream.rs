//! Reads CSV on a blocking thread and sends validated rows to the async side in bounded batches.

use std::io::Read;

use csv::{ByteRecord, StringRecord};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::RowError;
use super::records::{Record, Records};

/// Rows per batch: one multi-row insert each.
pub const BATCH_ROWS: usize = 500;
/// A batch is sent early once its rows hold this many bytes of fields, so that rows near
/// [`MAX_RECORD_BYTES`](super::records::MAX_RECORD_BYTES) (an event's large `details`)
/// cannot make a batch of 500 hold 32 MiB.
pub const BATCH_BYTES: usize = 1024 * 1024;
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
    /// The CSV could not be read at all (not UTF-8 in the header, empty file, a header
    /// past the record limits).
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
    let mut records = Records::new(reader);
    let headers = header(records.next_record()?)?;
    if let Some(missing) = required
        .iter()
        .find(|column| !headers.iter().any(|h| h == **column))
    {
        return Err(ImportError::MissingColumn(missing));
    }
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut batch_bytes = 0;
    while let Some(record) = records.next_record()? {
        let parsed = match record {
            Record::Fields { line, fields } => {
                batch_bytes += fields.as_slice().len();
                row(fields, &headers, &parse)
                    .map(|row| ParsedRow { line, row })
                    .map_err(|error| RowError { line, error })
            }
            Record::TooLarge { line, limit } => Err(RowError {
                line,
                error: limit.describe("row"),
            }),
        };
        batch.push(parsed);
        if batch.len() == BATCH_ROWS || batch_bytes >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            batch_bytes = 0;
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

/// The header: the first record, trimmed, in UTF-8 and naming at least one column.
fn header(first: Option<Record>) -> Result<StringRecord, ImportError> {
    let unreadable = |why: String| Err(ImportError::Unreadable(why));
    let fields = match first {
        None => return unreadable("the file is empty".to_owned()),
        Some(Record::TooLarge { limit, .. }) => return unreadable(limit.describe("the header")),
        Some(Record::Fields { fields, .. }) => fields,
    };
    let Ok(mut headers) = StringRecord::from_byte_record(fields) else {
        return unreadable("the header is not valid UTF-8".to_owned());
    };
    headers.trim();
    if headers.iter().all(str::is_empty) {
        return unreadable("the file is empty".to_owned());
    }
    Ok(headers)
}

/// One record checked as the csv crate's reader would (as many fields as the header,
/// UTF-8), trimmed, deserialized into `Raw` by column name, then validated by `parse`.
fn row<Raw, T>(
    fields: ByteRecord,
    headers: &StringRecord,
    parse: impl Fn(Raw) -> Result<T, String>,
) -> Result<T, String>
where
    Raw: DeserializeOwned,
{
    if fields.len() != headers.len() {
        return Err(format!(
            "expected {} fields, found {}",
            headers.len(),
            fields.len()
        ));
    }
    let mut record =
        StringRecord::from_byte_record(fields).map_err(|_| "row is not valid UTF-8".to_owned())?;
    record.trim();
    let raw = record
        .deserialize::<Raw>(Some(headers))
        .map_err(|error| match error.kind() {
            csv::ErrorKind::Deserialize { err, .. } => err.kind().to_string(),
            _ => error.to_string(),
        })?;
    parse(raw)
}
