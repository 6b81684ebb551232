//! Assembly, in the order load → bind → run: the config and every dialect are
//! loaded and checked before any port is bound (a fault exits 64), then the
//! store is opened, users are seeded, listeners bound, and requests served.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::{self, Admin};
use crate::audit::Origin;
use crate::config::{Config, ConfigError, TlsConfig};
use crate::dialect::{self, Dialect, DialectError};
use crate::engine::{crypto, Engine, EngineError, EngineSettings, LockoutSettings};
use crate::health::Health;
use crate::http::handle::{handle, Gateway, Mount};
use crate::mail::{self, SenderSettings, SmtpEndpoint};
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::server::tls::{ReloadingTls, TlsError};
use crate::server::{self, ConnSettings};
use crate::store::{self, instrumented::InstrumentedStore, StoreError};

mod running;
mod users;

pub use running::Running;

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
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("store.ca_file {file}: {message}")]
    StoreCa { file: String, message: String },
    #[error("mail: {0}")]
    Mail(String),
}

impl StartError {
    /// 64 (EX_USAGE) for anything the operator must fix in files; 69 (EX_UNAVAILABLE) otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            StartError::Config(_)
            | StartError::Dialect(_)
            | StartError::Mount(_)
            | StartError::Seed { .. }
            | StartError::Tls(_)
            | StartError::StoreCa { .. }
            | StartError::Mail(_) => 64,
            _ => 69,
        }
    }
}

/// What listens where, after checking: one entry per listener.
pub struct Plan {
    pub config: Config,
    pub listeners: Vec<ListenerPlan>,
    /// The admin listener's TLS, loaded.
    pub admin_tls: Option<Arc<ReloadingTls>>,
}

/// One dialect listener.
pub struct ListenerPlan {
    pub addr: SocketAddr,
    /// Longest prefix first.
    pub mounts: Vec<Mount>,
    /// Loaded certificate and key when the listener speaks TLS.
    pub tls: Option<Arc<ReloadingTls>>,
}

/// Loads and validates config and dialects; binds nothing.
pub fn plan(config: Config) -> Result<Plan, StartError> {
    let mut dialects: HashMap<String, Arc<Dialect>> = HashMap::new();
    let mut listeners: Vec<(SocketAddr, Vec<Mount>, Option<TlsConfig>)> = Vec::new();
    for m in &config.mounts {
        // A mount with its own settings or mail wording compiles its own copy of the dialect.
        let own = m.settings.is_some() || !m.mail.is_empty();
        let d = match dialects.get(&m.dialect).filter(|_| !own) {
            Some(d) => d.clone(),
            None => {
                let d = dialect::load_mount(&config.dialects_dir, &m.dialect, m.settings.as_ref(), &m.mail).map_err(
                    |e| match e {
                        DialectError::Setting { key, message } => StartError::Mount(format!(
                            "mount of {} at {}{}: [mount.settings] {key}: {message}",
                            m.dialect, m.listen, m.prefix
                        )),
                        DialectError::Mail { kind, message } => StartError::Mount(format!(
                            "mount of {} at {}{}: [mount.mail.{kind}]: {message}",
                            m.dialect, m.listen, m.prefix
                        )),
                        other => other.into(),
                    },
                )?;
                let d = Arc::new(d);
                if !own {
                    dialects.insert(m.dialect.clone(), d.clone());
                }
                d
            }
        };
        let mount = Mount::new(&m.prefix, d, m.public_url.as_deref());
        // Port 0 asks for a fresh port: such mounts never share a listener.
        match listeners.iter_mut().find(|(a, _, _)| *a == m.listen && m.listen.port() != 0) {
            Some((addr, mounts, tls)) => {
                // One listener speaks one protocol: its mounts must agree on TLS.
                if *tls != m.tls {
                    return Err(StartError::Mount(format!(
                        "{addr}: mount of {} has other tls settings than the mounts sharing its listener",
                        m.dialect
                    )));
                }
                mounts.push(mount);
            }
            None => listeners.push((m.listen, vec![mount], m.tls.clone())),
        }
    }
    let mut planned = Vec::new();
    for (addr, mut mounts, tls) in listeners {
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        check_collisions(addr, &mounts)?;
        let tls = tls.map(ReloadingTls::load).transpose()?.map(Arc::new);
        planned.push(ListenerPlan { addr, mounts, tls });
    }
    let admin_tls = config.admin.tls.clone().map(ReloadingTls::load).transpose()?.map(Arc::new);
    Ok(Plan { config, listeners: planned, admin_tls })
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

async fn open_store(config: &Config) -> Result<store::SharedStore, StartError> {
    let timeout = Duration::from_millis(config.store.timeout_ms);
    let ca = match &config.store.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| StartError::StoreCa { file: path.display().to_string(), message: e.to_string() })?,
        ),
        None => None,
    };
    Ok(store::open_with_ca(config.store.url.expose(), &config.store.key_prefix, timeout, ca).await?)
}

