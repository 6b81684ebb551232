//! One behaviour, three stores: the same checks run against the memory store,
//! a real redis-server and a real Redis Cluster, through the engine (no HTTP).

use std::sync::Arc;
use std::time::Duration;

use crate::support::{Redis, StoreKind, TestStore};
use polyauth::audit::Origin;
use polyauth::engine::{Engine, EngineError, EngineSettings, IdentifyBy, LockoutSettings, TokenError, UserUpdate};
use polyauth::secret::Secret;
use polyauth::store::{self, DeliveryState, MailStatus, Purpose, Settle, TokenKind};

mod import;
mod limits;

struct Fixture {
    engine: Engine,
    _store: TestStore,
}

async fn engine(kind: StoreKind) -> Fixture {
    engine_with(kind, Duration::from_secs(3600)).await
}

async fn engine_with(kind: StoreKind, opaque_ttl: Duration) -> Fixture {
    engine_full(kind, opaque_ttl, LockoutSettings::OFF).await
}

async fn engine_full(kind: StoreKind, opaque_ttl: Duration, lockout: LockoutSettings) -> Fixture {
    let test_store = TestStore::start(kind);
    let s = store::open(&test_store.url, &test_store.prefix, Duration::from_secs(2)).await.expect("store");
    let settings = EngineSettings { opaque_ttl, lockout, ..settings() };
    Fixture { engine: Engine::new(s, settings).expect("engine"), _store: test_store }
}

/// Engine settings for tests: cheap hashing, the test signing key, no lockout.
pub(crate) fn settings() -> EngineSettings {
    EngineSettings {
        bcrypt_cost: 4,
        max_concurrent_hashes: 4,
        max_queued_hashes: 64,
        lockout: LockoutSettings::OFF,
        signing_key: Secret::new(crate::support::SIGNING_KEY),
        access_lifetime_secs: 300,
        refresh_lifetime_secs: 86_400,
        opaque_ttl: Duration::from_secs(3600),
        one_time_ttl: Duration::from_secs(3600),
        one_time_per_user: 5,
        outbox_capacity: 10,
        outbox_per_recipient: 10,
        mail_delivery: true,
        metrics: polyauth::metrics::Metrics::new(),
    }
}

fn pw(s: &str) -> Secret {
    Secret::new(s)
}

/// A request from a test: no route, a fixed client address.
fn origin() -> Origin {
    Origin {
        request_id: "test".into(),
        dialect: "test".into(),
        route: "test".into(),
        client: Some("192.0.2.1".parse().unwrap()),
    }
}

async fn users_and_uniqueness(kind: StoreKind) {
    let f = engine(kind).await;
    let e = &f.engine;
    let a = e.create_user("alice", "Alice@Example.com", &pw("pw-a")).await.unwrap();
    let b = e.create_user("bob", "", &pw("pw-b")).await.unwrap();
    assert_eq!((a.id, b.id), (1, 2), "ids come from a counter");
    assert!(matches!(e.create_user("alice", "x@y.zz", &pw("p")).await, Err(EngineError::UsernameTaken)));
    assert!(matches!(e.create_user("al", "alice@example.COM", &pw("p")).await, Err(EngineError::EmailTaken)));
    // Empty emails are not unique claims.
    e.create_user("carol", "", &pw("p")).await.unwrap();

    assert_eq!(e.authenticate(IdentifyBy::Username, "alice", &pw("pw-a"), &origin()).await.unwrap().id, 1);
    assert_eq!(e.authenticate(IdentifyBy::Email, "ALICE@example.com", &pw("pw-a"), &origin()).await.unwrap().id, 1);
    assert!(matches!(
        e.authenticate(IdentifyBy::Username, "alice", &pw("nope"), &origin()).await,
        Err(EngineError::InvalidCredentials)
    ));
    assert!(matches!(
        e.authenticate(IdentifyBy::Username, "ghost", &pw("x"), &origin()).await,
        Err(EngineError::InvalidCredentials)
    ));
    let after = e.find_user(1).await.unwrap().unwrap();
    assert!(after.last_login.is_some());

    // Email change moves the claim; the old address becomes free.
    let email = UserUpdate { email: Some("new@example.com".into()), ..Default::default() };
    let changed = e.update_user(after.id, email).await.unwrap();
    assert_eq!(changed.email, "new@example.com");
    assert!(!e.email_taken("alice@example.com").await.unwrap());
    assert!(e.email_taken("NEW@example.com").await.unwrap());
    let clash = UserUpdate { username: Some("bob".into()), ..Default::default() };
    assert!(matches!(e.update_user(changed.id, clash).await, Err(EngineError::UsernameTaken)));

    // Password change; deletion frees both claims and kills tokens.
    let user = e.set_password(&changed, &pw("pw-new")).await.unwrap();
    assert!(e.authenticate(IdentifyBy::Username, "alice", &pw("pw-new"), &origin()).await.is_ok());
    let token = e.login_auth_token(&user).await.unwrap();
    assert!(e.delete_user(&user).await.unwrap());
    assert!(!e.username_taken("alice").await.unwrap());
    assert!(e.user_for_opaque_token(&token, None).await.is_err());
    assert!(!e.delete_user(&user).await.unwrap());
}

