//! shortener: a URL-shortener service. `http` answers requests over `domain` types and
//! the `db` layer; `import` loads CSV; `cli` and `server` start it all.

pub mod app;
pub mod cache;
pub mod cli;
pub mod clicks;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod import;
pub mod metrics;
pub mod seedgen;
pub mod server;
pub mod state;
pub mod telemetry;
