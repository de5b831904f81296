//! Writing click batches as the click writer does: classified first.

use sqlx::PgConnection;

use shortener_clicks::classify::Classifier;
use shortener_domain::Click;
use shortener_store::clicks::{BatchWrite, write_batch};

/// Classifies `clicks` and writes them as batch `id`.
pub async fn write_classified(
    conn: &mut PgConnection,
    id: i64,
    clicks: &[Click],
) -> Result<BatchWrite, sqlx::Error> {
    let traits = Classifier::default().classify_all(clicks);
    write_batch(conn, id, clicks, &traits).await
}
