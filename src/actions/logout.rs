//! `logout`: ends the presented token, or more, as `revoke` says.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Map;

use super::common::{fail, one};
use super::{Action, Call, ErrorKey, Failure, Input, Outcome, Wire};
use crate::audit::{Detail, Event};
use crate::store::TokenKind;

/// Which tokens a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revoke {
    /// The token the caller presented; every token when it presented a password.
    #[default]
    Presented,
    /// The token the caller presented; every session token (not other dialects'
    /// auth tokens) when it presented a password.
    PresentedOrSessions,
    /// Every auth token of the user (Djoser deletes `user.auth_token`).
    AuthTokens,
    All,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logout {
    #[serde(default)]
    revoke: Revoke,
}

#[async_trait]
impl Action for Logout {
    fn inputs(&self) -> &'static [Input] {
        &[]
    }

    fn needs_principal(&self) -> bool {
        true
    }

    fn failures(&self, _wire: &Wire) -> Vec<Vec<Failure>> {
        vec![vec![Failure::new(ErrorKey::OpaqueTokenInvalid)]]
    }

    async fn run(&self, call: &Call<'_>) -> Outcome {
        let principal = call.principal.ok_or_else(|| one(Failure::new(ErrorKey::NotAuthenticated)))?;
        let (user, engine) = (&principal.user, call.engine);
        let (count, kind) = match (self.revoke, &principal.opaque_key) {
            (Revoke::Presented | Revoke::PresentedOrSessions, Some(key)) => {
                if !engine.revoke_token_key(key, user).await.map_err(fail)? {
                    return Err(one(Failure::new(ErrorKey::OpaqueTokenInvalid)));
                }
                (1, "presented")
            }
            (Revoke::PresentedOrSessions, None) => {
                (engine.revoke_all_tokens(user, Some(TokenKind::Session)).await.map_err(fail)?, "session")
            }
            (Revoke::AuthTokens, _) => {
                (engine.revoke_all_tokens(user, Some(TokenKind::AuthToken)).await.map_err(fail)?, "authtoken")
            }
            (Revoke::Presented | Revoke::All, _) => (engine.revoke_all_tokens(user, None).await.map_err(fail)?, "opaque"),
        };
        call.audit(Event::TokensRevoked, user.id, Detail { count: Some(count), kind: Some(kind), ..Detail::default() });
        Ok(Map::new())
    }
}
