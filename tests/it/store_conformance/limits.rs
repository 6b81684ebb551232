//! Abuse protection on both stores: lockout counters and bans, throttle
//! histories, and the engine's lockout and token revocation over them.

use std::sync::Arc;
use std::time::Duration;

use super::{engine_full, origin, pw};
use crate::support::{StoreKind, TestStore};
use polyauth::audit::Origin;
use polyauth::engine::{EngineError, IdentifyBy, LockoutSettings, TokenError};
use polyauth::store::{self, AttemptEnd, AttemptStart, SharedStore, ThrottleHit};

const W: Duration = Duration::from_secs(60);
const B: Duration = Duration::from_secs(30);

async fn open(kind: StoreKind) -> (SharedStore, TestStore) {
    let t = TestStore::start(kind);
    (store::open(&t.url, &t.prefix, Duration::from_secs(2)).await.expect("store"), t)
}

fn allowed(last: bool) -> AttemptStart {
    AttemptStart::Allowed { last }
}

async fn attempts_count_and_ban(kind: StoreKind) {
    let (s, _r) = open(kind).await;
    assert_eq!(s.begin_attempt("u:1", 3, W, B).await.unwrap(), allowed(false));
    s.end_attempt("u:1", AttemptEnd::Failed, false, B).await.unwrap();
    assert_eq!(s.begin_attempt("u:1", 3, W, B).await.unwrap(), allowed(false));
    assert_eq!(s.begin_attempt("u:1", 3, W, B).await.unwrap(), allowed(true), "the third takes the last allowance");
    // While the last one is in flight, nothing else gets through; it ends within a hash.
    let AttemptStart::Locked { retry_after } = s.begin_attempt("u:1", 3, W, B).await.unwrap() else {
        panic!("a provisional ban")
    };
    assert_eq!(retry_after, Duration::from_secs(1));
    assert_eq!(s.find_lockout("u:1").await.unwrap(), None, "an attempt in flight is not a lockout");
    assert_eq!(s.begin_attempt("u:2", 3, W, B).await.unwrap(), allowed(false), "subjects are separate");
    s.end_attempt("u:1", AttemptEnd::Failed, false, B).await.unwrap();
    s.end_attempt("u:1", AttemptEnd::Failed, true, B).await.unwrap();
    let AttemptStart::Locked { retry_after } = s.begin_attempt("u:1", 3, W, B).await.unwrap() else { panic!("banned") };
    assert!(retry_after > Duration::from_secs(25) && retry_after <= B, "{retry_after:?}");
    assert!(s.find_lockout("u:1").await.unwrap().is_some_and(|d| d > Duration::from_secs(25)));
    assert_eq!(s.find_lockout("u:2").await.unwrap(), None);
    assert!(s.delete_lockout("u:1").await.unwrap(), "lifted");
    assert!(!s.delete_lockout("u:1").await.unwrap(), "nothing left to lift");
    assert_eq!(s.begin_attempt("u:1", 3, W, B).await.unwrap(), allowed(false), "the count starts over");
}

async fn a_success_lifts_and_forgives(kind: StoreKind) {
    let (s, _r) = open(kind).await;
    for _ in 0..2 {
        s.begin_attempt("u:1", 2, W, B).await.unwrap();
    }
    // The last allowance succeeded: ban lifted, count reset (an account).
    s.end_attempt("u:1", AttemptEnd::Reset, true, B).await.unwrap();
    assert_eq!(s.find_lockout("u:1").await.unwrap(), None);
    assert_eq!(s.begin_attempt("u:1", 2, W, B).await.unwrap(), allowed(false));
    // An address: a success or an attempt without verdict gives back only itself.
    assert_eq!(s.begin_attempt("ip:a", 2, W, B).await.unwrap(), allowed(false));
    assert_eq!(s.begin_attempt("ip:a", 2, W, B).await.unwrap(), allowed(true));
    s.end_attempt("ip:a", AttemptEnd::Forgiven, true, B).await.unwrap();
    assert_eq!(s.begin_attempt("ip:a", 2, W, B).await.unwrap(), allowed(true), "one failure still counted");
    s.end_attempt("ip:a", AttemptEnd::Forgiven, true, B).await.unwrap();
    s.end_attempt("ip:a", AttemptEnd::Forgiven, false, B).await.unwrap();
    s.end_attempt("ip:a", AttemptEnd::Forgiven, false, B).await.unwrap();
    assert_eq!(s.begin_attempt("ip:a", 2, W, B).await.unwrap(), allowed(false), "never below zero");
}

