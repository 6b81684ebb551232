//! The recipes behind each action.

use serde_json::{Map, Value};

use super::{engine_failure, uid_of, user_vars, Action, Call, Failure, Issue, Revoke, UnknownEmail};
use crate::engine::validators::{self, PasswordProblem};
use crate::engine::{now, outbox::Mail, EngineError, IdentifyBy, User};
use crate::secret::Secret;
use crate::store::{Purpose, TokenKind};

type Outcome = Result<Map<String, Value>, Vec<Failure>>;

fn one(f: Failure) -> Vec<Failure> {
    vec![f]
}

fn fail(e: EngineError) -> Vec<Failure> {
    one(engine_failure(e))
}

impl Call<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.inputs.get(name).map(String::as_str)
    }

    fn secret(&self, name: &str) -> Secret {
        Secret::new(self.get(name).unwrap_or_default())
    }

    fn wire(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_else(|| name.to_owned())
    }

    fn principal_user(&self) -> Result<&User, Vec<Failure>> {
        self.principal.map(|p| &p.user).ok_or_else(|| one(Failure::new("not_authenticated")))
    }

    async fn issue(&self, issue: Issue, user: &User, vars: &mut Map<String, Value>) -> Result<(), Vec<Failure>> {
        user_vars(user, vars);
        match issue {
            Issue::Nothing => {}
            Issue::JwtPair => {
                let (access, refresh) = self.engine.issue_jwt_pair(user).map_err(fail)?;
                vars.insert("access".into(), access.into());
                vars.insert("refresh".into(), refresh.into());
            }
            Issue::AuthToken => {
                let token = self.engine.login_auth_token(user).await.map_err(fail)?;
                vars.insert("token".into(), token.into());
            }
            Issue::Session => {
                let token = self.engine.issue_session(user).await.map_err(fail)?;
                vars.insert("token".into(), token.into());
            }
        }
        Ok(())
    }

    fn password_failures(&self, input: &str, username: &str, email: &str) -> Vec<Failure> {
        let field = self.wire(input);
        validators::check(self.get(input).unwrap_or_default(), username, email)
            .into_iter()
            .map(|p| match p {
                PasswordProblem::TooSimilar(attr) => {
                    Failure::field("password_too_similar", &field).with("attribute", attr)
                }
                PasswordProblem::TooShort => {
                    Failure::field("password_too_short", &field).with("min_length", validators::MIN_LENGTH.to_string())
                }
                PasswordProblem::TooCommon => Failure::field("password_too_common", &field),
                PasswordProblem::EntirelyNumeric => Failure::field("password_entirely_numeric", &field),
            })
            .collect()
    }

    async fn send(&self, user: &User, purpose: Purpose, template: &str) -> Result<(), Vec<Failure>> {
        let token = self.engine.issue_one_time(user, purpose).await.map_err(fail)?;
        let mut vars = Map::new();
        vars.insert("token".into(), token.clone().into());
        vars.insert("uid".into(), uid_of(user.id).into());
        vars.insert("email".into(), user.email.clone().into());
        vars.insert("user.username".into(), user.username.clone().into());
        vars.insert("user.id".into(), user.id.into());
        vars.insert("base_url".into(), self.base_url.into());
        let (origin, site) = origin_and_site(self.base_url);
        vars.insert("origin".into(), origin.into());
        vars.insert("site".into(), site.into());
        vars.insert("dialect".into(), self.dialect.name.clone().into());
        let spec = self.dialect.mail.get(template).ok_or_else(|| one(Failure::new("internal")))?;
        self.engine.send_mail(Mail {
            to: vec![user.email.clone()],
            subject: crate::dialect::template::render_str(&spec.subject, &vars),
            body: crate::dialect::template::render_str(&spec.body, &vars),
            token,
            uid: (purpose == Purpose::PasswordReset).then(|| uid_of(user.id)),
            purpose: template.to_owned(),
            dialect: self.dialect.name.clone(),
            sent_at: now(),
        });
        Ok(())
    }

    async fn request_mail(&self, purpose: Purpose, unknown: UnknownEmail, template: &str) -> Outcome {
        let email = self.get("email").unwrap_or_default();
        let user = self.engine.find_user_by(IdentifyBy::Email, email).await.map_err(fail)?;
        match user.filter(|u| u.is_active) {
            Some(user) => self.send(&user, purpose, template).await?,
            None if unknown == UnknownEmail::Error => {
                return Err(one(Failure::field("unknown_email", self.wire("email"))))
            }
            None => {}
        }
        Ok(Map::new())
    }
}

