//! Loading a `Config`: the file merged with the environment, relative paths
//! anchored at the file, then every rule checked (`validate`), so a fault
//! exits 64 before anything is bound.

use std::path::Path;

use figment::providers::{Env, Format, Toml};
use figment::Figment;

use super::*;
use crate::secret::Secret;

/// The shortest secret accepted (admin token, passwords of outside services):
/// an empty or guessable one would open what it guards to anyone.
pub const MIN_SECRET_BYTES: usize = 16;

/// Refuses an empty or short secret at load, naming the key (never the value).
pub fn check_secret(key: &str, secret: &Secret, min_bytes: usize) -> Result<(), String> {
    match secret.expose().len() {
        0 => Err(format!("{key} is empty; set it to at least {min_bytes} random bytes, or leave it out")),
        n if n < min_bytes => Err(format!("{key} is {n} bytes; it must be at least {min_bytes}")),
        _ => Ok(()),
    }
}

impl Config {
    /// Reads `path` and the environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let figment = Figment::new()
            .merge(Toml::file(path))
            .merge(Env::prefixed("POLYAUTH_").ignore(&["config", "log"]).split("__"));
        let mut config: Config =
            figment.extract().map_err(|e| ConfigError::Parse { path: shown.clone(), source: Box::new(e) })?;
        // Relative paths in the file are relative to the file, as a user reading it expects.
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        config.anchor(base);
        config.validate().map_err(|message| ConfigError::Invalid { path: shown, message })?;
        Ok(config)
    }

    /// Parses config text without the environment (tests, tools); `base` anchors relative paths.
    pub fn from_toml_str(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = Figment::new()
            .merge(Toml::string(text))
            .extract()
            .map_err(|e| ConfigError::Parse { path: "<string>".into(), source: Box::new(e) })?;
        config.anchor(base);
        config.validate().map_err(|message| ConfigError::Invalid { path: "<string>".into(), message })?;
        Ok(config)
    }

    fn anchor(&mut self, base: &Path) {
        if self.dialects_dir.is_relative() {
            self.dialects_dir = base.join(&self.dialects_dir);
        }
        if let Some(seed) = &self.users.seed_file {
            if seed.is_relative() {
                self.users.seed_file = Some(base.join(seed));
            }
        }
        if let Some(dump) = self.users.import_file.as_ref().filter(|p| p.is_relative()) {
            self.users.import_file = Some(base.join(dump));
        }
        for ca in [&mut self.store.ca_file, &mut self.mail.ca_file] {
            if let Some(p) = ca.as_ref().filter(|p| p.is_relative()) {
                *ca = Some(base.join(p));
            }
        }
        let tls = self.mounts.iter_mut().filter_map(|m| m.tls.as_mut());
        for t in tls.chain(self.admin.tls.as_mut()) {
            t.anchor(base);
        }
    }

    /// Checks that serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if !(4..=31).contains(&self.passwords.bcrypt_cost) {
            return Err(format!("passwords.bcrypt_cost must be 4..=31, got {}", self.passwords.bcrypt_cost));
        }
        if self.passwords.max_concurrent_hashes == 0 {
            return Err("passwords.max_concurrent_hashes must be at least 1".into());
        }
        let lt = &self.login_throttle;
        if (lt.account_failures > 0 || lt.ip_failures > 0) && (lt.window_secs == 0 || lt.ban_secs == 0) {
            return Err("login_throttle.window_secs and ban_secs must be positive while a limit is set".into());
        }
        if self.tokens.one_time_per_user == 0 || self.outbox.per_recipient == 0 {
            return Err("tokens.one_time_per_user and outbox.per_recipient must be at least 1".into());
        }
        if self.server.header_read_timeout_secs == 0
            || self.server.body_read_timeout_secs == 0
            || self.server.max_connections == 0
        {
            return Err(
                "server.header_read_timeout_secs, body_read_timeout_secs and max_connections must be positive".into()
            );
        }
        if self.server.body_limit == 0 {
            return Err("server.body_limit must be positive".into());
        }
        if self.server.shutdown_delay_secs > self.server.shutdown_timeout_secs {
            return Err("server.shutdown_delay_secs must not exceed server.shutdown_timeout_secs".into());
        }
        if self.server.tls_poll_interval_ms == 0 || self.admin.readiness_timeout_ms == 0 {
            return Err("server.tls_poll_interval_ms and admin.readiness_timeout_ms must be positive".into());
        }
        let url = self.store.url.expose();
        let is_memory = url == "memory://";
        let schemes = ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"];
        if !is_memory && !schemes.iter().any(|s| url.starts_with(s)) {
            return Err(
                "store.url must be memory://, redis://…, rediss://…, redis+cluster://… or rediss+cluster://…".into()
            );
        }
        if url.contains("+cluster://") && self.store.key_prefix.contains(['{', '}']) {
            // On a Cluster the braces would choose the slot of every key: one master for all.
            return Err("store.key_prefix must not contain '{' or '}' with a Redis Cluster".into());
        }
        if !is_memory && self.jwt.signing_key.is_none() {
            return Err(
                "jwt.signing_key is required with a shared store (tokens must survive restarts and replicas)".into()
            );
        }
        if let Some(key) = &self.jwt.signing_key {
            check_secret("jwt.signing_key", key, 32)?;
        }
        if let Some(token) = &self.admin.token {
            check_secret("admin.token", token, MIN_SECRET_BYTES)?;
        }
        if self.jwt.access_lifetime_secs == 0 || self.jwt.refresh_lifetime_secs == 0 {
            return Err("jwt lifetimes must be positive".into());
        }
        self.mail.validate()?;
        for m in &self.mounts {
            if !m.prefix.starts_with('/') {
                return Err(format!("mount {}: prefix must start with '/'", m.dialect));
            }
            if let Some(url) = &m.public_url {
                let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
                let host = rest.split('/').next().unwrap_or_default();
                if !matches!(scheme, "http" | "https") || host.is_empty() || url.contains(['?', '#', ' ']) {
                    return Err(format!(
                        "mount {}: public_url must be http(s)://host[:port][/path], without query or fragment",
                        m.dialect
                    ));
                }
            }
        }
        Ok(())
    }
}
