//! The command line: parses flags, runs one command, and turns any failure into one line.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use shortener_domain::{api_key_file_line, new_api_key_secret};
use shortener_metrics::Metrics;
use shortener_service::imports;
use shortener_store::{self as store, Db};

use crate::config::{Cli, Command, SeedArgs};
use crate::{healthcheck, telemetry};

/// Entry point of the `shortener` binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => {
            // --help and --version
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            // One clear line, not clap's usage block.
            let rendered = error.render().to_string();
            eprintln!(
                "shortener: {}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let log = match telemetry::init(cli.log_format, cli.log_file.as_deref()) {
        Ok(log) => log,
        Err(error) => {
            eprintln!("shortener: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("shortener: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    drop(runtime);
    // Every buffered log line is out before the last line below, which goes straight to
    // standard error.
    drop(log);
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("shortener: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve(Box::new(cli.serve))) {
        Command::Serve(args) => {
            let settings = args.settings().map_err(anyhow::Error::msg)?;
            shortener_server::serve(settings).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(args) => {
            let pool = shortener_server::connect(&args.settings(), "shortener-migrate").await?;
            store::migrate(&pool)
                .await
                .context("applying migrations failed")?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed(args) => seed(args).await,
        Command::Healthcheck(args) => {
            healthcheck::check(&args.url, Duration::from_millis(args.timeout_ms)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey(args) => {
            // 40 characters of a 64-letter alphabet from a CSPRNG: 240 bits.
            let secret = new_api_key_secret();
            println!("{secret}");
            println!("{}", api_key_file_line(&args.name, args.scope, &secret));
            eprintln!(
                "shortener: the first line is the key, shown only now; add the second to API_KEYS_FILE"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn seed(args: SeedArgs) -> anyhow::Result<ExitCode> {
    // Not a replica's name: every replica's listener invalidates what the seed changes.
    let pool = shortener_server::connect(&args.database.settings(), "shortener-seed").await?;
    store::migrate(&pool)
        .await
        .context("applying migrations failed")?;
    let db = Db::new(pool, Metrics::new("seed").db.clone());
    let report = imports::seed(&db, &args.dir).await?;
    for (table, counts) in [
        ("users", &report.users),
        ("urls", &report.urls),
        ("events", &report.events),
    ] {
        println!(
            "{table}: {} imported, {} already present, {} rejected",
            counts.count, counts.skipped, counts.error_count
        );
        for error in &counts.errors {
            println!("  {table} line {}: {}", error.line, error.error);
        }
    }
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
