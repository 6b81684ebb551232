//! Assembly, in the order load → bind → run: the config and every dialect are
//! loaded and checked before any port is bound (a fault exits 64), then the
//! store is opened, users are seeded, listeners bound, and requests served.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::{self, Admin};
use crate::config::{Config, ConfigError};
use crate::dialect::{self, Dialect, DialectError};
use crate::engine::{tokens, Engine, EngineError, EngineSettings};
use crate::http::handle::{Gateway, Mount};
use crate::secret::Secret;
use crate::server::{self, ConnSettings};
use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Dialect(#[from] DialectError),
    #[error("mount: {0}")]
    Mount(String),
    #[error("users seed file {file}: {message}")]
    Seed { file: String, message: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

impl StartError {
    /// 64 (EX_USAGE) for anything the operator must fix in files; 69 (EX_UNAVAILABLE) otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Config(_) | StartError::Dialect(_) | StartError::Mount(_) | StartError::Seed { .. } => 64,
            _ => 69,
        }
    }
}

/// What listens where, after checking: one entry per listener.
pub struct Plan {
    pub config: Config,
    /// Listener address → its mounts, longest prefix first.
    pub listeners: Vec<(SocketAddr, Vec<Mount>)>,
}

/// Loads and validates config and dialects; binds nothing.
pub fn plan(config: Config) -> Result<Plan, StartError> {
    let mut dialects: HashMap<String, Arc<Dialect>> = HashMap::new();
    let mut listeners: Vec<(SocketAddr, Vec<Mount>)> = Vec::new();
    for m in &config.mounts {
        let d = match dialects.get(&m.dialect) {
            Some(d) => d.clone(),
            None => {
                let d = Arc::new(dialect::load(&config.dialects_dir, &m.dialect)?);
                dialects.insert(m.dialect.clone(), d.clone());
                d
            }
        };
        let mount = Mount::new(&m.prefix, d);
        // Port 0 asks for a fresh port: such mounts never share a listener.
        match listeners.iter_mut().find(|(a, _)| *a == m.listen && m.listen.port() != 0) {
            Some((_, mounts)) => mounts.push(mount),
            None => listeners.push((m.listen, vec![mount])),
        }
    }
    for (addr, mounts) in &mut listeners {
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        check_collisions(*addr, mounts)?;
    }
    Ok(Plan { config, listeners })
}

