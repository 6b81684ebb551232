//! `update_user`: changes the caller's writable profile fields (the email).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one};
use super::{user_vars, Action, Call, ErrorKey, Failure, Input, Outcome, Wire};

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
        let mut user = current.clone();
        if let Some(email) = call.get("email") {
            user.email = email.trim().to_owned();
        }
        if user != *current {
            if crate::store::email_key(&user.email) != crate::store::email_key(&current.email)
                && !user.email.is_empty()
                && call.engine.email_taken(&user.email).await.map_err(fail)?
            {
                return Err(one(Failure::field(ErrorKey::EmailTaken, call.wire("email"))));
            }
            call.engine.save_user(current, &user).await.map_err(fail)?;
        }
        let mut out = Map::new();
        user_vars(&user, &mut out);
        Ok(out)
    }
}
