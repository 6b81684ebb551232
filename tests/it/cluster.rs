//! polyauth on a real local Redis Cluster (the process's shared 3 masters):
//! two replicas over one store, one winner of concurrent registrations across
//! them, keys spread over every master, orphaned claims taken over; and
//! (`failover`) a master killed under load on a 3 + 3 cluster.

mod failover;

use std::time::Duration;

use serde_json::json;

use crate::support::cluster::{cli, Cluster};
use crate::support::djoser::{self, jwt_pair, login, register, PW};
use crate::support::{gateway, token, Gw, StoreKind};
use polyauth::engine::EngineError;
use polyauth::secret::Secret;
use polyauth::store;

/// Two gateways (replicas A and B) on one Cluster, under one key prefix.
async fn two_replicas(settings: &str) -> (Gw, Gw, String) {
    let prefix = Cluster::fresh_prefix();
    let start =
        || gateway(StoreKind::Cluster).mount_with_settings(djoser::D, "/djoser/", settings).key_prefix(&prefix).start();
    let a = start().await;
    let b = start().await;
    (a, b, prefix)
}

#[tokio::test]
async fn a_token_from_one_replica_works_and_dies_at_the_other() {
    let (a, b, _) = two_replicas("SIMPLE_JWT = { ROTATE_REFRESH_TOKENS = true }").await;
    let id = register(&a, "ann", "ann@example.com").await;

    // An auth token issued by A works at B, and B's logout revokes it at A.
    let t = login(&a, "ann", PW).await;
    let me = djoser::call(&b, "GET", "/auth/users/me/", &token(&t), None).await;
    me.expect(200, djoser::me_body(id, "ann", "ann@example.com"));
    assert_eq!(djoser::call(&b, "POST", "/auth/token/logout/", &token(&t), None).await.status, 204);
    assert_eq!(djoser::call(&a, "GET", "/auth/users/me/", &token(&t), None).await.status, 401);

    // A refresh rotated at A is refused at B (blacklisted).
    let (_, refresh) = jwt_pair(&a, "ann", PW).await;
    let rotated = djoser::post(&a, "/auth/jwt/refresh/", json!({ "refresh": refresh })).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let again = djoser::post(&b, "/auth/jwt/refresh/", json!({ "refresh": refresh })).await;
    again.expect(401, json!({"detail": "Token is blacklisted", "code": "token_not_valid"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_registrations_across_two_replicas_have_one_winner() {
    let (a, b, _) = two_replicas("").await;
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let g = if i % 2 == 0 { &a } else { &b };
            let (http, url) = (g.http.clone(), g.url(djoser::D, "/djoser/auth/users/"));
            tokio::spawn(async move {
                let body =
                    json!({"username": "dup", "password": PW, "re_password": PW, "email": format!("d{i}@example.com")});
                http.post(&url).json(&body).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 49, "{statuses:?}");
    // The winner can log in at either replica.
    let r = djoser::post(&b, "/auth/token/login/", json!({"username": "dup", "password": PW})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn keys_spread_over_every_master() {
    let (a, b, prefix) = two_replicas("").await;
    for i in 0..24 {
        let g = if i % 2 == 0 { &a } else { &b };
        register(g, &format!("spread{i}"), &format!("spread{i}@example.com")).await;
        login(g, &format!("spread{i}"), PW).await;
    }
    let cluster = Cluster::shared();
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3);
    let counts: Vec<usize> = masters.iter().map(|&port| cluster.count_keys(port, &prefix)).collect();
    assert!(counts.iter().all(|&n| n > 0), "keys per master: {counts:?}");
    // 24 users: a hash, a username and an email claim, an auth token, its
    // digest set, its slot and slot-name set (the id counter is one more).
    assert_eq!(counts.iter().sum::<usize>(), 24 * 7 + 1, "keys per master: {counts:?}");
}

/// A claim left by a crashed registration (its user never written) blocks the
/// name during the grace period, and is taken over once it is older; a claim
/// that a user's record backs is never taken.
#[tokio::test]
async fn orphaned_claims_are_taken_over_after_the_grace_period() {
    let cluster = Cluster::shared();
    let prefix = Cluster::fresh_prefix();
    let s = store::open(&cluster.url(), &prefix, Duration::from_secs(2)).await.unwrap();
    let settings = crate::store_conformance::settings();
    let e = polyauth::engine::Engine::new(s.clone(), settings).unwrap();
    let port = cluster.nodes[0].port;
    let set = |key: &str, value: &str| {
        let out = cli(port, &["-c", "SET", &format!("{prefix}:{key}"), value]);
        assert!(out.contains("OK"), "{out}");
    };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();

    // Fresh: a registration of user 99 may still be running.
    set("username:fresh", &format!("p:99:{now_ms}"));
    assert!(matches!(e.create_user("fresh", "", &Secret::new("pw")).await, Err(EngineError::UsernameTaken)));
    assert!(!e.username_taken("fresh").await.unwrap(), "a claim no record backs is not a user");
    // An hour old: its process is gone; the name is free to take.
    set("username:stale", &format!("p:98:{}", now_ms - 3_600_000));
    set("email:stale@example.com", &format!("l:98:{}", now_ms - 3_600_000));
    let u = e.create_user("stale", "Stale@example.com", &Secret::new("pw")).await.unwrap();
    assert_eq!(e.find_user_by(polyauth::engine::IdentifyBy::Username, "stale").await.unwrap().unwrap().id, u.id);
    assert_eq!(cli(port, &["-c", "GET", &format!("{prefix}:username:stale")]).trim(), u.id.to_string());
    // A claim in flux that the record backs is the user's, whatever its age.
    set("username:stale", &format!("l:{}:1", u.id));
    assert!(matches!(e.create_user("stale", "", &Secret::new("pw")).await, Err(EngineError::UsernameTaken)));
    assert_eq!(s.find_user_id_by_username("stale").await.unwrap(), Some(u.id));
}
