//! shortener: a URL-shortener service.
//!
//! Layers point one way (docs/architecture.md): `http` → `service` → (`cache`, `clicks`,
//! `import`) → `db` → (`domain`, `metrics`). `app` holds the shared state, `replica`
//! starts one running replica, and `cli`/`server` start it all.

pub mod app;
pub mod cache;
pub mod cli;
pub mod clicks;
pub mod config;
pub mod db;
pub mod domain;
pub mod healthcheck;
pub mod http;
pub mod import;
pub mod limits;
pub mod metrics;
pub mod replica;
pub mod seedgen;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod upkeep;
