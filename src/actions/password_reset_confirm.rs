//! `password_reset_confirm`: sets a new password with a mailed one-time token
//! (and, where the dialect sends one, the uid it was mailed with).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{bind_optional, decode_uid, fail, one, BoundMail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::audit::{Detail, Event};
use crate::engine::EngineError;
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// Django's four password validators on the new password.
    #[serde(default)]
    validate_password: bool,
    /// End every opaque token of the user once the password changed.
    #[serde(default)]
    revoke_tokens: bool,
    /// Djoser validates the new password before it reads uid and token, and
    /// without the user (so no similarity rule): a weak password wins over a bad token.
    #[serde(default)]
    password_before_token: bool,
    /// Djoser's `PASSWORD_CHANGED_EMAIL_CONFIRMATION`: mail `password_changed_confirmation`.
    #[serde(default)]
    confirmation_mail: bool,
    #[serde(skip)]
    mail: BoundMail,
}

const CONFIRMATION: &str = "password_changed_confirmation";

const INPUTS: &[Input] = &[
    Input::required("token"),
    Input::optional("uid"),
    Input::required("new_password"),
    Input::optional("re_new_password"),
];

#[async_trait]
impl Action for PasswordResetConfirm {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = vec![vec![Failure::field(ErrorKey::OneTimeInvalid, wire.name("token"))]];
        if wire.has("uid") {
            out.push(vec![Failure::field(ErrorKey::UidInvalid, wire.name("uid"))]);
        }
        out
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = bind_optional(ctx, self.confirmation_mail, CONFIRMATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        if self.password_before_token {
            // Djoser's retype serializer validates the passwords before uid and token.
            if self.validate_password {
                let problems = call.password_failures("new_password", "", "");
                if !problems.is_empty() {
                    return Err(problems);
                }
            }
            call.check_retype("new_password", "re_new_password")?;
        }
        let expected = match call.get("uid") {
            None => None,
            Some(uid) => {
                Some(decode_uid(uid).ok_or_else(|| one(Failure::field(ErrorKey::UidInvalid, call.wire("uid"))))?)
            }
        };
        if let Some(id) = expected {
            if call.engine.find_user(id).await.map_err(fail)?.is_none() {
                return Err(one(Failure::field(ErrorKey::UidInvalid, call.wire("uid"))));
            }
        }
        let token = call.get("token").unwrap_or_default();
        // A token spent by another request, or a password another redeemed token
        // changed first (the compare-and-set below), is an invalid token.
        let token_failure = |e: EngineError| match e {
            EngineError::OneTimeInvalid | EngineError::Changed => {
                one(Failure::field(ErrorKey::OneTimeInvalid, call.wire("token")))
            }
            other => fail(other),
        };
        let user = call.engine.check_one_time(Purpose::PasswordReset, token, expected).await.map_err(token_failure)?;
        if self.validate_password && !self.password_before_token {
            let problems = call.password_failures("new_password", &user.username, &user.email);
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        call.check_retype("new_password", "re_new_password")?;
        // Spend the token only now; a concurrent confirm with it loses here. The
        // password changes only if it is still the one the token was issued
        // under: of concurrent confirms with different tokens, exactly one wins.
        let user =
            call.engine.redeem_one_time(Purpose::PasswordReset, token, expected).await.map_err(token_failure)?;
        call.engine.replace_password(&user, &call.secret("new_password")).await.map_err(token_failure)?;
        call.audit(Event::PasswordReset, user.id, Detail::default());
        if self.revoke_tokens {
            let n = call.engine.revoke_all_tokens(&user, None).await.map_err(fail)?;
            call.audit(Event::TokensRevoked, user.id, Detail { count: Some(n), kind: Some("opaque"), ..Detail::default() });
        }
        if let Some(template) = &self.mail {
            call.notify(&user, CONFIRMATION, template).await?;
        }
        Ok(Map::new())
    }
}
