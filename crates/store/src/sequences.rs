//! Keeps identity sequences ahead of ids inserted explicitly (CSV imports).

use sqlx::PgExecutor;

/// Tables whose ids may be inserted explicitly.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Users,
    Urls,
    Events,
}

impl Table {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Urls => "urls",
            Self::Events => "events",
        }
    }
}

/// Moves the table's id sequence past its largest id; never moves it backwards,
/// so ids handed out concurrently stay unique.
pub async fn advance_past_max_id(
    executor: impl PgExecutor<'_>,
    table: Table,
) -> Result<(), sqlx::Error> {
    let name = table.name();
    // Keeps the larger of the table's max id and the sequence's own position, so
    // ids already handed out (even by rolled-back inserts) are never handed out again.
    let sql = format!(
        "SELECT setval(pg_get_serial_sequence('{name}', 'id'), \
                GREATEST(MAX(id), (SELECT last_value FROM {name}_id_seq))) \
         FROM {name} HAVING MAX(id) IS NOT NULL"
    );
    sqlx::query(&sql).execute(executor).await.map(|_| ())
}
