//! The `shortener` binary: all logic lives in the library.

fn main() -> std::process::ExitCode {
    shortener::cli::main()
}
