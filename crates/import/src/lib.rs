//! CSV imports in the platform's format: streamed, validated row by row, inserted in batches.
//!
//! One pipeline serves `POST /users/bulk` and `shortener seed`: a blocking thread parses
//! CSV into validated rows and hands bounded batches to the async side, which inserts
//! them. Memory does not grow with the file, nor with what it holds: a record past
//! [`MAX_RECORD_BYTES`] or [`MAX_FIELDS`] is reported as a bad row without being kept,
//! blank lines cost nothing, and the report lists at most [`MAX_LISTED_ERRORS`] errors.

mod csv_stream;
mod lines;
mod records;
mod report;
mod rows;
pub mod seed;
pub mod users;

pub use csv_stream::{ImportError, ParsedRow, RowBatch};
pub use records::{MAX_FIELDS, MAX_RECORD_BYTES};
pub use report::{ImportReport, MAX_LISTED_ERRORS, RowError};
