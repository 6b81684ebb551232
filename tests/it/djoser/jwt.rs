//! Djoser's SimpleJWT routes over HTTP, on both stores: jwt/create, refresh
//! (no rotation) and verify; JWTs on the Djoser user routes; and one engine
//! under two dialects (a Djoser user logs in through SimpleJWT and back).

use crate::support::djoser::*;
use crate::support::jwt::{bearer_error, claims, forge, forge_with, now};
use crate::support::{gateway, Res, StoreKind, SIGNING_KEY};
use serde_json::json;

const REALM: &str = "Bearer realm=\"api\"";

/// A token of `kind` for the user that expired a minute ago.
fn expired(kind: &str, user_id: u64) -> String {
    forge(kind, &user_id.to_string(), 60)
}

#[track_caller]
fn token_error(r: &Res, detail: &str) {
    r.expect(401, crate::support::jwt::token_error(detail));
    assert_eq!(r.header("www-authenticate"), Some(REALM));
    assert_eq!(r.header("allow"), Some(ALLOW_POST));
}

async fn create_refresh_verify(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "ivy", "ivy@example.com").await;
    let (access, refresh) = jwt_pair(&g, "ivy", PW).await;
    let c = claims(&access);
    assert_eq!((c["token_type"].as_str(), c["user_id"].as_str()), (Some("access"), Some(id.to_string().as_str())));
    assert_eq!(claims(&refresh)["token_type"], "refresh");

    let r = post(&g, "/auth/jwt/create/", json!({"username": "ivy", "password": "nope"})).await;
    r.expect(401, json!({"detail": "No active account found with the given credentials"}));
    assert_eq!(r.header("www-authenticate"), Some(REALM));
    let required = json!(["This field is required."]);
    post(&g, "/auth/jwt/create/", json!({})).await.expect(400, json!({"username": required, "password": required}));

    // No rotation: {"access"} only, and the refresh token stays good.
    for _ in 0..2 {
        let r = post(&g, "/auth/jwt/refresh/", json!({"refresh": refresh})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_keys(&r, &["access"]);
        assert_eq!(claims(r.json()["access"].as_str().unwrap())["token_type"], "access");
    }
    token_error(&post(&g, "/auth/jwt/refresh/", json!({"refresh": access})).await, "Token has wrong type");
    token_error(&post(&g, "/auth/jwt/refresh/", json!({"refresh": "garbage"})).await, "Token is invalid");
    token_error(&post(&g, "/auth/jwt/refresh/", json!({"refresh": expired("refresh", id)})).await, "Token is expired");
    post(&g, "/auth/jwt/refresh/", json!({})).await.expect(400, json!({"refresh": required}));

    for t in [&access, &refresh] {
        post(&g, "/auth/jwt/verify/", json!({"token": t})).await.expect(200, json!({}));
    }
    token_error(&post(&g, "/auth/jwt/verify/", json!({"token": "garbage"})).await, "Token is invalid");
    let auth_token = login(&g, "ivy", PW).await;
    token_error(&post(&g, "/auth/jwt/verify/", json!({"token": auth_token})).await, "Token is invalid");
    token_error(&post(&g, "/auth/jwt/verify/", json!({"token": expired("access", id)})).await, "Token is expired");
    post(&g, "/auth/jwt/verify/", json!({})).await.expect(400, json!({"token": required}));
    // The token views ignore Authorization altogether.
    let r = call(&g, "POST", "/auth/jwt/verify/", "Token nope", Some(json!({"token": access}))).await;
    r.expect(200, json!({}));
}

