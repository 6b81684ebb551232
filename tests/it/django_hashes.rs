//! Users whose stored hash is a Django string (as a Django user table holds
//! them): they log in through every dialect with their Django password, a
//! wrong one fails in the dialect's own format, and the first login rewrites
//! the hash with polyauth's bcrypt. An unusable (`!…`) password never logs in,
//! but a password reset still works for it.

use crate::support::{djoser, monta, simplejwt, Gw, StoreKind};
use polyauth::engine::passwords;
use polyauth::engine::{IdentifyBy, UserUpdate};
use serde_json::{json, Value};

/// The unit tests' vectors, written by the real Django (see the file's `django` fields).
const VECTORS: &str = include_str!("../../src/engine/passwords/django_vectors.json");

/// (password, Django string) of every vector at a test-friendly work factor.
fn vectors() -> Vec<(String, String)> {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    all.iter()
        .filter(|v| !v["note"].as_str().unwrap().contains("260000"))
        .map(|v| (v["password"].as_str().unwrap().to_owned(), v["encoded"].as_str().unwrap().to_owned()))
        .collect()
}

async fn set_hash(g: &Gw, username: &str, hash: &str) -> u64 {
    let engine = &g.running.engine;
    let user = engine.find_user_by(IdentifyBy::Username, username).await.unwrap().unwrap();
    let update = UserUpdate { password_hash: Some(hash.to_owned()), ..UserUpdate::default() };
    engine.update_user(user.id, update).await.unwrap();
    user.id
}

async fn stored_hash(g: &Gw, id: u64) -> String {
    g.running.engine.find_user(id).await.unwrap().unwrap().password_hash
}

/// Every Django hasher, through Djoser's token/login and jwt/create in turn.
async fn djoser_logs_in_with_every_django_hash_and_upgrades(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    djoser::register(&g, "dj", "dj@example.com").await;
    let nobody = json!({"username": "nobody", "password": "x"});
    let unknown = [
        djoser::post(&g, "/auth/token/login/", nobody.clone()).await,
        djoser::post(&g, "/auth/jwt/create/", nobody).await,
    ];
    for (i, (pw, django)) in vectors().into_iter().enumerate() {
        let id = set_hash(&g, "dj", &django).await;
        let path = if i % 2 == 0 { "/auth/token/login/" } else { "/auth/jwt/create/" };
        let wrong = djoser::post(&g, path, json!({"username": "dj", "password": format!("{pw}!")})).await;
        let expected = &unknown[i % 2];
        assert_eq!((wrong.status, wrong.json()), (expected.status, expected.json()), "{django}");
        assert!(wrong.status == 400 || wrong.status == 401);
        assert_eq!(stored_hash(&g, id).await, django, "a failed login leaves the hash alone");

        let ok = djoser::post(&g, path, json!({"username": "dj", "password": pw})).await;
        assert_eq!(ok.status, 200, "{django}: {}", ok.text);
        let upgraded = stored_hash(&g, id).await;
        assert!(upgraded.starts_with("$2b$04$") || upgraded.starts_with("bcrypt_sha256$$2b$04$"), "{upgraded}");
        assert!(passwords::is_current(&upgraded, 4));
        // The same password logs in against the new hash; a wrong one still fails.
        djoser::login(&g, "dj", &pw).await;
        assert_eq!(stored_hash(&g, id).await, upgraded, "a current hash is not rewritten");
    }
    let m = g.metrics().await;
    assert_eq!(m.get("polyauth_password_upgrades_total", &[("from", "pbkdf2_sha256")]), 2.0);
    assert_eq!(m.get("polyauth_password_upgrades_total", &[("from", "argon2")]), 6.0);
    // bcrypt_sha256 at the configured cost already is current.
    let rewritten = vectors().iter().filter(|(_, h)| !h.starts_with("bcrypt_sha256$")).count();
    assert_eq!(m.sum("polyauth_password_upgrades_total", &[]), rewritten as f64);
}

