//! `password_reset_request`: mails a one-time reset token (template `password_reset`).

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{bound, BoundMail, UnknownEmail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[serde(default)]
    unknown_email: UnknownEmail,
    #[serde(skip)]
    mail: BoundMail,
}

const KIND: &str = "password_reset";

const INPUTS: &[Input] = &[
    Input::required("email"),
];

#[async_trait]
impl Action for PasswordResetRequest {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        match self.unknown_email {
            UnknownEmail::Error => vec![vec![Failure::field(ErrorKey::UnknownEmail, wire.name("email"))]],
            UnknownEmail::Ignore => Vec::new(),
        }
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = Some(ctx.mail(KIND)?);
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        call.request_mail(Purpose::PasswordReset, self.unknown_email, KIND, bound(&self.mail)?).await
    }
}
