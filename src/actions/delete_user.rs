//! `delete_user`: deletes the caller's account, or with an `id` input the
//! account it names (itself, or anyone for staff), after checking the
//! caller's current password.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one, Access};
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::audit::{Detail, Event};
use crate::engine::EngineError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteUser {}

const INPUTS: &[Input] = &[
    Input::optional("current_password"),
    Input::optional("id"),
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
        let mut out = vec![vec![Failure::field(ErrorKey::CurrentPasswordInvalid, wire.name("current_password"))]];
        if wire.has("id") {
            out.push(vec![Failure::new(ErrorKey::ObjectNotFound)]);
            out.push(vec![Failure::new(ErrorKey::PermissionDenied)]);
        }
        out
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        // Djoser finds the object before it validates the body.
        let target = call.target_user(true, Access::Delete).await?;
        let password = call.required("current_password")?;
        let me = call.principal_user()?;
        if !call.engine.check_password(me, &crate::secret::Secret::new(password), call.source).await.map_err(fail)? {
            return Err(one(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password"))));
        }
        // A password a reset replaced since the check above no longer authorises it.
        let deleted = call.engine.delete_user(&target).await.map_err(|e| match e {
            EngineError::Changed => one(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password"))),
            other => fail(other),
        })?;
        if deleted {
            call.audit(Event::AccountDeleted, target.id, Detail::default());
        }
        Ok(Map::new())
    }
}
