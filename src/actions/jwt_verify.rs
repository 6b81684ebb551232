//! `jwt_verify`: SimpleJWT's TokenVerifyView: signature, expiry and blacklist, any token type.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::fail;
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtVerify {}

const INPUTS: &[Input] = &[
    Input::required("token"),
];

#[async_trait]
impl Action for JwtVerify {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        vec![vec![Failure::new(ErrorKey::TokenInvalid)], vec![Failure::new(ErrorKey::TokenBlacklisted)]]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        call.engine.verify_jwt_with(call.get("token").unwrap_or_default(), call.jwt).await.map_err(fail)?;
        Ok(Map::new())
    }
}
