//! Settings of the commands besides `serve`: `seed` and `healthcheck`.

use std::path::PathBuf;

use clap::Args;

use super::DatabaseArgs;

/// Settings of `seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Folder holding users.csv, urls.csv and events.csv.
    #[arg(long, env = "SEED_DIR", default_value = "seed_data")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Settings of `healthcheck`.
#[derive(Debug, Clone, Args)]
pub struct HealthcheckArgs {
    /// The readiness URL to ask (plain http).
    #[arg(
        long,
        env = "HEALTHCHECK_URL",
        default_value = "http://127.0.0.1:8080/ready"
    )]
    pub url: url::Url,
    /// How long to wait for the answer, in milliseconds.
    #[arg(long, env = "HEALTHCHECK_TIMEOUT_MS", default_value_t = 2000)]
    pub timeout_ms: u64,
}