async fn opaque_tokens(kind: StoreKind) {
    let f = engine(kind).await;
    let e = &f.engine;
    let u = e.create_user("u", "u@example.com", &pw("p")).await.unwrap();
    let t1 = e.login_auth_token(&u).await.unwrap();
    assert_eq!(t1.len(), 40);
    assert_eq!(e.login_auth_token(&u).await.unwrap(), t1, "one auth token per user while it lives");
    assert_eq!(e.user_for_opaque_token(&t1, Some(TokenKind::AuthToken)).await.unwrap().id, u.id);
    assert!(e.user_for_opaque_token(&t1, Some(TokenKind::Session)).await.is_err(), "kinds do not mix");
    let t2 = e.rotate_auth_token(&u, &t1).await.unwrap();
    assert_ne!(t1, t2);
    assert!(e.user_for_opaque_token(&t1, None).await.is_err());
    let s1 = e.issue_session(&u).await.unwrap();
    let s2 = e.issue_session(&u).await.unwrap();
    assert_ne!(s1, s2);
    assert!(e.revoke_opaque_token(&s1, &u).await.unwrap());
    assert!(!e.revoke_opaque_token(&s1, &u).await.unwrap(), "revoking twice reports it");
    assert!(e.user_for_opaque_token(&s2, None).await.is_ok());
    assert_eq!(e.revoke_all_tokens(&u, None).await.unwrap(), 2);
    assert!(e.user_for_opaque_token(&s2, None).await.is_err());
    assert!(e.user_for_opaque_token(&t2, None).await.is_err());
    assert!(e.user_for_opaque_token("garbage", None).await.is_err());
}

async fn tokens_expire(kind: StoreKind) {
    let f = engine_with(kind, Duration::from_secs(1)).await;
    let e = &f.engine;
    let u = e.create_user("u", "", &pw("p")).await.unwrap();
    let s = e.issue_session(&u).await.unwrap();
    assert!(e.user_for_opaque_token(&s, None).await.is_ok());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(e.user_for_opaque_token(&s, None).await.is_err(), "expired token must be refused");
}

async fn one_time_tokens(kind: StoreKind) {
    let f = engine(kind).await;
    let e = &f.engine;
    let u = e.create_user("u", "u@example.com", &pw("p")).await.unwrap();
    let t = e.issue_one_time(&u, Purpose::PasswordReset).await.unwrap();
    assert!(e.redeem_one_time(Purpose::EmailVerification, &t, None).await.is_err(), "purposes do not mix");
    assert!(e.check_one_time(Purpose::PasswordReset, &t, Some(u.id + 1)).await.is_err(), "other user");
    assert_eq!(e.check_one_time(Purpose::PasswordReset, &t, Some(u.id)).await.unwrap().id, u.id);
    assert_eq!(e.redeem_one_time(Purpose::PasswordReset, &t, None).await.unwrap().id, u.id);
    assert!(e.redeem_one_time(Purpose::PasswordReset, &t, None).await.is_err(), "single use");
    // A token dies once the password changes.
    let t2 = e.issue_one_time(&u, Purpose::PasswordReset).await.unwrap();
    e.set_password(&u, &pw("changed")).await.unwrap();
    assert!(matches!(e.redeem_one_time(Purpose::PasswordReset, &t2, None).await, Err(EngineError::OneTimeInvalid)));
}

async fn jwt_rotation_and_blacklist(kind: StoreKind) {
    let f = engine(kind).await;
    let e = &f.engine;
    let u = e.create_user("u", "", &pw("p")).await.unwrap();
    let (access, refresh) = e.issue_jwt_pair(&u).unwrap();
    assert_eq!(e.user_for_access_token(&access).await.unwrap().id, u.id);
    assert!(matches!(e.user_for_access_token(&refresh).await, Err(EngineError::Token(TokenError::WrongType))));
    let (_, none) = e.refresh_jwt(&refresh, false).await.unwrap();
    assert!(none.is_none());
    let (_, rotated) = e.refresh_jwt(&refresh, true).await.unwrap();
    assert!(rotated.is_some());
    assert!(matches!(e.refresh_jwt(&refresh, true).await, Err(EngineError::Token(TokenError::Blacklisted))));
    assert!(matches!(e.verify_jwt(&refresh).await, Err(EngineError::Token(TokenError::Blacklisted))));
    // Concurrent rotations of one token: exactly one wins.
    let (_, fresh) = e.issue_jwt_pair(&u).unwrap();
    let results = futures_join(e, &fresh).await;
    assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    // A deleted user's tokens stop working.
    e.delete_user(&u).await.unwrap();
    assert!(matches!(e.user_for_access_token(&access).await, Err(EngineError::UserNotFound)));
}

