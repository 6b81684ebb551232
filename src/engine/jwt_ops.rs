//! JWT operations of the engine: issue a pair, refresh (with rotation and
//! blacklist), verify, blacklist, and the user behind an access token. Each
//! takes the mount's `JwtPolicy`. The codec itself (HS256 pinned,
//! PyJWT-identical bytes) is `jwt`.

use super::jwt::JwtPolicy;
use super::*;

/// What a refresh does besides issuing an access token (SimpleJWT's
/// `ROTATE_REFRESH_TOKENS` and `BLACKLIST_AFTER_ROTATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotation {
    /// A new refresh token comes back too.
    pub rotate: bool,
    /// The used refresh token is blacklisted (with `rotate` only).
    pub blacklist: bool,
}

impl Engine {
    /// `issue_jwt_pair_with` under the engine's `[jwt]` settings alone.
    pub fn issue_jwt_pair(&self, user: &User) -> Result<(String, String), EngineError> {
        self.issue_jwt_pair_with(user, &self.inner.default_jwt)
    }

    /// `refresh_jwt_with` under the engine's `[jwt]` settings; rotation blacklists.
    pub async fn refresh_jwt(&self, refresh: &str, rotate: bool) -> Result<(String, Option<String>), EngineError> {
        self.refresh_jwt_with(refresh, &self.inner.default_jwt, Rotation { rotate, blacklist: true }).await
    }

    /// `verify_jwt_with` under the engine's `[jwt]` settings.
    pub async fn verify_jwt(&self, token: &str) -> Result<(), EngineError> {
        self.verify_jwt_with(token, &self.inner.default_jwt).await
    }

    /// `user_for_access_token_with` under the engine's `[jwt]` settings.
    pub async fn user_for_access_token(&self, token: &str) -> Result<User, EngineError> {
        self.user_for_access_token_with(token, &self.inner.default_jwt).await
    }

    /// The password-hash claim of a user, for policies that check revocation.
    fn revoke_claim(&self, p: &JwtPolicy, user: &User) -> Option<String> {
        p.checks_revocation().then(|| crypto::md5_upper_hex(&user.password_hash))
    }

    /// (access, refresh) for a user.
    pub fn issue_jwt_pair_with(&self, user: &User, p: &JwtPolicy) -> Result<(String, String), EngineError> {
        let n = now();
        let revoke = self.revoke_claim(p, user);
        let refresh = self.inner.jwt.issue(p, user.id, TokenType::Refresh, n, revoke.as_deref())?;
        let access = self.inner.jwt.issue(p, user.id, TokenType::Access, n, revoke.as_deref())?;
        self.inner.metrics.token_issued("refresh");
        self.inner.metrics.token_issued("access");
        Ok((access, refresh))
    }

    /// A new access token for a refresh token; with rotation, also a new refresh
    /// token, and (with `blacklist`) the used one is blacklisted (a replay gets
    /// `Blacklisted`). The new tokens keep the refresh token's revocation claim,
    /// as SimpleJWT copies claims: a password change is noticed when the access
    /// token is used, not here.
    pub async fn refresh_jwt_with(
        &self,
        refresh: &str,
        p: &JwtPolicy,
        rotation: Rotation,
    ) -> Result<(String, Option<String>), EngineError> {
        let claims = self.inner.jwt.decode(p, refresh, Some(TokenType::Refresh))?;
        let jti = claims.jti.clone().unwrap_or_default();
        if self.inner.hot.is_jti_blacklisted(&jti).await? {
            return Err(TokenError::Blacklisted.into());
        }
        let user = self.active_user(claims.user_id()?).await?;
        revoked_for(&user, claims.iat)?;
        let n = now();
        let revoke = claims.revoke.as_deref();
        let access = self.inner.jwt.issue(p, user.id, TokenType::Access, n, revoke)?;
        self.inner.metrics.token_issued("access");
        if !rotation.rotate {
            return Ok((access, None));
        }
        // SET NX decides the race: of two concurrent refreshes with one token, one wins.
        if rotation.blacklist {
            if !self.inner.store.blacklist_jti(&jti, claims.remaining(n)).await? {
                return Err(TokenError::Blacklisted.into());
            }
            self.inner.metrics.tokens_revoked("refresh", 1);
        }
        let refresh = self.inner.jwt.issue(p, user.id, TokenType::Refresh, n, revoke)?;
        self.inner.metrics.token_issued("refresh");
        Ok((access, Some(refresh)))
    }

    /// SimpleJWT's verify: any token type, signature, expiry, blacklist.
    pub async fn verify_jwt_with(&self, token: &str, p: &JwtPolicy) -> Result<(), EngineError> {
        let claims = self.inner.jwt.decode(p, token, None)?;
        if self.inner.hot.is_jti_blacklisted(claims.jti.as_deref().unwrap_or_default()).await? {
            return Err(TokenError::Blacklisted.into());
        }
        Ok(())
    }

    /// SimpleJWT's TokenBlacklistView: a valid refresh token is blacklisted
    /// until it expires; one already blacklisted is refused as such.
    pub async fn blacklist_jwt(&self, refresh: &str, p: &JwtPolicy) -> Result<(), EngineError> {
        let claims = self.inner.jwt.decode(p, refresh, Some(TokenType::Refresh))?;
        let jti = claims.jti.clone().unwrap_or_default();
        if !self.inner.store.blacklist_jti(&jti, claims.remaining(now())).await? {
            return Err(TokenError::Blacklisted.into());
        }
        self.inner.metrics.tokens_revoked("refresh", 1);
        Ok(())
    }

    /// The user behind an access token (JWTAuthentication): it must exist and be
    /// active, not revoked by an operator, and under `CHECK_REVOKE_TOKEN` its
    /// password must be the one the token was issued under.
    pub async fn user_for_access_token_with(&self, token: &str, p: &JwtPolicy) -> Result<User, EngineError> {
        let claims = self.inner.jwt.decode(p, token, Some(TokenType::Access))?;
        let user = self.active_user(claims.user_id()?).await?;
        revoked_for(&user, claims.iat)?;
        if let Some(expected) = self.revoke_claim(p, &user) {
            if !claims.revoke.as_deref().is_some_and(|c| crypto::ct_eq(c, &expected)) {
                return Err(EngineError::PasswordChanged);
            }
        }
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
