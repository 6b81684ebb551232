//! `activate`: Djoser's `users/activation/`: the mailed uid and token make an
//! inactive user active. The token is Django's: it stays valid after use
//! (a second try is a 403 "stale" answer) until the user logs in or changes
//! its password or email. With `confirmation_mail` (`SEND_CONFIRMATION_EMAIL`)
//! the user is sent the `confirmation` notice.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{bind_optional, fail, one, BoundMail};
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::UserUpdate;
use crate::store::Purpose;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    #[serde(default)]
    confirmation_mail: bool,
    #[serde(skip)]
    mail: BoundMail,
}

const CONFIRMATION: &str = "confirmation";

const INPUTS: &[Input] = &[
    Input::required("uid"),
    Input::required("token"),
];

#[async_trait]
impl Action for Activate {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, wire: &Wire) -> Vec<Vec<Failure>> {
        vec![
            vec![Failure::field(ErrorKey::UidInvalid, wire.name("uid"))],
            vec![Failure::field(ErrorKey::OneTimeInvalid, wire.name("token"))],
            vec![Failure::new(ErrorKey::StaleToken)],
        ]
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.mail = bind_optional(ctx, self.confirmation_mail, CONFIRMATION)?;
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let user = call.uid_and_token(Purpose::Activation).await?;
        if user.is_active {
            return Err(one(Failure::new(ErrorKey::StaleToken)));
        }
        let update = UserUpdate { is_active: Some(true), ..UserUpdate::default() };
        let user = call.engine.update_user(user.id, update).await.map_err(fail)?;
        if let Some(template) = &self.mail {
            call.notify(&user, CONFIRMATION, template).await?;
        }
        Ok(Map::new())
    }
}
