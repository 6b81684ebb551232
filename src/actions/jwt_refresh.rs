//! `jwt_refresh`: SimpleJWT's TokenRefreshView: a new access token, and with
//! rotation a new refresh token while the used one is blacklisted.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;

use super::common::fail;
use super::{Action, BindContext, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::engine::Rotation;
use crate::template::vars;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtRefresh {
    /// Absent: the dialect's `rotate_refresh`.
    rotate: Option<bool>,
    /// With rotation, blacklist the used token. Absent: the dialect's `blacklist_after_rotation`.
    blacklist: Option<bool>,
    #[serde(skip)]
    rotation: Rotation,
}

const INPUTS: &[Input] = &[
    Input::required("refresh"),
];

#[async_trait]
impl Action for JwtRefresh {
    fn inputs(&self) -> &'static [Input] {
        INPUTS
    }

    fn outputs(&self) -> Vec<&'static str> {
        vec![vars::ACCESS, vars::REFRESH]
    }

    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        [ErrorKey::TokenInvalid, ErrorKey::TokenExpired, ErrorKey::TokenWrongType, ErrorKey::TokenBlacklisted]
            .into_iter()
            .map(|k| vec![Failure::new(k)])
            .collect()
    }

    fn bind(&mut self, ctx: &BindContext<'_>) -> Result<(), String> {
        self.rotation = Rotation {
            rotate: self.rotate.unwrap_or(ctx.rotation.rotate),
            blacklist: self.blacklist.unwrap_or(ctx.rotation.blacklist),
        };
        Ok(())
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let refresh = call.get("refresh").unwrap_or_default();
        let (access, refresh) = call.engine.refresh_jwt_with(refresh, call.jwt, self.rotation).await.map_err(fail)?;
        let mut out = call.outputs();
        out.insert(vars::ACCESS.into(), access.into());
        out.insert(vars::REFRESH.into(), refresh.map(Value::from).unwrap_or(Value::Null));
        Ok(out)
    }
}
