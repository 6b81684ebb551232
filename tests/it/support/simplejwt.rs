//! SimpleJWT mounted at the root: the gateway, and a login's status.

use serde_json::json;

use super::{gateway, Gw, StoreKind};

pub const D: &str = "simplejwt";

pub async fn gw(kind: StoreKind) -> Gw {
    gateway(kind).mount(D, "/").start().await
}

/// The status of a login with a username (`/auth/token`).
pub async fn sj_login(g: &Gw, username: &str, password: &str) -> u16 {
    g.post_json(D, "/auth/token", json!({"username": username, "password": password})).await.status
}
