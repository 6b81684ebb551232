//! `current_user`: the authenticated caller's profile.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::{user_vars, Action, Call, Input, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentUser {}

#[async_trait]
impl Action for CurrentUser {
    fn inputs(&self) -> &'static [Input] {
        &[]
    }

    fn needs_principal(&self) -> bool {
        true
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let mut out = Map::new();
        user_vars(call.principal_user()?, &mut out);
        Ok(out)
    }
}
