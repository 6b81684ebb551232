//! `polyauth users show|disable|enable|delete|revoke-tokens|unlock|unlock-address|set-password`:
//! the admin API's operations on users, from the command line, against the
//! configured store (Redis: what every replica sees at once). Each change is
//! audited with `dialect = cli`. Exit codes: 0 done; 64 bad config; 65 bad
//! input; 67 no such user (EX_NOUSER); 69 store unavailable.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::app::{self, StartError};
use crate::audit::Origin;
use crate::config::Config;
use crate::engine::lockout::ceil_secs;
use crate::engine::{crypto, Engine, EngineError, User, UserRef};
use crate::secret::Secret;

/// Which user: exactly one of `--id`, `--username`, `--email`.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Target {
    #[arg(long)]
    id: Option<u64>,
    #[arg(long)]
    username: Option<String>,
    /// Case-insensitive.
    #[arg(long)]
    email: Option<String>,
}

impl Target {
    fn user_ref(&self) -> UserRef {
        match (self.id, &self.username, &self.email) {
            (Some(id), _, _) => UserRef::Id(id),
            (_, Some(u), _) => UserRef::Username(u.clone()),
            (_, _, e) => UserRef::Email(e.clone().unwrap_or_default()),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Print a user as JSON (no password hash), with its lockout if any.
    Show {
        #[command(flatten)]
        user: Target,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Disable a user: its password, tokens and sessions stop working in every dialect.
    Disable {
        #[command(flatten)]
        user: Target,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Enable a disabled user again.
    Enable {
        #[command(flatten)]
        user: Target,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Delete a user with its tokens and sessions.
    Delete {
        #[command(flatten)]
        user: Target,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// End every token and session of a user, JWTs included.
    RevokeTokens {
        #[command(flatten)]
        user: Target,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Lift a user's login lockout.
    Unlock {
        #[command(flatten)]
        user: Target,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Lift a client address's login lockout.
    UnlockAddress {
        address: IpAddr,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
    /// Set a user's password, read from standard input (never from argv, which `ps` shows).
    SetPassword {
        #[command(flatten)]
        user: Target,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "gateway.toml")]
        config: PathBuf,
    },
}

impl AdminCommand {
    fn config(&self) -> &PathBuf {
        match self {
            AdminCommand::Show { config, .. }
            | AdminCommand::Disable { config, .. }
            | AdminCommand::Enable { config, .. }
            | AdminCommand::Delete { config, .. }
            | AdminCommand::RevokeTokens { config, .. }
            | AdminCommand::Unlock { config, .. }
            | AdminCommand::UnlockAddress { config, .. }
            | AdminCommand::SetPassword { config, .. } => config,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            AdminCommand::Show { .. } => "users_show",
            AdminCommand::Disable { .. } => "users_disable",
            AdminCommand::Enable { .. } => "users_enable",
            AdminCommand::Delete { .. } => "users_delete",
            AdminCommand::RevokeTokens { .. } => "users_revoke_tokens",
            AdminCommand::Unlock { .. } => "users_unlock",
            AdminCommand::UnlockAddress { .. } => "users_unlock_address",
            AdminCommand::SetPassword { .. } => "users_set_password",
        }
    }
}

/// Why a command failed, with its exit code.
enum Failed {
    Start(StartError),
    NoUser,
    Input(String),
}

impl From<StartError> for Failed {
    fn from(e: StartError) -> Self {
        Failed::Start(e)
    }
}

impl From<EngineError> for Failed {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UserNotFound => Failed::NoUser,
            other => Failed::Start(other.into()),
        }
    }
}

/// Runs one command; returns the exit code.
pub async fn run(cmd: AdminCommand) -> i32 {
    let config = match Config::load(cmd.config()) {
        Ok(c) => c,
        Err(e) => return super::fail(&e.into()),
    };
    super::init_tracing(config.log_format);
    match execute(&config, cmd).await {
        Ok(()) => 0,
        Err(Failed::Start(e)) => super::fail(&e),
        Err(Failed::NoUser) => {
            eprintln!("polyauth: no such user");
            67
        }
        Err(Failed::Input(message)) => {
            eprintln!("polyauth: {message}");
            65
        }
    }
}

async fn execute(config: &Config, cmd: AdminCommand) -> Result<(), Failed> {
    let engine = app::offline_engine(config).await?;
    let origin = Origin::local("cli", cmd.name(), &crypto::random_hex(16));
    match cmd {
        AdminCommand::Show { user, .. } => {
            let u = find(&engine, &user).await?;
            print_user(&engine, &u).await?;
        }
        AdminCommand::Disable { user, .. } => {
            let u = find(&engine, &user).await?;
            print_user(&engine, &engine.set_user_active(u.id, false, &origin).await?).await?;
        }
        AdminCommand::Enable { user, .. } => {
            let u = find(&engine, &user).await?;
            print_user(&engine, &engine.set_user_active(u.id, true, &origin).await?).await?;
        }
        AdminCommand::Delete { user, .. } => {
            let u = find(&engine, &user).await?;
            if !engine.delete_user_audited(u.id, &origin).await? {
                return Err(Failed::NoUser);
            }
            println!("deleted user {} ({})", u.id, u.username);
        }
        AdminCommand::RevokeTokens { user, .. } => {
            let u = find(&engine, &user).await?;
            let n = engine.revoke_everything(u.id, &origin).await?;
            println!("revoked {n} opaque token(s) and every JWT issued until now for user {}", u.id);
        }
        AdminCommand::Unlock { user, .. } => {
            let u = find(&engine, &user).await?;
            let lifted = engine.clear_user_lockout(u.id, &origin).await?;
            println!("user {}: {}", u.id, if lifted { "lockout lifted" } else { "was not locked out" });
        }
        AdminCommand::UnlockAddress { address, .. } => {
            let lifted = engine.clear_address_lockout(address, &origin).await?;
            println!("{address}: {}", if lifted { "lockout lifted" } else { "was not locked out" });
        }
        AdminCommand::SetPassword { user, .. } => {
            let u = find(&engine, &user).await?;
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|_| Failed::Input("cannot read the password from standard input".into()))?;
            let password = Secret::new(password.trim_end_matches(['\r', '\n']));
            if password.expose().is_empty() {
                return Err(Failed::Input("empty password on standard input".into()));
            }
            print_user(&engine, &engine.set_password_audited(u.id, &password, &origin).await?).await?;
        }
    }
    Ok(())
}

async fn find(engine: &Engine, target: &Target) -> Result<User, Failed> {
    engine.find_user_ref(&target.user_ref()).await?.ok_or(Failed::NoUser)
}

async fn print_user(engine: &Engine, user: &User) -> Result<(), Failed> {
    let locked = engine.user_lockout(user.id).await?.map(ceil_secs);
    let view = crate::admin::users::view(user, locked);
    println!("{}", serde_json::to_string_pretty(&view).unwrap_or_default());
    Ok(())
}
