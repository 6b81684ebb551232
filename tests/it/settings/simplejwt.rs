//! SimpleJWT's settings on a mount, over HTTP on both stores: lifetimes, the
//! user id claim, header types, the signing key and leeway, CHECK_REVOKE_TOKEN,
//! rotation without the blacklist, and the optional TokenBlacklistView.

use serde_json::{json, Value};

use crate::support::djoser::{self, PW, PW2};
use crate::support::jwt::{claims, forge_with, now, token_error};
use crate::support::simplejwt::D;
use crate::support::{gateway, Gw, StoreKind, SIGNING_KEY};

async fn sj(kind: StoreKind, settings: &str) -> Gw {
    gateway(kind).mount_with_settings(D, "/", settings).start().await
}

async fn register(g: &Gw, user: &str) -> (String, String) {
    let r = g.post_json(D, "/auth/register", json!({"username": user, "password": "pw"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (r.json()["access"].as_str().unwrap().to_owned(), r.json()["refresh"].as_str().unwrap().to_owned())
}

async fn getuser(g: &Gw, authorization: &str) -> crate::support::Res {
    g.send(D, "GET", "/auth/getuser", &[("Authorization", authorization)], None).await
}

fn life(token: &str) -> i64 {
    let c = claims(token);
    c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap()
}

async fn lifetimes_claim_and_header_types(kind: StoreKind) {
    let g = sj(
        kind,
        "SIMPLE_JWT = { ACCESS_TOKEN_LIFETIME = \"1h\", REFRESH_TOKEN_LIFETIME = 600, USER_ID_CLAIM = \"uid\", \
         AUTH_HEADER_TYPES = [\"JWT\", \"Bearer\"] }",
    )
    .await;
    let (access, refresh) = register(&g, "amy").await;
    assert_eq!((life(&access), life(&refresh)), (3600, 600));
    let c = claims(&access);
    assert_eq!(c["uid"], "1");
    assert!(c.get("user_id").is_none(), "{c}");
    let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["token_type", "exp", "iat", "jti", "uid"]);
    getuser(&g, &format!("JWT {access}")).await.expect(200, json!({"username": "amy"}));
    getuser(&g, &format!("Bearer {access}")).await.expect(200, json!({"username": "amy"}));
    let r = getuser(&g, &format!("Token {access}")).await;
    r.expect(401, json!({"detail": "Authentication credentials were not provided."}));
    // The challenge names the first header type.
    assert_eq!(r.header("www-authenticate"), Some("JWT realm=\"api\""));
    // Refreshed tokens keep the mount's claim and lifetime.
    let r = g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.json()["access"].as_str().unwrap().to_owned();
    assert_eq!((claims(&fresh)["uid"].clone(), life(&fresh)), (json!("1"), 3600));
}

const LEGACY_KEY: &str = "the-legacy-django-projects-secret-key-0123456789";

fn access_for(key: &str, user_id: &str, expired_ago: i64) -> String {
    let n = now();
    forge_with(
        key,
        &json!({"token_type": "access", "exp": n - expired_ago, "iat": n - expired_ago - 300,
                "jti": "fedcba9876543210fedcba9876543210", "user_id": user_id}),
    )
}

async fn signing_key_and_leeway(kind: StoreKind) {
    let g = sj(kind, &format!("SIMPLE_JWT = {{ SIGNING_KEY = {LEGACY_KEY:?}, LEEWAY = \"30s\" }}")).await;
    let (access, _) = register(&g, "bo").await;
    // Signed with the mount's key (PyJWT's bytes: re-signing the claims gives the same token).
    assert_eq!(forge_with(LEGACY_KEY, &claims(&access)), access);
    // Tokens of the legacy project work; the gateway's own key does not.
    getuser(&g, &format!("Bearer {}", access_for(LEGACY_KEY, "1", -60))).await.expect(200, json!({"username": "bo"}));
    let r = getuser(&g, &format!("Bearer {}", access_for(SIGNING_KEY, "1", -60))).await;
    assert_eq!(r.json()["messages"][0]["message"], "Token is invalid");
    // Expired 10 s ago: within the leeway. 60 s ago: expired.
    getuser(&g, &format!("Bearer {}", access_for(LEGACY_KEY, "1", 10))).await.expect(200, json!({"username": "bo"}));
    let r = getuser(&g, &format!("Bearer {}", access_for(LEGACY_KEY, "1", 60))).await;
    assert_eq!((r.status, r.json()["messages"][0]["message"].clone()), (401, json!("Token is expired")));
}

async fn check_revoke_token(kind: StoreKind) {
    let g = gateway(kind)
        .mount_with_settings(djoser::D, "/djoser/", "SIMPLE_JWT = { CHECK_REVOKE_TOKEN = true }")
        .start()
        .await;
    djoser::register(&g, "cal", "").await;
    let (access, refresh) = djoser::jwt_pair(&g, "cal", PW).await;
    let hash = claims(&access)["hash_password"].as_str().expect("the revocation claim").to_owned();
    assert!(hash.len() == 32 && hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()), "{hash}");
    let bearer = format!("Bearer {access}");
    assert_eq!(djoser::call(&g, "GET", "/auth/users/me/", &bearer, None).await.status, 200);
    let t = djoser::login(&g, "cal", PW).await;
    let body = json!({"current_password": PW, "new_password": PW2});
    assert_eq!(djoser::call(&g, "POST", "/auth/users/set_password/", &djoser::token(&t), Some(body)).await.status, 204);
    let changed = json!({"detail": "The user's password has been changed.", "code": "password_changed"});
    djoser::call(&g, "GET", "/auth/users/me/", &bearer, None).await.expect(401, changed.clone());
    // A refresh copies the claim: the new access token is refused the same way.
    let r = djoser::post(&g, "/auth/jwt/refresh/", json!({"refresh": refresh})).await;
    let again = format!("Bearer {}", r.json()["access"].as_str().unwrap());
    djoser::call(&g, "GET", "/auth/users/me/", &again, None).await.expect(401, changed);
    let (fresh, _) = djoser::jwt_pair(&g, "cal", PW2).await;
    assert_eq!(djoser::call(&g, "GET", "/auth/users/me/", &format!("Bearer {fresh}"), None).await.status, 200);
}

async fn rotation_without_blacklist(kind: StoreKind) {
    let g = sj(kind, "SIMPLE_JWT = { BLACKLIST_AFTER_ROTATION = false }").await;
    let (_, refresh) = register(&g, "dot").await;
    for _ in 0..2 {
        let r = g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json()["refresh"].is_string(), "still rotating");
    }
    let g = sj(kind, "SIMPLE_JWT = { ROTATE_REFRESH_TOKENS = false }").await;
    let (_, refresh) = register(&g, "dot").await;
    let r = g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh})).await;
    assert_eq!(
        r.json().as_object().unwrap().keys().collect::<Vec<_>>(),
        ["access"],
        "SimpleJWT's body without rotation"
    );
}

