//! Opaque tokens: DRF-style auth tokens (one per user, handed out again on
//! every login while it lives) and sessions (a new one per login); the store
//! sees only their digests.
//!
//! The auth-token slot holds either a random seed the token is derived from
//! (tokens polyauth issued) or, for a key imported from a Django backend
//! (which cannot be derived), the key sealed under a key derived from the
//! server key (`k:` + ChaCha20-Poly1305): either way a copy of the store
//! yields no usable token.

use super::*;
use crypto::TokenDigest;

/// The slot value of an imported auth-token key.
const SEALED: &str = "k:";

/// What importing an auth-token key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenImport {
    Created,
    /// The user's slot holds this key already.
    Unchanged,
    /// The user holds another live auth token (issued since, or another import): kept.
    OtherToken,
}

impl Engine {
    /// DRF authtoken semantics: one token per user, the same on every login while it lives.
    /// `Changed` when the password `user` was read with has been replaced meanwhile.
    pub async fn login_auth_token(&self, user: &User) -> Result<String, EngineError> {
        let s = &self.inner.store;
        // The token is created only while the slot still holds the seed it was
        // derived from: a logout that ended the slot meanwhile makes this login
        // claim a new one instead of bringing the ended token back.
        let mut tries = 0;
        let token = loop {
            let seed = crypto::random_hex(20);
            let current = s.claim_slot(user.id, AUTH_TOKEN_SLOT, &seed, self.inner.opaque_ttl).await?;
            let Some(token) = self.slot_token(user.id, &current) else {
                // Sealed under another server key: that token cannot be given
                // back (nor be recognised); a fresh one replaces it.
                s.delete_slot_if(user.id, AUTH_TOKEN_SLOT, &current).await?;
                tries += 1;
                if tries == 3 {
                    return Err(EngineError::Changed);
                }
                continue;
            };
            let record = TokenRecord { user_id: user.id, kind: TokenKind::AuthToken };
            if s.create_slot_token(&crypto::digest(&token), record, AUTH_TOKEN_SLOT, &current).await? {
                break token;
            }
            tries += 1;
            if tries == 3 {
                return Err(EngineError::Changed);
            }
        };
        // Not handed out for a password that a reset replaced meanwhile (the
        // token, the user's own, stays for the next login with the new one).
        self.ensure_password_unchanged(user).await?;
        self.inner.metrics.token_issued("authtoken");
        Ok(token)
    }

    /// The auth token a slot value stands for: derived from a seed, or an
    /// imported key unsealed (None when sealed under another server key).
    fn slot_token(&self, user_id: u64, value: &str) -> Option<String> {
        match value.strip_prefix(SEALED) {
            Some(sealed) => crypto::unseal(&self.inner.token_seal_key, user_id.to_string().as_bytes(), sealed)
                .and_then(|k| String::from_utf8(k).ok()),
            None => Some(crypto::derive_auth_token(&self.inner.derive_key, user_id, value)),
        }
    }

    /// Makes `key` (a DRF auth token of another backend) the user's auth
    /// token: it authenticates at once and later logins return it, as DRF
    /// does, while its slot lives (`opaque_ttl`, renewed by no login: as for
    /// every auth token). The store keeps it sealed and its digest.
    pub async fn import_auth_token(&self, user_id: u64, key: &str) -> Result<TokenImport, EngineError> {
        let s = &self.inner.store;
        let sealed = format!(
            "{SEALED}{}",
            crypto::seal(&self.inner.token_seal_key, user_id.to_string().as_bytes(), key.as_bytes())
        );
        let current = s.claim_slot(user_id, AUTH_TOKEN_SLOT, &sealed, self.inner.opaque_ttl).await?;
        let outcome = if current == sealed {
            TokenImport::Created
        } else if self.slot_token(user_id, &current).is_some_and(|t| crypto::ct_eq(&t, key)) {
            TokenImport::Unchanged
        } else {
            return Ok(TokenImport::OtherToken);
        };
        let record = TokenRecord { user_id, kind: TokenKind::AuthToken };
        if !s.create_slot_token(&crypto::digest(key), record, AUTH_TOKEN_SLOT, &current).await? {
            return Err(EngineError::Changed);
        }
        Ok(outcome)
    }