async fn jwt_on_user_routes(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "jack", "jack@example.com").await;
    let t = login(&g, "jack", PW).await;
    let (access, refresh) = jwt_pair(&g, "jack", PW).await;
    call(&g, "GET", "/auth/users/me/", &bearer(&access), None)
        .await
        .expect(200, me_body(id, "jack", "jack@example.com"));
    let unknown_user = forge_with(
        SIGNING_KEY,
        &json!({"token_type": "access", "exp": now() + 300, "iat": now(), "jti": "fedcba9876543210fedcba9876543210", "user_id": "987654321"}),
    );
    let cases = [
        (bearer(&refresh), bearer_error("Token has wrong type")),
        (bearer(&expired("access", id)), bearer_error("Token is expired")),
        (bearer(&unknown_user), json!({"detail": "User not found", "code": "user_not_found"})),
        (token(&access), invalid_token()),
        (format!("bearer {access}"), not_provided()),
    ];
    for (auth, body) in cases {
        let r = call(&g, "GET", "/auth/users/me/", &auth, None).await;
        assert_eq!((r.status, r.json()), (401, body), "{auth}");
        // The first authenticator's keyword, even when a JWT failed.
        assert_eq!(r.header("www-authenticate"), Some("Token"));
    }
    // Logout with a JWT deletes the user's auth token.
    let r = call(&g, "POST", "/auth/token/logout/", &bearer(&access), None).await;
    assert_eq!(r.status, 204);
    call(&g, "GET", "/auth/users/me/", &token(&t), None).await.expect(401, invalid_token());
    // The JWT itself lives on until it expires, as in SimpleJWT.
    assert_eq!(call(&g, "GET", "/auth/users/me/", &bearer(&access), None).await.status, 200);
}

/// SimpleJWT 5.5.1 crashes (500) on a refresh token of a deleted user; we answer
/// as it does for an inactive one (a documented difference). verify still says 200.
async fn tokens_of_a_deleted_user(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "kate", "").await;
    let t = login(&g, "kate", PW).await;
    let (access, refresh) = jwt_pair(&g, "kate", PW).await;
    let r = call(&g, "DELETE", "/auth/users/me/", &token(&t), Some(json!({"current_password": PW}))).await;
    assert_eq!(r.status, 204);
    post(&g, "/auth/jwt/verify/", json!({"token": access})).await.expect(200, json!({}));
    let r = post(&g, "/auth/jwt/refresh/", json!({"refresh": refresh})).await;
    r.expect(401, json!({"detail": "No active account found for the given token.", "code": "no_active_account"}));
    assert_eq!(r.header("www-authenticate"), Some(REALM));
}

/// One engine: a user registered in one dialect logs in through the other.
async fn one_engine_two_dialects(kind: StoreKind) {
    let g = gateway(kind).mount(D, "/djoser/").mount("simplejwt", "/").start().await;
    let id = register(&g, "liam", "liam@example.com").await;
    let r = g.post_json("simplejwt", "/auth/token", json!({"username": "liam", "password": PW})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json()["access"].as_str().unwrap().to_owned();
    let r = g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(&access))], None).await;
    r.expect(200, json!({"username": "liam"}));
    // A SimpleJWT access token authenticates on Djoser's routes too (same key, same users).
    call(&g, "GET", "/auth/users/me/", &bearer(&access), None)
        .await
        .expect(200, me_body(id, "liam", "liam@example.com"));

    let r = g.post_json("simplejwt", "/auth/register", json!({"username": "mia", "password": "mia-pass-77"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let t = login(&g, "mia", "mia-pass-77").await;
    let r = call(&g, "GET", "/auth/users/me/", &token(&t), None).await;
    assert_eq!(r.json()["username"], "mia");
    let (djoser_access, _) = jwt_pair(&g, "mia", "mia-pass-77").await;
    let r = g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(&djoser_access))], None).await;
    r.expect(200, json!({"username": "mia"}));
    // The username is taken in both dialects.
    g.post_json("simplejwt", "/auth/register", json!({"username": "liam", "password": "x"}))
        .await
        .expect(409, json!({"detail": "User already exists"}));
    post(&g, "/auth/users/", json!({"username": "mia", "password": PW, "re_password": PW}))
        .await
        .expect(400, json!({"username": ["A user with that username already exists."]}));
}

both_stores!(create_refresh_verify, jwt_on_user_routes, tokens_of_a_deleted_user, one_engine_two_dialects);
