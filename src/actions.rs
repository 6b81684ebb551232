//! The operations a dialect route may name. Each action is a type in its own
//! file under `actions/`, owning its options (read by serde straight from the
//! route's `options`, unknown ones refused), its declared inputs and outputs,
//! the failures it can produce (the OpenAPI error table comes from them), and
//! its `run`: a short recipe over the engine. Actions see validated inputs by
//! logical name and return template variables or `Failure`s; they know nothing
//! of HTTP, status codes, wording or the dialect that names them.
//!
//! Adding an action: one file implementing `Action`, plus its line in `registry!`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::audit::Origin;
use crate::engine::crypto::TokenDigest;
use crate::engine::lockout::ceil_secs;
use crate::engine::passwords::HashError;
use crate::engine::{Engine, EngineError, JwtPolicy, Rotation, TokenError, User};
use crate::template::{vars, MailTemplate};

pub use crate::failure::{ErrorKey, Failure};

mod common;
mod mail_request;

/// Declares each action's module and its name in dialect files (the module's name).
macro_rules! registry {
    ($($module:ident :: $ty:ident,)*) => {
        $(mod $module;)*

        const REGISTRY: &[(&str, Builder)] = &[$((stringify!($module), build::<$module::$ty>),)*];
    };
}

registry! {
    login::Login,
    login_authenticated::LoginAuthenticated,
    register::Register,
    jwt_refresh::JwtRefresh,
    jwt_verify::JwtVerify,
    current_user::CurrentUser,
    update_user::UpdateUser,
    delete_user::DeleteUser,
    logout::Logout,
    token_refresh::TokenRefresh,
    password_reset_request::PasswordResetRequest,
    password_reset_confirm::PasswordResetConfirm,
    email_verify_request::EmailVerifyRequest,
    email_verify_confirm::EmailVerifyConfirm,
    list_users::ListUsers,
    activate::Activate,
    resend_activation::ResendActivation,
    set_password::SetPassword,
    set_username::SetUsername,
    username_reset_request::UsernameResetRequest,
    username_reset_confirm::UsernameResetConfirm,
    jwt_blacklist::JwtBlacklist,
    respond::Respond,
}

/// What an action returns: template variables, or the failures to render.
pub type Outcome = Result<Map<String, Value>, Vec<Failure>>;

/// One logical input an action reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    pub name: &'static str,
    /// The route must declare it (a request without it fails input validation first).
    pub required: bool,
}

impl Input {
    pub const fn required(name: &'static str) -> Self {
        Input { name, required: true }
    }

    pub const fn optional(name: &'static str) -> Self {
        Input { name, required: false }
    }
}

/// An operation a route may name. Built once per route when the dialect loads.
#[async_trait]
pub trait Action: Send + Sync + std::fmt::Debug + 'static {
    /// The logical inputs it reads.
    fn inputs(&self) -> &'static [Input];

    /// Inputs of which the route must declare at least one (a login's identifier).
    fn one_of(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether it needs an authenticated caller.
    fn needs_principal(&self) -> bool {
        false
    }

    /// Template variables it provides on success (besides `vars::ALWAYS`).
    fn outputs(&self) -> Vec<&'static str> {
        if self.needs_principal() {
            vars::USER.to_vec()
        } else {
            Vec::new()
        }
    }

    /// The refusals it can give itself (input and authentication errors come
    /// from the route), each list rendering as one answer: the OpenAPI table.
    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        Vec::new()
    }

    /// Settles what depends on the dialect (defaults, mail templates) at load.
    fn bind(&mut self, _ctx: &BindContext<'_>) -> Result<(), String> {
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome;
}

/// What a dialect tells its actions when it loads.
pub struct BindContext<'a> {
    /// The dialect's mail templates by purpose.
    pub mail: &'a BTreeMap<String, MailTemplate>,
    /// SimpleJWT `ROTATE_REFRESH_TOKENS` and `BLACKLIST_AFTER_ROTATION`: `jwt_refresh`'s defaults.
    pub rotation: Rotation,
}

