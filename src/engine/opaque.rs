//! Opaque tokens: DRF-style auth tokens (one per user, handed out again on
//! every login while it lives) and sessions (a new one per login); the store
//! sees only their digests.

use super::*;

impl Engine {
    /// DRF authtoken semantics: one token per user, the same on every login while it lives.
    pub async fn login_auth_token(&self, user: &User) -> Result<String, EngineError> {
        let s = &self.inner.store;
        let seed = crypto::random_hex(20);
        let current = s.claim_slot(user.id, AUTH_TOKEN_SLOT, &seed, self.inner.opaque_ttl).await?;
        let token = crypto::derive_auth_token(&self.inner.derive_key, user.id, &current);
        let digest = crypto::digest(&token);
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
        let token = crypto::random_urlsafe();
        let record = TokenRecord { user_id: user.id, kind: TokenKind::Session };
        self.inner.store.create_token(&crypto::digest(&token), record, self.inner.opaque_ttl).await?;
        self.inner.metrics.token_issued("session");
        Ok(token)
    }

    /// The active user behind an opaque token of the given kind (any kind when None).
    pub async fn user_for_opaque_token(&self, token: &str, kind: Option<TokenKind>) -> Result<User, EngineError> {
        let record = self.inner.store.find_token(&crypto::digest(token)).await?;
        let record = record.filter(|r| kind.is_none_or(|k| k == r.kind)).ok_or(EngineError::OpaqueTokenInvalid)?;
        match self.find_user(record.user_id).await? {
            Some(u) if u.is_active => Ok(u),
            // DRF: "User inactive or deleted."
            _ => Err(EngineError::UserInactive),
        }
    }

    /// Revokes one token. False when it was not live.
    pub async fn revoke_opaque_token(&self, token: &str, user: &User) -> Result<bool, EngineError> {
        let digest = crypto::digest(token);
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
}
