//! `current_user`: the authenticated caller's profile, or with an `id` input
//! (Djoser's `users/<id>/`) the profile of the user it names, as the caller
//! may see it (`hide_users`: Djoser's `HIDE_USERS`).

use async_trait::async_trait;
use serde::Deserialize;

use super::common::Access;
use super::{user_vars, Action, Call, ErrorKey, Failure, Input, Outcome, Wire};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentUser {
    /// Another user's id answers "not found" rather than "forbidden" (non-staff callers).
    #[serde(default = "yes")]
    hide_users: bool,
}

fn yes() -> bool {
    true
}

const INPUTS: &[Input] = &[
    Input::optional("id"),
];

#[async_trait]
impl Action for CurrentUser {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        if !wire.has("id") {
            return Vec::new();
        }
        let other = if self.hide_users { ErrorKey::ObjectHidden } else { ErrorKey::PermissionDenied };
        vec![vec![Failure::new(ErrorKey::ObjectNotFound)], vec![Failure::new(other)]]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let user = call.target_user(self.hide_users, Access::Read).await?;
        let mut out = call.outputs();
        user_vars(&user, &mut out, call.used);
        Ok(out)
    }
}
