//! The fixed set of actions a dialect route may name, each a short recipe over
//! the engine. Actions see validated inputs by logical name and return template
//! variables or `Failure`s; they know nothing of HTTP, status codes or wording.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::engine::{Engine, EngineError, IdentifyBy, TokenError, User};
use crate::secret::Secret;

mod run;
pub use run::run;

/// A refusal, named by an error key the dialect renders (see `render`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub key: &'static str,
    /// Wire name of the field it concerns (DRF field errors).
    pub field: Option<String>,
    /// Values for the message template, e.g. `method`, `attribute`.
    pub vars: Vec<(&'static str, String)>,
}

impl Failure {
    pub fn new(key: &'static str) -> Self {
        Self { key, field: None, vars: Vec::new() }
    }

    pub fn field(key: &'static str, field: impl Into<String>) -> Self {
        Self { key, field: Some(field.into()), vars: Vec::new() }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.vars.push((name, value.into()));
        self
    }
}

/// Maps engine refusals to error keys; infrastructure failures become `unavailable`/`internal`.
pub fn engine_failure(e: EngineError) -> Failure {
    match e {
        EngineError::InvalidCredentials => Failure::new("invalid_credentials"),
        EngineError::UsernameTaken => Failure::field("username_taken", "username"),
        EngineError::EmailTaken => Failure::field("email_taken", "email"),
        EngineError::Token(t) => Failure::new(token_key(t)),
        EngineError::UserNotFound => Failure::new("user_not_found"),
        EngineError::UserInactive => Failure::new("user_inactive"),
        EngineError::OpaqueTokenInvalid => Failure::new("opaque_token_invalid"),
        EngineError::OneTimeInvalid => Failure::field("one_time_invalid", "token"),
        EngineError::Store(e) => {
            tracing::error!(error = %e, "store failure");
            Failure::new("unavailable")
        }
        EngineError::Hash(e) => {
            tracing::error!(error = %e, "hashing failure");
            Failure::new("internal")
        }
    }
}

pub fn token_key(t: TokenError) -> &'static str {
    match t {
        TokenError::Invalid => "token_invalid",
        TokenError::Expired => "token_expired",
        TokenError::WrongType => "token_wrong_type",
        TokenError::NoType => "token_no_type",
        TokenError::NoId => "token_no_id",
        TokenError::Blacklisted => "token_blacklisted",
        TokenError::NoUser => "token_no_user",
        TokenError::NoExp => "token_no_exp",
    }
}

/// What a successful login or registration hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issue {
    Nothing,
    /// `{access}` and `{refresh}`.
    JwtPair,
    /// `{token}`: the user's DRF-style auth token.
    AuthToken,
    /// `{token}`: a new session token.
    Session,
}

/// Which tokens a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// The token the caller presented; every token when it presented a password.
    Presented,
    /// The token the caller presented; every session token (not other dialects'
    /// auth tokens) when it presented a password.
    PresentedOrSessions,
    /// Every auth token of the user (Djoser deletes `user.auth_token`).
    AuthTokens,
    All,
}

/// For a request naming an email nobody has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownEmail {
    /// Succeed without sending anything (no account enumeration).
    Ignore,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Login {
        identify_by: IdentifyBy,
        issue: Issue,
    },
    // A login whose credentials the route's authenticator already checked
    // (HTTP Basic): `login` reads a password from its inputs; this one hands
    // the authenticated caller what `issue` names.
    LoginAuthenticated {
        issue: Issue,
    },
    Register {
        issue: Issue,
        validate_password: bool,
        username_from_email: bool,
        /// The real system has no unique email (Djoser): a taken email is the
        /// engine's constraint, reported only when nothing the real system checks fails.
        email_taken_last: bool,
    },
    JwtRefresh {
        rotate: Option<bool>,
    },
    JwtVerify,
    CurrentUser,
    UpdateUser,
    DeleteUser,
    Logout {
        revoke: Revoke,
    },
    TokenRefresh,
    PasswordResetRequest {
        unknown_email: UnknownEmail,
    },
    PasswordResetConfirm {
        validate_password: bool,
        revoke_tokens: bool,
        /// Djoser validates the new password before it reads uid and token, and
        /// without the user (so no similarity rule): a weak password wins over a bad token.
        password_before_token: bool,
    },
    EmailVerifyRequest {
        unknown_email: UnknownEmail,
    },
    EmailVerifyConfirm,
}

