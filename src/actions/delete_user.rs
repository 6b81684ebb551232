//! `delete_user`: deletes the caller's account after checking its current password.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one};
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::EngineError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteUser {}

const INPUTS: &[Input] = &[
    Input::required("current_password"),
];

#[async_trait]
impl Action for DeleteUser {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        vec![vec![Failure::field(ErrorKey::CurrentPasswordInvalid, wire.name("current_password"))]]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let user = call.principal_user()?;
        if !call.engine.check_password(user, &call.secret("current_password")).await.map_err(fail)? {
            return Err(one(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password"))));
        }
        // A password a reset replaced since the check above no longer authorises it.
        call.engine.delete_user(user).await.map_err(|e| match e {
            EngineError::Changed => one(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password"))),
            other => fail(other),
        })?;
        Ok(Map::new())
    }
}
