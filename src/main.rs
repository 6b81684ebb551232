//! The `polyauth` binary: parses the command line and hands over to the library.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = polyauth::cli::Cli::parse();
    let code = polyauth::cli::run(cli).await;
    std::process::exit(code);
}
