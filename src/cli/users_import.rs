//! `polyauth users import FILE`: a Django `manage.py dumpdata` file (JSON
//! array or JSON Lines; `-` reads standard input) into the configured store
//! (see `engine::import`). Exit codes: 0 every record imported or already
//! there; 65 (EX_DATAERR) some records were bad (listed; the others are
//! imported) or the file is not JSON; 66 (EX_NOINPUT) the file cannot be
//! opened; 64 bad config, or the memory store (an import into it would end
//! with this command: use `[users] import_file`); 69 store unavailable.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::app::{self, StartError};
use crate::config::Config;
use crate::engine::import::{ImportError, ImportOptions, ImportReport};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The dumpdata file (`-` for standard input).
    file: PathBuf,
    #[arg(long, default_value = "gateway.toml")]
    config: PathBuf,
    /// Read and check every record; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The user model's label (a custom one: `emailauth.user`).
    #[arg(long, default_value = "auth.user")]
    user_model: String,
}

pub async fn run(args: ImportArgs) -> i32 {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => return super::fail(&e.into()),
    };
    super::init_tracing(config.log_format);
    if config.store.url.expose() == "memory://" && !args.dry_run {
        eprintln!(
            "polyauth: the memory store lives in the server's process and would forget the import when this command \
             exits; import into a redis:// store, or set [users] import_file for the server to import at start"
        );
        return 64;
    }
    let input: Box<dyn BufRead + Send> = if args.file.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(&args.file) {
            Ok(f) => Box::new(BufReader::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("polyauth: {}: {e}", args.file.display());
                return 66;
            }
        }
    };
    let engine = match app::offline_engine(&config).await {
        Ok(e) => e,
        Err(e) => return super::fail(&e),
    };
    let options = ImportOptions { user_model: args.user_model, dry_run: args.dry_run, ..ImportOptions::default() };
    let start = Instant::now();
    let mut last = start;
    let progress = |n: u64| {
        if last.elapsed().as_secs_f64() >= 1.0 {
            last = Instant::now();
            eprintln!("import: {n} records, {:.0}/s", n as f64 / start.elapsed().as_secs_f64());
        }
    };
    match engine.import_dump(input, &options, progress).await {
        Ok(report) => {
            print_report(&report, start.elapsed().as_secs_f64(), args.dry_run);
            if report.bad_records() > 0 {
                65
            } else {
                0
            }
        }
        Err(ImportError::Unreadable(e)) => {
            eprintln!("polyauth: {}: {e}", args.file.display());
            65
        }
        Err(ImportError::Engine(e)) => super::fail(&StartError::from(e)),
    }
}

fn print_report(r: &ImportReport, secs: f64, dry_run: bool) {
    for p in &r.problems {
        let kind = if p.bad { "bad record" } else { "kept" };
        println!("{kind}: record {} ({} pk={}): {}", p.index, p.model, p.pk, p.reason);
    }
    if dry_run {
        println!("dry run: {} records read and checked, nothing written", r.records);
    }
    println!(
        "users: {} created, {} unchanged, {} differ (kept as stored)",
        r.users_created, r.users_unchanged, r.users_differ
    );
    println!("auth tokens: {} created, {} unchanged", r.tokens_created, r.tokens_unchanged);
    println!("blacklisted refresh tokens: {} imported, {} already expired", r.blacklisted, r.blacklisted_expired);
    for (model, n) in &r.skipped {
        println!("skipped: {n} record(s) of {model} (not imported)");
    }
    println!(
        "{} records in {secs:.2}s ({:.0}/s); {} bad",
        r.records,
        r.records as f64 / secs.max(1e-9),
        r.bad_records()
    );
}