/// The sender's settings from `[mail]`, or None without an SMTP server.
fn mail_sender_settings(config: &Config) -> Result<Option<SenderSettings>, StartError> {
    let m = &config.mail;
    let Some(url) = &m.smtp_url else { return Ok(None) };
    let endpoint = SmtpEndpoint::parse(url.expose()).map_err(|e| StartError::Mail(format!("smtp_url: {e}")))?;
    let ca = match &m.ca_file {
        Some(path) => {
            Some(std::fs::read(path).map_err(|e| StartError::Mail(format!("ca_file {}: {e}", path.display())))?)
        }
        None => None,
    };
    let timeout = Duration::from_millis(m.timeout_ms);
    let transport = endpoint.transport(timeout, ca.as_deref()).map_err(StartError::Mail)?;
    tracing::info!(host = %endpoint.host, port = endpoint.port, tls = ?endpoint.tls, "mail delivery over SMTP");
    Ok(Some(SenderSettings {
        from: mail::parse_mailbox(&m.from).map_err(StartError::Mail)?,
        transport,
        timeout,
        retry_initial: Duration::from_millis(m.retry_initial_ms),
        retry_max: Duration::from_millis(m.retry_max_ms),
        max_age: Duration::from_secs(m.max_age_secs),
        concurrency: m.concurrency,
        poll_interval: Duration::from_millis(m.poll_interval_ms),
        drain_on_stop: config.store.url.expose() == "memory://",
    }))
}

/// Opens the store, builds the engine, seeds users, binds and starts serving.
pub async fn start(plan: Plan) -> Result<Running, StartError> {
    let config = &plan.config;
    crate::install_crypto();
    let mail_settings = mail_sender_settings(config)?;
    let metrics = Metrics::new();
    let timed = Arc::new(InstrumentedStore::new(open_store(config).await?, metrics.clone()));
    let store: store::SharedStore = timed.clone();
    let signing_key = match &config.jwt.signing_key {
        Some(k) => k.clone(),
        None => {
            tracing::warn!("no jwt.signing_key configured: generated one for this process; tokens die with it");
            Secret::new(crypto::random_hex(32))
        }
    };
    let engine = Engine::instrumented(
        timed,
        EngineSettings {
            bcrypt_cost: config.passwords.bcrypt_cost,
            max_concurrent_hashes: config.passwords.max_concurrent_hashes,
            max_queued_hashes: config.passwords.max_queued_hashes,
            lockout: lockout_settings(config),
            signing_key,
            access_lifetime_secs: config.jwt.access_lifetime_secs,
            refresh_lifetime_secs: config.jwt.refresh_lifetime_secs,
            opaque_ttl: Duration::from_secs(config.tokens.opaque_ttl_secs),
            one_time_ttl: Duration::from_secs(config.tokens.one_time_ttl_secs),
            one_time_per_user: config.tokens.one_time_per_user,
            outbox_capacity: config.outbox.capacity,
            outbox_per_recipient: config.outbox.per_recipient,
            mail_delivery: config.mail.smtp_url.is_some(),
            metrics: metrics.clone(),
        },
    )?;
    if let Some(seed) = &config.users.seed_file {
        users::seed_users(&engine, seed).await?;
    }
    if let Some(dump) = &config.users.import_file {
        users::import_on_start(&engine, dump, config.users.import_user_model.as_deref()).await?;
    }
    let gateway = Arc::new(Gateway {
        engine: engine.clone(),
        body_limit: config.server.body_limit,
        body_deadlines: crate::deadline::Deadlines::new(Duration::from_secs(config.server.body_read_timeout_secs)),
        metrics: metrics.clone(),
        trusted_proxies: config.server.trusted_proxies,
    });
    // The delay is part of the shutdown budget: the drain gets what is left.
    let shutdown_delay = Duration::from_secs(config.server.shutdown_delay_secs);
    let settings = ConnSettings {
        header_read_timeout: Duration::from_secs(config.server.header_read_timeout_secs),
        shutdown_timeout: Duration::from_secs(config.server.shutdown_timeout_secs).saturating_sub(shutdown_delay),
        max_connections: config.server.max_connections,
    };
    let (stop, stop_rx) = watch::channel(false);
    let mut bound = Vec::new();
    for l in plan.listeners {
        let tcp = TcpListener::bind(l.addr).await.map_err(|source| StartError::Bind { addr: l.addr, source })?;
        let local = tcp.local_addr().map_err(|source| StartError::Bind { addr: l.addr, source })?;
        bound.push((tcp, local, l));
    }
    let admin_listener = match config.admin.listen {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?),
        None => None,
    };
    let ping_timeout = Duration::from_millis(config.admin.readiness_timeout_ms);
    let health = Arc::new(Health::new(bound.iter().map(|(_, local, _)| *local).collect(), store, ping_timeout));
    let mut addrs = Vec::new();
    let mut tasks = Vec::new();
    let mut tls_all: Vec<Arc<ReloadingTls>> = plan.admin_tls.iter().cloned().collect();
    for (index, (tcp, local, l)) in bound.into_iter().enumerate() {
        let mut l = l;
        let scheme = if l.tls.is_some() { "https" } else { "http" };
        for m in &mut l.mounts {
            let prefix = if m.prefix.is_empty() { "/" } else { m.prefix.as_str() };
            tracing::info!(dialect = %m.dialect.name, addr = %local, prefix = %prefix, tls = l.tls.is_some(), "serving");
            // Mail links fall back to the listener's own address, never to a Host header.
            m.links.listener_origin = format!("{scheme}://{local}");
            if m.links.is_unconfigured(&m.hosts) {
                tracing::warn!(
                    dialect = %m.dialect.name, addr = %local, prefix = %prefix,
                    "no public_url, DOMAIN or named ALLOWED_HOSTS: mail links point at the listener's own address"
                );
            }
            m.resolve_metrics(&metrics);
            addrs.push((m.dialect.name.clone(), local));
        }
        tls_all.extend(l.tls.clone());
        let (gw, mounts) = (gateway.clone(), Arc::new(l.mounts));
        let up = health.listening(index);
        let stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let _up = up;
            server::serve(tcp, l.tls, settings, stop, move |req, conn| {
                let (gw, mounts) = (gw.clone(), mounts.clone());
                // Not boxed: hyper keeps each connection's request future in one
                // box it allocates once; a box per request here would be a
                // malloc of a few KiB (past glibc's thread cache) every request.
                async move { Ok::<_, Infallible>(handle(&gw, &mounts, req, conn).await) }
            })
            .await
        }));
    }
    // After the store and before serving: a mail queued by the first request finds its sender.
    let mailer = mail_settings.map(|s| mail::sender::start(engine.clone(), s));
    let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
    if let (Some(l), Some(addr)) = (admin_listener, admin_addr) {
        let admin = Arc::new(Admin {
            engine: engine.clone(),
            token: config.admin.token.clone(),
            health: health.clone(),
            metrics: metrics.clone(),
        });
        tracing::info!(addr = %addr, tls = plan.admin_tls.is_some(), "admin listener");
        // Its own cap: a flood on a dialect listener never takes the probes' slots.
        let admin_settings = ConnSettings { max_connections: admin::MAX_CONNECTIONS, ..settings };
        tasks.push(tokio::spawn(admin::serve(l, plan.admin_tls.clone(), admin, admin_settings, stop_rx.clone())));
    }
    if !tls_all.is_empty() {
        let every = Duration::from_millis(config.server.tls_poll_interval_ms);
        tokio::spawn(running::poll_tls(tls_all.clone(), every, stop_rx.clone()));
    }
    let shutdown_budget = settings.shutdown_timeout;
    Ok(Running {
        engine,
        addrs,
        admin_addr,
        health,
        metrics,
        tls: tls_all,
        shutdown_delay,
        shutdown_budget,
        stop,
        tasks,
        mailer,
    })
}

