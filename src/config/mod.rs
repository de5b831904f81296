//! Command-line flags and their environment variables: `--help` is the reference. One
//! file per area; each turns its flags into the settings of the crate it configures.

mod access;
mod cache;
mod clicks;
mod commands;
mod database;
mod health;
mod serve;
mod visitors;
mod webhooks;

pub use access::{AccessArgs, ApiKeyArgs};
pub use commands::{HealthcheckArgs, SeedArgs};
pub use database::DatabaseArgs;
pub use serve::ServeArgs;
pub use visitors::VisitorArgs;

use clap::{Parser, Subcommand, ValueEnum};

/// shortener: a URL-shortener service (REST API, redirects, click events, users).
#[derive(Debug, Parser)]
#[command(
    name = "shortener",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, which runs when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Log format: one JSON object per line, or human-readable.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json, global = true)]
    pub log_format: LogFormat,
    /// Append log lines to this file instead of writing them to standard error (a
    /// process supervisor then relays nothing); it is rotated at 50 MiB, three kept
    /// (`.1` to `.3`). Failures at start still go to standard error. Unset: standard error.
    #[arg(long, env = "LOG_FILE", global = true)]
    pub log_file: Option<std::path::PathBuf>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations, then exit.
    Migrate(DatabaseArgs),
    /// Import users.csv, urls.csv and events.csv from a folder (idempotent); print counts.
    Seed(SeedArgs),
    /// Exit 0 when the service's readiness URL answers 200 (for container health checks).
    Healthcheck(HealthcheckArgs),
    /// Make a new API key: prints the secret (for the client; kept nowhere) and its
    /// API_KEYS_FILE line (which holds only its SHA-256).
    ApiKey(ApiKeyArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// 1 to 64 characters of letters, digits, `-`, `_` and `.` (it becomes a label value).
fn parse_label(name: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(name.to_owned())
    } else {
        Err("1 to 64 letters, digits, '-', '_' or '.'".to_owned())
    }
}
