//! `polyauth users export`: the configured store's users and live auth
//! tokens as Django `dumpdata` JSON (see `engine::export`), on standard output
//! or into `--output`, for `manage.py loaddata` on the way back. Exit codes:
//! 0 written; 64 bad config; 69 store unavailable; 74 (EX_IOERR) cannot write.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::app::{self, StartError};
use crate::config::Config;
use crate::engine::export::ExportError;

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, default_value = "gateway.toml")]
    config: PathBuf,
    /// Write here instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub async fn run(args: ExportArgs) -> i32 {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return super::fail(&e.into()),
    };
    super::init_tracing(config.log_format);
    let engine = match app::offline_engine(&config).await {
        Ok(e) => e,
        Err(e) => return super::fail(&e),
    };
    let mut out: Box<dyn Write> = match &args.output {
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Box::new(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("polyauth: {}: {e}", path.display());
                return 74;
            }
        },
    };
    match engine.export_dump(&mut *out).await {
        Ok(r) => {
            eprintln!("exported {} user(s) and {} auth token(s)", r.users, r.tokens);
            0
        }
        Err(ExportError::Write(e)) => {
            eprintln!("polyauth: cannot write the dump: {e}");
            74
        }
        Err(ExportError::Engine(e)) => super::fail(&StartError::from(e)),
    }
}
