//! The `polyauth` binary: parses the command line and hands over to the library.

use clap::Parser;

/// mimalloc instead of the system allocator: a request allocates and frees many
/// small blocks (and hyper an 8 KiB header array when `max_headers` is raised),
/// which glibc's malloc serves with more work per call (measured: README, Benchmarks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let cli = polyauth::cli::Cli::parse();
    let code = polyauth::cli::run(cli).await;
    std::process::exit(code);
}
