//! CSV imports: users uploaded through the API, and the whole seed set from a directory.

use std::io::Read;
use std::path::Path;

use super::ServiceError;
use crate::app::App;
pub use crate::import_slots::{
    IMPORT_RETRY_AFTER_SECS, ImportSlot, ImportsFull, MAX_IMPORTS_PER_KEY, MAX_IMPORTS_PER_REPLICA,
};
use shortener_import::seed::{self, SeedError, SeedReport};
use shortener_import::users;
pub use shortener_import::{ImportError, ImportReport};
use shortener_store::Db;

/// Takes one of the replica's import slots for an import by `key` (`None`: the API is
/// open), or says which limit is reached. Taken before the upload is read, and held
/// until the import ends.
pub fn reserve<'a>(app: &'a App, key: Option<&str>) -> Result<ImportSlot<'a>, ServiceError> {
    Ok(app.import_slots.take(key)?)
}

/// How many imports run on this replica now.
pub fn running(app: &App) -> usize {
    app.import_slots.running()
}

/// Streams a users CSV into the database, batch by batch; bad rows are reported. Runs
/// under a slot from [`reserve`].
pub async fn users<R: Read + Send + 'static>(
    app: &App,
    _slot: &ImportSlot<'_>,
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
