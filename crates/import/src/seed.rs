//! `shortener seed`: loads `users.csv`, `urls.csv` and `events.csv` from a folder, idempotently.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;

use super::csv_stream::{self, ImportError, RowBatch};
use super::rows::{EventRecord, LinkRecord, RawEvent, RawLink};
use super::{ImportReport, RowError, users};
use shortener_store::Db;
use shortener_store::bulk::{self, EventColumns, LinkColumns};
use shortener_store::sequences::{self, Table};
use shortener_store::upkeep;

/// What the seed did to each table.
#[derive(Debug, Default, Serialize)]
pub struct SeedReport {
    pub users: ImportReport,
    pub urls: ImportReport,
    pub events: ImportReport,
}

impl SeedReport {
    /// Whether every row was either imported or already present.
    pub fn is_clean(&self) -> bool {
        [&self.users, &self.urls, &self.events]
            .iter()
            .all(|report| report.error_count == 0)
    }
}

/// Why a seed could not run.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Import {
        file: &'static str,
        source: ImportError,
    },
}

/// Imports the three files of `dir` in dependency order, then moves every id sequence
/// past the ids imported and refreshes the planner's statistics. Rows already present (by id) are skipped, so a second run
/// changes nothing.
pub async fn run(db: &Db, dir: &Path) -> Result<SeedReport, SeedError> {
    let users = users::import(db, open(dir, "users.csv")?)
        .await
        .map_err(failed_in("users.csv"))?;
    let urls = import_table::<Links>(db, open(dir, "urls.csv")?)
        .await
        .map_err(failed_in("urls.csv"))?;
    let events = import_table::<Events>(db, open(dir, "events.csv")?)
        .await
        .map_err(failed_in("events.csv"))?;
    // The triggers already counted the imported rows. Old clicks that landed in the
    // default partition move to their month, and the planner learns the new sizes.
    let finish = async {
        let mut conn = db.connection("seed.finish").await?;
        for table in [Table::Users, Table::Urls, Table::Events] {
            sequences::advance_past_max_id(&mut *conn, table).await?;
        }
        upkeep::maintain_partitions(&mut conn).await?;
        for table in [Table::Users, Table::Urls, Table::Events] {
            upkeep::analyze(&mut conn, table).await?;
        }
        Ok::<_, sqlx::Error>(())
    };
    finish
        .await
        .map_err(|error| failed_in("id sequences, partitions and statistics")(error.into()))?;
    Ok(SeedReport {
        users,
        urls,
        events,
    })
}

/// Names the step an import error happened in.
fn failed_in(file: &'static str) -> impl Fn(ImportError) -> SeedError {
    move |source| SeedError::Import { file, source }
}

fn open(dir: &Path, name: &str) -> Result<File, SeedError> {
    let path = dir.join(name);
    File::open(&path).map_err(|source| SeedError::Open {
        path: path.display().to_string(),
        source,
    })
}

/// A table the seed fills from its own CSV file, rows keyed by explicit ids.
trait SeedTable {
    type Raw: DeserializeOwned + Send + 'static;
    type Record: TryFrom<Self::Raw, Error = String> + Send + 'static;
    type Columns: Default;
    /// The table, for the check of ids already present.
    const TABLE: Table;
    /// Columns the CSV header must have.
    const REQUIRED: &'static [&'static str];
    /// Why a valid row whose id was not present still was not inserted.
    const NOT_INSERTED: &'static str;
    /// The operation a batch is timed as.
    const OPERATION: &'static str;

    fn id(record: &Self::Record) -> i64;
    fn push(columns: &mut Self::Columns, record: &Self::Record);
    async fn insert(
        conn: &mut PgConnection,
        columns: &Self::Columns,
    ) -> Result<HashSet<i64>, sqlx::Error>;
}

struct Links;