/// The `[login_throttle]` section as the engine takes it.
fn lockout_settings(config: &Config) -> LockoutSettings {
    let t = &config.login_throttle;
    LockoutSettings {
        account_failures: t.account_failures,
        address_failures: t.ip_failures,
        window: Duration::from_secs(t.window_secs),
        ban: Duration::from_secs(t.ban_secs),
    }
}

/// `polyauth users add`: one user into the configured store.
pub async fn add_user(config: &Config, username: &str, email: &str, password: &Secret) -> Result<u64, StartError> {
    if config.store.url.expose() == "memory://" {
        tracing::warn!(
            "the memory store forgets this user when the command exits; use a redis:// store or users.seed_file"
        );
    }
    let engine = offline_engine(config).await?;
    let origin = Origin::local("cli", "users_add", &crypto::random_hex(16));
    Ok(engine.create_user_audited(username, email, password, &origin).await?.id)
}

/// An engine over the configured store for one command (`polyauth users …`):
/// no listener, one hashing slot, the configured lockout.
pub async fn offline_engine(config: &Config) -> Result<Engine, StartError> {
    crate::install_crypto();
    let store = open_store(config).await?;
    let engine = Engine::new(
        store,
        EngineSettings {
            bcrypt_cost: config.passwords.bcrypt_cost,
            max_concurrent_hashes: 1,
            max_queued_hashes: 1,
            lockout: lockout_settings(config),
            signing_key: config.jwt.signing_key.clone().unwrap_or_else(|| Secret::new(crypto::random_hex(32))),
            access_lifetime_secs: config.jwt.access_lifetime_secs,
            refresh_lifetime_secs: config.jwt.refresh_lifetime_secs,
            opaque_ttl: Duration::from_secs(config.tokens.opaque_ttl_secs),
            one_time_ttl: Duration::from_secs(config.tokens.one_time_ttl_secs),
            one_time_per_user: config.tokens.one_time_per_user,
            outbox_capacity: 1,
            outbox_per_recipient: 1,
            mail_delivery: false,
            metrics: Metrics::new(),
        },
    )?;
    Ok(engine)
}
