//! What several actions share: reading inputs, issuing what a login hands
//! out, Django's password validators as failures, sending a mail.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{engine_failure, uid_of, user_vars, Call, ErrorKey, Failure};
use crate::audit::{self, Detail, Event};
use crate::engine::validators::{self, PasswordProblem};
use crate::engine::{mailq::Letter, EngineError, IdentifyBy, User};
use crate::secret::Secret;
use crate::store::Purpose;
use crate::template::{vars, MailTemplate};

pub(super) fn one(f: Failure) -> Vec<Failure> {
    vec![f]
}

pub(super) fn fail(e: EngineError) -> Vec<Failure> {
    one(engine_failure(e))
}

/// What a successful login or registration hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issue {
    #[default]
    Nothing,
    /// `{access}` and `{refresh}`.
    JwtPair,
    /// `{token}`: the user's DRF-style auth token.
    AuthToken,
    /// `{token}`: a new session token.
    Session,
}

impl Issue {
    /// The variables a login that issues this provides.
    pub fn outputs(self) -> Vec<&'static str> {
        let mut out = vars::USER.to_vec();
        match self {
            Issue::JwtPair => out.extend([vars::ACCESS, vars::REFRESH]),
            Issue::AuthToken | Issue::Session => out.push(vars::TOKEN),
            Issue::Nothing => {}
        }
        out
    }
}

/// For a request naming an email nobody has. Read from `"ignore"`/`"error"`,
/// or from booleans (true: error), or a list of booleans (error when any is
/// true: Djoser fails on either of its two `*_SHOW_EMAIL_NOT_FOUND` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownEmail {
    /// Succeed without sending anything (no account enumeration).
    #[default]
    Ignore,
    Error,
}

impl<'de> Deserialize<'de> for UnknownEmail {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Name(String),
            Flag(bool),
            Flags(Vec<bool>),
        }
        let error = match Given::deserialize(d)? {
            Given::Name(n) if n == "ignore" => false,
            Given::Name(n) if n == "error" => true,
            Given::Name(n) => {
                return Err(serde::de::Error::custom(format!("unknown_email: {n:?} is not ignore or error")))
            }
            Given::Flag(b) => b,
            Given::Flags(v) => v.into_iter().any(|b| b),
        };
        Ok(if error { UnknownEmail::Error } else { UnknownEmail::Ignore })
    }
}

