//! `update_user`: changes the writable profile fields (the email) of the
//! caller, or with an `id` input of the user it names (itself, or anyone for
//! staff). With `activation` (Djoser's `SEND_ACTIVATION_EMAIL`) a changed email
//! deactivates the account, and an inactive account is sent the `activation`
//! mail again.

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{bind_optional, fail, one, Access, BoundMail};
use super::{user_vars, Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::{EngineError, UserUpdate};
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    /// Another user's id answers "not found" rather than "forbidden" (non-staff callers).
    #[serde(default = "yes")]
    hide_users: bool,
    #[serde(default)]
    activation: bool,
    #[serde(skip)]
    mail: BoundMail,
}

fn yes() -> bool {
    true
}

const ACTIVATION: &str = "activation";

const INPUTS: &[Input] = &[
    Input::optional("email"),
    Input::optional("username"),
    Input::optional("id"),
];

#[async_trait]
impl Action for UpdateUser {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = Vec::new();
        if wire.has("email") {
            out.push(vec![Failure::field(ErrorKey::EmailTaken, wire.name("email"))]);
        }
        if wire.has("id") {
            out.push(vec![Failure::new(ErrorKey::ObjectNotFound)]);
            out.push(vec![Failure::new(if self.hide_users { ErrorKey::ObjectHidden } else { ErrorKey::PermissionDenied })]);
        }
        out
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = bind_optional(ctx, self.activation, ACTIVATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let current = call.target_user(self.hide_users, Access::Write).await?.into_owned();
        let email = call.get("email").map(str::trim).filter(|e| *e != current.email);
        let user = match email {
            None => current,
            Some(email) => {
                // Only the email is written (and, under activation, the account
                // waits for the new address to be confirmed); its uniqueness is
                // decided by the store, atomically.
                let update = UserUpdate {
                    email: Some(email.to_owned()),
                    is_active: self.activation.then_some(false),
                    ..UserUpdate::default()
                };
                call.engine.update_user(current.id, update).await.map_err(|e| match e {
                    EngineError::EmailTaken => one(Failure::field(ErrorKey::EmailTaken, call.wire("email"))),
                    other => fail(other),
                })?
            }
        };
        if let Some(template) = self.mail.as_deref().filter(|_| !user.is_active && !user.email.is_empty()) {
            call.issue_and_send(&user, Purpose::Activation, ACTIVATION, template).await?;
        }
        let mut out = call.outputs();
        user_vars(&user, &mut out, call.used);
        Ok(out)
    }
}
