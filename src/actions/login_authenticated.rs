//! `login_authenticated`: a login whose credentials the route's authenticator
//! already checked (HTTP Basic); hands the caller what `issue` names.

use async_trait::async_trait;
use serde::Deserialize;

use super::common::Issue;
use super::{Action, BindContext, Call, Input, Outcome};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginAuthenticated {
    issue: Issue,
}

#[async_trait]
impl Action for LoginAuthenticated {
    fn inputs(&self) -> &'static [Input] {
        &[]
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn outputs(&self) -> Vec<&'static str> {
        self.issue.outputs()
    }

    fn bind(&mut self, _ctx: &BindContext<'_>) -> Result<(), String> {
        match self.issue {
            Issue::Nothing => Err("needs option issue (jwt_pair|auth_token|session)".into()),
            _ => Ok(()),
        }
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let user = call.principal_user()?.clone();
        let mut out = call.outputs();
        call.issue(self.issue, &user, &mut out).await?;
        Ok(out)
    }
}