impl Call<'_> {
    /// An action's output variables, sized for what the route's answer uses:
    /// a map sized for every variable would be over glibc's small-block size
    /// and cost each request a consolidation of the allocator's free lists.
    pub(super) fn outputs(&self) -> Map<String, Value> {
        Map::with_capacity(self.used.map_or(12, <[String]>::len))
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.inputs.get(name)
    }

    pub(super) fn secret(&self, name: &str) -> Secret {
        Secret::new(self.get(name).unwrap_or_default())
    }

    pub(super) fn wire(&self, name: &str) -> String {
        self.wire.name(name)
    }

    /// Records an audit event with the request's origin.
    pub(super) fn audit(&self, event: Event, user_id: u64, detail: Detail) {
        audit::record(self.source, event, Some(user_id), detail);
    }

    pub(super) fn principal_user(&self) -> Result<&User, Vec<Failure>> {
        self.principal.map(|p| &p.user).ok_or_else(|| one(Failure::new(ErrorKey::NotAuthenticated)))
    }

    /// Fills the user's variables and hands out what `issue` names.
    pub(super) async fn issue(
        &self,
        issue: Issue,
        user: &User,
        out: &mut Map<String, Value>,
    ) -> Result<(), Vec<Failure>> {
        user_vars(user, out, self.used);
        // `Changed`: the password this caller proved was replaced meanwhile.
        let fail = |e: EngineError| match e {
            EngineError::Changed => one(Failure::new(ErrorKey::InvalidCredentials)),
            other => fail(other),
        };
        match issue {
            Issue::Nothing => {}
            Issue::JwtPair => {
                let (access, refresh) = self.engine.issue_jwt_pair_with(user, self.jwt).map_err(fail)?;
                out.insert(vars::ACCESS.into(), access.into());
                out.insert(vars::REFRESH.into(), refresh.into());
            }
            Issue::AuthToken => {
                let token = self.engine.login_auth_token(user).await.map_err(fail)?;
                out.insert(vars::TOKEN.into(), token.into());
            }
            Issue::Session => {
                let token = self.engine.issue_session(user).await.map_err(fail)?;
                out.insert(vars::TOKEN.into(), token.into());
            }
        }
        Ok(())
    }

    /// Django's password validators on an input, as field failures.
    pub(super) fn password_failures(&self, input: &str, username: &str, email: &str) -> Vec<Failure> {
        let field = self.wire(input);
        validators::check(self.get(input).unwrap_or_default(), username, email)
            .into_iter()
            .map(|p| match p {
                PasswordProblem::TooSimilar(attr) => {
                    Failure::field(ErrorKey::PasswordTooSimilar, &field).with(vars::ATTRIBUTE, attr)
                }
                PasswordProblem::TooShort => Failure::field(ErrorKey::PasswordTooShort, &field)
                    .with(vars::MIN_LENGTH, validators::MIN_LENGTH.to_string()),
                PasswordProblem::TooCommon => Failure::field(ErrorKey::PasswordTooCommon, &field),
                PasswordProblem::EntirelyNumeric => Failure::field(ErrorKey::PasswordEntirelyNumeric, &field),
            })
            .collect()
    }

    /// A retyped value must equal the first, compared in constant time.
    pub(super) fn check_retype(&self, first: &str, again: &str) -> Result<(), Vec<Failure>> {
        match self.get(again) {
            Some(a) if !crate::engine::crypto::ct_eq(a, self.get(first).unwrap_or_default()) => {
                Err(one(Failure::new(ErrorKey::PasswordMismatch)))
            }
            _ => Ok(()),
        }
    }

    /// Issues a one-time token for `purpose` and mails it with `template`.
    pub(super) async fn issue_and_send(
        &self,
        user: &User,
        purpose: Purpose,
        kind: &str,
        template: &MailTemplate,
    ) -> Result<(), Vec<Failure>> {
        let token = self.engine.issue_one_time(user, purpose).await.map_err(fail)?;
        self.send(user, token, purpose, kind, template).await
    }

    /// Mails an issued one-time token for `purpose` with `template`.
    pub(super) async fn send(
        &self,
        user: &User,
        token: String,
        purpose: Purpose,
        kind: &str,
        template: &MailTemplate,
    ) -> Result<(), Vec<Failure>> {
        // Djoser's links carry the uid; the other dialects' one-time links do not.
        let uid = (purpose != Purpose::EmailVerification).then(|| uid_of(user.id));
        self.mail(user, kind, template, token, uid).await
    }

    /// Mails a notice without a token (Djoser's confirmations).
    pub(super) async fn notify(&self, user: &User, kind: &str, template: &MailTemplate) -> Result<(), Vec<Failure>> {
        self.mail(user, kind, template, String::new(), None).await
    }

    async fn mail(
        &self,
        user: &User,
        kind: &str,
        template: &MailTemplate,
        token: String,
        uid: Option<String>,
    ) -> Result<(), Vec<Failure>> {
        let mut v = Map::new();
        v.insert(vars::TOKEN.into(), token.clone().into());
        v.insert(vars::UID.into(), uid_of(user.id).into());
        v.insert(vars::EMAIL.into(), user.email.clone().into());
        v.insert(vars::USER_USERNAME.into(), user.username.clone().into());
        v.insert(vars::USER_ID.into(), user.id.into());
        v.insert(vars::DIALECT.into(), self.dialect.into());
        site_vars(self.links.base_url(), self.links.origin(), self.links.site(), &mut v);
        let rendered = template.render(&mut v);
        let letter = Letter {
            to: user.email.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            token,
            uid,
            kind: kind.to_owned(),
            dialect: self.dialect.to_owned(),
        };
        self.engine.send_mail(letter).await.map_err(fail)
    }

    /// Mails a one-time token to the active user with the `email` input.
    pub(super) async fn request_mail(
        &self,
        purpose: Purpose,
        unknown: UnknownEmail,
        kind: &str,
        template: &MailTemplate,
    ) -> super::Outcome {
        let email = self.get("email").unwrap_or_default();
        // Known or not, the same store work: the timing tells nothing.
        let issued = self.engine.issue_one_time_for_email(purpose, email).await.map_err(fail)?;
        match issued {
            Some((user, token)) => self.send(&user, token, purpose, kind, template).await?,
            None if unknown == UnknownEmail::Error => {
                return Err(one(Failure::field(ErrorKey::UnknownEmail, self.wire("email"))))
            }
            // A queued mail costs a store round trip: so does its absence.
            None => self.engine.mail_decoy().await.map_err(fail)?,
        }
        Ok(Map::new())
    }

    /// The user with the `email` input that is active (or, with `active`
    /// false, waiting for activation); with `UnknownEmail::Error`, none is a failure.
    pub(super) async fn user_by_email(
        &self,
        active: bool,
        unknown: UnknownEmail,
    ) -> Result<Option<User>, Vec<Failure>> {
        let email = self.get("email").unwrap_or_default();
        let user = self.engine.find_user_by(IdentifyBy::Email, email).await.map_err(fail)?;
        match user.filter(|u| u.is_active == active) {
            Some(user) => Ok(Some(user)),
            None if unknown == UnknownEmail::Error => {
                Err(one(Failure::field(ErrorKey::UnknownEmail, self.wire("email"))))
            }
            None => Ok(None),
        }
    }

    /// The user a mailed uid and token name (Djoser's `UidAndTokenSerializer`):
    /// a bad uid fails on `uid`, a bad token on `token`. The token is not spent.
    pub(super) async fn uid_and_token(&self, purpose: Purpose) -> Result<User, Vec<Failure>> {
        let uid_failure = || one(Failure::field(ErrorKey::UidInvalid, self.wire("uid")));
        let id = decode_uid(self.get("uid").unwrap_or_default()).ok_or_else(uid_failure)?;
        if self.engine.find_user(id).await.map_err(fail)?.is_none() {
            return Err(uid_failure());
        }
        let token = self.get("token").unwrap_or_default();
        self.engine.check_one_time(purpose, token, Some(id)).await.map_err(|e| self.token_failure(e))
    }

    /// A token spent by another request, or outdated by a change another request
    /// made first (a lost compare-and-set), is an invalid token.
    pub(super) fn token_failure(&self, e: EngineError) -> Vec<Failure> {
        match e {
            EngineError::OneTimeInvalid | EngineError::Changed => {
                one(Failure::field(ErrorKey::OneTimeInvalid, self.wire("token")))
            }
            other => fail(other),
        }
    }

    /// The caller, or with an `id` input the user it names, as Djoser's viewset
    /// finds it: an id that is no number, or another user under `HIDE_USERS`
    /// (except for deletion), is "not found"; another user otherwise is
    /// forbidden, unless the caller is staff. The caller is borrowed: the
    /// common case copies nothing.
    pub(super) async fn target_user(&self, hide_users: bool, access: Access) -> Result<Cow<'_, User>, Vec<Failure>> {
        let me = self.principal_user()?;
        let Some(raw) = self.get("id") else {
            return Ok(Cow::Borrowed(me));
        };
        let id: u64 = raw.parse().map_err(|_| one(Failure::new(ErrorKey::ObjectHidden)))?;
        let user = self
            .engine
            .find_user(id)
            .await
            .map_err(fail)?
            .ok_or_else(|| one(Failure::new(ErrorKey::ObjectNotFound)))?;
        if user.id == me.id || me.is_staff {
            return Ok(Cow::Owned(user));
        }
        Err(one(Failure::new(if hide_users && access != Access::Delete {
            ErrorKey::ObjectHidden
        } else {
            ErrorKey::PermissionDenied
        })))
    }

    /// A required input the route leaves optional so that the object is found
    /// first (DRF's `get_object` runs before the serializer): absent or blank fails here.
    pub(super) fn required(&self, input: &str) -> Result<&str, Vec<Failure>> {
        match self.get(input) {
            None => Err(one(Failure::field(ErrorKey::FieldRequired, self.wire(input)))),
            Some("") => Err(one(Failure::field(ErrorKey::FieldBlank, self.wire(input)))),
            Some(v) => Ok(v),
        }
    }
}

