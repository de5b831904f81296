//! Imports users from CSV (`username,email` and optionally `id`, `created_at`).
//!
//! Rows whose id exists are skipped; rows whose email a live user already has, or that
//! repeat an email earlier in the file, are rejected; the rest are inserted.

use std::collections::HashSet;
use std::io::Read;

use super::csv_stream::{self, ImportError, RowBatch};
use super::rows::{RawUser, UserRecord};
use super::{ImportReport, RowError};
use shortener_store::Db;
use shortener_store::bulk::{self, UserColumns};
use shortener_store::sequences::{self, Table};
use shortener_store::upkeep;

/// Columns a users CSV must have.
pub const REQUIRED_COLUMNS: &[&str] = &["username", "email"];

/// Streams a users CSV from `reader` into the database.
pub async fn import<R: Read + Send + 'static>(
    db: &Db,
    reader: R,
) -> Result<ImportReport, ImportError> {
    let mut batches = csv_stream::spawn(reader, REQUIRED_COLUMNS, |raw: RawUser| {
        UserRecord::try_from(raw)
    });
    let mut report = ImportReport::default();
    while let Some(batch) = batches.recv().await {
        report.absorb(insert_batch(db, batch?).await?);
    }
    if report.count >= ANALYZE_AFTER_ROWS {
        let mut conn = db.connection("users.import_analyze").await?;
        upkeep::analyze(&mut conn, Table::Users).await?;
    }
    Ok(report)
}

/// An import of at least this many rows refreshes the planner's statistics of `users`
/// at its end, instead of leaving it to autovacuum's thresholds.
const ANALYZE_AFTER_ROWS: u64 = 1_000;

/// Inserts one batch in one transaction and reports each row's fate.
pub async fn insert_batch(
    db: &Db,
    batch: RowBatch<UserRecord>,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut tx = db.begin("users.import_batch").await?;
    let valid: Vec<_> = batch
        .into_iter()
        .filter_map(|row| row.map_err(|error| report.reject(error)).ok())
        .collect();
    let ids: Vec<i64> = valid.iter().filter_map(|r| r.row.id).collect();
    let taken_ids = bulk::existing_ids(&mut tx, Table::Users, &ids).await?;
    let emails: Vec<String> = valid
        .iter()
        .map(|r| r.row.email.as_str().to_lowercase())
        .collect();
    let taken_emails = bulk::live_emails(&mut tx, &emails).await?;

    let mut seen_emails = HashSet::new();
    let (mut with_id, mut without_id) = (Vec::new(), Vec::new());
    for parsed in valid {
        let email = parsed.row.email.as_str().to_lowercase();
        if parsed.row.id.is_some_and(|id| taken_ids.contains(&id)) {
            report.skipped += 1;
        } else if taken_emails.contains(&email) || !seen_emails.insert(email) {
            report.reject(RowError {
                line: parsed.line,
                error: "email already exists".to_owned(),
            });
        } else if parsed.row.id.is_some() {
            with_id.push(parsed);
        } else {
            without_id.push(parsed);
        }
    }

    // Explicit ids first, then the sequence moves past them, so generated ids cannot collide.
    for (rows, explicit_ids) in [(with_id, true), (without_id, false)] {
        let columns = to_columns(rows.iter().map(|r| &r.row));
        let inserted = bulk::insert_users(&mut tx, &columns).await?;
        if explicit_ids && !inserted.is_empty() {
            sequences::advance_past_max_id(&mut *tx, Table::Users).await?;
        }
        for parsed in rows {
            if inserted.contains(&parsed.row.email.as_str().to_lowercase()) {
                report.count += 1;
            } else if explicit_ids {
                report.skipped += 1; // inserted concurrently by someone else
            } else {
                report.reject(RowError {
                    line: parsed.line,
                    error: "email already exists".to_owned(),
                });
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

fn to_columns<'a>(rows: impl Iterator<Item = &'a UserRecord>) -> UserColumns {
    let mut columns = UserColumns::default();
    for row in rows {
        columns.ids.push(row.id);
        columns.usernames.push(row.username.as_str().to_owned());
        columns.emails.push(row.email.as_str().to_owned());
        columns.created_at.push(row.created_at);
    }
    columns
}
