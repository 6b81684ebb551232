//! `set_password`: Djoser's `users/set_password/`: the caller changes its
//! password, proving the current one. With `re_new_password` declared
//! (`SET_PASSWORD_RETYPE`) both must match; `confirmation_mail`
//! (`PASSWORD_CHANGED_EMAIL_CONFIRMATION`) sends `password_changed_confirmation`;
//! `logout` (`LOGOUT_ON_PASSWORD_CHANGE`) ends the user's auth tokens.
//! Reset links issued before die with the old password.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{bind_optional, fail, one, BoundMail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::audit::{Detail, Event};
use crate::store::TokenKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// Django's four password validators on the new password.
    #[serde(default)]
    validate_password: bool,
    #[serde(default)]
    confirmation_mail: bool,
    #[serde(default)]
    logout: bool,
    #[serde(skip)]
    mail: BoundMail,
}

const CONFIRMATION: &str = "password_changed_confirmation";

const INPUTS: &[Input] = &[
    Input::required("new_password"),
    Input::optional("re_new_password"),
    Input::required("current_password"),
];

#[async_trait]
impl Action for SetPassword {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = vec![vec![Failure::field(ErrorKey::CurrentPasswordInvalid, wire.name("current_password"))]];
        if self.validate_password {
            out.push(vec![Failure::field(ErrorKey::PasswordTooCommon, wire.name("new_password"))]);
        }
        if wire.has("re_new_password") {
            out.push(vec![Failure::new(ErrorKey::PasswordMismatch)]);
        }
        out
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = bind_optional(ctx, self.confirmation_mail, CONFIRMATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let user = call.principal_user()?;
        // Field validation (the current password) before the serializer's validate().
        if !call.engine.check_password(user, &call.secret("current_password"), call.source).await.map_err(fail)? {
            return Err(one(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password"))));
        }
        if self.validate_password {
            let problems = call.password_failures("new_password", &user.username, &user.email);
            if !problems.is_empty() {
                return Err(problems);
            }
        }
        call.check_retype("new_password", "re_new_password")?;
        let user = call.engine.set_password(user, &call.secret("new_password")).await.map_err(fail)?;
        call.audit(Event::PasswordChanged, user.id, Detail::default());
        if let Some(template) = &self.mail {
            call.notify(&user, CONFIRMATION, template).await?;
        }
        if self.logout {
            let n = call.engine.revoke_all_tokens(&user, Some(TokenKind::AuthToken)).await.map_err(fail)?;
            call.audit(Event::TokensRevoked, user.id, Detail { count: Some(n), kind: Some("authtoken"), ..Detail::default() });
        }
        Ok(Map::new())
    }
}
