//! Helpers shared by the food2gether test files: the mount, Basic headers,
//! envelope assertions, and a registered user.

use serde_json::{json, Value};

pub use super::{basic, bearer};
use super::{gateway, Gw, Res, StoreKind};

pub const D: &str = "food2gether";
pub const AUTH: &str = "/api/v1/authentication/";
pub const RESET: &str = "/api/v1/authentication/reset/";

/// food2gether mounted at the root.
pub async fn gw(kind: StoreKind) -> Gw {
    gateway(kind).mount(D, "/").start().await
}

/// Asserts the error envelope: status, `code` equal to it, and the message key.
#[track_caller]
pub fn fails(r: &Res, status: u16, key: &str) {
    r.expect(status, json!({"success": false, "error": {"code": status, "message_key": key}}));
    assert_eq!(r.header("content-type"), Some("application/json"), "content type");
}

/// Asserts `{"success": true, "data": {"token": <non-empty string>}}` and returns the token.
#[track_caller]
pub fn token_of(r: &Res, status: u16) -> String {
    assert_eq!(r.status, status, "status; body was {}", r.text);
    let v = r.json();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["success", "data"], "{v}");
    assert_eq!(v["success"], true);
    assert_eq!(v["data"].as_object().unwrap().len(), 1, "{v}");
    let token = v["data"]["token"].as_str().expect("data.token").to_owned();
    assert!(token.len() >= 20, "session token too short: {token:?}");
    token
}

/// Asserts `{"success": true, "data": null}` with status 200.
#[track_caller]
pub fn ok_null(r: &Res) {
    r.expect(200, json!({"success": true, "data": null}));
}

pub async fn put_json(g: &Gw, path: &str, body: Value) -> Res {
    g.send(D, "PUT", path, &[("Content-Type", "application/json")], Some(body.to_string().as_bytes())).await
}

/// Registers with JSON; returns the session token.
pub async fn register(g: &Gw, email: &str, password: &str) -> String {
    token_of(&put_json(g, AUTH, json!({"email": email, "password": password})).await, 201)
}

/// POST login with Basic; the raw response.
pub async fn login(g: &Gw, email: &str, password: &str) -> Res {
    g.send(D, "POST", AUTH, &[("Authorization", &basic(email, password))], None).await
}

/// DELETE with the given Authorization value (None: no header).
pub async fn logout(g: &Gw, authorization: Option<&str>) -> Res {
    match authorization {
        Some(a) => g.send(D, "DELETE", AUTH, &[("Authorization", a)], None).await,
        None => g.send(D, "DELETE", AUTH, &[], None).await,
    }
}
