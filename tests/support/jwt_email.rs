//! Shared by the `jwt_email*` test files: the gateway with jwt-email mounted
//! at `/jwtemail/` (as the reference server serves it), its URLs, and JWT helpers.
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::{gateway, Gw, GwBuilder, StoreKind, SIGNING_KEY};

pub const D: &str = "jwt-email";
pub const TOKEN: &str = "/jwtemail/auth/token/";
pub const REFRESH: &str = "/jwtemail/auth/token/refresh/";
pub const REGISTER: &str = "/jwtemail/auth/register/";
pub const RESET: &str = "/jwtemail/auth/reset-password/";

pub const NO_ACCOUNT: &str = "No active account found with the given credentials";
pub const REQUIRED: &str = "This field is required.";

pub fn builder(kind: StoreKind) -> GwBuilder {
    gateway(kind).mount(D, "/jwtemail/")
}

pub async fn gw(kind: StoreKind) -> Gw {
    builder(kind).start().await
}

pub fn confirm_path(token: &str) -> String {
    format!("{RESET}{token}/")
}

/// Registers and returns the new user's id, checking the 201 body's shape.
pub async fn register(g: &Gw, email: &str, password: &str) -> u64 {
    let r = g.post_json(D, REGISTER, json!({"email": email, "password": password})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "email"]);
    v["id"].as_u64().expect("numeric id")
}

/// Logs in and returns (access, refresh).
pub async fn login(g: &Gw, email: &str, password: &str) -> (String, String) {
    let r = g.post_json(D, TOKEN, json!({"email": email, "password": password})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["refresh", "access"]);
    (v["access"].as_str().unwrap().to_owned(), v["refresh"].as_str().unwrap().to_owned())
}

pub fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON claims")
}

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// An HS256 JWT with these claims, signed with `key` (the gateway's key or another).
pub fn forge_with(key: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let signing = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(signing.as_bytes());
    format!("{signing}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// A token of `kind` for `user_id` that expired `age` seconds ago (negative: still valid).
pub fn forge(kind: &str, user_id: &str, expired_ago: i64) -> String {
    let n = now();
    forge_with(
        SIGNING_KEY,
        &json!({"token_type": kind, "exp": n - expired_ago, "iat": n - expired_ago - 300,
                "jti": "0123456789abcdef0123456789abcdef", "user_id": user_id}),
    )
}

pub fn token_error(detail: &str) -> Value {
    json!({"detail": detail, "code": "token_not_valid"})
}

/// JWTAuthentication's answer to a bad Bearer token.
pub fn bearer_error(message: &str) -> Value {
    json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
           "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]})
}
