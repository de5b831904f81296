//! CSV imports: `POST /users/bulk` (rows, line numbers, ids, errors, limits) and the seed sets.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::helpers::bodies::{Destination, Event, ImportReport, Link, RowError, User};
use crate::helpers::{TestApp, TestResponse};
use axum::http::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use shortener_import::seed;

mod bulk;
mod hostile_files;
mod memory;
mod seed_sets;
mod slots;

/// `POST /users/bulk` with `csv` as the `file` field.
async fn upload(app: &TestApp, csv: impl Into<Vec<u8>>) -> TestResponse {
    app.post_file("/users/bulk", "file", csv).await
}

/// Asserts a 201 import report and returns it (deserialising it checks the numeric
/// `count`, `skipped` and `error_count` and the `errors` array).
#[track_caller]
fn report_of(response: &TestResponse) -> ImportReport {
    response.expect_body(StatusCode::CREATED)
}

/// A report without errors.
fn clean_report(count: u64, skipped: u64) -> ImportReport {
    ImportReport {
        count,
        skipped,
        errors: Vec::new(),
        error_count: 0,
    }
}

/// The lines of the rejected rows in a report.
fn error_lines(report: &ImportReport) -> Vec<u64> {
    report
        .errors
        .iter()
        .map(|e| {
            assert!(!e.error.is_empty(), "{e:?}");
            e.line
        })
        .collect()
}

/// `X-Total-Count` of a list.
async fn total(app: &TestApp, path: &str) -> u64 {
    let response = app.get(path).await;
    response.expect(StatusCode::OK);
    response
        .header("x-total-count")
        .unwrap_or_else(|| panic!("{path} sent no X-Total-Count"))
        .parse()
        .unwrap()
}

/// Every user in the list, in id order.
async fn all_users(app: &TestApp) -> Vec<User> {
    app.get("/users?per_page=1000")
        .await
        .expect_body(StatusCode::OK)
}

/// A CSV file of a seed set, each record by column name.
fn read_csv(dir: &Path, name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join(name)).unwrap();
    reader.deserialize().map(Result::unwrap).collect()
}

fn max_id(rows: &[HashMap<String, String>]) -> i64 {
    rows.iter()
        .map(|r| r["id"].parse::<i64>().unwrap())
        .max()
        .unwrap()
}

/// The platform's `YYYY-MM-DD HH:MM:SS` as the API writes it.
fn api_time(csv_time: &str) -> String {
    csv_time.replacen(' ', "T", 1)
}

fn project_seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seed_data")
}

/// The pool behind the handle the import runs its timed transactions on.
fn db_of(pool: &PgPool) -> shortener_store::Db {
    shortener_store::Db::new(
        pool.clone(),
        shortener_metrics::Metrics::default().db.clone(),
    )
}