impl SeedTable for Links {
    type Raw = RawLink;
    type Record = LinkRecord;
    type Columns = LinkColumns;
    const TABLE: Table = Table::Urls;
    const REQUIRED: &'static [&'static str] = &["id", "short_code", "original_url"];
    const NOT_INSERTED: &'static str =
        "short_code is taken by another link, or user_id names no user";
    const OPERATION: &'static str = "seed.urls_batch";

    fn id(record: &LinkRecord) -> i64 {
        record.id
    }

    fn push(columns: &mut LinkColumns, row: &LinkRecord) {
        columns.ids.push(row.id);
        columns.user_ids.push(row.user_id);
        columns.short_codes.push(row.short_code.as_str().to_owned());
        columns
            .original_urls
            .push(row.original_url.as_str().to_owned());
        columns.titles.push(row.title.clone());
        columns.is_active.push(row.is_active);
        columns.created_at.push(row.created_at);
        columns.updated_at.push(row.updated_at);
    }

    async fn insert(
        conn: &mut PgConnection,
        columns: &LinkColumns,
    ) -> Result<HashSet<i64>, sqlx::Error> {
        bulk::insert_links(conn, columns).await
    }
}

struct Events;

impl SeedTable for Events {
    type Raw = RawEvent;
    type Record = EventRecord;
    type Columns = EventColumns;
    const TABLE: Table = Table::Events;
    const REQUIRED: &'static [&'static str] = &["id", "url_id", "event_type"];
    const NOT_INSERTED: &'static str =
        "url_id or user_id names no such row, or a click's user_id is not its link's owner";
    const OPERATION: &'static str = "seed.events_batch";

    fn id(record: &EventRecord) -> i64 {
        record.id
    }

    fn push(columns: &mut EventColumns, row: &EventRecord) {
        columns.ids.push(row.id);
        columns.url_ids.push(row.url_id);
        columns.user_ids.push(row.user_id);
        columns.event_types.push(row.event_type.clone());
        columns.timestamps.push(row.timestamp);
        columns.details.push(row.details.clone());
    }

    async fn insert(
        conn: &mut PgConnection,
        columns: &EventColumns,
    ) -> Result<HashSet<i64>, sqlx::Error> {
        bulk::insert_events(conn, columns).await
    }
}

/// Streams one file into its table: per batch, one transaction that notes the ids
/// already present and inserts the rest.
async fn import_table<T: SeedTable>(db: &Db, file: File) -> Result<ImportReport, ImportError> {
    let mut batches = csv_stream::spawn(file, T::REQUIRED, T::Record::try_from);
    let mut report = ImportReport::default();
    while let Some(batch) = batches.recv().await {
        let (valid, mut batch_report) = split(batch?);
        let mut columns = T::Columns::default();
        let mut ids = Vec::with_capacity(valid.len());
        for (_, record) in &valid {
            T::push(&mut columns, record);
            ids.push(T::id(record));
        }
        let mut tx = db.begin(T::OPERATION).await?;
        let present = bulk::existing_ids(&mut tx, T::TABLE, &ids).await?;
        let inserted = T::insert(&mut tx, &columns).await?;
        tx.commit().await?;
        tally(
            &mut batch_report,
            valid.iter().map(|(line, record)| (*line, T::id(record))),
            &present,
            &inserted,
            T::NOT_INSERTED,
        );
        report.absorb(batch_report);
    }
    Ok(report)
}

/// Separates valid rows (with their line) from rejected ones, which go into a new report.
fn split<T>(batch: RowBatch<T>) -> (Vec<(u64, T)>, ImportReport) {
    let mut report = ImportReport::default();
    let valid = batch
        .into_iter()
        .filter_map(|row| match row {
            Ok(parsed) => Some((parsed.line, parsed.row)),
            Err(error) => {
                report.reject(error);
                None
            }
        })
        .collect();
    (valid, report)
}

/// Counts each row as inserted, skipped (its id was present before) or rejected.
fn tally(
    report: &mut ImportReport,
    rows: impl Iterator<Item = (u64, i64)>,
    present: &HashSet<i64>,
    inserted: &HashSet<i64>,
    reason: &str,
) {
    for (line, id) in rows {
        if inserted.contains(&id) {
            report.count += 1;
        } else if present.contains(&id) {
            report.skipped += 1;
        } else {
            report.reject(RowError {
                line,
                error: reason.to_owned(),
            });
        }
    }
}
