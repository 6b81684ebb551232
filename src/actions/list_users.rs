//! `list_users`: Djoser's user list. Under `hide_users` (`HIDE_USERS`) a
//! caller who is not staff sees only itself; otherwise every user, by id.
//! Provides `users`, each item with the user variables.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::fail;
use super::{user_vars, Action, Call, Input, Outcome};
use crate::template::vars;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListUsers {
    #[serde(default = "yes")]
    hide_users: bool,
}

fn yes() -> bool {
    true
}

#[async_trait]
impl Action for ListUsers {
    fn inputs(&self) -> &'static [Input] {
        &[]
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn outputs(&self) -> Vec<&'static str> {
        vec![vars::USERS]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let me = call.principal_user()?;
        let users = if self.hide_users && !me.is_staff {
            vec![me.clone()]
        } else {
            call.engine.list_users().await.map_err(fail)?
        };
        let items = users
            .iter()
            .map(|u| {
                let mut item = Map::with_capacity(8);
                user_vars(u, &mut item, None);
                Value::Object(item)
            })
            .collect();
        let mut out = Map::new();
        out.insert(vars::USERS.into(), Value::Array(items));
        Ok(out)
    }
}
