//! CSV imports: users uploaded through the API, and the whole seed set from a directory.

use std::io::Read;
use std::path::Path;

use super::ServiceError;
use crate::app::App;
use shortener_import::seed::{self, SeedError, SeedReport};
use shortener_import::users;
pub use shortener_import::{ImportError, ImportReport};
use shortener_store::Db;

/// Streams a users CSV into the database, batch by batch; bad rows are reported.
pub async fn users<R: Read + Send + 'static>(
    app: &App,
    reader: R,
) -> Result<ImportReport, ServiceError> {
    let report = users::import(&app.db, reader).await?;
    app.metrics()
        .users_created
        .with_label_values(&["import"])
        .inc_by(report.count);
    Ok(report)
}

/// Imports `users.csv`, `urls.csv` and `events.csv` of `dir` (`shortener seed`).
pub async fn seed(db: &Db, dir: &Path) -> Result<SeedReport, SeedError> {
    seed::run(db, dir).await
}
