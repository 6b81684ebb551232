//! `jwt_blacklist`: SimpleJWT's TokenBlacklistView, the logout of JWT clients:
//! the refresh token is blacklisted until it expires (access tokens already
//! issued live on, as in SimpleJWT).

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::fail;
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtBlacklist {}

const INPUTS: &[Input] = &[
    Input::required("refresh"),
];

#[async_trait]
impl Action for JwtBlacklist {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        [ErrorKey::TokenInvalid, ErrorKey::TokenExpired, ErrorKey::TokenWrongType, ErrorKey::TokenBlacklisted]
            .into_iter()
            .map(|k| vec![Failure::new(k)])
            .collect()
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        call.engine.blacklist_jwt(call.get("refresh").unwrap_or_default(), call.jwt).await.map_err(fail)?;
        Ok(Map::new())
    }
}