async fn counts_and_bans_expire(kind: StoreKind) {
    let (s, _r) = open(kind).await;
    let (w, b) = (Duration::from_secs(1), Duration::from_secs(1));
    assert_eq!(s.begin_attempt("u:1", 2, w, b).await.unwrap(), allowed(false));
    s.end_attempt("u:1", AttemptEnd::Failed, false, b).await.unwrap();
    assert_eq!(s.begin_attempt("u:2", 1, w, b).await.unwrap(), allowed(true));
    s.end_attempt("u:2", AttemptEnd::Failed, true, b).await.unwrap();
    assert!(matches!(s.begin_attempt("u:2", 1, w, b).await.unwrap(), AttemptStart::Locked { .. }));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(s.begin_attempt("u:1", 2, w, b).await.unwrap(), allowed(false), "the window ended");
    assert_eq!(s.find_lockout("u:2").await.unwrap(), None, "the ban ended");
    assert_eq!(s.begin_attempt("u:2", 1, w, b).await.unwrap(), allowed(true));
}

async fn throttle_histories(kind: StoreKind) {
    let (s, _r) = open(kind).await;
    let w = Duration::from_secs(2);
    assert_eq!(s.throttle_hit("k", 2, w, "a").await.unwrap(), ThrottleHit::Allowed);
    assert_eq!(s.throttle_hit("k", 2, w, "b").await.unwrap(), ThrottleHit::Allowed);
    let ThrottleHit::Refused { count, oldest_age } = s.throttle_hit("k", 2, w, "c").await.unwrap() else {
        panic!("the third in the window is refused")
    };
    assert_eq!(count, 2);
    assert!(oldest_age < Duration::from_secs(1), "{oldest_age:?}");
    assert_eq!(s.throttle_hit("other", 2, w, "d").await.unwrap(), ThrottleHit::Allowed, "keys are separate");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(s.throttle_hit("k", 2, w, "e").await.unwrap(), ThrottleHit::Allowed, "the window moved on");
}

fn lockout(account: u32, address: u32, ban_secs: u64) -> LockoutSettings {
    LockoutSettings {
        account_failures: account,
        address_failures: address,
        window: Duration::from_secs(300),
        ban: Duration::from_secs(ban_secs),
    }
}

fn locked<T: std::fmt::Debug>(r: Result<T, EngineError>) -> bool {
    matches!(r, Err(EngineError::Locked { .. }))
}

async fn engine_lockout(kind: StoreKind) {
    let f = engine_full(kind, Duration::from_secs(3600), lockout(3, 100, 2)).await;
    let e = &f.engine;
    e.create_user("alice", "alice@example.com", &pw("right")).await.unwrap();
    let by = IdentifyBy::Username;
    // A success resets the count: two failures, a success, two failures do not lock.
    for p in ["w1", "w2", "right", "w3", "w4"] {
        let r = e.authenticate(by, "alice", &pw(p), &origin()).await;
        assert_eq!(r.is_ok(), p == "right", "{p}: {r:?}");
    }
    assert!(matches!(e.authenticate(by, "alice", &pw("w5"), &origin()).await, Err(EngineError::InvalidCredentials)));
    assert!(locked(e.authenticate(by, "alice", &pw("right"), &origin()).await), "locked, right password or not");
    // The same account through its email, and its current-password check.
    assert!(locked(e.authenticate(IdentifyBy::Email, "ALICE@example.com", &pw("right"), &origin()).await));
    let alice = e.find_user(1).await.unwrap().unwrap();
    assert!(locked(e.check_password(&alice, &pw("right"), &origin()).await));
    assert!(e.user_lockout(1).await.unwrap().is_some());
    // An unknown name locks exactly the same way.
    for _ in 0..3 {
        let r = e.authenticate(by, "ghost", &pw("x"), &origin()).await;
        assert!(matches!(r, Err(EngineError::InvalidCredentials)), "{r:?}");
    }
    assert!(locked(e.authenticate(by, "ghost", &pw("x"), &origin()).await));
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(e.authenticate(by, "alice", &pw("right"), &origin()).await.is_ok(), "the ban ended");
    // An operator lifts a lockout at once.
    for _ in 0..3 {
        assert!(e.authenticate(by, "alice", &pw("wrong"), &origin()).await.is_err());
    }
    assert!(locked(e.authenticate(by, "alice", &pw("right"), &origin()).await));
    assert!(e.clear_user_lockout(1, &origin()).await.unwrap());
    assert!(e.authenticate(by, "alice", &pw("right"), &origin()).await.is_ok());
}

