//! `[mail]`: the sender address, the SMTP server (a secret URL) and the
//! delivery knobs, with defaults; checked at load like the rest of the config.

use std::path::PathBuf;

use serde::Deserialize;

use crate::secret::Secret;

/// Mail delivery. Without `smtp_url`, mails only reach the outbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The sender address (`From:`), as Django's `DEFAULT_FROM_EMAIL`; may be `Name <addr>`.
    pub from: String,
    /// `smtp://[user:pass@]host[:port][?tls=opportunistic|required|none]` (STARTTLS
    /// when offered, by default) or `smtps://…` (implicit TLS). None: outbox only.
    pub smtp_url: Option<Secret>,
    /// Bound on one whole delivery attempt (connect, TLS, every SMTP command).
    pub timeout_ms: u64,
    /// PEM file of the CA that signed the SMTP server's certificate, when it is
    /// not in the system trust store.
    pub ca_file: Option<PathBuf>,
    /// First retry delay after a temporary failure; it doubles per attempt.
    pub retry_initial_ms: u64,
    /// Longest delay between two attempts.
    pub retry_max_ms: u64,
    /// A mail still not delivered this long after it was queued is recorded as failed.
    pub max_age_secs: u64,
    /// Mails sent at once by this process.
    pub concurrency: usize,
    /// How often an idle sender looks for mails queued by other replicas or due for a retry.
    pub poll_interval_ms: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "webmaster@localhost".into(),
            smtp_url: None,
            timeout_ms: 10_000,
            ca_file: None,
            retry_initial_ms: 1_000,
            retry_max_ms: 300_000,
            max_age_secs: 86_400,
            concurrency: 4,
            poll_interval_ms: 1_000,
        }
    }
}

impl MailConfig {
    /// Checks that serde cannot express; messages name the key, never the URL's secret.
    pub(super) fn validate(&self) -> Result<(), String> {
        let m = self;
        if let Some(url) = &m.smtp_url {
            let endpoint = crate::mail::SmtpEndpoint::parse(url.expose()).map_err(|e| format!("mail.smtp_url: {e}"))?;
            // A password, when the URL has one, follows the rule of every secret:
            // an empty or short one is refused rather than sent.
            if let Some(password) = &endpoint.password {
                super::check_secret("mail.smtp_url's password", password, super::MIN_SECRET_BYTES)?;
            }
        }
        crate::mail::parse_mailbox(&m.from).map_err(|e| format!("mail.from: {e}"))?;
        if m.timeout_ms == 0 || m.retry_initial_ms == 0 || m.poll_interval_ms == 0 || m.concurrency == 0 {
            return Err("mail.timeout_ms, retry_initial_ms, poll_interval_ms and concurrency must be positive".into());
        }
        if m.retry_max_ms < m.retry_initial_ms {
            return Err("mail.retry_max_ms must not be below mail.retry_initial_ms".into());
        }
        if m.max_age_secs == 0 {
            return Err("mail.max_age_secs must be positive".into());
        }
        Ok(())
    }
}
