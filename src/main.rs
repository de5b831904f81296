//! The `shortener` binary: all logic lives in the library.

/// Every request allocates and frees small buffers on whichever worker runs it:
/// mimalloc's per-thread free lists beat glibc's arenas there (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shortener::cli::main()
}