pub const ACTION_NAMES: &[&str] = &[
    "login",
    "login_authenticated",
    "register",
    "jwt_refresh",
    "jwt_verify",
    "current_user",
    "update_user",
    "delete_user",
    "logout",
    "token_refresh",
    "password_reset_request",
    "password_reset_confirm",
    "email_verify_request",
    "email_verify_confirm",
];

type Options = BTreeMap<String, toml::Value>;

struct Opts<'a> {
    map: &'a Options,
    used: Vec<&'static str>,
}

impl<'a> Opts<'a> {
    fn str(&mut self, key: &'static str, default: &'static str) -> Result<&'a str, String> {
        self.used.push(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(toml::Value::String(s)) => Ok(s),
            Some(_) => Err(format!("option {key} must be a string")),
        }
    }

    fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, String> {
        self.used.push(key);
        match self.map.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(format!("option {key} must be true or false")),
        }
    }

    fn issue(&mut self) -> Result<Issue, String> {
        Ok(match self.str("issue", "nothing")? {
            "nothing" => Issue::Nothing,
            "jwt_pair" => Issue::JwtPair,
            "auth_token" => Issue::AuthToken,
            "session" => Issue::Session,
            other => {
                return Err(format!("option issue: unknown value {other:?} (nothing|jwt_pair|auth_token|session)"))
            }
        })
    }

    fn unknown_email(&mut self) -> Result<UnknownEmail, String> {
        Ok(match self.str("unknown_email", "ignore")? {
            "ignore" => UnknownEmail::Ignore,
            "error" => UnknownEmail::Error,
            other => return Err(format!("option unknown_email: unknown value {other:?} (ignore|error)")),
        })
    }

    fn finish(self) -> Result<(), String> {
        match self.map.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(k) => Err(format!("unknown option {k:?} for this action")),
            None => Ok(()),
        }
    }
}

impl Action {
    /// Builds an action from its name and route options; unknown names and options are errors.
    pub fn parse(name: &str, options: &Options) -> Result<Action, String> {
        let mut o = Opts { map: options, used: Vec::new() };
        let action = match name {
            "login" => {
                let identify_by = match o.str("identify_by", "username")? {
                    "username" => IdentifyBy::Username,
                    "email" => IdentifyBy::Email,
                    "username_or_email" => IdentifyBy::UsernameOrEmail,
                    other => return Err(format!("option identify_by: unknown value {other:?}")),
                };
                Action::Login { identify_by, issue: o.issue()? }
            }
            "login_authenticated" => match o.issue()? {
                Issue::Nothing => return Err("action login_authenticated needs option issue".into()),
                issue => Action::LoginAuthenticated { issue },
            },
            "register" => Action::Register {
                issue: o.issue()?,
                validate_password: o.bool("validate_password", false)?,
                username_from_email: o.bool("username_from_email", false)?,
                email_taken_last: o.bool("email_taken_last", false)?,
            },
            "jwt_refresh" => Action::JwtRefresh {
                rotate: match o.map.get("rotate") {
                    None => None,
                    Some(_) => Some(o.bool("rotate", false)?),
                },
            },
            "jwt_verify" => Action::JwtVerify,
            "current_user" => Action::CurrentUser,
            "update_user" => Action::UpdateUser,
            "delete_user" => Action::DeleteUser,
            "logout" => Action::Logout {
                revoke: match o.str("revoke", "presented")? {
                    "presented" => Revoke::Presented,
                    "presented_or_sessions" => Revoke::PresentedOrSessions,
                    "auth_tokens" => Revoke::AuthTokens,
                    "all" => Revoke::All,
                    other => return Err(format!("option revoke: unknown value {other:?}")),
                },
            },
            "token_refresh" => Action::TokenRefresh,
            "password_reset_request" => Action::PasswordResetRequest { unknown_email: o.unknown_email()? },
            "password_reset_confirm" => Action::PasswordResetConfirm {
                validate_password: o.bool("validate_password", false)?,
                revoke_tokens: o.bool("revoke_tokens", false)?,
                password_before_token: o.bool("password_before_token", false)?,
            },
            "email_verify_request" => Action::EmailVerifyRequest { unknown_email: o.unknown_email()? },
            "email_verify_confirm" => Action::EmailVerifyConfirm,
            other => return Err(format!("unknown action {other:?} (known: {})", ACTION_NAMES.join(", "))),
        };
        o.finish()?;
        Ok(action)
    }

