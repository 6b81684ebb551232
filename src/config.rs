//! Gateway configuration: `gateway.toml` merged with `POLYAUTH_…` environment
//! variables (figment). Every struct denies unknown fields, so a typo is a
//! start-up error (exit 64), never a silently ignored setting.
//!
//! Environment mapping: `POLYAUTH_<SECTION>__<KEY>` sets `[section] key`, e.g.
//! `POLYAUTH_STORE__URL=redis://…`, `POLYAUTH_JWT__SIGNING_KEY=…`,
//! `POLYAUTH_ADMIN__TOKEN=…`; top-level keys drop the section
//! (`POLYAUTH_LOG_FORMAT=json`). Mounts are only read from the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::secret::Secret;

mod load;
mod mail;

pub use load::{check_secret, MIN_SECRET_BYTES};
pub use mail::MailConfig;

/// Why a configuration cannot be used. All of them exit with code 64.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {source}")]
    Parse {
        path: String,
        #[source]
        source: Box<figment::Error>,
    },
    #[error("config {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `text` for people, `json` for log pipelines.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Where `dialects/<name>.toml` files are read from, relative to the config file.
    #[serde(default = "default_dialects_dir")]
    pub dialects_dir: PathBuf,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub jwt: JwtConfig,
    #[serde(default)]
    pub passwords: PasswordConfig,
    #[serde(default)]
    pub login_throttle: LoginThrottleConfig,
    #[serde(default)]
    pub tokens: TokenConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub mail: MailConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub users: UsersConfig,
    /// One entry per dialect served; several may share a listener under different prefixes.
    #[serde(default, rename = "mount")]
    pub mounts: Vec<MountConfig>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Largest request body accepted; larger ones get 413 in the dialect's format.
    pub body_limit: usize,
    /// A client that has not sent its request head by then is disconnected
    /// (slowloris); a keep-alive connection idle this long is closed too.
    pub header_read_timeout_secs: u64,
    /// A request body not received whole by then is answered 408 in the
    /// dialect's format and its connection closed (a slow-body client).
    pub body_read_timeout_secs: u64,
    /// Connections open at once per listener (the admin listener has its own
    /// 64): past it, new connections wait in the kernel's accept queue until
    /// one closes. Keep listeners × this below the process's open-file limit.
    pub max_connections: usize,
    /// Upper bound on the whole shutdown after SIGTERM/SIGINT (delay included):
    /// requests still running then are cut off and the process exits 0.
    pub shutdown_timeout_secs: u64,
    /// After SIGTERM, readiness answers 503 at once but the listeners keep
    /// accepting this long, so Kubernetes removes the pod from its endpoints
    /// before connections are refused. 0 (the default) suits a developer's
    /// machine; 5 suits Kubernetes.
    pub shutdown_delay_secs: u64,
    /// How often TLS certificate and key files are checked for changes (SIGHUP reloads at once).
    pub tls_poll_interval_ms: u64,
    /// How many proxies in front append to `X-Forwarded-For` (DRF's `NUM_PROXIES`):
    /// the client address is the N-th entry from the right. 0 (the default):
    /// the socket peer, and the header is never trusted.
    pub trusted_proxies: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 10,
            max_connections: 512,
            shutdown_timeout_secs: 30,
            shutdown_delay_secs: 0,
            tls_poll_interval_ms: 10_000,
            trusted_proxies: 0,
        }
    }
}

