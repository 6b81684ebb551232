//! Login lockout, engine-wide: every password check (a login in any dialect,
//! HTTP Basic, a current-password check) is an attempt counted in the store
//! against two subjects, the account and the client address. A subject that
//! reaches its limit of failures within the window is banned for the ban time:
//! while banned, every password check for it is refused (`EngineError::Locked`)
//! before bcrypt runs, with the right password too. A success starts the
//! account's count over (not the address's: one good account must not buy an
//! address new guesses at others).
//!
//! An attempt is counted when it starts, not when it fails: the attempt that
//! takes a subject's last allowance bans it provisionally, so a burst of
//! concurrent guesses gets exactly `limit` of them hashed, not one per
//! connection. The ban becomes final when that attempt fails, and is lifted
//! when it succeeds or reaches no verdict (store or hash queue refused).
//!
//! An unknown login name is its own subject (a digest of the name as the
//! lookup normalises it), counted and banned exactly like an account, so the
//! lockout does not tell which names exist.

use std::net::IpAddr;

use super::*;
use crate::audit::{self, Detail, Event, Origin};
use crate::store::{AttemptEnd, AttemptStart};

/// The limits; a limit of 0 turns that scope off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutSettings {
    /// Failed password checks per account (or unknown name) within `window`.
    pub account_failures: u32,
    /// Failed password checks per client address within `window`.
    pub address_failures: u32,
    /// How long failures are remembered, from the first one.
    pub window: Duration,
    /// How long a subject stays locked out.
    pub ban: Duration,
}

impl LockoutSettings {
    /// No lockout at all.
    pub const OFF: LockoutSettings =
        LockoutSettings { account_failures: 0, address_failures: 0, window: Duration::ZERO, ban: Duration::ZERO };
}

/// The subject of a known account.
pub fn user_subject(id: u64) -> String {
    format!("u:{id}")
}

/// The subject of a login name nobody has: a digest of the name as the lookup
/// normalises it (emails case-insensitively), so every spelling the lookup
/// would treat as one account is one subject, and no raw name is stored.
fn name_subject(by: IdentifyBy, identifier: &str) -> String {
    let normalised = match by {
        IdentifyBy::Username => identifier.to_owned(),
        IdentifyBy::Email => store::email_key(identifier),
        IdentifyBy::UsernameOrEmail if identifier.contains('@') => store::email_key(identifier),
        IdentifyBy::UsernameOrEmail => identifier.to_owned(),
    };
    format!("n:{}", &hex::encode(Sha256::digest(normalised.as_bytes()))[..32])
}

/// The subject of a client address. IPv6 counts by /64, the block one
/// subscriber usually holds (per address, a client would have billions of
/// fresh counters); IPv4-mapped IPv6 counts as the IPv4 address.
pub fn address_subject(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// How a password check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Succeeded,
    Failed,
    /// No verdict on the password (store or hash queue refused).
    None,
}

/// One subject an attempt is counted against.
struct Held {
    subject: String,
    scope: &'static str,
    /// The attempt holds the subject's provisional ban.
    last: bool,
}

/// An attempt in flight, counted until settled. Dropped unsettled (the
/// client went away while it hashed), it is forgiven in the background.
/// The store bookkeeping runs in tasks of its own, so a request dropped
/// half-way (the client closed the connection) never leaves a count, or a
/// provisional ban, behind.
pub(super) struct Attempt {
    store: SharedStore,
    ban: Duration,
    held: Vec<Held>,
}

/// How counting an attempt ended.
enum Started {
    Counted(Attempt),
    Locked { scope: &'static str, retry_after: Duration },
}

impl Attempt {
    fn end_for(verdict: Verdict, scope: &str) -> AttemptEnd {
        match verdict {
            Verdict::Failed => AttemptEnd::Failed,
            Verdict::Succeeded if scope == "account" => AttemptEnd::Reset,
            Verdict::Succeeded | Verdict::None => AttemptEnd::Forgiven,
        }
    }

