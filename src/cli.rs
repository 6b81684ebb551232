//! The command line: `serve`, `check-config`, `users add` (and the operators'
//! `users …` commands in `users_admin`, `users import|export` in `users_import`/`users_export`), `contract`, `openapi`.

use std::io::Read;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::{self, StartError};
use crate::config::{Config, LogFormat};
use crate::secret::Secret;

mod users_admin;
mod users_export;
mod users_import;

#[derive(Parser)]
#[command(name = "polyauth", version, about = "Legacy authentication-API dialects over one credential engine")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Load the config and every mounted dialect, then exit 0 (or 64 with the reason).
    CheckConfig {
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Manage users in the configured store.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Replay a dialect's contract scenarios against a running server (polyauth or a legacy backend).
    ///
    /// Exit status: 0 all steps passed; 1 a step failed; 2 nothing failed but steps could not
    /// run (no outbox); 64 unusable scenario files or arguments.
    Contract(crate::contract::cli::ContractArgs),
    /// Print the OpenAPI 3.1 document of a dialect, generated from its route table.
    Openapi {
        #[arg(long)]
        dialect: String,
        #[arg(long, default_value = "dialects")]
        dialects_dir: PathBuf,
        /// The mount prefix the paths are served under.
        #[arg(long, default_value = "/")]
        prefix: String,
    },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user; the password is read from standard input (never from argv, which `ps` shows).
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Import a Django backend's `manage.py dumpdata` output: users (ids, password
    /// hashes, dates), DRF auth tokens, SimpleJWT's blacklist.
    Import(users_import::ImportArgs),
    /// Export the users (hashes in Django's format) and live auth tokens as
    /// `dumpdata` JSON, for Django's `loaddata`.
    Export(users_export::ExportArgs),
    #[command(flatten)]
    Admin(users_admin::AdminCommand),
}

/// Logs go to standard error: `json` is one object per line for log pipelines
/// (`POLYAUTH_LOG_FORMAT=json` overrides the file), `text` is for people.
/// `POLYAUTH_LOG` takes an `EnvFilter` directive (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("POLYAUTH_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn fail(e: &StartError) -> i32 {
    eprintln!("polyauth: {e}");
    e.exit_code()
}

/// Runs a command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve { config } => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => return fail(&e.into()),
            };
            init_tracing(config.log_format);
            let plan = match app::plan(config) {
                Ok(p) => p,
                Err(e) => return fail(&e),
            };
            let running = match app::start(plan).await {
                Ok(r) => r,
                Err(e) => return fail(&e),
            };
            let tls = running.tls.clone();
            crate::server::on_hangup(move || tls.iter().for_each(|t| t.reload_logged()));
            crate::server::termination_signal().await;
            running.drain().await;
            tracing::info!("stopped");
            0
        }
        Command::CheckConfig { config } => match Config::load(&config).map_err(StartError::from).and_then(app::plan) {
            Ok(plan) => {
                let mounts: usize = plan.listeners.iter().map(|l| l.mounts.len()).sum();
                println!("config ok: {mounts} mount(s) on {} listener(s)", plan.listeners.len());
                0
            }
            Err(e) => fail(&e),
        },
        Command::Contract(args) => crate::contract::cli::run(args).await,
        Command::Openapi { dialect, dialects_dir, prefix } => match crate::dialect::load(&dialects_dir, &dialect) {
            Ok(d) => {
                let doc = crate::openapi::document(&d, &prefix);
                println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                0
            }
            Err(e) => fail(&e.into()),
        },
        Command::Users { command: UsersCommand::Admin(cmd) } => users_admin::run(cmd).await,
        Command::Users { command: UsersCommand::Import(args) } => users_import::run(args).await,
        Command::Users { command: UsersCommand::Export(args) } => users_export::run(args).await,
        Command::Users { command: UsersCommand::Add { username, email, password_stdin: _, config } } => {
            let config = match Config::load(&config) {
                Ok(c) => c,
                Err(e) => return fail(&e.into()),
            };
            init_tracing(config.log_format);
            let mut password = String::new();
            if std::io::stdin().read_to_string(&mut password).is_err() {
                eprintln!("polyauth: cannot read the password from standard input");
                return 65;
            }
            let password = Secret::new(password.trim_end_matches(['\r', '\n']));
            if password.expose().is_empty() {
                eprintln!("polyauth: empty password on standard input");
                return 65;
            }
            match app::add_user(&config, &username, &email, &password).await {
                Ok(id) => {
                    println!("created user {username} with id {id}");
                    0
                }
                Err(e) => fail(&e),
            }
        }
    }
}
