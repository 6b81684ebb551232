//! `email_verify_request`: mails a one-time email-verification token (template `email_verification`).

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{bound, BoundMail, UnknownEmail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailVerifyRequest {
    #[serde(default)]
    unknown_email: UnknownEmail,
    #[serde(skip)]
    mail: BoundMail,
}

const KIND: &str = "email_verification";

const INPUTS: &[Input] = &[
    Input::required("email"),
];

#[async_trait]
impl Action for EmailVerifyRequest {
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
        call.request_mail(Purpose::EmailVerification, self.unknown_email, KIND, bound(&self.mail)?).await
    }
}
