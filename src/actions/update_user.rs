//! `update_user`: changes the caller's writable profile fields (the email).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one};
use super::{user_vars, Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::{EngineError, UserUpdate};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {}

const INPUTS: &[Input] = &[
    Input::optional("email"),
    Input::optional("username"),
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
        if wire.has("email") {
            vec![vec![Failure::field(ErrorKey::EmailTaken, wire.name("email"))]]
        } else {
            Vec::new()
        }
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let current = call.principal_user()?;
        let mut out = Map::new();
        let email = call.get("email").map(str::trim).filter(|e| *e != current.email);
        let Some(email) = email else {
            user_vars(current, &mut out);
            return Ok(out);
        };
        // Only the email is written; its uniqueness is decided by the store, atomically.
        let update = UserUpdate { email: Some(email.to_owned()), ..UserUpdate::default() };
        let user = call.engine.update_user(current.id, update).await.map_err(|e| match e {
            EngineError::EmailTaken => one(Failure::field(ErrorKey::EmailTaken, call.wire("email"))),
            other => fail(other),
        })?;
        user_vars(&user, &mut out);
        Ok(out)
    }
}