async fn token_blacklist_view(kind: StoreKind) {
    let off = crate::support::simplejwt::gw(kind).await;
    let r = off.post_json(D, "/auth/token/blacklist", json!({"refresh": "x"})).await;
    assert_eq!(r.status, 404, "not routed unless the project did");

    let g = sj(kind, "POLYAUTH = { TOKEN_BLACKLIST_VIEW = true }").await;
    let (access, refresh) = register(&g, "eli").await;
    let blacklist = |body: Value| g.post_json(D, "/auth/token/blacklist", body);
    blacklist(json!({})).await.expect(400, json!({"refresh": ["This field is required."]}));
    let r = blacklist(json!({"refresh": access})).await;
    r.expect(401, token_error("Token has wrong type"));
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    let r = blacklist(json!({"refresh": refresh})).await;
    r.expect(200, json!({}));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    blacklist(json!({"refresh": refresh})).await.expect(401, token_error("Token is blacklisted"));
    g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh}))
        .await
        .expect(401, token_error("Token is blacklisted"));
    // Access tokens already issued live on, as in SimpleJWT.
    getuser(&g, &format!("Bearer {access}")).await.expect(200, json!({"username": "eli"}));
    let r = g.send(D, "OPTIONS", "/auth/token/blacklist", &[], None).await;
    assert_eq!(r.json()["name"], "Token Blacklist");
}

/// Djoser's jwt/refresh under ROTATE_REFRESH_TOKENS answers SimpleJWT's rotated body.
async fn djoser_rotation_returns_the_new_refresh_token(kind: StoreKind) {
    let g = gateway(kind)
        .mount_with_settings(djoser::D, "/djoser/", "SIMPLE_JWT = { ROTATE_REFRESH_TOKENS = true }")
        .start()
        .await;
    djoser::register(&g, "fay", "").await;
    let (_, refresh) = djoser::jwt_pair(&g, "fay", PW).await;
    let r = djoser::post(&g, "/auth/jwt/refresh/", json!({"refresh": refresh})).await;
    assert_eq!(r.json().as_object().unwrap().keys().collect::<Vec<_>>(), ["access", "refresh"], "{}", r.text);
    let next = r.json()["refresh"].as_str().unwrap().to_owned();
    assert_eq!(djoser::post(&g, "/auth/jwt/refresh/", json!({"refresh": next})).await.status, 200);
}

both_stores!(
    djoser_rotation_returns_the_new_refresh_token,
    lifetimes_claim_and_header_types,
    signing_key_and_leeway,
    check_revoke_token,
    rotation_without_blacklist,
    token_blacklist_view
);
