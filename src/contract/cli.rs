//! `polyauth contract`: arguments, loading, live output, JUnit file, exit status.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use super::report;
use super::runner::{self, Target};
use super::scenario;
use super::OutboxAccess;
use crate::secret::Secret;

#[derive(Args, Debug)]
pub struct ContractArgs {
    /// The dialect whose scenarios run (`fixtures/<dialect>/`).
    #[arg(long)]
    pub dialect: String,
    /// Base URL of the server under test; scenario paths are appended (http:// only).
    #[arg(long)]
    pub target: String,
    /// Scenario directory instead of `fixtures/<dialect>`.
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Also write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// polyauth's admin listener (e.g. http://127.0.0.1:9100), for scenarios that read mailed tokens.
    #[arg(long)]
    pub admin_url: Option<String>,
    /// Admin bearer token; defaults to $POLYAUTH_ADMIN__TOKEN (preferred: argv is visible to `ps`).
    #[arg(long)]
    pub admin_token: Option<String>,
    /// A full outbox URL answering a JSON list of mails for `?to=ADDR` (e.g. a legacy test server's).
    #[arg(long, conflicts_with = "admin_url")]
    pub outbox_url: Option<String>,
    /// NAME=VALUE: replaces a scenario variable (repeatable), e.g. the account of a backend without registration.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

pub async fn run(args: ContractArgs) -> i32 {
    let dir = args.fixtures.clone().unwrap_or_else(|| PathBuf::from("fixtures").join(&args.dialect));
    let scenarios = match scenario::load_dir(&dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("polyauth contract: {e}");
            return 64;
        }
    };
    let token = args.admin_token.clone().or_else(|| std::env::var("POLYAUTH_ADMIN__TOKEN").ok()).map(Secret::new);
    let outbox = match (&args.admin_url, &args.outbox_url) {
        (Some(a), _) => Some(OutboxAccess::admin(a, token)),
        (None, Some(u)) => Some(OutboxAccess { url: u.clone(), token }),
        (None, None) => None,
    };
    let mut vars = super::matchers::Vars::new();
    for v in &args.vars {
        match v.split_once('=') {
            Some((k, val)) if !k.is_empty() => {
                vars.insert(k.to_owned(), serde_json::Value::from(val));
            }
            _ => {
                eprintln!("polyauth contract: --var wants NAME=VALUE, got {v:?}");
                return 64;
            }
        }
    }
    let target = Target { base: args.target.clone(), outbox, vars };
    // One probe first: a server that is not there is one plain line, not a failure per step.
    if let Err(e) = super::client::Http::new().send("GET", &target.base, &[], Vec::new()).await {
        eprintln!("polyauth contract: {e} (is the server running?)");
        return 1;
    }
    println!(
        "contract {} ({} scenario(s) from {}) against {}",
        args.dialect,
        scenarios.len(),
        dir.display(),
        args.target
    );
    let report = runner::run(&target, &args.dialect, &scenarios, |s| {
        println!("{}", report::step_line(s));
        let _ = std::io::stdout().flush();
    })
    .await;
    println!("{}", report::summary(&report));
    if report.skipped() > 0 {
        println!("{} step(s) did not run: {}", report.skipped(), runner::NO_OUTBOX);
    }
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, report::junit(&report)) {
            eprintln!("polyauth contract: cannot write {}: {e}", path.display());
            return 64;
        }
    }
    match (report.failed(), report.skipped()) {
        (0, 0) => 0,
        (0, _) => 2,
        _ => 1,
    }
}
