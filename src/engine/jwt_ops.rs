//! JWT operations of the engine: issue a pair, refresh (with rotation and
//! blacklist), verify, and the user behind an access token. The codec itself
//! (HS256 pinned, PyJWT-identical bytes) is `jwt`.

use super::*;

impl Engine {
    /// (access, refresh) for a user.
    pub fn issue_jwt_pair(&self, user: &User) -> Result<(String, String), EngineError> {
        let n = now();
        let refresh = self.inner.jwt.issue(user.id, TokenType::Refresh, n)?;
        let access = self.inner.jwt.issue(user.id, TokenType::Access, n)?;
        self.inner.metrics.token_issued("refresh");
        self.inner.metrics.token_issued("access");
        Ok((access, refresh))
    }

    /// A new access token for a refresh token; with `rotate`, also a new refresh
    /// token, and the used one is blacklisted (a replay gets `Blacklisted`).
    pub async fn refresh_jwt(&self, refresh: &str, rotate: bool) -> Result<(String, Option<String>), EngineError> {
        let claims = self.inner.jwt.decode(refresh, Some(TokenType::Refresh))?;
        let jti = claims.jti.clone().unwrap_or_default();
        if self.inner.store.is_jti_blacklisted(&jti).await? {
            return Err(TokenError::Blacklisted.into());
        }
        let user = self.active_user(claims.user_id()?).await?;
        revoked_for(&user, claims.iat)?;
        let n = now();
        let access = self.inner.jwt.issue(user.id, TokenType::Access, n)?;
        self.inner.metrics.token_issued("access");
        if !rotate {
            return Ok((access, None));
        }
        // SET NX decides the race: of two concurrent refreshes with one token, one wins.
        if !self.inner.store.blacklist_jti(&jti, claims.remaining(n)).await? {
            return Err(TokenError::Blacklisted.into());
        }
        self.inner.metrics.tokens_revoked("refresh", 1);
        let refresh = self.inner.jwt.issue(user.id, TokenType::Refresh, n)?;
        self.inner.metrics.token_issued("refresh");
        Ok((access, Some(refresh)))
    }

    /// SimpleJWT's verify: any token type, signature, expiry, blacklist.
    pub async fn verify_jwt(&self, token: &str) -> Result<(), EngineError> {
        let claims = self.inner.jwt.decode(token, None)?;
        if self.inner.store.is_jti_blacklisted(claims.jti.as_deref().unwrap_or_default()).await? {
            return Err(TokenError::Blacklisted.into());
        }
        Ok(())
    }

    /// The user behind an access token (JWTAuthentication).
    pub async fn user_for_access_token(&self, token: &str) -> Result<User, EngineError> {
        let claims = self.inner.jwt.decode(token, Some(TokenType::Access))?;
        let user = self.active_user(claims.user_id()?).await?;
        revoked_for(&user, claims.iat)?;
        Ok(user)
    }
}

/// A JWT issued at or before the user's last "revoke every token" is dead, as
/// if blacklisted (one issued in that same second too: `iat` has whole seconds).
fn revoked_for(user: &User, iat: i64) -> Result<(), EngineError> {
    match user.tokens_revoked_at {
        Some(at) if iat <= at => Err(TokenError::Blacklisted.into()),
        _ => Ok(()),
    }
}
