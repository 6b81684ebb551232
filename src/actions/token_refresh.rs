//! `token_refresh`: replaces the presented auth token with a new one; the old dies at once.

use async_trait::async_trait;
use serde::Deserialize;

use super::common::{fail, one};
use super::{user_vars, Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::EngineError;
use crate::template::vars;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRefresh {}

#[async_trait]
impl Action for TokenRefresh {
    fn inputs(&self) -> &'static [Input] {
        &[]
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn outputs(&self) -> Vec<&'static str> {
        let mut out = vars::USER.to_vec();
        out.push(vars::TOKEN);
        out
    }

    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        vec![vec![Failure::new(ErrorKey::OpaqueTokenInvalid)]]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let principal = call.principal.ok_or_else(|| one(Failure::new(ErrorKey::NotAuthenticated)))?;
        let old = principal.opaque_key.as_ref().ok_or_else(|| one(Failure::new(ErrorKey::OpaqueTokenInvalid)))?;
        let token = call.engine.rotate_auth_token_key(&principal.user, old).await.map_err(|e| match e {
            // The token's password was replaced (and its tokens ended) meanwhile.
            EngineError::Changed => one(Failure::new(ErrorKey::OpaqueTokenInvalid)),
            other => fail(other),
        })?;
        let mut out = call.outputs();
        user_vars(&principal.user, &mut out, call.used);
        out.insert(vars::TOKEN.into(), token.into());
        Ok(out)
    }
}
