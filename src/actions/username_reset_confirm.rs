//! `username_reset_confirm`: Djoser's `users/reset_username_confirm/`: the
//! mailed uid and token set a new username (single use). With
//! `re_new_username` declared (`USERNAME_RESET_CONFIRM_RETYPE`) both must
//! match; `confirmation_mail` sends `username_changed_confirmation`.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{bind_optional, fail, one, BoundMail};
use super::set_username::{rename, CONFIRMATION};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::IdentifyBy;
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsernameResetConfirm {
    #[serde(default)]
    confirmation_mail: bool,
    #[serde(skip)]
    mail: BoundMail,
}

const INPUTS: &[Input] = &[
    Input::required("uid"),
    Input::required("token"),
    Input::required("new_username"),
    Input::optional("re_new_username"),
];

#[async_trait]
impl Action for UsernameResetConfirm {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        let mut out = vec![
            vec![Failure::field(ErrorKey::UsernameTaken, wire.name("new_username"))],
            vec![Failure::field(ErrorKey::UidInvalid, wire.name("uid"))],
            vec![Failure::field(ErrorKey::OneTimeInvalid, wire.name("token"))],
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
        let new = call.get("new_username").unwrap_or_default();
        // The username's uniqueness is a field validator: it runs before
        // validate(), which checks the retype and then uid and token.
        if call.engine.find_user_by(IdentifyBy::Username, new).await.map_err(fail)?.is_some() {
            return Err(one(Failure::field(ErrorKey::UsernameTaken, call.wire("new_username"))));
        }
        if call.get("re_new_username").is_some_and(|again| again != new) {
            return Err(one(Failure::new(ErrorKey::UsernameMismatch)));
        }
        let user = call.uid_and_token(Purpose::UsernameReset).await?;
        let token = call.get("token").unwrap_or_default();
        let user = call
            .engine
            .redeem_one_time(Purpose::UsernameReset, token, Some(user.id))
            .await
            .map_err(|e| call.token_failure(e))?;
        let user = rename(call, user.id, new).await?;
        if let Some(template) = &self.mail {
            call.notify(&user, CONFIRMATION, template).await?;
        }
        Ok(Map::new())
    }
}
