//! One engine under several dialects: a user born in food2gether logs in
//! through SimpleJWT with the same password (username = email), and a
//! password reset in food2gether takes effect there, on both stores.

use crate::support::food2gether::*;
use crate::support::simplejwt::{sj_login, D as SJ};
use crate::support::{gateway, Gw, StoreKind};
use serde_json::json;

async fn gw(kind: StoreKind) -> Gw {
    gateway(kind).mount(D, "/").mount(SJ, "/").start().await
}

async fn registered_here_logs_in_there(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "pat@example.com", "Same-Pass-1").await;
    assert_eq!(sj_login(&g, "pat@example.com", "Same-Pass-1").await, 200);
    assert_eq!(sj_login(&g, "pat@example.com", "wrong").await, 401);
    // The username is the email as registered; the email itself is stored too.
    let r = g.post_json(SJ, "/auth/token", json!({"username": "pat@example.com", "password": "Same-Pass-1"})).await;
    let access = r.json()["access"].as_str().unwrap().to_owned();
    let me = g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None).await;
    me.expect(200, json!({"username": "pat@example.com"}));
    // Its username is taken there as well.
    let r = g.post_json(SJ, "/auth/register", json!({"username": "pat@example.com", "password": "x"})).await;
    assert_eq!(r.status, 409);
}

async fn reset_here_takes_effect_there(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "quin@example.com", "before").await;
    ok_null(&put_json(&g, RESET, json!({"email": "quin@example.com"})).await);
    let token = g.last_mail_token("quin@example.com").await;
    let r = g
        .send(
            D,
            "POST",
            RESET,
            &[("Authorization", &bearer(&token)), ("Content-Type", "application/x-www-form-urlencoded")],
            Some(b"password=after"),
        )
        .await;
    ok_null(&r);
    assert_eq!(sj_login(&g, "quin@example.com", "before").await, 401);
    assert_eq!(sj_login(&g, "quin@example.com", "after").await, 200);
    fails(&login(&g, "quin@example.com", "before").await, 401, "authentication.failed");
    token_of(&login(&g, "quin@example.com", "after").await, 200);
}

async fn users_without_email_cannot_use_basic(kind: StoreKind) {
    let g = gw(kind).await;
    // A SimpleJWT user has a username and no email: Basic names users by email.
    let r = g.post_json(SJ, "/auth/register", json!({"username": "rae", "password": "pw"})).await;
    assert_eq!(r.status, 201);
    fails(&login(&g, "rae", "pw").await, 401, "authentication.failed");
    fails(&put_json(&g, RESET, json!({"email": "rae"})).await, 404, "account.notfound");
    // And the SimpleJWT user's name does not block a food2gether email.
    register(&g, "rae@example.com", "pw").await;
}

both_stores!(registered_here_logs_in_there, reset_here_takes_effect_there, users_without_email_cannot_use_basic);