impl BindContext<'_> {
    /// The mail template an action sends, which the dialect must define.
    pub fn mail(&self, purpose: &str) -> Result<Arc<MailTemplate>, String> {
        self.mail
            .get(purpose)
            .cloned()
            .map(Arc::new)
            .ok_or_else(|| format!("sends mail, but [mail.{purpose}] is missing"))
    }
}

type Builder = fn(&toml::Value, &BindContext<'_>) -> Result<Box<dyn Action>, String>;

fn build<A: Action + DeserializeOwned>(
    options: &toml::Value,
    ctx: &BindContext<'_>,
) -> Result<Box<dyn Action>, String> {
    let mut action = A::deserialize(options.clone()).map_err(|e| format!("options: {}", e.message()))?;
    action.bind(ctx)?;
    Ok(Box::new(action))
}

/// Every action name, in registry order.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|(n, _)| *n)
}

/// Builds the action a route names from its options; unknown names and options are errors.
pub fn parse(
    name: &str,
    options: &BTreeMap<String, toml::Value>,
    ctx: &BindContext<'_>,
) -> Result<Arc<dyn Action>, String> {
    let Some((_, builder)) = REGISTRY.iter().find(|(n, _)| *n == name) else {
        return Err(format!("unknown action {name:?} (known: {})", names().collect::<Vec<_>>().join(", ")));
    };
    let table = toml::Value::Table(options.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    builder(&table, ctx).map(Arc::from).map_err(|e| format!("action {name}: {e}"))
}

/// A route's inputs: logical name → name on the wire (for field errors).
#[derive(Debug, Clone, Default)]
pub struct Wire(BTreeMap<String, String>);

impl Wire {
    pub fn new(map: BTreeMap<String, String>) -> Self {
        Wire(map)
    }

    /// The wire name of a logical input (its own name when the route renames nothing).
    pub fn name(&self, logical: &str) -> String {
        self.0.get(logical).cloned().unwrap_or_else(|| logical.to_owned())
    }

    /// Whether the route declares the input.
    pub fn has(&self, logical: &str) -> bool {
        self.0.contains_key(logical)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

/// A request's validated inputs by logical name, as collected: a route has a
/// few, kept in place (a body field's text borrowed from the parsed body, a
/// name from the route). Inputs are distinct: they are a table's keys.
pub type InputList<'a> = SmallVec<[(&'a str, Cow<'a, str>); 4]>;

/// What an action sees of its inputs; an absent optional input is missing.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a>(pub &'a [(&'a str, Cow<'a, str>)]);

impl Inputs<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_ref())
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Who the caller is, once an authenticator accepted it.
#[derive(Clone)]
pub struct Principal {
    pub user: User,
    /// The store key (`crypto::digest`) of the opaque token it presented (None
    /// for JWTs and passwords): enough to revoke or rotate it, and not a secret
    /// kept in memory past the check.
    pub opaque_key: Option<TokenDigest>,
}

/// Where a mount's links point for one request: from configuration or a Host
/// that ALLOWED_HOSTS named (`http::hosts`).
pub trait SiteLinks: Sync {
    /// `scheme://host` plus the mount prefix.
    fn base_url(&self) -> &str;
    /// `scheme://host` of mail links (Djoser: `{protocol}://{domain}`).
    fn origin(&self) -> &str;
    /// The site's name in mails (Djoser: `site_name`).
    fn site(&self) -> &str;
}

/// What an action gets to work with.
pub struct Call<'a> {
    pub engine: &'a Engine,
    /// Validated inputs by logical name; absent optional inputs are missing.
    pub inputs: Inputs<'a>,
    /// Wire names of the route's inputs, for field errors.
    pub wire: &'a Wire,
    pub principal: Option<&'a Principal>,
    /// The dialect's name (metrics, mail records).
    pub dialect: &'a str,
    /// Where links in mails point (made on first use: most requests need none).
    pub links: &'a dyn SiteLinks,
    /// The variables the route's answer uses (None: any); the user's others are not made.
    pub used: Option<&'a [String]>,
    /// The mount's JWT policy (its `SIMPLE_JWT` settings), compiled at load.
    pub jwt: &'a JwtPolicy,
    /// Where the request came from and through which route (lockout and audit events).
    pub source: &'a Origin,
}

/// Maps engine refusals to error keys; infrastructure failures become `unavailable`/`internal`.
pub fn engine_failure(e: EngineError) -> Failure {
    match e {
        EngineError::InvalidCredentials => Failure::new(ErrorKey::InvalidCredentials),
        EngineError::UsernameTaken => Failure::field(ErrorKey::UsernameTaken, "username"),
        EngineError::EmailTaken => Failure::field(ErrorKey::EmailTaken, "email"),
        EngineError::Token(t) => Failure::new(token_key(t)),
        EngineError::UserNotFound => Failure::new(ErrorKey::UserNotFound),
        EngineError::UserInactive => Failure::new(ErrorKey::UserInactive),
        EngineError::PasswordChanged => Failure::new(ErrorKey::PasswordChanged),
        EngineError::OpaqueTokenInvalid => Failure::new(ErrorKey::OpaqueTokenInvalid),
        EngineError::OneTimeInvalid => Failure::field(ErrorKey::OneTimeInvalid, "token"),
        // A compare-and-set lost to a concurrent change: the client may retry.
        EngineError::Changed => {
            tracing::warn!("a concurrent change won; the request may be retried");
            Failure::new(ErrorKey::Unavailable)
        }
        EngineError::Locked { retry_after } => {
            Failure::new(ErrorKey::LoginLocked).with(vars::RETRY_AFTER, ceil_secs(retry_after).to_string())
        }
        // The queue drains continuously: a second is a fair wait to suggest.
        EngineError::Hash(HashError::Busy) => Failure::new(ErrorKey::Busy).with(vars::RETRY_AFTER, "1"),
        EngineError::Store(e) => {
            tracing::error!(error = %e, "store failure");
            Failure::new(ErrorKey::Unavailable)
        }
        EngineError::Hash(e) => {
            tracing::error!(error = %e, "hashing failure");
            Failure::new(ErrorKey::Internal)
        }
    }
}

/// The error key of a token refusal.
pub fn token_key(t: TokenError) -> ErrorKey {
    match t {
        TokenError::Invalid => ErrorKey::TokenInvalid,
        TokenError::Expired => ErrorKey::TokenExpired,
        TokenError::WrongType => ErrorKey::TokenWrongType,
        TokenError::NoType => ErrorKey::TokenNoType,
        TokenError::NoId => ErrorKey::TokenNoId,
        TokenError::Blacklisted => ErrorKey::TokenBlacklisted,
        TokenError::NoUser => ErrorKey::TokenNoUser,
        TokenError::NoExp => ErrorKey::TokenNoExp,
    }
}

/// Django's `urlsafe_base64_encode(force_bytes(pk))`: base64url without padding.
pub fn uid_of(id: u64) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id.to_string())
}

/// The user's template variables; with `used`, only those the route's templates use.
pub fn user_vars(user: &User, out: &mut Map<String, Value>, used: Option<&[String]>) {
    let wanted = |name: &str| used.is_none_or(|u| u.iter().any(|n| n == name));
    let mut put = |name: &str, value: &dyn Fn() -> Value| {
        if wanted(name) {
            out.insert(name.into(), value());
        }
    };
    put(vars::USER_ID, &|| Value::from(user.id));
    put(vars::USER_ID_STR, &|| Value::from(user.id.to_string()));
    put(vars::USER_USERNAME, &|| Value::from(user.username.clone()));
    put(vars::USER_EMAIL, &|| Value::from(user.email.clone()));
    put(vars::USER_UID, &|| Value::from(uid_of(user.id)));
    put(vars::USER_EMAIL_VERIFIED, &|| Value::from(user.email_verified));
}

#[cfg(test)]
mod tests;
