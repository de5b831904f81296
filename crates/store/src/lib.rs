//! Postgres access: the pool and its timed handle, the embedded migrations, and one module
//! of statements per table, reading into the domain's records. Below the service layer;
//! uses only `shortener-domain` and `shortener-metrics`.

pub mod api_keys;
pub mod breakdowns;
pub mod bulk;
pub mod cache_state;
pub mod click_export;
pub mod click_tallies;
pub mod clicks;
pub mod events;
mod failure;
mod handle;
pub mod idempotency;
pub mod link_health;
mod list;
mod migrations;
mod pool;
pub mod reports;
pub mod rollups;
pub mod scope_stats;
pub mod sequences;
pub mod stats;
pub mod tags;
pub mod upkeep;
pub mod urls;
pub mod users;
pub mod visits;
pub mod webhook_deliveries;
pub mod webhooks;

pub use failure::DbFailure;
pub use handle::{Db, Timed};
pub use list::Keyed;
pub use migrations::{MIGRATOR, migrate, migrations_applied};
pub use pool::{
    DatabaseLocation, PoolSettings, REPLICA_APPLICATION_PREFIX, ping, pool, pool_sample,
    replica_application_name,
};