async fn simplejwt_and_monta_log_in_with_django_hashes(kind: StoreKind) {
    let [(pw, pbkdf2), (pw2, argon2)] = [0, 2].map(|i| vectors()[i].clone());
    assert!(pbkdf2.starts_with("pbkdf2_sha256$") && argon2.starts_with("argon2$argon2id$"));

    let g = simplejwt::gw(kind).await;
    let r = g.post_json(simplejwt::D, "/auth/register", json!({"username": "sj", "password": "other-pass-1"})).await;
    assert_eq!(r.status, 201);
    let id = set_hash(&g, "sj", &pbkdf2).await;
    let unknown = g.post_json(simplejwt::D, "/auth/token", json!({"username": "nobody", "password": "x"})).await;
    let wrong = g.post_json(simplejwt::D, "/auth/token", json!({"username": "sj", "password": "other-pass-1"})).await;
    assert_eq!((wrong.status, wrong.json()), (401, unknown.json()));
    let ok = g.post_json(simplejwt::D, "/auth/token", json!({"username": "sj", "password": pw})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(passwords::is_current(&stored_hash(&g, id).await, 4));

    let g = monta::gw(kind, &[("mo", "mo@example.com", "mo-pass-1")]).await;
    let id = set_hash(&g, "mo", &argon2).await;
    let unknown = g.post_json(monta::D, monta::LOGIN, json!({"username": "nobody", "password": "x"})).await;
    let wrong = g.post_json(monta::D, monta::LOGIN, json!({"username": "mo", "password": "mo-pass-1"})).await;
    assert_eq!((wrong.status, wrong.json()), (unknown.status, unknown.json()));
    assert!(wrong.status >= 400);
    let token = monta::login(&g, "mo", &pw2).await;
    assert_eq!(monta::verify(&g, &token).await.status, 200);
    assert!(passwords::is_current(&stored_hash(&g, id).await, 4));
    monta::login(&g, "mo", &pw2).await;
}

/// Django's `set_unusable_password()`: no password opens it, a reset does.
async fn unusable_password_is_refused_but_can_be_reset(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    djoser::register(&g, "un", "un@example.com").await;
    let unusable = "!Xq2vJ9kLmN4pR7sT1uW3yZ5aB8cD0eF6gH2iJ4kL";
    let id = set_hash(&g, "un", unusable).await;
    for pw in [djoser::PW, unusable, &unusable[1..], ""] {
        let r = djoser::post(&g, "/auth/token/login/", json!({"username": "un", "password": pw})).await;
        assert_eq!(r.status, 400, "{pw:?}: {}", r.text);
    }
    assert_eq!(stored_hash(&g, id).await, unusable);

    let r = djoser::post(&g, "/auth/users/reset_password/", json!({"email": "un@example.com"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mail = g.outbox("un@example.com").await.pop().expect("a reset mail");
    let (uid, token) = (mail["uid"].as_str().unwrap(), mail["token"].as_str().unwrap());
    let body = json!({"uid": uid, "token": token, "new_password": djoser::PW2});
    let r = djoser::post(&g, "/auth/users/reset_password_confirm/", body).await;
    assert_eq!(r.status, 204, "{}", r.text);
    djoser::login(&g, "un", djoser::PW2).await;
}

/// A reset link mailed before the upgrading login dies with it, as in Django
/// (its token hashes the stored password, which the upgrade changed).
async fn upgrade_ends_earlier_reset_links(kind: StoreKind) {
    let g = djoser::gw(kind).await;
    djoser::register(&g, "rs", "rs@example.com").await;
    let (pw, pbkdf2) = vectors()[0].clone();
    set_hash(&g, "rs", &pbkdf2).await;
    let r = djoser::post(&g, "/auth/users/reset_password/", json!({"email": "rs@example.com"})).await;
    assert_eq!(r.status, 204);
    let mail = g.outbox("rs@example.com").await.pop().expect("a reset mail");
    djoser::login(&g, "rs", &pw).await;
    let body = json!({"uid": mail["uid"], "token": mail["token"], "new_password": djoser::PW2});
    let r = djoser::post(&g, "/auth/users/reset_password_confirm/", body).await;
    assert_eq!((r.status, r.json()), (400, json!({"token": ["Invalid token for given user."]})));
    djoser::login(&g, "rs", &pw).await;
}

both_stores!(
    djoser_logs_in_with_every_django_hash_and_upgrades,
    simplejwt_and_monta_log_in_with_django_hashes,
    unusable_password_is_refused_but_can_be_reset,
    upgrade_ends_earlier_reset_links
);