    /// Counts an attempt against each subject in turn; refused by one, gives
    /// back what it counted against the others. Run as a task of its own.
    async fn start(
        store: SharedStore,
        window: Duration,
        ban: Duration,
        wanted: Vec<(String, &'static str, u32)>,
    ) -> Result<Started, StoreError> {
        let mut attempt = Attempt { store: store.clone(), ban, held: Vec::new() };
        for (subject, scope, limit) in wanted {
            // On an error, `attempt` is dropped: what it counted is forgiven.
            match store.begin_attempt(&subject, limit, window, ban).await? {
                AttemptStart::Allowed { last } => attempt.held.push(Held { subject, scope, last }),
                AttemptStart::Locked { retry_after } => {
                    attempt.settle(Verdict::None).await;
                    return Ok(Started::Locked { scope, retry_after });
                }
            }
        }
        Ok(Started::Counted(attempt))
    }

    /// Ends the attempt; returns the scopes whose lockout it started.
    async fn settle(mut self, verdict: Verdict) -> Vec<&'static str> {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return Vec::new();
        }
        let (store, ban) = (self.store.clone(), self.ban);
        let task = tokio::spawn(async move {
            let mut started = Vec::new();
            for h in held {
                let end = Self::end_for(verdict, h.scope);
                match store.end_attempt(&h.subject, end, h.last, ban).await {
                    Ok(()) if h.last && end == AttemptEnd::Failed => started.push(h.scope),
                    Ok(()) => {}
                    // The verdict stands; the count expires with its window.
                    Err(e) => tracing::warn!(error = %e, scope = h.scope, "could not settle a login attempt"),
                }
            }
            started
        });
        task.await.unwrap_or_default()
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        let (store, ban) = (self.store.clone(), self.ban);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for h in held {
                    let _ = store.end_attempt(&h.subject, AttemptEnd::Forgiven, h.last, ban).await;
                }
            });
        }
    }
}

impl Engine {
    /// Starts a password attempt for the account `subject` from `origin`'s
    /// address; `Locked` (audited) while either is locked out.
    pub(super) async fn begin_attempt(
        &self,
        subject: String,
        user_id: Option<u64>,
        origin: &Origin,
    ) -> Result<Attempt, EngineError> {
        let l = self.inner.lockout;
        let mut wanted = Vec::new();
        if l.account_failures > 0 {
            wanted.push((subject, "account", l.account_failures));
        }
        if let (true, Some(ip)) = (l.address_failures > 0, origin.client) {
            wanted.push((address_subject(ip), "address", l.address_failures));
        }
        let store = self.inner.store.clone();
        if wanted.is_empty() {
            return Ok(Attempt { store, ban: l.ban, held: Vec::new() });
        }
        let task = tokio::spawn(Attempt::start(store, l.window, l.ban, wanted));
        let started = task.await.map_err(|e| StoreError::Unavailable(format!("lockout bookkeeping: {e}")))??;
        match started {
            Started::Counted(attempt) => Ok(attempt),
            Started::Locked { scope, retry_after } => {
                let secs = Some(ceil_secs(retry_after));
                let detail = Detail { scope: Some(scope), retry_after_secs: secs, ..Detail::default() };
                audit::record(origin, Event::LoginLocked, user_id, detail);
                self.inner.metrics.throttled(&origin.dialect, "lockout");
                Err(EngineError::Locked { retry_after })
            }
        }
    }

    /// Ends an attempt; a lockout it started is audited and counted.
    pub(super) async fn settle_attempt(
        &self,
        attempt: Attempt,
        verdict: Verdict,
        user_id: Option<u64>,
        origin: &Origin,
    ) {
        for scope in attempt.settle(verdict).await {
            let secs = self.inner.lockout.ban.as_secs();
            let detail = Detail { scope: Some(scope), retry_after_secs: Some(secs), ..Detail::default() };
            audit::record(origin, Event::LockoutStarted, user_id, detail);
            self.inner.metrics.lockout(scope);
        }
    }

    /// Checks a password and records the login. Unknown users cost one dummy
    /// verification, so timing does not tell whether a name exists. Inactive
    /// users fail like Django's ModelBackend. Counted by the lockout (see the
    /// module doc) and audited.
    pub async fn authenticate(
        &self,
        by: IdentifyBy,
        identifier: &str,
        password: &Secret,
        origin: &Origin,
    ) -> Result<User, EngineError> {
        self.authenticate_with(by, identifier, password, true, origin).await
    }

