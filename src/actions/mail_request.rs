//! The shape of every action that mails a one-time token to the owner of the
//! `email` input (reset, verification, …): one implementation, each action a
//! purpose marker naming what the token is for and which template it mails.

use std::fmt::Debug;
use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{bound, BoundMail, UnknownEmail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::store::Purpose;

/// What a mailed token is for, and the `[mail.<kind>]` template it goes out with.
pub trait MailPurpose: Debug + Send + Sync + 'static {
    const PURPOSE: Purpose;
    const KIND: &'static str;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound = "")]
pub struct MailRequest<P: MailPurpose> {
    #[serde(default)]
    unknown_email: UnknownEmail,
    #[serde(skip)]
    mail: BoundMail,
    #[serde(skip)]
    purpose: PhantomData<P>,
}

const INPUTS: &[Input] = &[Input::required("email")];

#[async_trait]
impl<P: MailPurpose> Action for MailRequest<P> {
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
        self.mail = Some(ctx.mail(P::KIND)?);
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        call.request_mail(P::PURPOSE, self.unknown_email, P::KIND, bound(&self.mail)?).await
    }
}
