//! CSV imports in the platform's format: streamed, validated row by row, inserted in batches.
//!
//! One pipeline serves `POST /users/bulk` and `shortener seed`: a blocking thread parses
//! CSV into validated rows and hands bounded batches to the async side, which inserts
//! them; memory does not grow with the file.

mod csv_stream;
mod lines;
mod report;
mod rows;
pub mod seed;
pub mod users;

pub use csv_stream::{ImportError, ParsedRow, RowBatch};
pub use report::{ImportReport, RowError};
