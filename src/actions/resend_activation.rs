//! `resend_activation`: Djoser's `users/resend_activation/`: mails the
//! `activation` link again to an inactive user. While activation is off
//! (`enabled` false, `SEND_ACTIVATION_EMAIL`) a valid request is refused with
//! a bare 400, as Djoser does.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{bind_optional, one, BoundMail, UnknownEmail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendActivation {
    #[serde(default)]
    enabled: bool,
    #[serde(default)]
    unknown_email: UnknownEmail,
    #[serde(skip)]
    mail: BoundMail,
}

const ACTIVATION: &str = "activation";

const INPUTS: &[Input] = &[
    Input::required("email"),
];

#[async_trait]
impl Action for ResendActivation {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = Vec::new();
        if self.unknown_email == UnknownEmail::Error {
            out.push(vec![Failure::field(ErrorKey::UnknownEmail, wire.name("email"))]);
        }
        if !self.enabled {
            out.push(vec![Failure::new(ErrorKey::ActivationDisabled)]);
        }
        out
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = bind_optional(ctx, self.enabled, ACTIVATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        // Djoser looks the user up (and may refuse an unknown address) first.
        let user = call.user_by_email(false, self.unknown_email).await?;
        let Some(template) = &self.mail else {
            return Err(one(Failure::new(ErrorKey::ActivationDisabled)));
        };
        if let Some(user) = user {
            call.issue_and_send(&user, Purpose::Activation, ACTIVATION, template).await?;
        }
        Ok(Map::new())
    }
}