async fn address_lockout(kind: StoreKind) {
    let f = engine_full(kind, Duration::from_secs(3600), lockout(100, 3, 60)).await;
    let e = &f.engine;
    e.create_user("bob", "", &pw("right")).await.unwrap();
    let by = IdentifyBy::Username;
    let from = |ip: &str| Origin { client: Some(ip.parse().unwrap()), ..origin() };
    for name in ["n1", "n2", "n3"] {
        assert!(e.authenticate(by, name, &pw("x"), &from("198.51.100.1")).await.is_err());
    }
    assert!(locked(e.authenticate(by, "bob", &pw("right"), &from("198.51.100.1")).await), "the address is locked");
    assert!(e.authenticate(by, "bob", &pw("right"), &from("198.51.100.2")).await.is_ok(), "another address is not");
    // IPv6 counts by /64.
    for i in 1..=3 {
        assert!(e.authenticate(by, "n", &pw("x"), &from(&format!("2001:db8::{i}"))).await.is_err());
    }
    assert!(locked(e.authenticate(by, "bob", &pw("right"), &from("2001:db8::ffff")).await));
    assert!(e.address_lockout("2001:db8::1".parse().unwrap()).await.unwrap().is_some());
    assert!(e.clear_address_lockout("2001:db8::7".parse().unwrap(), &origin()).await.unwrap());
    assert!(e.authenticate(by, "bob", &pw("right"), &from("2001:db8::ffff")).await.is_ok());
}

/// Fifty concurrent wrong passwords for one account: exactly the limit of them
/// is checked (bcrypt), the rest are refused at once, whatever the interleaving.
async fn concurrent_guesses_stop_at_the_limit(kind: StoreKind) {
    let f = engine_full(kind, Duration::from_secs(3600), lockout(5, 1000, 60)).await;
    let e = Arc::new(f.engine.clone());
    e.create_user("carol", "", &pw("right")).await.unwrap();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let e = e.clone();
            tokio::spawn(async move {
                e.authenticate(IdentifyBy::Username, "carol", &pw(&format!("guess{i}")), &origin()).await
            })
        })
        .collect();
    let (mut checked, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Err(EngineError::InvalidCredentials) => checked += 1,
            Err(EngineError::Locked { .. }) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((checked, refused), (5, 45));
}

async fn revoking_everything_ends_jwts(kind: StoreKind) {
    let f = engine_full(kind, Duration::from_secs(3600), LockoutSettings::OFF).await;
    let e = &f.engine;
    let u = e.create_user("dave", "", &pw("p")).await.unwrap();
    let (access, refresh) = e.issue_jwt_pair(&u).unwrap();
    let session = e.issue_session(&u).await.unwrap();
    assert_eq!(e.revoke_everything(u.id, &origin()).await.unwrap(), 1);
    let blacklisted = |r: Result<_, EngineError>| matches!(r, Err(EngineError::Token(TokenError::Blacklisted)));
    assert!(blacklisted(e.user_for_access_token(&access).await.map(drop)));
    assert!(blacklisted(e.refresh_jwt(&refresh, false).await.map(drop)));
    assert!(e.user_for_opaque_token(&session, None).await.is_err());
    // Tokens issued after the revocation's second work.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (access, _) = e.issue_jwt_pair(&u).unwrap();
    assert_eq!(e.user_for_access_token(&access).await.unwrap().id, u.id);
}

both_stores!(
    attempts_count_and_ban,
    a_success_lifts_and_forgives,
    counts_and_bans_expire,
    throttle_histories,
    engine_lockout,
    address_lockout,
    revoking_everything_ends_jwts,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_memory() {
    concurrent_guesses_stop_at_the_limit(StoreKind::Memory).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_redis() {
    concurrent_guesses_stop_at_the_limit(StoreKind::Redis).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cluster() {
    concurrent_guesses_stop_at_the_limit(StoreKind::Cluster).await
}
