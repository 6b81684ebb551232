//! `delete_user`: deletes the caller's account after checking its current password.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one};
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::audit::{Detail, Event};

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
        if !call.engine.check_password(user, &call.secret("current_password"), call.origin).await.map_err(fail)? {
            return Err(one(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password"))));
        }
        if call.engine.delete_user(user).await.map_err(fail)? {
            call.audit(Event::AccountDeleted, user.id, Detail::default());
        }
        Ok(Map::new())
    }
}
