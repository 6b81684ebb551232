//! jwt-email password reset over HTTP, on both stores: the request mails a
//! link carrying a single-use token (read back from the admin outbox); the
//! confirm sets the password. Answers as the real system's custom views.

use std::time::{Duration, Instant};

use crate::support::jwt_email::*;
use crate::support::{Gw, StoreKind};
use polyauth::engine::crypto::digest;
use polyauth::store::Purpose;
use serde_json::json;

const SENT: &str = "Password reset link sent";
const DONE: &str = "Password has been reset";
const INVALID: &str = "Invalid or expired token";

async fn request(g: &Gw, email: &str) {
    g.post_json(D, RESET, json!({"email": email})).await.expect(200, json!({"message": SENT}));
}

async fn reset_flow(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "lu@example.com", "Secr3t-pass!").await;
    let (access, refresh) = login(&g, "lu@example.com", "Secr3t-pass!").await;
    request(&g, "lu@example.com").await;
    let mails = g.outbox("lu@example.com").await;
    assert_eq!(mails.len(), 1);
    let token = mails[0]["token"].as_str().unwrap().to_owned();
    assert_eq!(mails[0]["subject"], "Password reset");
    assert_eq!(mails[0]["to"], json!(["lu@example.com"]));
    let link = format!("http://{}/jwtemail/auth/reset-password/{token}/", g.addr(D));
    assert_eq!(mails[0]["body"], format!("Reset your password: {link}"));
    assert!(token.len() >= 32 && token.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)), "{token}");

    // The body is validated before the token is looked at.
    g.post_json(D, &confirm_path(&token), json!({})).await.expect(400, json!({"password": [REQUIRED]}));
    g.post_json(D, &confirm_path("nope"), json!({})).await.expect(400, json!({"password": [REQUIRED]}));
    g.post_json(D, &confirm_path(&token), json!({"password": " "}))
        .await
        .expect(400, json!({"password": ["This field may not be blank."]}));
    let r = g.post_json(D, &confirm_path(&token), json!({"password": "N3w-secret-pass"})).await;
    r.expect(200, json!({"message": DONE}));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));

    g.post_json(D, TOKEN, json!({"email": "lu@example.com", "password": "Secr3t-pass!"}))
        .await
        .expect(401, json!({"detail": NO_ACCOUNT}));
    login(&g, "lu@example.com", "N3w-secret-pass").await;
    // A reset does not end JWTs already issued (SimpleJWT keeps no state for them).
    let r = g.post_json(D, REFRESH, json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = g
        .send(
            D,
            "POST",
            REGISTER,
            &[("Authorization", &format!("Bearer {access}")), ("Content-Type", "application/json")],
            Some(br#"{"email":"mo@example.com","password":"p"}"#),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

async fn tokens_are_single_use(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "ned@example.com", "Secr3t-pass!").await;
    request(&g, "ned@example.com").await;
    // The lookup ignores case; the mail goes to the stored address.
    request(&g, "NED@EXAMPLE.COM").await;
    let mails = g.outbox("ned@example.com").await;
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1]["to"], json!(["ned@example.com"]));
    let (first, second) = (mails[0]["token"].as_str().unwrap(), mails[1]["token"].as_str().unwrap());
    assert_ne!(first, second);
    // Both are live until one is used; using one ends them all.
    g.post_json(D, &confirm_path(second), json!({"password": "pw-2"})).await.expect(200, json!({"message": DONE}));
    for t in [first, second] {
        g.post_json(D, &confirm_path(t), json!({"password": "pw-3"})).await.expect(400, json!({"detail": INVALID}));
    }
    login(&g, "ned@example.com", "pw-2").await;
    // Unknown tokens, odd characters and percent-escapes are just invalid.
    for t in ["nope", "a%20b", "%FF", &"x".repeat(300)] {
        g.post_json(D, &confirm_path(t), json!({"password": "pw"})).await.expect(400, json!({"detail": INVALID}));
    }
}

async fn request_errors(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "oz@example.com", "Secr3t-pass!").await;
    let r = g.post_json(D, RESET, json!({"email": "ghost@example.com"})).await;
    r.expect(404, json!({"detail": "User with this email does not exist"}));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    g.post_json(D, RESET, json!({"email": "nope"}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));
    g.post_json(D, RESET, json!({})).await.expect(400, json!({"email": [REQUIRED]}));
    g.post_json(D, RESET, json!({"email": ""})).await.expect(400, json!({"email": ["This field may not be blank."]}));
    let r = g.post_form(D, RESET, &[("email", "oz@example.com")]).await;
    r.expect(200, json!({"message": SENT}));
    assert!(g.outbox("ghost@example.com").await.is_empty());
    assert_eq!(g.outbox("oz@example.com").await.len(), 1);
    g.send(D, "GET", RESET, &[], None).await.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
}

/// A link older than its lifetime is refused (lifetime 1 s here; the default is 1 h, as the reference's).
async fn expired_token(kind: StoreKind) {
    let g = builder(kind).extra("[tokens]\none_time_ttl_secs = 1").start().await;
    register(&g, "pia@example.com", "Secr3t-pass!").await;
    request(&g, "pia@example.com").await;
    let token = g.last_mail_token("pia@example.com").await;
    // Wait until the store has let the token lapse, then use it.
    let store = g.running.engine.store().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.find_one_time(Purpose::PasswordReset, &digest(&token)).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the reset token never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    g.post_json(D, &confirm_path(&token), json!({"password": "pw"})).await.expect(400, json!({"detail": INVALID}));
    login(&g, "pia@example.com", "Secr3t-pass!").await;
}

both_stores!(reset_flow, tokens_are_single_use, request_errors, expired_token);
