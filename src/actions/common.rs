//! What several actions share: reading inputs, issuing what a login hands
//! out, Django's password validators as failures, sending a mail.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{engine_failure, uid_of, user_vars, Call, ErrorKey, Failure};
use crate::engine::validators::{self, PasswordProblem};
use crate::engine::{mailq::Letter, EngineError, User};
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

/// For a request naming an email nobody has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownEmail {
    /// Succeed without sending anything (no account enumeration).
    #[default]
    Ignore,
    Error,
}

impl Call<'_> {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).map(String::as_str)
    }

    pub(super) fn secret(&self, name: &str) -> Secret {
        Secret::new(self.get(name).unwrap_or_default())
    }

    pub(super) fn wire(&self, name: &str) -> String {
        self.wire.name(name)
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
        user_vars(user, out);
        // `Changed`: the password this caller proved was replaced meanwhile.
        let fail = |e: EngineError| match e {
            EngineError::Changed => one(Failure::new(ErrorKey::InvalidCredentials)),
            other => fail(other),
        };
        match issue {
            Issue::Nothing => {}
            Issue::JwtPair => {
                let (access, refresh) = self.engine.issue_jwt_pair(user).map_err(fail)?;
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

    /// Mails an issued one-time token for `purpose` with `template`.
    pub(super) async fn send(
        &self,
        user: &User,
        token: String,
        purpose: Purpose,
        kind: &str,
        template: &MailTemplate,
    ) -> Result<(), Vec<Failure>> {
        let mut v = Map::new();
        v.insert(vars::TOKEN.into(), token.clone().into());
        v.insert(vars::UID.into(), uid_of(user.id).into());
        v.insert(vars::EMAIL.into(), user.email.clone().into());
        v.insert(vars::USER_USERNAME.into(), user.username.clone().into());
        v.insert(vars::USER_ID.into(), user.id.into());
        v.insert(vars::DIALECT.into(), self.dialect.into());
        site_vars(self.base_url, self.origin, self.site, &mut v);
        let rendered = template.render(&mut v);
        let letter = Letter {
            to: user.email.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            token,
            uid: (purpose == Purpose::PasswordReset).then(|| uid_of(user.id)),
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
