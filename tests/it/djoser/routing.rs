//! Djoser's URL rules over HTTP, on both stores: APPEND_SLASH redirects on
//! users/..., optional slashes on token/..., any suffix on jwt/...; 401 before
//! 405 where a user is needed; 405 bodies with `Allow`; 404 pages.

use crate::support::djoser::*;
use crate::support::{Gw, StoreKind};
use serde_json::json;

async fn registered(kind: StoreKind) -> (Gw, String) {
    let g = gw(kind).await;
    register(&g, "nina", "nina@example.com").await;
    let t = login(&g, "nina", PW).await;
    (g, t)
}

#[track_caller]
fn assert_not_found(r: &crate::support::Res) {
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.text.contains("<h1>Not Found</h1>"));
    assert_eq!(r.header("allow"), None);
}

async fn trailing_slashes(kind: StoreKind) {
    let (g, t) = registered(kind).await;
    // users/... need the slash: 301 to it (relative, under the mount, query kept), even for POST.
    for (method, path, location) in [
        ("POST", "/auth/users", "/djoser/auth/users/"),
        ("GET", "/auth/users/me", "/djoser/auth/users/me/"),
        ("POST", "/auth/users/reset_password", "/djoser/auth/users/reset_password/"),
        ("GET", "/auth/users/me?x=1", "/djoser/auth/users/me/?x=1"),
    ] {
        let r = call(&g, method, path, &token(&t), Some(json!({"email": "nina@example.com"}))).await;
        assert_eq!((r.status, r.header("location"), r.text.as_str()), (301, Some(location), ""), "{method} {path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    }
    assert!(g.outbox("nina@example.com").await.is_empty(), "a redirected POST does nothing");

    // token/login and token/logout take it or leave it.
    let r = post(&g, "/auth/token/login", json!({"username": "nina", "password": PW})).await;
    r.expect(200, json!({"auth_token": t}));
    // jwt/... match any continuation (Django regex without `$`).
    for path in ["/auth/jwt/create", "/auth/jwt/create/junk", "/auth/jwt/createjunk"] {
        let r = post(&g, path, json!({"username": "nina", "password": PW})).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_keys(&r, &["refresh", "access"]);
    }
    let (_, refresh) = jwt_pair(&g, "nina", PW).await;
    let r = post(&g, "/auth/jwt/refresh/x/y", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200);
    post(&g, "/auth/jwt/verifyjunk", json!({"token": refresh})).await.expect(200, json!({}));

    // Unknown paths: Django's HTML 404, no redirect when the slashed path is unknown too.
    for path in ["/auth/nope/", "/auth/nope", "/auth/users/me/extra/", "/", "/auth/jwt/"] {
        assert_not_found(&call(&g, "GET", path, &token(&t), None).await);
    }
    let r = g.send(D, "GET", "/elsewhere/", &[], None).await;
    assert_eq!(r.status, 404);

    let r = call(&g, "POST", "/auth/token/logout", &token(&t), None).await;
    assert_eq!(r.status, 204);
}

async fn unauthenticated_before_method(kind: StoreKind) {
    let (g, t) = registered(kind).await;
    // Routes that need a user: an anonymous wrong method is a 401 (permissions are checked first).
    for (method, path, allow) in [
        ("PUT", "/auth/users/", ALLOW_USERS),
        ("DELETE", "/auth/users/", ALLOW_USERS),
        ("GET", "/auth/users/reset_password/", ALLOW_POST),
        ("GET", "/auth/users/reset_password_confirm/", ALLOW_POST),
        ("POST", "/auth/users/me/", ALLOW_ME),
        ("GET", "/auth/token/logout/", ALLOW_POST),
    ] {
        let r = call(&g, method, path, "", None).await;
        assert_eq!((r.status, r.json()), (401, not_provided()), "{method} {path}");
        assert_eq!(r.header("www-authenticate"), Some("Token"));
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        // A bad credential is refused the same way.
        let r = call(&g, method, path, "Token nope", None).await;
        assert_eq!((r.status, r.json()), (401, invalid_token()), "{method} {path}");
        // Authenticated: 405 with the path's methods.
        let r = call(&g, method, path, &token(&t), None).await;
        assert_eq!(
            (r.status, r.json()),
            (405, json!({"detail": format!("Method \"{method}\" not allowed.")})),
            "{path}"
        );
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        assert_eq!(r.header("www-authenticate"), None);
    }
    // OPTIONS too (the reference answers an authenticated one with DRF metadata, which we do not serve).
    let r = call(&g, "OPTIONS", "/auth/users/", "", None).await;
    r.expect(401, not_provided());
    assert_eq!(r.header("allow"), Some(ALLOW_USERS));
    // Routes open to anyone: 405 whoever asks.
    for path in ["/auth/jwt/create/", "/auth/jwt/refresh/", "/auth/jwt/verify/", "/auth/token/login/"] {
        let r = call(&g, "GET", path, "", None).await;
        r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
        assert_eq!(r.header("allow"), Some(ALLOW_POST));
    }
    let r = call(&g, "FOO", "/auth/users/me/", &token(&t), None).await;
    r.expect(405, json!({"detail": "Method \"FOO\" not allowed."}));
    assert_eq!(r.header("allow"), Some(ALLOW_ME));
}

async fn users_list_and_headers(kind: StoreKind) {
    let (g, t) = registered(kind).await;
    register(&g, "oscar", "").await;
    // A non-staff user sees itself only.
    let r = call(&g, "GET", "/auth/users/", &token(&t), None).await;
    r.expect(200, json!([{"email": "nina@example.com", "id": 1, "username": "nina"}]));
    assert_eq!(r.header("allow"), Some(ALLOW_USERS));
    call(&g, "GET", "/auth/users/", "", None).await.expect(401, not_provided());
    // Django's security headers and DRF's Vary on every answer.
    let r = call(&g, "GET", "/auth/users/me/", &token(&t), None).await;
    for (h, v) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("vary", "Accept"),
    ] {
        assert_eq!(r.header(h), Some(v), "{h}");
    }
    // HEAD on a GET route: its headers, no body.
    let r = call(&g, "HEAD", "/auth/users/me/", &token(&t), None).await;
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    assert_eq!(r.header("allow"), Some(ALLOW_ME));
}

both_stores!(trailing_slashes, unauthenticated_before_method, users_list_and_headers);
