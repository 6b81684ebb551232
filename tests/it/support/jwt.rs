//! JWTs as the tests make and read them: one HS256 forger, the claims of a
//! token, and SimpleJWT's error bodies for a bad token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::SIGNING_KEY;

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

/// A token of `kind` for `user_id`, signed with the gateway's key, that
/// expired `expired_ago` seconds ago (negative: still valid).
pub fn forge(kind: &str, user_id: &str, expired_ago: i64) -> String {
    let n = now();
    forge_with(
        SIGNING_KEY,
        &json!({"token_type": kind, "exp": n - expired_ago, "iat": n - expired_ago - 300,
                "jti": "0123456789abcdef0123456789abcdef", "user_id": user_id}),
    )
}

/// The claims of a JWT (its payload, unverified).
pub fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON claims")
}

/// SimpleJWT's answer to a bad token in a body (refresh, verify).
pub fn token_error(detail: &str) -> Value {
    json!({"detail": detail, "code": "token_not_valid"})
}

/// JWTAuthentication's answer to a bad Bearer token.
pub fn bearer_error(message: &str) -> Value {
    json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
           "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}]})
}
