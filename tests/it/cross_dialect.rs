//! One engine, five dialects: a user born in any dialect logs in through the
//! others, and a password reset in one takes effect in all.

use crate::support::{basic, gateway, Gw, StoreKind};
use serde_json::json;

async fn all(kind: StoreKind) -> Gw {
    gateway(kind)
        .mount("monta", "/")
        .mount("jwt-email", "/")
        .mount("djoser", "/")
        .mount("simplejwt", "/")
        .mount("food2gether", "/")
        .start()
        .await
}

async fn f2g_login(g: &Gw, email: &str, pw: &str) -> u16 {
    g.send("food2gether", "POST", "/api/v1/authentication/", &[("Authorization", &basic(email, pw))], None).await.status
}

async fn monta_login(g: &Gw, user: &str, pw: &str) -> (u16, String) {
    let r = g.post_json("monta", "/api/auth/token/", json!({"username": user, "password": pw})).await;
    let token = r.json()["token"].as_str().unwrap_or_default().to_owned();
    (r.status, token)
}

async fn djoser_login(g: &Gw, user: &str, pw: &str) -> u16 {
    g.post_json("djoser", "/auth/token/login/", json!({"username": user, "password": pw})).await.status
}

async fn jwt_email_login(g: &Gw, email: &str, pw: &str) -> u16 {
    g.post_json("jwt-email", "/auth/token/", json!({"email": email, "password": pw})).await.status
}

async fn food2gether_user_everywhere(kind: StoreKind) {
    let g = all(kind).await;
    let body = br#"{"email":"f@example.com","password":"f-pass-1"}"#;
    let r = g
        .send("food2gether", "PUT", "/api/v1/authentication/", &[("Content-Type", "application/json")], Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (status, monta_token) = monta_login(&g, "f@example.com", "f-pass-1").await;
    assert_eq!(status, 200);
    assert_eq!(djoser_login(&g, "f@example.com", "f-pass-1").await, 200);
    assert_eq!(jwt_email_login(&g, "F@example.com", "f-pass-1").await, 200);
    let r = g.post_json("simplejwt", "/auth/token", json!({"username": "f@example.com", "password": "f-pass-1"})).await;
    assert_eq!(r.status, 200);

    // A Basic logout in food2gether ends its sessions, not the Monta/Djoser auth token.
    let r = g
        .send(
            "food2gether",
            "DELETE",
            "/api/v1/authentication/",
            &[("Authorization", &basic("f@example.com", "f-pass-1"))],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = g
        .send("monta", "GET", "/api/auth/token/verify/", &[("Authorization", &format!("Token {monta_token}"))], None)
        .await;
    assert_eq!(v.status, 200, "{}", v.text);

    // A Djoser password reset takes effect everywhere.
    let r = g.post_json("djoser", "/auth/users/reset_password/", json!({"email": "f@example.com"})).await;
    assert_eq!(r.status, 204);
    let mail = g.outbox("f@example.com").await.pop().unwrap();
    let r = g
        .post_json(
            "djoser",
            "/auth/users/reset_password_confirm/",
            json!({"uid": mail["uid"], "token": mail["token"], "new_password": "brand-new-Pass-9"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(f2g_login(&g, "f@example.com", "f-pass-1").await, 401);
    assert_eq!(f2g_login(&g, "f@example.com", "brand-new-Pass-9").await, 200);
    assert_eq!(monta_login(&g, "f@example.com", "brand-new-Pass-9").await.0, 200);
    assert_eq!(jwt_email_login(&g, "f@example.com", "f-pass-1").await, 401);
}

async fn djoser_and_jwt_email_users_everywhere(kind: StoreKind) {
    let g = all(kind).await;
    let r = g
        .post_json(
            "djoser",
            "/auth/users/",
            json!({"username": "dora", "email": "dora@example.com", "password": "xk-Vq93-pl", "re_password": "xk-Vq93-pl"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (status, token) = monta_login(&g, "dora", "xk-Vq93-pl").await;
    assert_eq!(status, 200);
    // One DRF auth token per user, whichever dialect asks.
    let r = g.post_json("djoser", "/auth/token/login/", json!({"username": "dora", "password": "xk-Vq93-pl"})).await;
    assert_eq!(r.json()["auth_token"], json!(token));
    assert_eq!(jwt_email_login(&g, "dora@example.com", "xk-Vq93-pl").await, 200);
    assert_eq!(f2g_login(&g, "dora@example.com", "xk-Vq93-pl").await, 200);

    let r =
        g.post_json("jwt-email", "/auth/register/", json!({"email": "jess@example.com", "password": "jess-pw"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(djoser_login(&g, "jess@example.com", "jess-pw").await, 200);
    assert_eq!(monta_login(&g, "jess@example.com", "jess-pw").await.0, 200);
    // The email is taken in every dialect.
    let r = g
        .post_json(
            "djoser",
            "/auth/users/",
            json!({"username": "other", "email": "JESS@example.com", "password": "xk-Vq93-pl", "re_password": "xk-Vq93-pl"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // A Monta reset revokes every opaque token (the Djoser one too) and changes the password everywhere.
    let r = g.post_json("monta", "/api/auth/password/reset/", json!({"email": "dora@example.com"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let reset = g.last_mail_token("dora@example.com").await;
    let r = g
        .post_json("monta", "/api/auth/password/reset/confirm/", json!({"token": reset, "new_password": "dora-new-pw"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let me = g.send("djoser", "GET", "/auth/users/me/", &[("Authorization", &format!("Token {token}"))], None).await;
    assert_eq!(me.status, 401);
    assert_eq!(djoser_login(&g, "dora", "xk-Vq93-pl").await, 400);
    assert_eq!(djoser_login(&g, "dora", "dora-new-pw").await, 200);
}

both_stores!(food2gether_user_everywhere, djoser_and_jwt_email_users_everywhere);
