//! What an operator does to users, shared by the admin API and the command
//! line: find a user by id, username or email; disable or enable; delete;
//! revoke every token and session; set a password. Each change is audited
//! with the operator's `Origin`. Lockouts are cleared in `lockout`.

use super::*;
use crate::audit::{self, Detail, Event, Origin};

/// How an operator names a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(u64),
    Username(String),
    /// Case-insensitive, as every email lookup.
    Email(String),
}

impl Engine {
    pub async fn find_user_ref(&self, r: &UserRef) -> Result<Option<User>, EngineError> {
        match r {
            UserRef::Id(id) => self.find_user(*id).await,
            UserRef::Username(u) => self.find_user_by(IdentifyBy::Username, u).await,
            UserRef::Email(e) if e.trim().is_empty() => Ok(None),
            UserRef::Email(e) => self.find_user_by(IdentifyBy::Email, e).await,
        }
    }

    /// Creates a user (`polyauth users add`, the seed file), audited.
    pub async fn create_user_audited(
        &self,
        username: &str,
        email: &str,
        password: &Secret,
        origin: &Origin,
    ) -> Result<User, EngineError> {
        let user = self.create_user(username, email, password).await?;
        audit::record(origin, Event::AccountCreated, Some(user.id), Detail::default());
        Ok(user)
    }

    /// Disables (`false`) or enables a user. A disabled user's tokens, sessions
    /// and password stop working in every dialect (each checks `is_active`);
    /// enabled again, the tokens that have not expired work again, as in Django.
    pub async fn set_user_active(&self, id: u64, active: bool, origin: &Origin) -> Result<User, EngineError> {
        let user = self.update_user(id, UserUpdate { is_active: Some(active), ..UserUpdate::default() }).await?;
        let event = if active { Event::AccountEnabled } else { Event::AccountDisabled };
        audit::record(origin, event, Some(id), Detail::default());
        Ok(user)
    }

    /// Deletes a user with its tokens, sessions and claims. False if it did not exist.
    pub async fn delete_user_audited(&self, id: u64, origin: &Origin) -> Result<bool, EngineError> {
        let deleted = self.inner.store.delete_user(id, None).await?;
        if deleted {
            audit::record(origin, Event::AccountDeleted, Some(id), Detail::default());
        }
        Ok(deleted)
    }

    /// Ends every opaque token and session of the user, and every JWT issued
    /// until now (refused from now on as blacklisted). Returns how many opaque
    /// tokens ended.
    pub async fn revoke_everything(&self, id: u64, origin: &Origin) -> Result<u64, EngineError> {
        let user = self.find_user(id).await?.ok_or(EngineError::UserNotFound)?;
        self.update_user(id, UserUpdate { tokens_revoked_at: Some(now()), ..UserUpdate::default() }).await?;
        let n = self.revoke_all_tokens(&user, None).await?;
        let detail = Detail { count: Some(n), kind: Some("all"), ..Detail::default() };
        audit::record(origin, Event::TokensRevoked, Some(id), detail);
        Ok(n)
    }

    /// Sets a password without the old one (hashed as usual; no validators:
    /// the operator decides). One-time tokens issued before die with the old hash.
    pub async fn set_password_audited(&self, id: u64, password: &Secret, origin: &Origin) -> Result<User, EngineError> {
        let user = self.find_user(id).await?.ok_or(EngineError::UserNotFound)?;
        let user = self.set_password(&user, password).await?;
        audit::record(origin, Event::PasswordChanged, Some(id), Detail::default());
        Ok(user)
    }
}
