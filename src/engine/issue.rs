//! Token operations of the engine: JWTs (issue, refresh with rotation and
//! blacklist, verify), opaque tokens (DRF-style auth tokens and sessions) and
//! one-time tokens (password reset, email verification).

use super::*;

impl Engine {
    // ---- JWTs ----

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
        self.active_user(claims.user_id()?).await
    }

    // ---- opaque tokens ----

    /// DRF authtoken semantics: one token per user, the same on every login while it lives.
    pub async fn login_auth_token(&self, user: &User) -> Result<String, EngineError> {
        let s = &self.inner.store;
        let seed = tokens::random_hex(20);
        let current = s.claim_slot(user.id, AUTH_TOKEN_SLOT, &seed, self.inner.opaque_ttl).await?;
        let token = tokens::derive_auth_token(&self.inner.derive_key, user.id, &current);
        let digest = tokens::digest(&token);
        if current == seed || s.find_token(&digest).await?.is_none() {
            s.create_token(
                &digest,
                TokenRecord { user_id: user.id, kind: TokenKind::AuthToken },
                self.inner.opaque_ttl,
            )
            .await?;
        }
        self.inner.metrics.token_issued("authtoken");
        Ok(token)
    }

    /// A fresh session token; a user may hold many.
    pub async fn issue_session(&self, user: &User) -> Result<String, EngineError> {
        let token = tokens::random_urlsafe();
        let record = TokenRecord { user_id: user.id, kind: TokenKind::Session };
        self.inner.store.create_token(&tokens::digest(&token), record, self.inner.opaque_ttl).await?;
        self.inner.metrics.token_issued("session");
        Ok(token)
    }

    /// The active user behind an opaque token of the given kind (any kind when None).
    pub async fn user_for_opaque_token(&self, token: &str, kind: Option<TokenKind>) -> Result<User, EngineError> {
        let record = self.inner.store.find_token(&tokens::digest(token)).await?;
        let record = record.filter(|r| kind.is_none_or(|k| k == r.kind)).ok_or(EngineError::OpaqueTokenInvalid)?;
        match self.find_user(record.user_id).await? {
            Some(u) if u.is_active => Ok(u),
            // DRF: "User inactive or deleted."
            _ => Err(EngineError::UserInactive),
        }
    }

    /// Revokes one token. False when it was not live.
    pub async fn revoke_opaque_token(&self, token: &str, user: &User) -> Result<bool, EngineError> {
        let digest = tokens::digest(token);
        let record = self.inner.store.find_token(&digest).await?;
        if record.is_some_and(|r| r.kind == TokenKind::AuthToken) {
            self.inner.store.delete_slot(user.id, AUTH_TOKEN_SLOT).await?;
        }
        let deleted = self.inner.store.delete_token(&digest).await?;
        if let (true, Some(r)) = (deleted, record) {
            self.inner.metrics.tokens_revoked(r.kind.as_str(), 1);
        }
        Ok(deleted)
    }

    /// Ends every opaque token of the user (of one kind, or all).
    pub async fn revoke_all_tokens(&self, user: &User, kind: Option<TokenKind>) -> Result<u64, EngineError> {
        if kind.is_none_or(|k| k == TokenKind::AuthToken) {
            self.inner.store.delete_slot(user.id, AUTH_TOKEN_SLOT).await?;
        }
        let n = self.inner.store.delete_user_tokens(user.id, kind).await?;
        // A bulk revocation of every kind does not say which kinds it ended.
        self.inner.metrics.tokens_revoked(kind.map_or("opaque", TokenKind::as_str), n);
        Ok(n)
    }

    /// Replaces the user's auth token: the old one dies at once.
    pub async fn rotate_auth_token(&self, user: &User, old: &str) -> Result<String, EngineError> {
        self.revoke_opaque_token(old, user).await?;
        self.login_auth_token(user).await
    }

    // ---- one-time tokens ----

    pub async fn issue_one_time(&self, user: &User, purpose: Purpose) -> Result<String, EngineError> {
        let token = tokens::random_urlsafe();
        let record = OneTimeRecord { user_id: user.id, stamp: password_stamp(user) };
        self.inner.store.create_one_time(purpose, &tokens::digest(&token), record, self.inner.one_time_ttl).await?;
        self.inner.metrics.token_issued(match purpose {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        });
        Ok(token)
    }

    /// Checks a one-time token without spending it, so a request that fails
    /// later validation (a weak new password) can be retried with the same link.
    pub async fn check_one_time(
        &self,
        purpose: Purpose,
        token: &str,
        expected_user: Option<u64>,
    ) -> Result<User, EngineError> {
        let record = self.inner.store.find_one_time(purpose, &tokens::digest(token)).await?;
        self.one_time_user(record, expected_user).await
    }

    async fn one_time_user(
        &self,
        record: Option<OneTimeRecord>,
        expected_user: Option<u64>,
    ) -> Result<User, EngineError> {
        let record = record.ok_or(EngineError::OneTimeInvalid)?;
        if expected_user.is_some_and(|id| id != record.user_id) {
            return Err(EngineError::OneTimeInvalid);
        }
        let user = self.find_user(record.user_id).await?.ok_or(EngineError::OneTimeInvalid)?;
        if !tokens::ct_eq(&password_stamp(&user), &record.stamp) {
            return Err(EngineError::OneTimeInvalid);
        }
        Ok(user)
    }

    /// Redeems a one-time token (at most once). With `expected_user`, a token
    /// of another user is refused. Fails if the password changed since issue.
    pub async fn redeem_one_time(
        &self,
        purpose: Purpose,
        token: &str,
        expected_user: Option<u64>,
    ) -> Result<User, EngineError> {
        let record = self.inner.store.take_one_time(purpose, &tokens::digest(token)).await?;
        let user = self.one_time_user(record, expected_user).await?;
        // Other outstanding tokens of this purpose die with this one (single use per request wave).
        self.inner.store.delete_user_one_time(user.id, purpose).await?;
        Ok(user)
    }

    pub fn send_mail(&self, mail: outbox::Mail) {
        self.inner.outbox.push(mail);
    }
}
