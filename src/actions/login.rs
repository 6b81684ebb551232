//! `login`: a password login by username, email or either; hands out what `issue` names.

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{fail, Issue};
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::{EngineError, IdentifyBy};
use crate::template::vars;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[serde(default = "by_username")]
    identify_by: IdentifyBy,
    #[serde(default)]
    issue: Issue,
    /// Record `last_login` (Django's `user_logged_in`; SimpleJWT's views only with `UPDATE_LAST_LOGIN`).
    #[serde(default = "yes")]
    update_last_login: bool,
}

fn yes() -> bool {
    true
}

fn by_username() -> IdentifyBy {
    IdentifyBy::Username
}

/// The names a route may give the login identifier.
const IDENTIFIERS: &[&str] = &["login", "username", "email"];

const INPUTS: &[Input] = &[
    Input::required("password"),
    Input::optional("login"),
    Input::optional("username"),
    Input::optional("email"),
];

#[async_trait]
impl Action for Login {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn one_of(&self) -> &'static [&'static str] {
        IDENTIFIERS
    }

    fn outputs(&self) -> Vec<&'static str> {
        self.issue.outputs()
    }

    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        vec![
            vec![Failure::new(ErrorKey::InvalidCredentials)],
            vec![Failure::new(ErrorKey::LoginLocked).with(vars::RETRY_AFTER, "300")],
        ]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let login = IDENTIFIERS.iter().find_map(|k| call.get(k)).unwrap_or_default();
        let verdict = call
            .engine
            .authenticate_with(self.identify_by, login, &call.secret("password"), self.update_last_login, call.source)
            .await;
        // Only a verdict on the credentials counts; store faults show in the store metrics.
        if matches!(verdict, Ok(_) | Err(EngineError::InvalidCredentials)) {
            call.engine.metrics().login(call.dialect, verdict.is_ok());
        }
        let user = verdict.map_err(fail)?;
        let mut out = call.outputs();
        call.issue(self.issue, &user, &mut out).await?;
        Ok(out)
    }
}
