//! `email_verify_confirm`: redeems a mailed verification token and marks the email verified.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one};
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::{EngineError, UserUpdate};
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailVerifyConfirm {}

const INPUTS: &[Input] = &[
    Input::required("token"),
];

#[async_trait]
impl Action for EmailVerifyConfirm {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        vec![vec![Failure::field(ErrorKey::OneTimeInvalid, wire.name("token"))]]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let token = call.get("token").unwrap_or_default();
        let user = call.engine.redeem_one_time(Purpose::EmailVerification, token, None).await.map_err(|e| match e {
            EngineError::OneTimeInvalid => one(Failure::field(ErrorKey::OneTimeInvalid, call.wire("token"))),
            other => fail(other),
        })?;
        let update = UserUpdate { email_verified: Some(true), ..UserUpdate::default() };
        call.engine.update_user(user.id, update).await.map_err(fail)?;
        Ok(Map::new())
    }
}
