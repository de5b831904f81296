//! `shortener-seedgen`: writes a deterministic seed set in the platform's CSV format, for
//! `shortener seed --dir` and the benchmarks. A tool of the repository, not of the service.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use shortener_seedgen::{SeedSpec, generate};

/// Write users.csv, urls.csv and events.csv: the same seed writes the same files.
#[derive(Debug, Parser)]
#[command(name = "shortener-seedgen", version, about)]
struct Args {
    /// Folder to write users.csv, urls.csv and events.csv into.
    #[arg(long, default_value = "seed_data")]
    out: PathBuf,
    /// Number of users.
    #[arg(long, default_value_t = SeedSpec::default().users)]
    users: u32,
    /// Number of links.
    #[arg(long, default_value_t = SeedSpec::default().urls)]
    urls: u32,
    /// Seed of the generator.
    #[arg(long, default_value_t = SeedSpec::default().seed)]
    seed: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shortener-seedgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let spec = SeedSpec {
        users: args.users,
        urls: args.urls,
        seed: args.seed,
    };
    let counts = generate(&args.out, &spec)
        .with_context(|| format!("cannot write the seed set to {}", args.out.display()))?;
    println!(
        "wrote {} users, {} urls, {} events to {}",
        counts.users,
        counts.urls,
        counts.events,
        args.out.display()
    );
    Ok(())
}