/// A PEM certificate chain and private key, reloaded when the files change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file: the server certificate first, then intermediates.
    pub cert: PathBuf,
    /// PEM file: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsConfig {
    fn anchor(&mut self, base: &Path) {
        for p in [&mut self.cert, &mut self.key] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `memory://`, `redis://host:port/db`, `rediss://…` (TLS via rustls), or a
    /// Redis Cluster: `redis+cluster://host1:port1,host2:port2` (`rediss+cluster://` with TLS).
    pub url: Secret,
    /// Prefix of every Redis key, so several gateways can share one database.
    pub key_prefix: String,
    /// Bound on each store round trip; a slower store answers 503-style internal errors.
    pub timeout_ms: u64,
    /// PEM file of the CA that signed the `rediss://` server's certificate, when
    /// it is not in the system trust store (a private CA in the cluster).
    pub ca_file: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { url: Secret::new("memory://"), key_prefix: "pa".into(), timeout_ms: 2000, ca_file: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// HS256 key. Absent with the memory store: generated at start (with a warning).
    pub signing_key: Option<Secret>,
    pub access_lifetime_secs: u64,
    pub refresh_lifetime_secs: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self { signing_key: None, access_lifetime_secs: 300, refresh_lifetime_secs: 86_400 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// bcrypt work factor (4..=31). 12 costs ~250 ms per hash on one core.
    pub bcrypt_cost: u32,
    /// At most this many hashes run at once; the rest queue (protects the
    /// blocking pool). Default: the cores this process may use (its CPU quota
    /// included): more only time-slices the same cores, so logins take longer
    /// at the same rate and token checks' tail grows (README, "Under load").
    pub max_concurrent_hashes: usize,
    /// At most this many hashes wait for a slot; more password work is refused
    /// at once (503 with `Retry-After` in the dialect's format) instead of
    /// queueing behind a flood. 0: never wait.
    pub max_queued_hashes: usize,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self { bcrypt_cost: 12, max_concurrent_hashes: cores, max_queued_hashes: 32 }
    }
}

/// The login lockout, shared by every dialect and replica (see `engine::lockout`).
/// A limit of 0 turns that scope off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginThrottleConfig {
    /// Failed password logins per account (or unknown login name) within the window.
    pub account_failures: u32,
    /// Failed password logins per client address within the window.
    pub ip_failures: u32,
    /// How long failures are counted, from the first.
    pub window_secs: u64,
    /// How long a locked-out account or address is refused.
    pub ban_secs: u64,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        Self { account_failures: 5, ip_failures: 50, window_secs: 300, ban_secs: 300 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// Lifetime of opaque API tokens (DRF-style auth tokens, sessions).
    pub opaque_ttl_secs: u64,
    /// Lifetime of password-reset and email-verification tokens.
    pub one_time_ttl_secs: u64,
    /// Outstanding one-time tokens per user and purpose; a newer one ends the
    /// oldest, so a client asking again and again holds at most this many.
    pub one_time_per_user: usize,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self { opaque_ttl_secs: 14 * 86_400, one_time_ttl_secs: 3_600, one_time_per_user: 5 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Newest messages kept; older ones are dropped.
    pub capacity: usize,
    /// Newest messages kept per recipient: one address flooded with requests
    /// drops its own oldest mail, never other recipients' pending mail.
    pub per_recipient: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { capacity: 1000, per_recipient: 10 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Admin listener (outbox; probes and metrics). None: no admin listener.
    pub listen: Option<SocketAddr>,
    /// Bearer token for the outbox route. None: the outbox route is off.
    pub token: Option<Secret>,
    /// Serve the admin listener over TLS.
    pub tls: Option<TlsConfig>,
    /// `/readyz` answers 503 when the store does not answer a ping within this.
    pub readiness_timeout_ms: u64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { listen: None, token: None, tls: None, readiness_timeout_ms: 1000 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsersConfig {
    /// A TOML file of users created at start if missing (idempotent).
    pub seed_file: Option<PathBuf>,
    /// A Django `dumpdata` file imported at start (idempotent: what is stored
    /// stays): how the memory store, which lives in the server's process, takes
    /// over a Django backend. A bad record stops the start (exit 64).
    pub import_file: Option<PathBuf>,
    /// The user model of `import_file` (`auth.user` when not set).
    pub import_user_model: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountConfig {
    /// Name of `dialects/<name>.toml`.
    pub dialect: String,
    pub listen: SocketAddr,
    /// Path prefix the dialect is served under; `/` serves it at the root.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Serve this mount's listener over TLS (mounts sharing a listener must agree).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Where clients reach this mount (`https://auth.example.com/api`): the
    /// base of every link in its mails. Without it, links use a Host header
    /// only when `ALLOWED_HOSTS` names it, else the listener's address.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The legacy project's Django settings, by their own names (`DJOSER`,
    /// `SIMPLE_JWT`, `REST_FRAMEWORK` sub-tables and top-level names). Only names
    /// the dialect declares are accepted (see `dialect::settings`).
    #[serde(default)]
    pub settings: Option<toml::Table>,
    /// `[mount.mail.<kind>]`: this mount's own wording of a mail the dialect sends.
    #[serde(default)]
    pub mail: std::collections::BTreeMap<String, crate::template::MailOverride>,
}

impl std::fmt::Debug for MountConfig {
    // Settings values are left out: `SIMPLE_JWT.SIGNING_KEY` is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountConfig")
            .field("dialect", &self.dialect)
            .field("listen", &self.listen)
            .field("prefix", &self.prefix)
            .field("tls", &self.tls)
            .field("public_url", &self.public_url)
            .field("settings", &self.settings.as_ref().map(|t| t.keys().collect::<Vec<_>>()))
            .finish()
    }
}

fn default_prefix() -> String {
    "/".into()
}

fn default_dialects_dir() -> PathBuf {
    "dialects".into()
}
