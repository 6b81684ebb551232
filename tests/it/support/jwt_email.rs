//! jwt-email: the gateway with the dialect mounted at `/jwtemail/` (as the
//! reference server serves it), its URLs, registration and login. Its JWTs:
//! `support::jwt`.

use serde_json::json;

use super::{gateway, Gw, GwBuilder, StoreKind};

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