async fn futures_join(e: &Engine, token: &str) -> Vec<bool> {
    let e = Arc::new(e.clone());
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let (e, t) = (e.clone(), token.to_owned());
            tokio::spawn(async move { e.refresh_jwt(&t, true).await.is_ok() })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Field-level updates, claims moved from the record as stored, and the
/// password compare-and-set, under concurrency.
async fn concurrent_user_writes(kind: StoreKind) {
    let f = engine(kind).await;
    let e = Arc::new(f.engine.clone());
    let a = e.create_user("a", "a@example.com", &pw("p")).await.unwrap();
    let b = e.create_user("b", "b@example.com", &pw("p")).await.unwrap();

    // Two users renamed to one name at once: one wins, the other keeps its name.
    let rename = |id: u64, name: &str| {
        let (e, name) = (e.clone(), name.to_owned());
        tokio::spawn(async move { e.update_user(id, UserUpdate { username: Some(name), ..Default::default() }).await })
    };
    let (ra, rb) = (rename(a.id, "x"), rename(b.id, "x"));
    let (ra, rb) = (ra.await.unwrap(), rb.await.unwrap());
    assert_eq!(ra.is_ok() as u8 + rb.is_ok() as u8, 1, "{ra:?} {rb:?}");
    let (winner, loser) = if ra.is_ok() { (&a, &b) } else { (&b, &a) };
    assert!(matches!(if ra.is_ok() { &rb } else { &ra }, Err(EngineError::UsernameTaken)));
    let by = |name: &str| {
        let (e, name) = (e.clone(), name.to_owned());
        async move { e.find_user_by(IdentifyBy::Username, &name).await.unwrap().map(|u| u.id) }
    };
    assert_eq!(by("x").await, Some(winner.id));
    assert_eq!(by(&loser.username).await, Some(loser.id));
    assert_eq!(by(&winner.username).await, None, "the old name is free");

    // One user renamed ten ways at once: it ends with one of them, and only that one is claimed.
    let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
    let handles: Vec<_> = names.iter().map(|n| rename(loser.id, n)).collect();
    for h in handles {
        let _ = h.await.unwrap();
    }
    let now = e.find_user(loser.id).await.unwrap().unwrap().username;
    for n in names.iter().chain([&loser.username]) {
        assert_eq!(e.username_taken(n).await.unwrap(), *n == now, "{n} (user is now {now})");
    }

    // Different fields written at once do not undo each other.
    let id = winner.id;
    let (e1, e2) = (e.clone(), e.clone());
    let (x, y) = tokio::join!(
        e1.update_user(id, UserUpdate { is_active: Some(false), ..Default::default() }),
        e2.update_user(
            id,
            UserUpdate { email: Some("W@example.com".into()), email_verified: Some(true), ..Default::default() }
        )
    );
    x.unwrap();
    y.unwrap();
    let u = e.find_user(id).await.unwrap().unwrap();
    assert!(!u.is_active && u.email_verified && u.email == "W@example.com", "{u:?}");
    assert!(!e.email_taken(&winner.email).await.unwrap());
    assert_eq!(e.find_user_by(IdentifyBy::Email, "w@EXAMPLE.com").await.unwrap().map(|u| u.id), Some(id));

    // Of concurrent password replacements from one copy, one wins.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (e, u) = (e.clone(), u.clone());
            tokio::spawn(async move { e.replace_password(&u, &pw(&format!("new-{i}"))).await })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(EngineError::Changed) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);

    // A user deleted while being renamed leaves no claim behind.
    let c = e.create_user("c", "c@example.com", &pw("p")).await.unwrap();
    let (r, d) = tokio::join!(
        e.update_user(c.id, UserUpdate { username: Some("c2".into()), ..Default::default() }),
        e.delete_user(&c)
    );
    assert!(d.unwrap());
    assert!(r.is_ok() || matches!(r, Err(EngineError::UserNotFound)), "{r:?}");
    for n in ["c", "c2"] {
        assert!(!e.username_taken(n).await.unwrap(), "{n}");
    }
    assert!(!e.email_taken("c@example.com").await.unwrap());
}

async fn fifty_concurrent_registrations(kind: StoreKind) {
    let f = engine(kind).await;
    let e = Arc::new(f.engine.clone());
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let e = e.clone();
            tokio::spawn(async move { e.create_user("same-name", &format!("u{i}@example.com"), &pw("p")).await })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(EngineError::UsernameTaken) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one registration of a name wins");
}