    /// Logical inputs the action reads: (name, required). The route must declare
    /// each required one (or, for `login`, one of the identifier names).
    pub fn inputs(&self) -> &'static [(&'static str, bool)] {
        match self {
            Action::Login { .. } => &[("password", true)],
            Action::Register { .. } => {
                &[("username", false), ("email", false), ("password", true), ("re_password", false)]
            }
            Action::JwtRefresh { .. } => &[("refresh", true)],
            Action::JwtVerify => &[("token", true)],
            Action::UpdateUser => &[("email", false), ("username", false)],
            Action::DeleteUser => &[("current_password", true)],
            Action::PasswordResetRequest { .. } | Action::EmailVerifyRequest { .. } => &[("email", true)],
            Action::PasswordResetConfirm { .. } => {
                &[("token", true), ("uid", false), ("new_password", true), ("re_new_password", false)]
            }
            Action::EmailVerifyConfirm => &[("token", true)],
            Action::CurrentUser | Action::LoginAuthenticated { .. } | Action::Logout { .. } | Action::TokenRefresh => {
                &[]
            }
        }
    }

    /// Whether the action needs an authenticated caller.
    pub fn needs_principal(&self) -> bool {
        matches!(
            self,
            Action::CurrentUser
                | Action::LoginAuthenticated { .. }
                | Action::UpdateUser
                | Action::DeleteUser
                | Action::Logout { .. }
                | Action::TokenRefresh
        )
    }

    /// Template variables the action provides on success.
    pub fn outputs(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let user = ["user.id", "user.id_str", "user.username", "user.email", "user.uid", "user.email_verified"];
        let issue = match self {
            Action::Login { issue, .. } | Action::LoginAuthenticated { issue } | Action::Register { issue, .. } => {
                Some(*issue)
            }
            _ => None,
        };
        if issue.is_some() || self.needs_principal() {
            out.extend(user);
        }
        match issue {
            Some(Issue::JwtPair) => out.extend(["access", "refresh"]),
            Some(Issue::AuthToken | Issue::Session) => out.push("token"),
            _ => {}
        }
        match self {
            Action::JwtRefresh { .. } => out.extend(["access", "refresh"]),
            Action::TokenRefresh => out.push("token"),
            _ => {}
        }
        out
    }

    /// The mail template the action sends, if any.
    pub fn mail(&self) -> Option<&'static str> {
        match self {
            Action::PasswordResetRequest { .. } => Some("password_reset"),
            Action::EmailVerifyRequest { .. } => Some("email_verification"),
            _ => None,
        }
    }
}

/// Variables every template may use, whatever the action.
pub const ALWAYS: &[&str] = &["base_url", "dialect"];

/// Variables of mail templates. `site` is the request's host (with port) and
/// `origin` is `scheme://site`: Djoser's links sit at the site root, not under the mount.
pub const MAIL_VARS: &[&str] =
    &["token", "uid", "email", "user.username", "user.id", "base_url", "origin", "site", "dialect"];

/// Who the caller is, once an authenticator accepted it.
#[derive(Clone)]
pub struct Principal {
    pub user: User,
    /// The opaque token it presented (None for JWTs and passwords).
    pub opaque_token: Option<Secret>,
}

/// What an action gets to work with.
pub struct Call<'a> {
    pub engine: &'a Engine,
    /// Validated inputs by logical name; absent optional inputs are missing.
    pub inputs: &'a BTreeMap<String, String>,
    /// Wire names of the inputs, for field errors.
    pub fields: &'a BTreeMap<String, String>,
    pub principal: Option<&'a Principal>,
    pub dialect: &'a crate::dialect::Dialect,
    /// `scheme://host` plus the mount prefix, for links in mails.
    pub base_url: &'a str,
}

/// Django's `urlsafe_base64_encode(force_bytes(pk))`: base64url without padding.
pub fn uid_of(id: u64) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id.to_string())
}

pub fn user_vars(user: &User, vars: &mut Map<String, Value>) {
    vars.insert("user.id".into(), Value::from(user.id));
    vars.insert("user.id_str".into(), Value::from(user.id.to_string()));
    vars.insert("user.username".into(), Value::from(user.username.clone()));
    vars.insert("user.email".into(), Value::from(user.email.clone()));
    vars.insert("user.uid".into(), Value::from(uid_of(user.id)));
    vars.insert("user.email_verified".into(), Value::from(user.email_verified));
}

#[cfg(test)]
mod tests;