/// Runs an action against the engine.
pub async fn run(action: &Action, call: &Call<'_>) -> Outcome {
    let mut vars = Map::new();
    match action {
        Action::Login { identify_by, issue } => {
            let login = ["login", "username", "email"].iter().find_map(|k| call.get(k)).unwrap_or_default();
            let verdict = call.engine.authenticate(*identify_by, login, &call.secret("password")).await;
            // Only a verdict on the credentials counts; store faults show in the store metrics.
            if matches!(verdict, Ok(_) | Err(EngineError::InvalidCredentials)) {
                call.engine.metrics().login(&call.dialect.name, verdict.is_ok());
            }
            let user = verdict.map_err(fail)?;
            call.issue(*issue, &user, &mut vars).await?;
        }
        Action::LoginAuthenticated { issue } => {
            let user = call.principal_user()?.clone();
            call.issue(*issue, &user, &mut vars).await?;
        }
        Action::Register { issue, validate_password, username_from_email, email_taken_last } => {
            // Normalised (as Django's create_user) before a username is derived from it.
            let email = crate::store::normalize_email(call.get("email").unwrap_or_default());
            let username = match call.get("username") {
                Some(u) => u.to_owned(),
                None if *username_from_email => email.clone(),
                None => String::new(),
            };
            if username.is_empty() {
                return Err(one(Failure::field("field_required", call.wire("username"))));
            }
            // Uniqueness first, as DRF's field validators run before `validate()`.
            let mut taken = Vec::new();
            if call.inputs.contains_key("username") && call.engine.username_taken(&username).await.map_err(fail)? {
                taken.push(Failure::field("username_taken", call.wire("username")));
            }
            // A username derived from the email is the email: a clash on it is an email clash.
            let email_clash =
                (!email.is_empty() && !*email_taken_last && call.engine.email_taken(&email).await.map_err(fail)?)
                    || (!call.inputs.contains_key("username")
                        && call.engine.username_taken(&username).await.map_err(fail)?);
            if email_clash {
                taken.push(Failure::field("email_taken", call.wire("email")));
            }
            if !taken.is_empty() {
                return Err(taken);
            }
            if *validate_password {
                let problems = call.password_failures("password", &username, &email);
                if !problems.is_empty() {
                    return Err(problems);
                }
            }
            if let Some(again) = call.get("re_password") {
                if !crate::engine::tokens::ct_eq(again, call.get("password").unwrap_or_default()) {
                    return Err(one(Failure::new("password_mismatch")));
                }
            }
            let user = call.engine.create_user(&username, &email, &call.secret("password")).await.map_err(|e| {
                // A concurrent registration won the race: same answer as the pre-check.
                match e {
                    EngineError::UsernameTaken if !call.inputs.contains_key("username") => {
                        one(Failure::field("email_taken", call.wire("email")))
                    }
                    EngineError::UsernameTaken => one(Failure::field("username_taken", call.wire("username"))),
                    EngineError::EmailTaken => one(Failure::field("email_taken", call.wire("email"))),
                    other => fail(other),
                }
            })?;
            call.issue(*issue, &user, &mut vars).await?;
        }
        Action::JwtRefresh { rotate } => {
            let rotate = rotate.unwrap_or(call.dialect.rotate_refresh);
            let (access, refresh) =
                call.engine.refresh_jwt(call.get("refresh").unwrap_or_default(), rotate).await.map_err(fail)?;
            vars.insert("access".into(), access.into());
            vars.insert("refresh".into(), refresh.map(Value::from).unwrap_or(Value::Null));
        }
        Action::JwtVerify => {
            call.engine.verify_jwt(call.get("token").unwrap_or_default()).await.map_err(fail)?;
        }
        Action::CurrentUser => user_vars(call.principal_user()?, &mut vars),
        Action::UpdateUser => {
            let current = call.principal_user()?;
            let mut user = current.clone();
            if let Some(email) = call.get("email") {
                user.email = email.trim().to_owned();
            }
            if user != *current {
                if crate::store::email_key(&user.email) != crate::store::email_key(&current.email)
                    && !user.email.is_empty()
                    && call.engine.email_taken(&user.email).await.map_err(fail)?
                {
                    return Err(one(Failure::field("email_taken", call.wire("email"))));
                }
                call.engine.save_user(current, &user).await.map_err(fail)?;
            }
            user_vars(&user, &mut vars);
        }
        Action::DeleteUser => {
            let user = call.principal_user()?;
            if !call.engine.check_password(user, &call.secret("current_password")).await.map_err(fail)? {
                return Err(one(Failure::field("current_password_invalid", call.wire("current_password"))));
            }
            call.engine.delete_user(user).await.map_err(fail)?;
        }
        Action::Logout { revoke } => {
            let principal = call.principal.ok_or_else(|| one(Failure::new("not_authenticated")))?;
            let user = &principal.user;
            match (revoke, &principal.opaque_token) {
                (Revoke::Presented | Revoke::PresentedOrSessions, Some(token)) => {
                    if !call.engine.revoke_opaque_token(token.expose(), user).await.map_err(fail)? {
                        return Err(one(Failure::new("opaque_token_invalid")));
                    }
                }
                (Revoke::PresentedOrSessions, None) => {
                    call.engine.revoke_all_tokens(user, Some(TokenKind::Session)).await.map_err(fail)?;
                }
                (Revoke::AuthTokens, _) => {
                    call.engine.revoke_all_tokens(user, Some(TokenKind::AuthToken)).await.map_err(fail)?;
                }
                (Revoke::Presented | Revoke::All, _) => {
                    call.engine.revoke_all_tokens(user, None).await.map_err(fail)?;
                }
            }
        }
        Action::TokenRefresh => {
            let principal = call.principal.ok_or_else(|| one(Failure::new("not_authenticated")))?;
            let old = principal.opaque_token.as_ref().ok_or_else(|| one(Failure::new("opaque_token_invalid")))?;
            let token = call.engine.rotate_auth_token(&principal.user, old.expose()).await.map_err(fail)?;
            user_vars(&principal.user, &mut vars);
            vars.insert("token".into(), token.into());
        }
        Action::PasswordResetRequest { unknown_email } => {
            return call.request_mail(Purpose::PasswordReset, *unknown_email, "password_reset").await;
        }
        Action::PasswordResetConfirm { validate_password, revoke_tokens, password_before_token } => {
            if *validate_password && *password_before_token {
                let problems = call.password_failures("new_password", "", "");
                if !problems.is_empty() {
                    return Err(problems);
                }
            }
            let expected = match call.get("uid") {
                None => None,
                Some(uid) => Some(decode_uid(uid).ok_or_else(|| one(Failure::field("uid_invalid", call.wire("uid"))))?),
            };
            if let Some(id) = expected {
                if call.engine.find_user(id).await.map_err(fail)?.is_none() {
                    return Err(one(Failure::field("uid_invalid", call.wire("uid"))));
                }
            }
            let token = call.get("token").unwrap_or_default();
            let token_failure = || one(Failure::field("one_time_invalid", call.wire("token")));
            let user =
                call.engine.check_one_time(Purpose::PasswordReset, token, expected).await.map_err(|e| match e {
                    EngineError::OneTimeInvalid => token_failure(),
                    other => fail(other),
                })?;
            if *validate_password && !*password_before_token {
                let problems = call.password_failures("new_password", &user.username, &user.email);
                if !problems.is_empty() {
                    return Err(problems);
                }
            }
            if let Some(again) = call.get("re_new_password") {
                if !crate::engine::tokens::ct_eq(again, call.get("new_password").unwrap_or_default()) {
                    return Err(one(Failure::new("password_mismatch")));
                }
            }
            // Spend the token only now; a concurrent confirm with it loses here.
            let user =
                call.engine.redeem_one_time(Purpose::PasswordReset, token, expected).await.map_err(|e| match e {
                    EngineError::OneTimeInvalid => token_failure(),
                    other => fail(other),
                })?;
            call.engine.set_password(&user, &call.secret("new_password")).await.map_err(fail)?;
            if *revoke_tokens {
                call.engine.revoke_all_tokens(&user, None).await.map_err(fail)?;
            }
        }
        Action::EmailVerifyRequest { unknown_email } => {
            return call.request_mail(Purpose::EmailVerification, *unknown_email, "email_verification").await;
        }
        Action::EmailVerifyConfirm => {
            let token = call.get("token").unwrap_or_default();
            let user =
                call.engine.redeem_one_time(Purpose::EmailVerification, token, None).await.map_err(|e| match e {
                    EngineError::OneTimeInvalid => one(Failure::field("one_time_invalid", call.wire("token"))),
                    other => fail(other),
                })?;
            let mut verified = user.clone();
            verified.email_verified = true;
            call.engine.save_user(&user, &verified).await.map_err(fail)?;
        }
    }
    vars.insert("base_url".into(), call.base_url.into());
    vars.insert("dialect".into(), call.dialect.name.clone().into());
    Ok(vars)
}

/// `scheme://host[:port]` and `host[:port]` of a base URL (`scheme://host[:port]/prefix`).
fn origin_and_site(base_url: &str) -> (&str, &str) {
    let after_scheme = base_url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = base_url[after_scheme..].find('/').map(|i| after_scheme + i).unwrap_or(base_url.len());
    (&base_url[..end], &base_url[after_scheme..end])
}

fn decode_uid(uid: &str) -> Option<u64> {
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
