//! What several actions share: reading inputs, issuing what a login hands
//! out, Django's password validators as failures, sending a mail.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{engine_failure, uid_of, user_vars, Call, ErrorKey, Failure};
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

    /// Issues a one-time token for `purpose` and mails it with `template`.
    pub(super) async fn send(
        &self,
        user: &User,
        purpose: Purpose,
        kind: &str,
        template: &MailTemplate,
    ) -> Result<(), Vec<Failure>> {
        let token = self.engine.issue_one_time(user, purpose).await.map_err(fail)?;
        let mut v = Map::new();
        v.insert(vars::TOKEN.into(), token.clone().into());
        v.insert(vars::UID.into(), uid_of(user.id).into());
        v.insert(vars::EMAIL.into(), user.email.clone().into());
        v.insert(vars::USER_USERNAME.into(), user.username.clone().into());
        v.insert(vars::USER_ID.into(), user.id.into());
        v.insert(vars::DIALECT.into(), self.dialect.into());
        site_vars(self.base_url, &mut v);
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
        let user = self.engine.find_user_by(IdentifyBy::Email, email).await.map_err(fail)?;
        match user.filter(|u| u.is_active) {
            Some(user) => self.send(&user, purpose, kind, template).await?,
            None if unknown == UnknownEmail::Error => {
                return Err(one(Failure::field(ErrorKey::UnknownEmail, self.wire("email"))))
            }
            None => {}
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

/// Where a mail's links point, from the base URL (`scheme://host[:port]/prefix`):
/// `base_url`, `origin` and `site`, and Djoser's `protocol`, `domain` and
/// `site_name` (Django's `RequestSite`: domain and name are both the host).
pub(super) fn site_vars(base_url: &str, v: &mut Map<String, Value>) {
    let (origin, site) = origin_and_site(base_url);
    let protocol = origin.split_once("://").map(|(p, _)| p).unwrap_or("http");
    v.insert(vars::BASE_URL.into(), base_url.into());
    v.insert(vars::ORIGIN.into(), origin.into());
    v.insert(vars::SITE.into(), site.into());
    v.insert(vars::PROTOCOL.into(), protocol.into());
    v.insert(vars::DOMAIN.into(), site.into());
    v.insert(vars::SITE_NAME.into(), site.into());
}

/// `scheme://host[:port]` and `host[:port]` of a base URL (`scheme://host[:port]/prefix`).
pub(super) fn origin_and_site(base_url: &str) -> (&str, &str) {
    let after_scheme = base_url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = base_url[after_scheme..].find('/').map(|i| after_scheme + i).unwrap_or(base_url.len());
    (&base_url[..end], &base_url[after_scheme..end])
}

/// Django's `urlsafe_base64_decode` of a uid, as an id.
pub(super) fn decode_uid(uid: &str) -> Option<u64> {
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, uid.trim_end_matches('=')).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{decode_uid, origin_and_site};

    #[test]
    fn base_url_parts() {
        assert_eq!(origin_and_site("http://127.0.0.1:8000/djoser"), ("http://127.0.0.1:8000", "127.0.0.1:8000"));
        assert_eq!(origin_and_site("https://example.com"), ("https://example.com", "example.com"));
    }

    #[test]
    fn uids() {
        assert_eq!(decode_uid("MzU"), Some(35));
        assert_eq!(decode_uid("zzz"), None);
        assert_eq!(decode_uid(""), None);
    }
}
