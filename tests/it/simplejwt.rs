//! The SimpleJWT dialect over HTTP, on both stores, against the answers of
//! the real SimpleJWT 5.5.1 (see the reference server's README).

use crate::support::jwt::claims;
use crate::support::simplejwt::{gw, D};
use crate::support::{Gw, StoreKind};
use serde_json::json;

async fn register(g: &Gw, user: &str, pw: &str) -> (String, String) {
    let r = g.post_json(D, "/auth/register", json!({"username": user, "password": pw})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["refresh", "access"]);
    (v["access"].as_str().unwrap().into(), v["refresh"].as_str().unwrap().into())
}

async fn full_flow(kind: StoreKind) {
    let g = gw(kind).await;
    let (access, _) = register(&g, "alice", "s3cret-pass").await;
    let c = claims(&access);
    assert_eq!(c["token_type"], "access");
    assert_eq!(c["user_id"], "1");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);

    // Login (JSON and form), getuser, refresh with rotation, reuse, verify.
    let r = g.post_form(D, "/auth/token", &[("username", "alice"), ("password", "s3cret-pass")]).await;
    assert_eq!(r.status, 200);
    let (access, refresh) =
        (r.json()["access"].as_str().unwrap().to_owned(), r.json()["refresh"].as_str().unwrap().to_owned());
    let me = g.send(D, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None).await;
    me.expect(200, json!({"username": "alice"}));
    assert_eq!(me.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(me.header("x-frame-options"), Some("DENY"));

    let r = g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["access", "refresh"]);
    let new_refresh = v["refresh"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);

    let again = g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh})).await;
    again.expect(401, json!({"detail": "Token is blacklisted", "code": "token_not_valid"}));
    assert_eq!(again.header("www-authenticate"), Some("Bearer realm=\"api\""));

    g.post_json(D, "/auth/token/verify", json!({"token": new_refresh})).await.expect(200, json!({}));
    g.post_json(D, "/auth/token/verify", json!({"token": access})).await.expect(200, json!({}));
    g.post_json(D, "/auth/token/verify", json!({"token": refresh}))
        .await
        .expect(400, json!({"non_field_errors": ["Token is blacklisted"]}));
    // An access token is not a refresh token.
    g.post_json(D, "/auth/token/refresh", json!({"refresh": access}))
        .await
        .expect(401, json!({"detail": "Token has wrong type", "code": "token_not_valid"}));
}

async fn errors_match_the_reference(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "bob", "pw").await;
    g.post_json(D, "/auth/token", json!({"username": "bob", "password": "nope"}))
        .await
        .expect(401, json!({"detail": "No active account found with the given credentials"}));
    g.post_json(D, "/auth/token", json!({"username": "ghost", "password": "nope"}))
        .await
        .expect(401, json!({"detail": "No active account found with the given credentials"}));
    g.post_json(D, "/auth/token", json!({}))
        .await
        .expect(400, json!({"username": ["This field is required."], "password": ["This field is required."]}));
    g.post_json(D, "/auth/token", json!({"username": "  ", "password": ""})).await.expect(
        400,
        json!({"username": ["This field may not be blank."], "password": ["This field may not be blank."]}),
    );
    g.post_json(D, "/auth/register", json!({"username": "bob", "password": "x"}))
        .await
        .expect(409, json!({"detail": "User already exists"}));
    g.post_json(D, "/auth/register", json!({"username": "x".repeat(151), "password": "x"}))
        .await
        .expect(400, json!({"username": ["Ensure this field has no more than 150 characters."]}));
    g.post_json(D, "/auth/token/refresh", json!({})).await.expect(400, json!({"refresh": ["This field is required."]}));
    g.post_json(D, "/auth/token/verify", json!({})).await.expect(400, json!({"token": ["This field is required."]}));
    g.post_json(D, "/auth/token/refresh", json!({"refresh": "garbage"}))
        .await
        .expect(401, json!({"detail": "Token is invalid", "code": "token_not_valid"}));
    g.post_json(D, "/auth/token/verify", json!({"token": "a.b.c"}))
        .await
        .expect(401, json!({"detail": "Token is invalid", "code": "token_not_valid"}));

    // Malformed bodies, media types, methods, slashes.
    let r = g
        .send(
            D,
            "POST",
            "/auth/token",
            &[("Content-Type", "application/json")],
            Some(br#"{"username": "x", "password": "#),
        )
        .await;
    r.expect(400, json!({"detail": "JSON parse error - Expecting value: line 1 column 31 (char 30)"}));
    let r = g.send(D, "POST", "/auth/token", &[("Content-Type", "application/json")], Some(b"[1]")).await;
    r.expect(400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));
    let r = g.send(D, "POST", "/auth/token", &[("Content-Type", "text/plain")], Some(b"x")).await;
    r.expect(415, json!({"detail": "Unsupported media type \"text/plain\" in request."}));
    let r = g.send(D, "POST", "/auth/token", &[("Content-Type", "application/json")], Some(b"\xff\xfe")).await;
    assert_eq!(r.status, 400);
    let r = g.send(D, "GET", "/auth/token", &[], None).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    let r = g.send(D, "POST", "/auth/token/", &[], None).await;
    assert_eq!(r.status, 404);
    assert!(r.text.contains("<h1>Not Found</h1>"));
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));

    // getuser: every flavour of missing or bad credentials.
    let none = json!({"detail": "Authentication credentials were not provided."});
    g.send(D, "GET", "/auth/getuser", &[], None).await.expect(401, none.clone());
    g.send(D, "GET", "/auth/getuser", &[("Authorization", "bearer x.y.z")], None).await.expect(401, none.clone());
    g.send(D, "GET", "/auth/getuser", &[("Authorization", "Token abc")], None).await.expect(401, none);
    g.send(D, "GET", "/auth/getuser", &[("Authorization", "Bearer")], None).await.expect(
        401,
        json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
    );
    let r = g.send(D, "GET", "/auth/getuser", &[("Authorization", "Bearer garbage")], None).await;
    r.expect(
        401,
        json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
               "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"}]}),
    );
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    // register refuses a bad credential even though it is open to anyone (DRF runs authentication first).
    let r = g
        .send(
            D,
            "POST",
            "/auth/register",
            &[("Authorization", "Bearer garbage"), ("Content-Type", "application/json")],
            Some(br#"{"username":"z","password":"z"}"#),
        )
        .await;
    assert_eq!(r.status, 401);
}

async fn multipart_and_numbers(kind: StoreKind) {
    let g = gw(kind).await;
    let r = g.post_multipart(D, "/auth/register", &[("username", "carol"), ("password", "pw")]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // A JSON number is a string to DRF's CharField; true is not.
    let r = g.post_json(D, "/auth/register", json!({"username": 12345, "password": "pw"})).await;
    assert_eq!(r.status, 201);
    g.post_json(D, "/auth/token", json!({"username": "12345", "password": "pw"})).await;
    g.post_json(D, "/auth/register", json!({"username": true, "password": "pw"}))
        .await
        .expect(400, json!({"username": ["Not a valid string."]}));
    g.post_json(D, "/auth/register", json!({"username": null, "password": "pw"}))
        .await
        .expect(400, json!({"username": ["This field may not be null."]}));
    // Passwords are trimmed like every DRF CharField.
    let r = g.post_json(D, "/auth/token", json!({"username": "carol", "password": "  pw "})).await;
    assert_eq!(r.status, 200);
}

both_stores!(full_flow, errors_match_the_reference, multipart_and_numbers);