#[tokio::test]
async fn redis_down_is_an_error_not_a_hang() {
    let mut redis = Redis::start();
    let s = store::open(&redis.url(), "pa", Duration::from_millis(300)).await.unwrap();
    s.ping().await.unwrap();
    redis.stop();
    let started = std::time::Instant::now();
    assert!(s.ping().await.is_err());
    assert!(s.find_user(1).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10), "store calls are bounded by the timeout");
}

/// The mail queue: oldest due first, one holder per lease, settles only from
/// the holder, retries due later, an expired lease hands the mail on, final
/// states kept for `keep` without the payload.
async fn mail_queue(kind: StoreKind) {
    let test_store = TestStore::start(kind);
    let s = store::open(&test_store.url, &test_store.prefix, Duration::from_secs(2)).await.unwrap();
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let lease = Duration::from_secs(60);
    let keep = Duration::from_secs(60);
    s.enqueue_mail("a", "payload-a").await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    s.enqueue_mail("b", "payload-b").await.unwrap();
    assert_eq!(s.mail_queue_depth().await.unwrap(), 2);
    let a = s.claim_mail(lease, "la").await.unwrap().expect("a is due");
    assert_eq!((a.id.as_str(), a.payload.as_str(), a.attempts), ("a", "payload-a", 1));
    let b = s.claim_mail(lease, "lb").await.unwrap().expect("b is due");
    assert_eq!(b.id, "b");
    assert!(s.claim_mail(lease, "lx").await.unwrap().is_none(), "both are held");
    assert!(!s.settle_mail("a", "lb", &Settle::Sent, keep).await.unwrap(), "only the holder settles");
    assert!(s.settle_mail("a", "la", &Settle::Sent, keep).await.unwrap());
    assert!(!s.settle_mail("a", "la", &Settle::Sent, keep).await.unwrap(), "settled once");
    assert_eq!(s.mail_queue_depth().await.unwrap(), 1);

    // Generous margins: a loaded machine may stall between two calls.
    let retry = Settle::Retry { after: Duration::from_millis(1500), reason: "451 busy".into() };
    assert!(s.settle_mail("b", "lb", &retry, keep).await.unwrap());
    let st = s.find_mail_status(&ids(&["a", "b", "zz"])).await.unwrap();
    assert_eq!(st[0], Some(MailStatus { state: DeliveryState::Sent, attempts: 1, error: None }));
    assert_eq!(st[1], Some(MailStatus { state: DeliveryState::Retrying, attempts: 1, error: Some("451 busy".into()) }));
    assert_eq!(st[2], None);
    assert!(s.claim_mail(lease, "lx").await.unwrap().is_none(), "the retry is not due yet");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // A short lease that runs out hands the mail to the next claim.
    let b2 = s.claim_mail(Duration::from_millis(200), "lb2").await.unwrap().expect("due again");
    assert_eq!((b2.id.as_str(), b2.attempts, b2.payload.as_str()), ("b", 2, "payload-b"));
    assert_eq!(s.find_mail_status(&ids(&["b"])).await.unwrap()[0].as_ref().unwrap().state, DeliveryState::Sending);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b3 = s.claim_mail(lease, "lb3").await.unwrap().expect("the lease ran out");
    assert_eq!(b3.attempts, 3);
    assert!(!s.settle_mail("b", "lb2", &Settle::Sent, keep).await.unwrap(), "an expired lease settles nothing");
    let short = Duration::from_secs(1);
    assert!(s.settle_mail("b", "lb3", &Settle::Failed("550 no such user".into()), short).await.unwrap());
    assert_eq!(s.mail_queue_depth().await.unwrap(), 0);
    let st = s.find_mail_status(&ids(&["b"])).await.unwrap();
    assert_eq!(
        st[0],
        Some(MailStatus { state: DeliveryState::Failed, attempts: 3, error: Some("550 no such user".into()) })
    );
    assert!(s.claim_mail(lease, "lx").await.unwrap().is_none());
    // Forgotten after `keep`.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(s.find_mail_status(&ids(&["b"])).await.unwrap(), vec![None]);
}

both_stores!(
    users_and_uniqueness,
    opaque_tokens,
    tokens_expire,
    one_time_tokens,
    jwt_rotation_and_blacklist,
    concurrent_user_writes,
    mail_queue
);

// 50 racing registrations need real parallelism: a multi-threaded runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_registrations_memory() {
    fifty_concurrent_registrations(StoreKind::Memory).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_registrations_redis() {
    fifty_concurrent_registrations(StoreKind::Redis).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_registrations_cluster() {
    fifty_concurrent_registrations(StoreKind::Cluster).await
}
