//! One-time tokens (password reset, email verification): hashed at rest,
//! single use, and dead once the password they were issued under changes.

use super::*;

/// The id no user has: the stand-in for an unknown address (see `issue_one_time_for_email`).
const NOBODY: u64 = 0;

impl Engine {
    pub async fn issue_one_time(&self, user: &User, purpose: Purpose) -> Result<String, EngineError> {
        let token = crypto::random_urlsafe();
        let record = OneTimeRecord { user_id: user.id, stamp: one_time_stamp(user, purpose) };
        let (ttl, keep) = (self.inner.one_time_ttl, self.inner.one_time_per_user);
        self.inner.store.create_one_time(purpose, &crypto::digest(&token), record, ttl, keep).await?;
        self.inner.metrics.token_issued(match purpose {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
            Purpose::Activation => "activation",
            Purpose::UsernameReset => "username_reset",
        });
        Ok(token)
    }

    /// Issues a one-time token to the active user with this email. For an
    /// address nobody (active) has, the same store work is done for user 0,
    /// whom no account is (ids start at 1; one such token is kept per
    /// purpose): the answer's timing does not tell whether the address exists.
    pub async fn issue_one_time_for_email(
        &self,
        purpose: Purpose,
        email: &str,
    ) -> Result<Option<(User, String)>, EngineError> {
        let s = &self.inner.store;
        let id = s.find_user_id_by_email(&store::email_key(email)).await?;
        let user = s.find_user(id.unwrap_or(NOBODY)).await?.filter(|u| u.is_active && Some(u.id) == id);
        match user {
            Some(user) => {
                let token = self.issue_one_time(&user, purpose).await?;
                Ok(Some((user, token)))
            }
            None => {
                let record = OneTimeRecord { user_id: NOBODY, stamp: String::new() };
                let digest = crypto::digest(&crypto::random_urlsafe());
                s.create_one_time(purpose, &digest, record, self.inner.one_time_ttl, 1).await?;
                Ok(None)
            }
        }
    }

    /// Checks a one-time token without spending it, so a request that fails
    /// later validation (a weak new password) can be retried with the same link.
    pub async fn check_one_time(
        &self,
        purpose: Purpose,
        token: &str,
        expected_user: Option<u64>,
    ) -> Result<User, EngineError> {
        let record = self.inner.store.find_one_time(purpose, &crypto::digest(token)).await?;
        self.one_time_user(purpose, record, expected_user).await
    }

    async fn one_time_user(
        &self,
        purpose: Purpose,
        record: Option<OneTimeRecord>,
        expected_user: Option<u64>,
    ) -> Result<User, EngineError> {
        let record = record.ok_or(EngineError::OneTimeInvalid)?;
        if expected_user.is_some_and(|id| id != record.user_id) {
            return Err(EngineError::OneTimeInvalid);
        }
        let user = self.find_user(record.user_id).await?.ok_or(EngineError::OneTimeInvalid)?;
        if !crypto::ct_eq(&one_time_stamp(&user, purpose), &record.stamp) {
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
        let record = self.inner.store.take_one_time(purpose, &crypto::digest(token)).await?;
        let user = self.one_time_user(purpose, record, expected_user).await?;
        // Other outstanding tokens of this purpose die with this one (single use per request wave).
        self.inner.store.delete_user_one_time(user.id, purpose).await?;
        Ok(user)
    }
}