    /// `authenticate`; `record_login` false leaves `last_login` as it was
    /// (SimpleJWT's token views without `UPDATE_LAST_LOGIN`).
    pub async fn authenticate_with(
        &self,
        by: IdentifyBy,
        identifier: &str,
        password: &Secret,
        record_login: bool,
        origin: &Origin,
    ) -> Result<User, EngineError> {
        let found = self.find_user_by(by, identifier).await?;
        let user_id = found.as_ref().map(|u| u.id);
        let subject = match user_id {
            Some(id) => user_subject(id),
            None => name_subject(by, identifier),
        };
        let attempt = self.begin_attempt(subject, user_id, origin).await?;
        let checked = match &found {
            None => self.inner.hasher.verify_dummy(password).await.map(|()| false),
            Some(u) => self.inner.hasher.verify(password, &u.password_hash).await.map(|ok| ok && u.is_active),
        };
        let user = match (checked, found) {
            (Err(e), _) => {
                self.settle_attempt(attempt, Verdict::None, user_id, origin).await;
                return Err(e.into());
            }
            (Ok(true), Some(user)) => user,
            (Ok(_), _) => {
                self.settle_attempt(attempt, Verdict::Failed, user_id, origin).await;
                audit::record(origin, Event::LoginFailed, user_id, Detail::default());
                return Err(EngineError::InvalidCredentials);
            }
        };
        // Django's `check_password` setter: a hash not on the configured
        // hasher is rewritten now, while the plain password is at hand.
        let upgrade = self.upgraded_hash(&user, password).await;
        if !record_login && upgrade.is_none() {
            self.settle_attempt(attempt, Verdict::Succeeded, user_id, origin).await;
            audit::record(origin, Event::LoginSucceeded, user_id, Detail::default());
            return Ok(user);
        }
        // Only `last_login` (and an upgraded hash) is written: a reset or
        // profile change that landed while bcrypt ran is kept, not overwritten
        // by this stale copy. And only while the password is the one just
        // verified: a password a reset replaced while it hashed no longer logs in.
        let update = UserUpdate {
            last_login: record_login.then(now),
            password_hash: upgrade.clone(),
            if_password_hash: Some(user.password_hash.clone()),
            ..UserUpdate::default()
        };
        let written = match self.inner.store.update_user(user.id, &update).await {
            Err(StoreError::Changed) if upgrade.is_some() => {
                self.after_lost_upgrade(&user, password, record_login).await
            }
            other => other,
        };
        match written {
            Ok(Some(stored)) => {
                if upgrade.is_some() && stored.password_hash != user.password_hash {
                    self.inner.hasher.upgraded(&user.password_hash);
                }
                self.settle_attempt(attempt, Verdict::Succeeded, user_id, origin).await;
                audit::record(origin, Event::LoginSucceeded, user_id, Detail::default());
                Ok(stored)
            }
            // Deleted, or its password replaced, while bcrypt ran: no verdict on this one.
            Ok(None) | Err(StoreError::Changed) => {
                self.settle_attempt(attempt, Verdict::None, user_id, origin).await;
                Err(EngineError::InvalidCredentials)
            }
            Err(e) => {
                self.settle_attempt(attempt, Verdict::None, user_id, origin).await;
                Err(e.into())
            }
        }
    }

