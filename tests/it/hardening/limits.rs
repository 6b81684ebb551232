//! Bounded per-user state and equal work: a client asking again and again
//! holds at most `one_time_per_user` live reset tokens (newest win), the
//! outbox keeps other recipients' mail when one address is flooded, and a
//! reset request for an unknown address does the same store work as one for
//! a known address (the structural proof of equal timing; figures in
//! `scripts/timing.sh`).

use std::collections::BTreeMap;

use polyauth::engine::crypto::digest;
use polyauth::store::{OneTimeRecord, Purpose};
use serde_json::json;

use crate::support::{djoser, jwt_email, Gw, StoreKind};

async fn newest_one_time_tokens_win(kind: StoreKind) {
    let g =
        jwt_email::builder(kind).extra("[tokens]\none_time_per_user = 3\n[outbox]\nper_recipient = 50").start().await;
    jwt_email::register(&g, "many@example.com", "Secr3t-pass!").await;
    for _ in 0..12 {
        g.post_json(jwt_email::D, jwt_email::RESET, json!({"email": "many@example.com"})).await;
    }
    let tokens: Vec<String> =
        g.outbox("many@example.com").await.iter().map(|m| m["token"].as_str().unwrap().to_owned()).collect();
    assert_eq!(tokens.len(), 12);
    let store = g.running.engine.store();
    let mut live = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if store.find_one_time(Purpose::PasswordReset, &digest(t)).await.unwrap().is_some() {
            live.push(i);
        }
    }
    assert_eq!(live, vec![9, 10, 11], "only the newest three stay live");
    let r = g.post_json(jwt_email::D, &jwt_email::confirm_path(&tokens[0]), json!({"password": "N3w-pass-1"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = g.post_json(jwt_email::D, &jwt_email::confirm_path(&tokens[11]), json!({"password": "N3w-pass-1"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Tokens made back to back, many in one millisecond (where their expiries
/// would tie): still exactly the newest `keep` stay live.
async fn newest_wins_within_one_millisecond(kind: StoreKind) {
    let g = jwt_email::builder(kind).start().await;
    let store = g.running.engine.store();
    let ttl = std::time::Duration::from_secs(600);
    for round in 0..5 {
        let digests: Vec<String> = (0..8).map(|i| digest(&format!("tie-{round}-{i}")).to_string()).collect();
        for d in &digests {
            let record = OneTimeRecord { user_id: 7 + round, stamp: "s".into() };
            store.create_one_time(Purpose::PasswordReset, d, record, ttl, 2).await.unwrap();
        }
        let mut live = Vec::new();
        for (i, d) in digests.iter().enumerate() {
            if store.find_one_time(Purpose::PasswordReset, d).await.unwrap().is_some() {
                live.push(i);
            }
        }
        assert_eq!(live, vec![6, 7], "round {round}: only the newest two stay live");
    }
}

async fn a_flood_to_one_address_keeps_the_others_mail(kind: StoreKind) {
    let g = jwt_email::builder(kind).extra("[outbox]\ncapacity = 30\nper_recipient = 5").start().await;
    jwt_email::register(&g, "victim@example.com", "Secr3t-pass!").await;
    jwt_email::register(&g, "flood@example.com", "Secr3t-pass!").await;
    g.post_json(jwt_email::D, jwt_email::RESET, json!({"email": "victim@example.com"})).await;
    for _ in 0..100 {
        g.post_json(jwt_email::D, jwt_email::RESET, json!({"email": "flood@example.com"})).await;
    }
    assert_eq!(g.outbox("victim@example.com").await.len(), 1, "the victim's pending mail was evicted");
    assert_eq!(g.outbox("flood@example.com").await.len(), 5);
}

/// Store operations by name, as the metrics count them.
async fn store_ops(g: &Gw) -> BTreeMap<String, f64> {
    let m = g.metrics().await;
    m.samples
        .iter()
        .filter_map(|(k, v)| {
            let labels = k.strip_prefix("polyauth_store_operation_duration_seconds_count{")?;
            let op = labels.split("op=\"").nth(1)?.split('"').next()?;
            Some((op.to_owned(), *v))
        })
        .fold(BTreeMap::new(), |mut acc, (op, v)| {
            *acc.entry(op).or_insert(0.0) += v;
            acc
        })
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

/// Djoser answers 204 either way; the work behind the answer must not differ.
async fn unknown_email_costs_the_same_store_work(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    djoser::register(&g, "known", "known@example.com").await;
    let mut seen = Vec::new();
    for email in ["known@example.com", "nobody@example.com", "known@example.com", "ghost@example.com"] {
        let before = store_ops(&g).await;
        let r = djoser::post(&g, "/auth/users/reset_password/", json!({"email": email})).await;
        assert_eq!(r.status, 204, "{}", r.text);
        seen.push(delta(&before, &store_ops(&g).await));
    }
    assert!(!seen[0].is_empty());
    for s in &seen[1..] {
        assert_eq!(*s, seen[0], "store work differs between known and unknown addresses");
    }
}

both_stores!(
    newest_one_time_tokens_win,
    newest_wins_within_one_millisecond,
    a_flood_to_one_address_keeps_the_others_mail,
    unknown_email_costs_the_same_store_work,
);
