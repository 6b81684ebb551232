//! Monta over the shared engine, on both stores: users born in another
//! dialect or in the users seed file get Monta tokens, and a Monta password
//! reset changes the password for every dialect.

use crate::support::monta::*;
use crate::support::simplejwt::{sj_login, D as SJ};
use crate::support::{gateway, Gw, StoreKind};
use polyauth::engine::IdentifyBy;
use serde_json::json;

/// Monta and SimpleJWT over one engine, users from a seed file.
async fn both(kind: StoreKind, seed: &str) -> Gw {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.toml");
    std::fs::write(&path, seed).unwrap();
    gateway(kind)
        .mount(D, "/")
        .mount(SJ, "/")
        .extra(&format!("[users]\nseed_file = {:?}", path.display().to_string()))
        .start()
        .await
}

const SEED: &str = r#"
[[user]]
username = "dave"
email = "Dave@Example.com"
password = "dave-pass-1"

[[user]]
username = "erin"
email = "erin@example.com"
password = "erin-pass-1"
email_verified = true
"#;

async fn simplejwt_user_gets_a_monta_token(kind: StoreKind) {
    let g = both(kind, "").await;
    let r = g.post_json(SJ, "/auth/register", json!({"username": "frank", "password": "frank-pass-1"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let access = r.json()["access"].as_str().unwrap().to_owned();
    let token = login(&g, "frank", "frank-pass-1").await;
    verify(&g, &token).await.expect(200, json!({}));
    verify_post(&g, &token).await.expect(200, json!({}));
    // A JWT is not a Monta token, and a Monta token is not a JWT.
    verify(&g, &access).await.expect(401, invalid_token());
    let r = g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {token}"))], None).await;
    assert_eq!(r.status, 401);
    // A refresh and a revoke in Monta leave the SimpleJWT session alone.
    let token = token_of(&post_auth(&g, REFRESH, &token).await);
    let r = post_auth(&g, REVOKE, &token).await;
    assert_eq!(r.status, 204);
    let me = g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None).await;
    me.expect(200, json!({"username": "frank"}));
    // A SimpleJWT user has no email, so a Monta reset cannot reach it.
    g.post_json(D, RESET, json!({"email": ""})).await.expect(400, json!({"email": ["This field may not be blank."]}));
}

async fn seeded_users(kind: StoreKind) {
    let g = both(kind, SEED).await;
    let engine = &g.running.engine;
    let dave = engine.find_user_by(IdentifyBy::Username, "dave").await.unwrap().unwrap();
    let erin = engine.find_user_by(IdentifyBy::Username, "erin").await.unwrap().unwrap();
    // Stored as Django stores it: the domain lower-cased.
    assert_eq!((dave.email.as_str(), dave.email_verified), ("Dave@example.com", false));
    assert_eq!((erin.email.as_str(), erin.email_verified), ("erin@example.com", true));
    // Seeded users log in everywhere.
    let token = login(&g, "dave", "dave-pass-1").await;
    verify(&g, &token).await.expect(200, json!({}));
    assert_eq!(sj_login(&g, "erin", "erin-pass-1").await, 200);
    // The seed file's address is found case-insensitively; Monta verifies it in the shared engine.
    let r = g.post_json(D, EMAIL_VERIFY, json!({"email": "dave@example.com"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mail = g.outbox("Dave@Example.com").await.pop().expect("mail to the stored address");
    assert_eq!(mail["to"], json!(["Dave@example.com"]));
    let r = g.post_json(D, EMAIL_CONFIRM, json!({"token": mail["token"]})).await;
    assert_eq!(r.status, 204);
    assert!(engine.find_user(dave.id).await.unwrap().unwrap().email_verified);
}

async fn monta_reset_changes_the_password_everywhere(kind: StoreKind) {
    let g = both(kind, SEED).await;
    let before = login(&g, "erin", "erin-pass-1").await;
    let r = g.post_json(SJ, "/auth/token", json!({"username": "erin", "password": "erin-pass-1"})).await;
    assert_eq!(r.status, 200);
    let access = r.json()["access"].as_str().unwrap().to_owned();

    let r = g.post_json(D, RESET, json!({"email": "erin@example.com"})).await;
    assert_eq!(r.status, 204);
    let reset = g.last_mail_token("erin@example.com").await;
    let r = g.post_json(D, RESET_CONFIRM, json!({"token": reset, "new_password": "erin-pass-2"})).await;
    assert_eq!(r.status, 204, "{}", r.text);

    // The old password fails in both dialects; the new one works in both.
    g.post_json(D, LOGIN, json!({"username": "erin", "password": "erin-pass-1"}))
        .await
        .expect(400, json!({"non_field_errors": ["Unable to log in with provided credentials."]}));
    g.post_json(SJ, "/auth/token", json!({"username": "erin", "password": "erin-pass-1"}))
        .await
        .expect(401, json!({"detail": "No active account found with the given credentials"}));
    assert_eq!(sj_login(&g, "erin", "erin-pass-2").await, 200);
    let after = login(&g, "erin", "erin-pass-2").await;
    // Opaque tokens issued before the reset are revoked; JWTs live until they expire (documented).
    assert_ne!(after, before);
    verify(&g, &before).await.expect(401, invalid_token());
    let me = g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None).await;
    assert_eq!(me.status, 200);
    // Another user is untouched.
    assert_eq!(sj_login(&g, "dave", "dave-pass-1").await, 200);
}

both_stores!(simplejwt_user_gets_a_monta_token, seeded_users, monta_reset_changes_the_password_everywhere);
