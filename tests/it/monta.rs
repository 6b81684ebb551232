//! The Monta dialect over HTTP, on both stores: every endpoint's success path,
//! in the forms the document and the real Vue + axios client use.

mod cross;
mod errors;
mod requests;

use crate::support::monta::*;
use crate::support::StoreKind;
use polyauth::engine::IdentifyBy;
use serde_json::json;

const ALICE: SeedUser<'static> = ("alice", "alice@example.com", "alice-pass-1");

async fn login_in_every_encoding(kind: StoreKind) {
    let g = gw(kind, &[ALICE]).await;
    let r = g.post_json(D, LOGIN, json!({"username": "alice", "password": "alice-pass-1"})).await;
    let token = token_of(&r);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    assert_eq!(r.header("vary"), Some("Accept"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    // DRF's authtoken: the same token on every login while it lives, whatever the encoding.
    let form = g.post_form(D, LOGIN, &[("username", "alice"), ("password", "alice-pass-1")]).await;
    assert_eq!(token_of(&form), token);
    let multi = g.post_multipart(D, LOGIN, &[("username", "alice"), ("password", "alice-pass-1")]).await;
    assert_eq!(token_of(&multi), token);
    // The real client: JSON with Accept and a stale Authorization header from an earlier session.
    let r = g
        .send(
            D,
            "POST",
            LOGIN,
            &[
                ("Content-Type", "application/json;charset=utf-8"),
                ("Accept", "application/json, text/plain, */*"),
                ("Authorization", "Token 0000000000000000000000000000000000000000"),
            ],
            Some(br#"{"username":"alice","password":"alice-pass-1"}"#),
        )
        .await;
    assert_eq!(token_of(&r), token);
}

async fn verify_get_and_the_clients_post(kind: StoreKind) {
    let g = gw(kind, &[ALICE]).await;
    let token = login(&g, "alice", "alice-pass-1").await;
    // The document: GET with the header.
    let r = verify(&g, &token).await;
    r.expect(200, json!({}));
    assert_eq!(r.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    // The real client: POST {"token"} plus the header.
    verify_post(&g, &token).await.expect(200, json!({}));
    // The body alone, JSON or form; the header alone on a POST; DRF's case-insensitive keyword.
    g.post_json(D, VERIFY, json!({ "token": token })).await.expect(200, json!({}));
    g.post_form(D, VERIFY, &[("token", &token)]).await.expect(200, json!({}));
    post_auth(&g, VERIFY, &token).await.expect(200, json!({}));
    let lower = format!("token {token}");
    g.send(D, "GET", VERIFY, &[("Authorization", &lower)], None).await.expect(200, json!({}));
    // The body's token is the one verified: a stale header does not spoil a good body.
    let r = g
        .send(
            D,
            "POST",
            VERIFY,
            &[
                ("Authorization", "Token 0000000000000000000000000000000000000000"),
                ("Content-Type", "application/json"),
            ],
            Some(format!(r#"{{"token":"{token}"}}"#).as_bytes()),
        )
        .await;
    r.expect(200, json!({}));
    // HEAD mirrors GET without a body.
    let r = g.send(D, "HEAD", VERIFY, &[("Authorization", &crate::support::token(&token))], None).await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
}

async fn refresh_replaces_the_token(kind: StoreKind) {
    let g = gw(kind, &[ALICE]).await;
    let old = login(&g, "alice", "alice-pass-1").await;
    let r = post_auth(&g, REFRESH, &old).await;
    let new = token_of(&r);
    assert_ne!(new, old);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    // The old token stops working at once, everywhere; the new one works.
    let r = verify(&g, &old).await;
    r.expect(401, invalid_token());
    assert_eq!(r.header("www-authenticate"), Some("Token"));
    verify_post(&g, &old).await.expect(401, invalid_token());
    post_auth(&g, REFRESH, &old).await.expect(401, invalid_token());
    verify(&g, &new).await.expect(200, json!({}));
    // A later login hands out the refreshed token.
    assert_eq!(login(&g, "alice", "alice-pass-1").await, new);
    // Refreshing again chains.
    let newer = token_of(&post_auth(&g, REFRESH, &new).await);
    verify(&g, &new).await.expect(401, invalid_token());
    verify(&g, &newer).await.expect(200, json!({}));
}

async fn revoke_ends_the_token(kind: StoreKind) {
    let g = gw(kind, &[ALICE]).await;
    let token = login(&g, "alice", "alice-pass-1").await;
    let r = post_auth(&g, REVOKE, &token).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(r.header("content-type"), None);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    verify(&g, &token).await.expect(401, invalid_token());
    post_auth(&g, REVOKE, &token).await.expect(401, invalid_token());
    // The next login issues a new token.
    let again = login(&g, "alice", "alice-pass-1").await;
    assert_ne!(again, token);
    verify(&g, &again).await.expect(200, json!({}));
}

async fn password_reset_flow(kind: StoreKind) {
    let g = gw(kind, &[ALICE]).await;
    let before = login(&g, "alice", "alice-pass-1").await;
    let r = g.post_json(D, RESET, json!({"email": "alice@example.com"})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let mails = g.outbox("alice@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Password reset");
    assert_eq!(mails[0]["purpose"], "password_reset");
    assert_eq!(mails[0]["dialect"], "monta");
    let token = mails[0]["token"].as_str().unwrap().to_owned();
    assert!(mails[0]["body"].as_str().unwrap().contains(&token));
    assert!(mails[0]["body"].as_str().unwrap().contains("/api/auth/password/reset/confirm/"));

    let r = g.post_json(D, RESET_CONFIRM, json!({"token": token, "new_password": "alice-pass-2"})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    // The old password fails, the new one works, the reset token is spent.
    g.post_json(D, LOGIN, json!({"username": "alice", "password": "alice-pass-1"}))
        .await
        .expect(400, json!({"non_field_errors": ["Unable to log in with provided credentials."]}));
    // The reset revoked the token issued before it.
    verify(&g, &before).await.expect(401, invalid_token());
    let after = login(&g, "alice", "alice-pass-2").await;
    assert_ne!(after, before);
    g.post_json(D, RESET_CONFIRM, json!({"token": token, "new_password": "alice-pass-3"}))
        .await
        .expect(400, json!({"token": ["Invalid or expired token."]}));

    // Upper case finds the same account; the mail goes to the stored address. Form encoding works.
    let r = g.post_form(D, RESET, &[("email", "ALICE@Example.COM")]).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let token = g.last_mail_token("alice@example.com").await;
    let r = g.post_multipart(D, RESET_CONFIRM, &[("token", &token), ("new_password", "alice-pass-3")]).await;
    assert_eq!(r.status, 204, "{}", r.text);
    login(&g, "alice", "alice-pass-3").await;
}

async fn email_verification_flow(kind: StoreKind) {
    let g = gw(kind, &[ALICE]).await;
    let engine = &g.running.engine;
    let user = engine.find_user_by(IdentifyBy::Username, "alice").await.unwrap().unwrap();
    assert!(!user.email_verified);
    let r = g.post_json(D, EMAIL_VERIFY, json!({"email": "alice@example.com"})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let mails = g.outbox("alice@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "Verify your email address");
    assert_eq!(mails[0]["purpose"], "email_verification");
    let token = mails[0]["token"].as_str().unwrap().to_owned();
    assert!(mails[0]["body"].as_str().unwrap().contains(&token));
    // A verification token is not a reset token.
    g.post_json(D, RESET_CONFIRM, json!({"token": token, "new_password": "x-pass-1"}))
        .await
        .expect(400, json!({"token": ["Invalid or expired token."]}));

    let r = g.post_json(D, EMAIL_CONFIRM, json!({ "token": token })).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let user = engine.find_user_by(IdentifyBy::Username, "alice").await.unwrap().unwrap();
    assert!(user.email_verified, "the shared engine marks the email verified");
    g.post_json(D, EMAIL_CONFIRM, json!({ "token": token }))
        .await
        .expect(400, json!({"token": ["Invalid or expired token."]}));
    // The password is untouched.
    login(&g, "alice", "alice-pass-1").await;
}

both_stores!(
    login_in_every_encoding,
    verify_get_and_the_clients_post,
    refresh_replaces_the_token,
    revoke_ends_the_token,
    password_reset_flow,
    email_verification_flow,
);
