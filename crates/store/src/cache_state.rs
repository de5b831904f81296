//! The shared-cache generation, kept in Postgres so every replica agrees on it.

use sqlx::{Connection, PgConnection};

/// The channel announcing a new generation (payload: the number).
pub const GENERATION_CHANNEL: &str = "link_cache_generation";

/// The generation in force.
pub async fn generation(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!("SELECT generation FROM cache_state")
        .fetch_one(conn)
        .await
}

/// Moves to a new generation and announces it, in one transaction.
pub async fn bump_generation(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let generation = sqlx::query_scalar!(
        "UPDATE cache_state SET generation = generation + 1 RETURNING generation"
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "SELECT pg_notify($1, $2)",
        GENERATION_CHANNEL,
        generation.to_string()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(generation)
}
