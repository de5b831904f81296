//! The `shortener` binary: parses the command line and runs one command. Everything it
//! runs lives in the workspace's crates (`crates/`); this package holds only the flags
//! (`config/`), the commands (`cli.rs`), logging set-up and the health check client.

mod cli;
mod config;
mod healthcheck;
mod telemetry;

fn main() -> std::process::ExitCode {
    cli::main()
}