    /// The user's auth token while it lives (for an export), else None.
    pub(super) async fn live_auth_token(&self, user_id: u64) -> Result<Option<String>, EngineError> {
        let s = &self.inner.store;
        let Some(value) = s.find_slot(user_id, AUTH_TOKEN_SLOT).await? else { return Ok(None) };
        let Some(key) = self.slot_token(user_id, &value) else { return Ok(None) };
        let live = s.find_token(&crypto::digest(&key)).await?.is_some_and(|r| r.user_id == user_id);
        Ok(live.then_some(key))
    }

    /// A fresh session token; a user may hold many. `Changed` as `login_auth_token`.
    pub async fn issue_session(&self, user: &User) -> Result<String, EngineError> {
        let token = crypto::random_urlsafe();
        let record = TokenRecord { user_id: user.id, kind: TokenKind::Session };
        let digest = crypto::digest(&token);
        self.inner.store.create_token(&digest, record, self.inner.opaque_ttl).await?;
        if let Err(e) = self.ensure_password_unchanged(user).await {
            self.inner.store.delete_token(&digest).await?;
            return Err(e);
        }
        self.inner.metrics.token_issued("session");
        Ok(token)
    }

    /// Read after a token was written: a reset changes the password before it
    /// ends the user's tokens, so a reset this read does not see ends the new
    /// token itself, and one it sees refuses it here.
    async fn ensure_password_unchanged(&self, user: &User) -> Result<(), EngineError> {
        match self.find_user(user.id).await? {
            Some(now) if now.password_hash == user.password_hash => Ok(()),
            _ => Err(EngineError::Changed),
        }
    }

    /// The active user behind an opaque token of the given kind (any kind when None).
    pub async fn user_for_opaque_token(&self, token: &str, kind: Option<TokenKind>) -> Result<User, EngineError> {
        self.user_for_token_key(&crypto::digest(token), kind).await
    }

    /// `user_for_opaque_token` by the token's store key (`crypto::digest`), which
    /// a caller keeps instead of the token itself.
    pub async fn user_for_token_key(&self, key: &TokenDigest, kind: Option<TokenKind>) -> Result<User, EngineError> {
        let record = self.inner.hot.find_token(key).await?;
        let record = record.filter(|r| kind.is_none_or(|k| k == r.kind)).ok_or(EngineError::OpaqueTokenInvalid)?;
        match self.find_user(record.user_id).await? {
            Some(u) if u.is_active => Ok(u),
            // DRF: "User inactive or deleted."
            _ => Err(EngineError::UserInactive),
        }
    }

    /// Revokes one token. False when it was not live.
    pub async fn revoke_opaque_token(&self, token: &str, user: &User) -> Result<bool, EngineError> {
        self.revoke_token_key(&crypto::digest(token), user).await
    }

    /// `revoke_opaque_token` by the token's store key.
    pub async fn revoke_token_key(&self, digest: &TokenDigest, user: &User) -> Result<bool, EngineError> {
        let s = &self.inner.store;
        // Only the caller's own token: another user's is not live for this caller.
        let Some(record) = s.find_token(digest).await?.filter(|r| r.user_id == user.id) else {
            return Ok(false);
        };
        if let Some(r) = Some(record).filter(|r| r.kind == TokenKind::AuthToken) {
            // The slot ends only if it is this token's: one a concurrent login
            // claimed since (for a new token) is left alone.
            if let Some(seed) = s.find_slot(r.user_id, AUTH_TOKEN_SLOT).await? {
                let derived = self.slot_token(r.user_id, &seed).unwrap_or_default();
                // Compared by their keys: the caller holds its token's key, not the token.
                if crypto::ct_eq(&crypto::digest(&derived), digest) {
                    s.delete_slot_if(r.user_id, AUTH_TOKEN_SLOT, &seed).await?;
                }
            }
        }
        let deleted = s.delete_token(digest).await?;
        if deleted {
            self.inner.metrics.tokens_revoked(record.kind.as_str(), 1);
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
        self.rotate_auth_token_key(user, &crypto::digest(old)).await
    }

    /// `rotate_auth_token` by the old token's store key.
    pub async fn rotate_auth_token_key(&self, user: &User, old: &TokenDigest) -> Result<String, EngineError> {
        self.revoke_token_key(old, user).await?;
        self.login_auth_token(user).await
    }
}
