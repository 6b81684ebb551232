//! Shared by the Monta test files: a gateway with the Monta dialect whose
//! users come from a `[users] seed_file`, and small request helpers.

use serde_json::json;

pub use super::drf::{invalid_token, not_provided};
use super::{gateway, Gw, GwBuilder, Res, StoreKind};

pub const D: &str = "monta";
pub const LOGIN: &str = "/api/auth/token/";
pub const VERIFY: &str = "/api/auth/token/verify/";
pub const REFRESH: &str = "/api/auth/token/refresh/";
pub const REVOKE: &str = "/api/auth/token/revoke/";
pub const RESET: &str = "/api/auth/password/reset/";
pub const RESET_CONFIRM: &str = "/api/auth/password/reset/confirm/";
pub const EMAIL_VERIFY: &str = "/api/auth/email/verify/";
pub const EMAIL_CONFIRM: &str = "/api/auth/email/verify/confirm/";

/// A seed file `[[user]]` entry: (username, email, password).
pub type SeedUser<'a> = (&'a str, &'a str, &'a str);

/// Writes a users seed file; keep the directory alive until the gateway started.
pub fn seed_file(users: &[SeedUser<'_>]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("users.toml");
    let mut text = String::new();
    for (username, email, password) in users {
        text.push_str(&format!("[[user]]\nusername = {username:?}\nemail = {email:?}\npassword = {password:?}\n\n"));
    }
    std::fs::write(&path, text).expect("write seed file");
    (dir, path.display().to_string())
}

/// A builder with Monta mounted at the root and the given users seeded.
pub fn builder(kind: StoreKind, users: &[SeedUser<'_>]) -> (tempfile::TempDir, GwBuilder) {
    let (dir, path) = seed_file(users);
    let b = gateway(kind).mount(D, "/").extra(&format!("[users]\nseed_file = {path:?}"));
    (dir, b)
}

pub async fn gw(kind: StoreKind, users: &[SeedUser<'_>]) -> Gw {
    let (_dir, b) = builder(kind, users);
    b.start().await
}

/// Logs in (JSON) and checks the success shape: 200, `{"token"}` of 40 hex, the header.
pub async fn login(g: &Gw, username: &str, password: &str) -> String {
    let r = g.post_json(D, LOGIN, json!({"username": username, "password": password})).await;
    token_of(&r)
}

/// The token of a login or refresh answer, after checking body and header agree.
#[track_caller]
pub fn token_of(r: &Res) -> String {
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().map(|o| o.len()), Some(1), "only a token: {v}");
    let token = v["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 40);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(r.header("authorization"), Some(format!("Token {token}").as_str()));
    token
}

/// GET verify with the header.
pub async fn verify(g: &Gw, token: &str) -> Res {
    g.send(D, "GET", VERIFY, &[("Authorization", &super::token(token))], None).await
}

/// The real client's verify: POST `{"token"}` with the header too.
pub async fn verify_post(g: &Gw, token: &str) -> Res {
    let body = serde_json::to_vec(&json!({ "token": token })).unwrap();
    let headers = [("Authorization", super::token(token)), ("Content-Type", "application/json".into())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    g.send(D, "POST", VERIFY, &headers, Some(&body)).await
}

/// POST with only an Authorization header (refresh, revoke).
pub async fn post_auth(g: &Gw, path: &str, token: &str) -> Res {
    g.send(D, "POST", path, &[("Authorization", &super::token(token))], None).await
}
