//! No lost updates: a login in flight never undoes a password reset or an
//! email change that landed while it hashed; of several outstanding reset
//! tokens redeemed at once exactly one wins; a logout is never undone by a
//! concurrent login (held between its steps by `PausingStore`); a token handed out for a password that a reset replaced
//! meanwhile does not survive it. Races run many trials on both stores and
//! assert zero lost updates. The logins' stored hash is made expensive
//! (bcrypt cost 7) so they are still hashing when the competing write lands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::pausing_store::PausingStore;
use crate::support::{djoser, jwt_email, Gw, Redis, StoreKind};
use polyauth::engine::{Engine, EngineError, EngineSettings, IdentifyBy, UserUpdate};
use polyauth::secret::Secret;
use polyauth::store;
use serde_json::json;

const TRIALS: usize = 10;
const LOOPS: usize = 4;

/// jwt-email without the login lockout: these races log in with passwords a
/// reset has just replaced, many times over, which the lockout would answer
/// with 429 before the outcome could be seen.
async fn jwt_email_unlocked(kind: StoreKind) -> Gw {
    jwt_email::builder(kind).extra("[login_throttle]\naccount_failures = 0\nip_failures = 0").start().await
}

/// Stores `password` hashed at a higher cost, so verifying it takes a while.
async fn make_slow(g: &Gw, id: u64, password: &str) {
    let hash = bcrypt::hash(password, 7).unwrap();
    g.running.engine.update_user(id, UserUpdate { password_hash: Some(hash), ..Default::default() }).await.unwrap();
}

/// `LOOPS` tasks posting `body` to `path` until `stop`; each returns how many answers it got.
fn hammer(
    g: &Gw,
    dialect: &str,
    path: &str,
    body: serde_json::Value,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<usize>> {
    (0..LOOPS)
        .map(|_| {
            let (http, url, body, stop) = (g.http.clone(), g.url(dialect, path), body.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    http.post(&url).json(&body).send().await.expect("login").bytes().await.expect("body");
                    n += 1;
                }
                n
            })
        })
        .collect()
}

async fn stop_all(stop: &AtomicBool, loops: Vec<tokio::task::JoinHandle<usize>>) -> usize {
    stop.store(true, Ordering::Relaxed);
    let mut n = 0;
    for l in loops {
        n += l.await.unwrap();
    }
    n
}

