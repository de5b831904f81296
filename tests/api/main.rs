//! The API test suite, one binary: the real router (in process, or the real binary on a
//! port) against real Postgres and Redis, a throwaway database per test, and private
//! Redis and Postgres servers for the tests that stop or kill them. Shared helpers
//! (`helpers/`) compile once. The operations suites (native stack, alerts, PromQL) are the
//! `ops` target, which `scripts/test` runs after this one.

mod helpers;

mod access;
mod analytics;
mod behaviour;
mod cache;
mod cli;
mod click_rollups;
mod click_writes;
mod clicks;
mod destinations;
mod events;
mod fixtures;
mod import;
mod lists;
mod openapi;
mod outage;
mod properties;
mod redirect;
mod robustness;
mod saturation;
mod shutdown;
mod telemetry;
mod tls;
mod urls;
mod users;
mod webhooks;