/// On a shared listener, a route of one mount that a longer prefix of another
/// mount would capture is unreachable: refuse the configuration.
fn check_collisions(addr: SocketAddr, mounts: &[Mount]) -> Result<(), StartError> {
    for (i, a) in mounts.iter().enumerate() {
        if mounts.iter().skip(i + 1).any(|b| b.prefix == a.prefix) {
            return Err(StartError::Mount(format!("{addr}: two mounts share the prefix {:?}", a.prefix)));
        }
        for b in mounts.iter().filter(|b| b.prefix.len() > a.prefix.len()) {
            for r in &a.dialect.routes {
                let full = format!("{}{}", a.prefix, r.spec.path);
                if b.strip(&full).is_some() {
                    return Err(StartError::Mount(format!(
                        "{addr}: route {:?} of dialect {} ({}) collides with the mount of {} at {:?}",
                        r.spec.name,
                        a.dialect.name,
                        a.dialect.file.display(),
                        b.dialect.name,
                        b.prefix
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A running gateway: where it listens, and how to stop it.
pub struct Running {
    pub engine: Engine,
    /// Bound address of each mount, in config order of listeners (dialect name → address).
    pub addrs: Vec<(String, SocketAddr)>,
    pub admin_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn addr_of(&self, dialect: &str) -> Option<SocketAddr> {
        self.addrs.iter().find(|(d, _)| d == dialect).map(|(_, a)| *a)
    }

    /// Stops accepting, drains in-flight requests, and waits for the listeners.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// A handle that triggers shutdown without consuming `self`.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }

    /// Waits until the listeners have stopped (after a stop signal).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Opens the store, builds the engine, seeds users, binds and starts serving.
pub async fn start(plan: Plan) -> Result<Running, StartError> {
    let config = &plan.config;
    crate::install_crypto();
    let timeout = Duration::from_millis(config.store.timeout_ms);
    let store = store::open(config.store.url.expose(), &config.store.key_prefix, timeout).await?;
    let signing_key = match &config.jwt.signing_key {
        Some(k) => k.clone(),
        None => {
            tracing::warn!("no jwt.signing_key configured: generated one for this process; tokens die with it");
            Secret::new(tokens::random_hex(32))
        }
    };
    let engine = Engine::new(
        store,
        EngineSettings {
            bcrypt_cost: config.passwords.bcrypt_cost,
            max_concurrent_hashes: config.passwords.max_concurrent_hashes,
            signing_key,
            access_lifetime_secs: config.jwt.access_lifetime_secs,
            refresh_lifetime_secs: config.jwt.refresh_lifetime_secs,
            opaque_ttl: Duration::from_secs(config.tokens.opaque_ttl_secs),
            one_time_ttl: Duration::from_secs(config.tokens.one_time_ttl_secs),
            outbox_capacity: config.outbox.capacity,
        },
    )?;
    if let Some(seed) = &config.users.seed_file {
        seed_users(&engine, seed).await?;
    }
    let gateway = Arc::new(Gateway { engine: engine.clone(), body_limit: config.server.body_limit });
    let settings = ConnSettings {
        header_read_timeout: Duration::from_secs(config.server.header_read_timeout_secs),
        shutdown_timeout: Duration::from_secs(config.server.shutdown_timeout_secs),
    };
    let (stop, stop_rx) = watch::channel(false);
    let mut bound = Vec::new();
    for (addr, mounts) in plan.listeners {
        let l = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        bound.push((l, mounts));
    }
    let admin_listener = match config.admin.listen {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?),
        None => None,
    };
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    for (l, mounts) in bound {
        let local = l
            .local_addr()
            .map_err(|source| StartError::Bind { addr: l.local_addr().unwrap_or(([0, 0, 0, 0], 0).into()), source })?;
        for m in &mounts {
            tracing::info!(dialect = %m.dialect.name, addr = %local, prefix = %if m.prefix.is_empty() { "/" } else { &m.prefix }, "serving");
            addrs.push((m.dialect.name.clone(), local));
        }
        tasks.push(tokio::spawn(server::serve_listener(
            l,
            gateway.clone(),
            Arc::new(mounts),
            settings,
            stop_rx.clone(),
        )));
    }
    let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
    if let Some(l) = admin_listener {
        let admin = Arc::new(Admin { engine: engine.clone(), token: config.admin.token.clone() });
        tracing::info!(addr = ?admin_addr, "admin listener");
        tasks.push(tokio::spawn(admin::serve(l, admin, stop_rx.clone())));
    }
    Ok(Running { engine, addrs, admin_addr, stop, tasks })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default, rename = "user")]
    users: Vec<SeedUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    username: String,
    #[serde(default)]
    email: String,
    password: Secret,
    #[serde(default)]
    email_verified: bool,
}

/// Creates the seed file's users that do not exist yet (idempotent across restarts and replicas).
async fn seed_users(engine: &Engine, path: &Path) -> Result<(), StartError> {
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| StartError::Seed { file: file.clone(), message: e.to_string() })?;
    let seed: SeedFile =
        toml::from_str(&text).map_err(|e| StartError::Seed { file: file.clone(), message: e.to_string() })?;
    let mut created: BTreeMap<&str, bool> = BTreeMap::new();
    for u in &seed.users {
        if engine.username_taken(&u.username).await? {
            created.insert(&u.username, false);
            continue;
        }
        match engine.create_user(&u.username, &u.email, &u.password).await {
            Ok(user) => {
                if u.email_verified {
                    let mut v = user.clone();
                    v.email_verified = true;
                    engine.save_user(&user, &v).await?;
                }
                created.insert(&u.username, true);
            }
            // Another replica seeded it first.
            Err(EngineError::UsernameTaken) => {
                created.insert(&u.username, false);
            }
            Err(EngineError::EmailTaken) => {
                return Err(StartError::Seed {
                    file,
                    message: format!("user {}: email already belongs to another user", u.username),
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    let n = created.values().filter(|c| **c).count();
    tracing::info!(file = %file, created = n, existing = created.len() - n, "users seeded");
    Ok(())
}

/// `polyauth users add`: one user into the configured store.
pub async fn add_user(config: &Config, username: &str, email: &str, password: &Secret) -> Result<u64, StartError> {
    crate::install_crypto();
    let timeout = Duration::from_millis(config.store.timeout_ms);
    let store = store::open(config.store.url.expose(), &config.store.key_prefix, timeout).await?;
    if config.store.url.expose() == "memory://" {
        tracing::warn!(
            "the memory store forgets this user when the command exits; use a redis:// store or users.seed_file"
        );
    }
    let engine = Engine::new(
        store,
        EngineSettings {
            bcrypt_cost: config.passwords.bcrypt_cost,
            max_concurrent_hashes: 1,
            signing_key: config.jwt.signing_key.clone().unwrap_or_else(|| Secret::new(tokens::random_hex(32))),
            access_lifetime_secs: config.jwt.access_lifetime_secs,
            refresh_lifetime_secs: config.jwt.refresh_lifetime_secs,
            opaque_ttl: Duration::from_secs(config.tokens.opaque_ttl_secs),
            one_time_ttl: Duration::from_secs(config.tokens.one_time_ttl_secs),
            outbox_capacity: 1,
        },
    )?;
    Ok(engine.create_user(username, email, password).await?.id)
}
