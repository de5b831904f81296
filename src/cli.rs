//! The command line: parses flags, runs one command, and turns any failure into one line.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::config::{Cli, Command, GenerateSeedArgs, SeedArgs};
use crate::metrics::Metrics;
use crate::service::imports;
use crate::{db, domain, healthcheck, seedgen, server, telemetry};

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
    let log = telemetry::init(cli.log_format);
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
        Command::Serve(args) => server::serve(*args).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate(args) => {
            let pool = server::connect(&args, "shortener-migrate").await?;
            db::migrate(&pool)
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
        Command::GenerateSeed(args) => generate_seed(&args),
        Command::ApiKey(args) => {
            // 40 characters of nanoid's 64-letter alphabet from a CSPRNG: 240 bits.
            let secret = format!("sk_{}", nanoid::nanoid!(40));
            println!("{secret}");
            println!(
                "{}",
                domain::api_key_file_line(&args.name, args.scope, &secret)
            );
            eprintln!(
                "shortener: the first line is the key, shown only now; add the second to API_KEYS_FILE"
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn seed(args: SeedArgs) -> anyhow::Result<ExitCode> {
    // Not a replica's name: every replica's listener invalidates what the seed changes.
    let pool = server::connect(&args.database, "shortener-seed").await?;
    db::migrate(&pool)
        .await
        .context("applying migrations failed")?;
    let db = db::Db::new(pool, Metrics::new("seed").db.clone());
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

fn generate_seed(args: &GenerateSeedArgs) -> anyhow::Result<ExitCode> {
    let spec = seedgen::SeedSpec {
        users: args.users,
        urls: args.urls,
        seed: args.seed,
    };
    let counts = seedgen::generate(&args.out, &spec)
        .with_context(|| format!("cannot write the seed set to {}", args.out.display()))?;
    println!(
        "wrote {} users, {} urls, {} events to {}",
        counts.users,
        counts.urls,
        counts.events,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