/// What a request does to a user named by id (Djoser hides others from all but deletion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
    Delete,
}

/// A mail an option turns on: its template, bound at load when the option is set.
pub(super) fn bind_optional(ctx: &super::BindContext<'_>, on: bool, purpose: &str) -> Result<BoundMail, String> {
    if on {
        ctx.mail(purpose).map(Some)
    } else {
        Ok(None)
    }
}

/// A mail template an action holds once the dialect bound it.
pub(super) type BoundMail = Option<Arc<MailTemplate>>;

/// The bound template; `bind` guarantees it is there before any request runs.
pub(super) fn bound(mail: &BoundMail) -> Result<&MailTemplate, Vec<Failure>> {
    mail.as_deref().ok_or_else(|| one(Failure::new(ErrorKey::Internal)))
}

/// Where a mail's links point: `base_url` (with the mount's prefix), `origin`
/// (`{protocol}://{domain}`) and `site`, as `http::hosts` settled them, and
/// the same in Djoser's names: `protocol`, `domain`, `site_name`.
pub(super) fn site_vars(base_url: &str, origin: &str, site: &str, v: &mut Map<String, Value>) {
    let (protocol, domain) = origin.split_once("://").unwrap_or(("http", origin));
    v.insert(vars::BASE_URL.into(), base_url.into());
    v.insert(vars::ORIGIN.into(), origin.into());
    v.insert(vars::SITE.into(), site.into());
    v.insert(vars::PROTOCOL.into(), protocol.into());
    v.insert(vars::DOMAIN.into(), domain.into());
    v.insert(vars::SITE_NAME.into(), site.into());
}

/// Django's `urlsafe_base64_decode` of a uid, as an id.
pub(super) fn decode_uid(uid: &str) -> Option<u64> {
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, uid.trim_end_matches('=')).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::decode_uid;

    #[test]
    fn uids() {
        assert_eq!(decode_uid("MzU"), Some(35));
        assert_eq!(decode_uid("zzz"), None);
        assert_eq!(decode_uid(""), None);
    }
}
