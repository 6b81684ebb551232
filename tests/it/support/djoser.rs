//! Helpers shared by the Djoser test files: the dialect mounted at `/djoser/`
//! (as the reference server serves it), registration, login, headers.

use serde_json::{json, Value};

pub use super::drf::{invalid_token, not_provided};
pub use super::{bearer, token};
use super::{gateway, Gw, Res, StoreKind};

pub const D: &str = "djoser";
pub const PW: &str = "Correct-Horse-9";
pub const PW2: &str = "Battery-Staple-7";

pub async fn gw(kind: StoreKind) -> Gw {
    gateway(kind).mount(D, "/djoser/").start().await
}

/// `/djoser` + path.
pub fn p(path: &str) -> String {
    format!("/djoser{path}")
}

pub async fn post(g: &Gw, path: &str, body: Value) -> Res {
    g.post_json(D, &p(path), body).await
}

/// A JSON request with an `Authorization` header (or none when `auth` is empty).
pub async fn call(g: &Gw, method: &str, path: &str, auth: &str, body: Option<Value>) -> Res {
    let mut headers = vec![];
    if !auth.is_empty() {
        headers.push(("Authorization", auth));
    }
    let bytes = body.map(|b| b.to_string().into_bytes());
    if bytes.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    g.send(D, method, &p(path), &headers, bytes.as_deref()).await
}

/// Registers `user` with `email` (may be empty) and the standard password; returns the id.
pub async fn register(g: &Gw, user: &str, email: &str) -> u64 {
    let r = post(g, "/auth/users/", json!({"username": user, "password": PW, "re_password": PW, "email": email})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["email", "username", "id"]);
    assert_eq!(v["username"], user);
    v["id"].as_u64().expect("numeric id")
}

/// Logs in through token/login; returns the auth token.
pub async fn login(g: &Gw, user: &str, pw: &str) -> String {
    let r = post(g, "/auth/token/login/", json!({"username": user, "password": pw})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json()["auth_token"].as_str().expect("auth_token").to_owned();
    assert!(token.len() == 40 && token.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    token
}

/// Logs in through jwt/create; returns (access, refresh).
pub async fn jwt_pair(g: &Gw, user: &str, pw: &str) -> (String, String) {
    let r = post(g, "/auth/jwt/create/", json!({"username": user, "password": pw})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["refresh", "access"]);
    (v["access"].as_str().unwrap().to_owned(), v["refresh"].as_str().unwrap().to_owned())
}

/// The `users/me/` body of a user.
pub fn me_body(id: u64, user: &str, email: &str) -> Value {
    json!({"email": email, "id": id, "username": user})
}

#[track_caller]
pub fn assert_keys(r: &Res, keys: &[&str]) {
    assert_eq!(r.json().as_object().expect("object").keys().collect::<Vec<_>>(), keys, "{}", r.text);
}

pub fn bad_credentials() -> Value {
    json!({"non_field_errors": ["Unable to log in with provided credentials."]})
}

pub const ALLOW_USERS: &str = "GET, POST, HEAD, OPTIONS";
pub const ALLOW_ME: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";
pub const ALLOW_POST: &str = "POST, OPTIONS";

/// The dialect at `/djoser/` with `[mount.settings]`, written as a settings file
/// of its own (`[DJOSER]` tables stand for `[mount.settings.DJOSER]`).
pub async fn gw_with(kind: StoreKind, settings: &str) -> Gw {
    let nested = settings.replace("\n[", "\n[mount.settings.");
    let nested = nested.strip_prefix('[').map(|r| format!("[mount.settings.{r}")).unwrap_or(nested);
    super::gateway(kind).mount_with_settings(D, "/djoser/", &nested).start().await
}

/// Djoser's activation flow and mails, as the reference server runs with ORACLE_DJOSER_ACTIVATION=1.
pub const ACTIVATION: &str = "[DJOSER]\nSEND_ACTIVATION_EMAIL = true\nSEND_CONFIRMATION_EMAIL = true\n\
PASSWORD_CHANGED_EMAIL_CONFIRMATION = true\nUSERNAME_CHANGED_EMAIL_CONFIRMATION = true\nSET_PASSWORD_RETYPE = true\n";

/// The newest mail to an address, with its purpose, uid and token.
pub async fn last_mail(g: &Gw, to: &str) -> Value {
    g.outbox(to).await.pop().unwrap_or_else(|| panic!("no mail to {to}"))
}

/// (uid, token) of the newest mail to an address.
pub async fn mailed_link(g: &Gw, to: &str) -> (String, String) {
    let m = last_mail(g, to).await;
    (m["uid"].as_str().expect("uid").to_owned(), m["token"].as_str().expect("token").to_owned())
}
