//! `set_username`: Djoser's `users/set_username/`: the caller changes its
//! username, proving its password. With `re_new_username` declared
//! (`SET_USERNAME_RETYPE`) both must match; `confirmation_mail`
//! (`USERNAME_CHANGED_EMAIL_CONFIRMATION`) sends `username_changed_confirmation`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{bind_optional, fail, one, BoundMail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::{EngineError, UserUpdate};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetUsername {
    #[serde(default)]
    confirmation_mail: bool,
    #[serde(skip)]
    mail: BoundMail,
}

pub(super) const CONFIRMATION: &str = "username_changed_confirmation";

const INPUTS: &[Input] = &[
    Input::required("current_password"),
    Input::required("new_username"),
    Input::optional("re_new_username"),
];

#[async_trait]
impl Action for SetUsername {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = vec![
            vec![Failure::field(ErrorKey::CurrentPasswordInvalid, wire.name("current_password"))],
            vec![Failure::field(ErrorKey::UsernameTaken, wire.name("new_username"))],
        ];
        if wire.has("re_new_username") {
            out.push(vec![Failure::new(ErrorKey::UsernameMismatch)]);
        }
        out
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = bind_optional(ctx, self.confirmation_mail, CONFIRMATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let user = call.principal_user()?;
        let new = call.get("new_username").unwrap_or_default();
        // Field validators run together, in field order: password, then uniqueness.
        let mut problems = Vec::new();
        if !call.engine.check_password(user, &call.secret("current_password"), call.source).await.map_err(fail)? {
            problems.push(Failure::field(ErrorKey::CurrentPasswordInvalid, call.wire("current_password")));
        }
        if call.engine.find_user_by(crate::engine::IdentifyBy::Username, new).await.map_err(fail)?.is_some_and(|u| u.id != user.id)
        {
            problems.push(Failure::field(ErrorKey::UsernameTaken, call.wire("new_username")));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        if call.get("re_new_username").is_some_and(|again| again != new) {
            return Err(one(Failure::new(ErrorKey::UsernameMismatch)));
        }
        let user = rename(call, user.id, new).await?;
        if let Some(template) = &self.mail {
            call.notify(&user, CONFIRMATION, template).await?;
        }
        Ok(Map::new())
    }
}

/// Writes the new username; a concurrent claim of it is the uniqueness error.
pub(super) async fn rename(call: &Call<'_>, id: u64, new: &str) -> Result<crate::engine::User, Vec<Failure>> {
    let update = UserUpdate { username: Some(new.to_owned()), ..UserUpdate::default() };
    call.engine.update_user(id, update).await.map_err(|e| match e {
        EngineError::UsernameTaken => one(Failure::field(ErrorKey::UsernameTaken, call.wire("new_username"))),
        other => fail(other),
    })
}
