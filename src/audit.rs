//! Audit events: one structured log event per security-relevant fact (a
//! login succeeded, failed or was locked out; a lockout started or was
//! cleared; a password changed or was reset; tokens were revoked; an account
//! was created, disabled, enabled or deleted), under the tracing target
//! `polyauth::audit` with the message `audit`. Each names the user (by id),
//! where the request came from (`Origin`: dialect, route, client address,
//! request id) and a few bounded details. Never a secret: no password, token,
//! hash or header, and no login name (a user who typed a password into the
//! name field would leak it here).
//!
//! A leaf module: it imports nothing of the crate.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;

/// The tracing target of audit events (`POLYAUTH_LOG=polyauth::audit=info` keeps only them).
pub const TARGET: &str = "polyauth::audit";

/// Where an operation came from. Shared strings: a request copies its origin
/// as it goes (per route tried), and the names come from the dialect, made once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The request id (`X-Request-Id`), or one made up for the CLI.
    pub request_id: RequestId,
    /// The dialect's name; `admin` for the admin API, `cli` for the command line.
    pub dialect: Arc<str>,
    /// The route's name from the dialect file (or the admin operation's name).
    pub route: Arc<str>,
    /// The client address (the socket peer, or the trusted proxies' `X-Forwarded-For`
    /// entry); None where there is no network client (the command line).
    pub client: Option<IpAddr>,
}

impl Origin {
    /// An origin without a network client: the command line, start-up seeding.
    pub fn local(dialect: &str, route: &str, request_id: &str) -> Self {
        Origin { request_id: RequestId::new(request_id), dialect: dialect.into(), route: route.into(), client: None }
    }
}

/// A request's id, shared without copying: the answer's `X-Request-Id` header
/// holds the same bytes (a reference count), and every copy of the `Origin`.
/// Always UTF-8: made from a `str` or from hex digits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestId(Bytes);

impl RequestId {
    pub fn new(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }

    /// Sixteen random bytes in hex (`crypto::random_hex_fast`), in one allocation.
    pub fn from_hex(digits: [u8; 32]) -> Self {
        debug_assert!(digits.is_ascii());
        Self(Bytes::from_owner(digits))
    }

    pub fn as_str(&self) -> &str {
        // Made from a `str` or ASCII digits: the check cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The bytes, shared (for the answer's header).
    pub fn bytes(&self) -> Bytes {
        self.0.clone()
    }
}

impl From<&str> for RequestId {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The facts audited, by their `event` field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded,
    LoginFailed,
    /// Refused without checking the password: the account or address is locked out.
    LoginLocked,
    /// A wrong current password where an operation asked for it (account deletion).
    PasswordCheckFailed,
    /// `scope` = `account` or `address`.
    LockoutStarted,
    LockoutCleared,
    /// Changed by its user (with the current one) or set by an operator.
    PasswordChanged,
    /// Set with a mailed one-time token.
    PasswordReset,
    /// `count` tokens of `kind` ended (logout, reset, an operator).
    TokensRevoked,
    AccountCreated,
    AccountDisabled,
    AccountEnabled,
    AccountDeleted,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::LoginSucceeded => "login_succeeded",
            Event::LoginFailed => "login_failed",
            Event::LoginLocked => "login_locked",
            Event::PasswordCheckFailed => "password_check_failed",
            Event::LockoutStarted => "lockout_started",
            Event::LockoutCleared => "lockout_cleared",
            Event::PasswordChanged => "password_changed",
            Event::PasswordReset => "password_reset",
            Event::TokensRevoked => "tokens_revoked",
            Event::AccountCreated => "account_created",
            Event::AccountDisabled => "account_disabled",
            Event::AccountEnabled => "account_enabled",
            Event::AccountDeleted => "account_deleted",
        }
    }
}

/// Optional, bounded details of an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    /// `account` or `address` (lockouts).
    pub scope: Option<&'static str>,
    /// How many (tokens revoked).
    pub count: Option<u64>,
    /// Which kind (tokens revoked: `authtoken`, `session`, `opaque`, `all`).
    pub kind: Option<&'static str>,
    /// Seconds until the lockout ends.
    pub retry_after_secs: Option<u64>,
}

/// Emits one audit event.
pub fn record(origin: &Origin, event: Event, user_id: Option<u64>, detail: Detail) {
    tracing::info!(
        target: TARGET,
        event = event.as_str(),
        user_id,
        dialect = &*origin.dialect,
        route = &*origin.route,
        client = origin.client.map(tracing::field::display),
        request_id = origin.request_id.as_str(),
        scope = detail.scope,
        count = detail.count,
        kind = detail.kind,
        retry_after_secs = detail.retry_after_secs,
        "audit"
    );
}
