//! The login lockout: five wrong passwords lock an account for every dialect
//! (429 with `Retry-After` in each one's format, with the right password too),
//! other accounts from the same address still log in, an unknown name locks
//! the same way, replicas on one Redis share it, and the ban ends by itself.

use std::time::Duration;

use crate::support::abuse::{all_dialects, assert_locked, LoginRoute, EVERY_LOGIN};
use crate::support::{Gw, StoreKind};
use polyauth::secret::Secret;

const THROTTLE: &str = "account_failures = 5\nip_failures = 50\nwindow_secs = 300\nban_secs = 120\n";

async fn user(g: &Gw, name: &str) {
    let email = format!("{name}@example.com");
    g.running.engine.create_user(name, &email, &Secret::new(format!("{name}-right-pw"))).await.unwrap();
}

async fn fail_five_times(g: &Gw, route: LoginRoute, name: &str) {
    for i in 0..5 {
        let r = route.login(g, name, &format!("{name}@example.com"), &format!("wrong-{i}")).await;
        assert!(route.refused_credentials(&r), "attempt {i}: {} {}", r.status, r.text);
    }
}

async fn five_failures_lock_the_account_in_every_dialect(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).start().await;
    user(&g, "alice").await;
    user(&g, "bob").await;
    fail_five_times(&g, LoginRoute::SimpleJwt, "alice").await;
    for route in EVERY_LOGIN {
        let r = route.login(&g, "alice", "alice@example.com", "alice-right-pw").await;
        assert_locked(route, &r, 120);
    }
    // Another account from the same address is not affected.
    for route in EVERY_LOGIN {
        let r = route.login(&g, "bob", "bob@example.com", "bob-right-pw").await;
        assert!(route.succeeded(&r), "{route:?}: {} {}", r.status, r.text);
    }
    // Nothing was hashed for the refused attempts: two users created, five
    // failures, six logins of bob.
    let hashes = g.metrics().await.get("polyauth_password_hash_duration_seconds_count", &[]);
    assert_eq!(hashes, 13.0);
    let m = g.metrics().await;
    assert_eq!(m.get("polyauth_login_lockouts_total", &[("scope", "account")]), 1.0);
    assert_eq!(m.get("polyauth_throttled_requests_total", &[("dialect", "djoser"), ("reason", "lockout")]), 2.0);
}

async fn failures_through_any_dialect_count_together(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).start().await;
    user(&g, "carol").await;
    // One failure through each of five routes: the account's count is shared.
    for route in &crate::support::abuse::EVERY_LOGIN[..5] {
        let r = route.login(&g, "carol", "carol@example.com", "nope").await;
        assert!(route.refused_credentials(&r), "{route:?}: {}", r.text);
    }
    let r = LoginRoute::Food2gether.login(&g, "carol", "carol@example.com", "carol-right-pw").await;
    assert_locked(LoginRoute::Food2gether, &r, 120);
}

async fn an_unknown_name_locks_the_same_way(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).start().await;
    for route in [LoginRoute::SimpleJwt, LoginRoute::JwtEmail] {
        fail_five_times(&g, route, "nobody").await;
        let r = route.login(&g, "nobody", "nobody@example.com", "anything").await;
        assert_locked(route, &r, 120);
    }
}

async fn a_success_starts_the_count_over(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).start().await;
    user(&g, "dave").await;
    for round in 0..3 {
        for i in 0..4 {
            let r = LoginRoute::Monta.login(&g, "dave", "", &format!("bad-{round}-{i}")).await;
            assert_eq!(r.status, 400, "{}", r.text);
        }
        let r = LoginRoute::Monta.login(&g, "dave", "", "dave-right-pw").await;
        assert_eq!(r.status, 200, "round {round}: {}", r.text);
    }
}

async fn the_ban_ends_by_itself(kind: StoreKind) {
    let g = all_dialects(kind, "ban_secs = 2\n").start().await;
    user(&g, "erin").await;
    fail_five_times(&g, LoginRoute::DjoserJwt, "erin").await;
    let r = LoginRoute::DjoserJwt.login(&g, "erin", "", "erin-right-pw").await;
    assert_locked(LoginRoute::DjoserJwt, &r, 2);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let r = LoginRoute::DjoserJwt.login(&g, "erin", "", "erin-right-pw").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The current-password check of account deletion counts as a login attempt.
async fn a_stolen_token_cannot_guess_the_password(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).start().await;
    user(&g, "fay").await;
    let r = LoginRoute::DjoserToken.login(&g, "fay", "", "fay-right-pw").await;
    let token = r.json()["auth_token"].as_str().unwrap().to_owned();
    let auth = format!("Token {token}");
    let delete = |pw: &'static str| {
        let body = serde_json::to_vec(&serde_json::json!({ "current_password": pw })).unwrap();
        let (g, auth) = (&g, auth.clone());
        async move {
            let h = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
            g.send("djoser", "DELETE", "/auth/users/me/", &h, Some(&body)).await
        }
    };
    for _ in 0..5 {
        assert_eq!(delete("guess").await.status, 400);
    }
    let r = delete("fay-right-pw").await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert!(g.running.engine.find_user(1).await.unwrap().is_some(), "not deleted");
}

both_stores!(
    five_failures_lock_the_account_in_every_dialect,
    failures_through_any_dialect_count_together,
    an_unknown_name_locks_the_same_way,
    a_success_starts_the_count_over,
    the_ban_ends_by_itself,
    a_stolen_token_cannot_guess_the_password,
);

/// A second gateway on the same Redis refuses the locked account too.
#[tokio::test]
async fn another_replica_on_the_same_redis_refuses_too() {
    let a = all_dialects(StoreKind::Redis, THROTTLE).start().await;
    let url = a.redis.as_ref().unwrap().url();
    let b = all_dialects(StoreKind::Redis, THROTTLE).start_on(&url).await;
    user(&a, "gus").await;
    // Failures on both replicas count together.
    for (i, g) in [&a, &b, &a, &b, &a].into_iter().enumerate() {
        let r = LoginRoute::SimpleJwt.login(g, "gus", "", &format!("wrong-{i}")).await;
        assert_eq!(r.status, 401);
    }
    for route in EVERY_LOGIN {
        let r = route.login(&b, "gus", "gus@example.com", "gus-right-pw").await;
        assert_locked(route, &r, 120);
    }
    // An operator on one replica lifts it for both.
    assert!(a.running.engine.clear_user_lockout(1, &polyauth::audit::Origin::default()).await.unwrap());
    let r = LoginRoute::Food2gether.login(&b, "gus", "gus@example.com", "gus-right-pw").await;
    assert_eq!(r.status, 200, "{}", r.text);
}
