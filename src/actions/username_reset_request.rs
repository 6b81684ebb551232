//! `username_reset_request`: Djoser's `users/reset_username/`: mails the
//! active user with that address a `username_reset` link (uid and one-time
//! token); 204 whether or not the address is known, unless `unknown_email`.

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{bound, BoundMail, UnknownEmail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsernameResetRequest {
    #[serde(default)]
    unknown_email: UnknownEmail,
    #[serde(skip)]
    mail: BoundMail,
}

const KIND: &str = "username_reset";

const INPUTS: &[Input] = &[
    Input::required("email"),
];

#[async_trait]
impl Action for UsernameResetRequest {
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
        call.request_mail(Purpose::UsernameReset, self.unknown_email, KIND, bound(&self.mail)?).await
    }
}