async fn reset_during_logins(kind: StoreKind) {
    let g = jwt_email_unlocked(kind).await;
    let mut lost = 0;
    for trial in 0..TRIALS {
        let email = format!("race{trial}@example.com");
        let id = jwt_email::register(&g, &email, "Old-pass-123").await;
        make_slow(&g, id, "Old-pass-123").await;
        g.post_json(jwt_email::D, jwt_email::RESET, json!({"email": email})).await;
        let token = g.last_mail_token(&email).await;
        let stop = Arc::new(AtomicBool::new(false));
        let loops =
            hammer(&g, jwt_email::D, jwt_email::TOKEN, json!({"email": email, "password": "Old-pass-123"}), &stop);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let r = g.post_json(jwt_email::D, &jwt_email::confirm_path(&token), json!({"password": "New-pass-456"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Let the logins that were hashing when the reset landed finish.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(stop_all(&stop, loops).await > 0);
        let new =
            g.post_json(jwt_email::D, jwt_email::TOKEN, json!({"email": email, "password": "New-pass-456"})).await;
        let old =
            g.post_json(jwt_email::D, jwt_email::TOKEN, json!({"email": email, "password": "Old-pass-123"})).await;
        if new.status != 200 || old.status != 401 {
            lost += 1;
        }
    }
    assert_eq!(lost, 0, "{lost} of {TRIALS} resets undone by a concurrent login");
}

async fn email_change_during_logins(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    let mut lost = 0;
    for trial in 0..TRIALS {
        let (user, old_email, new_email) =
            (format!("mover{trial}"), format!("old{trial}@example.com"), format!("new{trial}@example.com"));
        let id = djoser::register(&g, &user, &old_email).await;
        let auth = djoser::token(&djoser::login(&g, &user, djoser::PW).await);
        make_slow(&g, id, djoser::PW).await;
        let stop = Arc::new(AtomicBool::new(false));
        let body = json!({"username": user, "password": djoser::PW});
        let loops = hammer(&g, djoser::D, &djoser::p("/auth/token/login/"), body, &stop);
        tokio::time::sleep(Duration::from_millis(30)).await;
        let r = djoser::call(&g, "PATCH", "/auth/users/me/", &auth, Some(json!({"email": new_email}))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(stop_all(&stop, loops).await > 0);
        let me = djoser::call(&g, "GET", "/auth/users/me/", &auth, None).await;
        // The old address was released: it must not come back on this record.
        let holder = g.running.engine.find_user_by(IdentifyBy::Email, &new_email).await.unwrap().map(|u| u.id);
        if me.json()["email"] != new_email.as_str() || holder != Some(id) {
            lost += 1;
        }
    }
    assert_eq!(lost, 0, "{lost} of {TRIALS} email changes undone by a concurrent login");
}

/// Ten outstanding tokens of one user confirmed at once: exactly one 200, and
/// afterwards exactly the winner's password logs in.
async fn concurrent_confirms_have_one_winner(kind: StoreKind) {
    let g = jwt_email_unlocked(kind).await;
    for trial in 0..TRIALS / 2 {
        let email = format!("many{trial}@example.com");
        jwt_email::register(&g, &email, "Old-pass-123").await;
        for _ in 0..10 {
            g.post_json(jwt_email::D, jwt_email::RESET, json!({"email": email})).await;
        }
        let mails = g.outbox(&email).await;
        assert_eq!(mails.len(), 10);
        let confirms: Vec<_> = mails
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let url = g.url(jwt_email::D, &jwt_email::confirm_path(m["token"].as_str().unwrap()));
                let http = g.http.clone();
                tokio::spawn(async move {
                    let r = http.post(url).json(&json!({"password": format!("New-pass-{i}")})).send().await.unwrap();
                    r.status().as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for c in confirms {
            statuses.push(c.await.unwrap());
        }
        let winners: Vec<_> = statuses.iter().enumerate().filter(|(_, s)| **s == 200).map(|(i, _)| i).collect();
        assert_eq!(winners.len(), 1, "trial {trial}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 400), "{statuses:?}");
        for i in 0..10 {
            let r = g
                .post_json(jwt_email::D, jwt_email::TOKEN, json!({"email": email, "password": format!("New-pass-{i}")}))
                .await;
            assert_eq!(r.status == 200, i == winners[0], "trial {trial}: password {i}: {}", r.text);
        }
    }
}

/// A logout that lands while a login is between claiming the user's auth-token
/// slot and creating the token (held there by the store): afterwards the
/// logged-out token must be dead, whichever order the two are taken in. A
/// login that re-created it would bring back a token its owner ended.
async fn logout_during_a_login_stays_done(kind: StoreKind) {
    let redis = (kind == StoreKind::Redis).then(Redis::start);
    let url = redis.as_ref().map(|r| r.url()).unwrap_or_else(|| "memory://".into());
    let pausing = PausingStore::new(store::open(&url, "pa", Duration::from_secs(2)).await.unwrap());
    let e = Engine::new(pausing.clone(), engine_settings()).unwrap();
    let user = e.create_user("flip", "flip@example.com", &Secret::new("pw")).await.unwrap();
    for trial in 0..TRIALS {
        let before = e.login_auth_token(&user).await.unwrap();
        pausing.pause_next_claim();
        let login = tokio::spawn({
            let (e, user) = (e.clone(), user.clone());
            async move { e.login_auth_token(&user).await.unwrap() }
        });
        pausing.claimed.notified().await;
        assert!(e.revoke_opaque_token(&before, &user).await.unwrap(), "trial {trial}: logout");
        pausing.go.notify_one();
        let after = login.await.unwrap();
        assert_ne!(after, before, "trial {trial}: the login handed out the token a logout had just ended");
        assert!(e.user_for_opaque_token(&before, None).await.is_err(), "trial {trial}: the ended token is live");
        assert!(e.user_for_opaque_token(&after, None).await.is_ok(), "trial {trial}: the new token works");
        e.revoke_opaque_token(&after, &user).await.unwrap();
    }
}

fn engine_settings() -> EngineSettings {
    EngineSettings {
        bcrypt_cost: 4,
        max_concurrent_hashes: 2,
        max_queued_hashes: 64,
        lockout: polyauth::engine::LockoutSettings::OFF,
        signing_key: Secret::new(crate::support::SIGNING_KEY),
        access_lifetime_secs: 300,
        refresh_lifetime_secs: 86_400,
        opaque_ttl: Duration::from_secs(3600),
        one_time_ttl: Duration::from_secs(3600),
        one_time_per_user: 5,
        outbox_capacity: 10,
        outbox_per_recipient: 10,
        mail_delivery: false,
        metrics: polyauth::metrics::Metrics::new(),
    }
}

/// A login that proved the old password, with its token handed out only
/// after a reset replaced that password and ended every token: the token must
/// not be live afterwards (the reset must win, as if the login came first).
async fn token_for_a_replaced_password_dies(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    let e = &g.running.engine;
    djoser::register(&g, "late", "late@example.com").await;
    let proved =
        e.authenticate(IdentifyBy::Username, "late", &Secret::new(djoser::PW), &Default::default()).await.unwrap();
    e.replace_password(&proved, &Secret::new(djoser::PW2)).await.unwrap();
    e.revoke_all_tokens(&proved, None).await.unwrap();
    for issued in [e.login_auth_token(&proved).await, e.issue_session(&proved).await] {
        match issued {
            Err(EngineError::Changed) => {}
            Ok(t) => panic!(
                "a token for the replaced password was handed out: live = {:?}",
                e.user_for_opaque_token(&t, None).await.is_ok()
            ),
            Err(other) => panic!("{other:?}"),
        }
    }
    // A login with the new password still gets a token.
    djoser::login(&g, "late", djoser::PW2).await;
}

/// Deleting an account checks the password as stored when it deletes: a
/// password changed after the check (a reset) keeps the account.
async fn delete_checks_the_password_it_deletes_with(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    let e = &g.running.engine;
    djoser::register(&g, "keep", "keep@example.com").await;
    let seen = e.find_user_by(IdentifyBy::Username, "keep").await.unwrap().unwrap();
    e.replace_password(&seen, &Secret::new(djoser::PW2)).await.unwrap();
    assert!(matches!(e.delete_user(&seen).await, Err(EngineError::Changed)));
    assert!(e.find_user(seen.id).await.unwrap().is_some(), "the account was deleted with a replaced password");
}

macro_rules! multi_thread_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(crate::support::StoreKind::Memory).await } )*
        }
        mod redis {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(crate::support::StoreKind::Redis).await } )*
        }
    };
}

multi_thread_both_stores!(
    reset_during_logins,
    email_change_during_logins,
    concurrent_confirms_have_one_winner,
    logout_during_a_login_stays_done,
    token_for_a_replaced_password_dies,
    delete_checks_the_password_it_deletes_with,
);