    /// The password rehashed with the configured hasher, when the stored hash
    /// is not on it (`passwords::is_current`). A full hashing queue or a
    /// failure skips the upgrade: the login does not depend on it, and the
    /// next login tries again.
    async fn upgraded_hash(&self, user: &User, password: &Secret) -> Option<String> {
        if !self.inner.hasher.needs_upgrade(&user.password_hash) {
            return None;
        }
        match self.inner.hasher.hash(password).await {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(user = user.id, error = %e, "password hash upgrade skipped");
                None
            }
        }
    }

    /// The compare-and-set of an upgrade lost: the stored hash changed since
    /// it verified. A concurrent login's upgrade of the same password must not
    /// fail this login, a reset must: so the password is checked once more
    /// against what is stored now, and `last_login` written against that.
    async fn after_lost_upgrade(
        &self,
        user: &User,
        password: &Secret,
        record_login: bool,
    ) -> Result<Option<User>, StoreError> {
        let Some(now_stored) = self.inner.store.find_user(user.id).await? else {
            return Ok(None);
        };
        if !self.inner.hasher.verify(password, &now_stored.password_hash).await.unwrap_or(false) {
            return Err(StoreError::Changed);
        }
        if !record_login {
            return Ok(Some(now_stored));
        }
        let update = UserUpdate {
            last_login: Some(now()),
            if_password_hash: Some(now_stored.password_hash.clone()),
            ..UserUpdate::default()
        };
        self.inner.store.update_user(user.id, &update).await
    }

    /// Checks a signed-in user's current password (before a sensitive change),
    /// counted by the lockout like a login, so a stolen token cannot guess it.
    pub async fn check_password(&self, user: &User, password: &Secret, origin: &Origin) -> Result<bool, EngineError> {
        let attempt = self.begin_attempt(user_subject(user.id), Some(user.id), origin).await?;
        match self.inner.hasher.verify(password, &user.password_hash).await {
            Ok(true) => {
                self.settle_attempt(attempt, Verdict::Succeeded, Some(user.id), origin).await;
                Ok(true)
            }
            Ok(false) => {
                self.settle_attempt(attempt, Verdict::Failed, Some(user.id), origin).await;
                audit::record(origin, Event::PasswordCheckFailed, Some(user.id), Detail::default());
                Ok(false)
            }
            Err(e) => {
                self.settle_attempt(attempt, Verdict::None, Some(user.id), origin).await;
                Err(e.into())
            }
        }
    }

    /// Time left on an account's lockout.
    pub async fn user_lockout(&self, id: u64) -> Result<Option<Duration>, EngineError> {
        Ok(self.inner.store.find_lockout(&user_subject(id)).await?)
    }

    /// Time left on a client address's lockout.
    pub async fn address_lockout(&self, ip: IpAddr) -> Result<Option<Duration>, EngineError> {
        Ok(self.inner.store.find_lockout(&address_subject(ip)).await?)
    }

    /// Lifts an account's lockout and forgets its failures. True if it was locked (audited).
    pub async fn clear_user_lockout(&self, id: u64, origin: &Origin) -> Result<bool, EngineError> {
        let lifted = self.inner.store.delete_lockout(&user_subject(id)).await?;
        if lifted {
            let detail = Detail { scope: Some("account"), ..Detail::default() };
            audit::record(origin, Event::LockoutCleared, Some(id), detail);
        }
        Ok(lifted)
    }

    /// Lifts a client address's lockout and forgets its failures. True if it was locked (audited).
    pub async fn clear_address_lockout(&self, ip: IpAddr, origin: &Origin) -> Result<bool, EngineError> {
        let lifted = self.inner.store.delete_lockout(&address_subject(ip)).await?;
        if lifted {
            let detail = Detail { scope: Some("address"), ..Detail::default() };
            audit::record(origin, Event::LockoutCleared, None, detail);
        }
        Ok(lifted)
    }
}

/// Whole seconds, rounded up, at least 1: a `Retry-After` never says 0.
pub fn ceil_secs(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        assert_eq!(address_subject("203.0.113.9".parse().unwrap()), "ip:203.0.113.9");
        assert_eq!(address_subject("::ffff:203.0.113.9".parse().unwrap()), "ip:203.0.113.9");
        let a = address_subject("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(a, address_subject("2001:db8:1:2:ffff::9".parse().unwrap()), "one /64, one subject");
        assert_eq!(a, "ip6:2001:db8:1:2::/64");
        assert_eq!(name_subject(IdentifyBy::Email, "A@X.io"), name_subject(IdentifyBy::Email, "a@x.io"));
        assert_ne!(name_subject(IdentifyBy::Username, "Bob"), name_subject(IdentifyBy::Username, "bob"));
        assert!(!name_subject(IdentifyBy::Username, "bob").contains("bob"), "no raw name at rest");
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
        assert_eq!(ceil_secs(Duration::ZERO), 1);
    }
}
