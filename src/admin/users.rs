//! The operators' users API on the admin listener, behind the admin bearer
//! token (as the outbox). JSON in and out; every refusal is built by
//! `http::render::admin_error`. Each change is audited with `dialect = admin`,
//! the operation as `route`, and the operator's address.
//!
//! | route | does |
//! |---|---|
//! | `GET /users?id=…` / `?username=…` / `?email=…` | find a user (404 when none) |
//! | `GET /users/<id>` | the same, by id |
//! | `POST /users/<id>/disable`, `/enable` | every token, session and password of the user stops (or starts again) working |
//! | `DELETE /users/<id>` | delete it with its tokens |
//! | `POST /users/<id>/revoke-tokens` | end every opaque token and session, and every JWT issued until now |
//! | `POST /users/<id>/unlock` | lift the account's login lockout |
//! | `POST /users/<id>/password` `{"password": "…"}` | set a password (hashed as usual) |
//! | `GET /addresses/<ip>`, `POST /addresses/<ip>/unlock` | a client address's lockout |

use std::net::IpAddr;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request};
use serde_json::{json, Value};

use super::Admin;
use crate::audit::Origin;
use crate::engine::lockout::ceil_secs;
use crate::engine::{EngineError, User, UserRef};
use crate::http::handle::request_id;
use crate::http::render::{admin_error, Reply};
use crate::secret::Secret;

/// Whether a path belongs to this API.
pub fn handles(path: &str) -> bool {
    path == "/users" || path.starts_with("/users/") || path.starts_with("/addresses/")
}

/// The largest body accepted (a password).
const BODY_LIMIT: usize = 4096;

pub async fn respond(admin: &Admin, req: Request<Incoming>, peer: std::net::IpAddr) -> Reply {
    if let Some(refusal) = admin.refusal(&req, "users API") {
        return refusal;
    }
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let origin = |op: &str| Origin {
        request_id: request_id(req.headers()),
        dialect: "admin".into(),
        route: op.into(),
        client: Some(peer),
    };
    let method = req.method().clone();
    match (segments.as_slice(), &method) {
        (["users"], &Method::GET) => match user_ref(req.uri().query()) {
            Some(r) => show(admin, &r).await,
            None => admin_error(400, "give one of id, username or email"),
        },
        (["users"], _) => not_allowed("GET"),
        (["users", id, rest @ ..], _) => {
            let Ok(id) = id.parse::<u64>() else {
                return admin_error(404, "no such user");
            };
            match (rest, method) {
                ([], Method::GET) => show(admin, &UserRef::Id(id)).await,
                ([], Method::DELETE) => match admin.engine.delete_user_audited(id, &origin("delete")).await {
                    Ok(true) => Reply::empty(204),
                    Ok(false) => admin_error(404, "no such user"),
                    Err(e) => refusal(e),
                },
                ([], _) => not_allowed("GET, DELETE"),
                ([op @ ("disable" | "enable")], Method::POST) => {
                    user_reply(admin.engine.set_user_active(id, *op == "enable", &origin(op)).await, admin).await
                }
                (["revoke-tokens"], Method::POST) => {
                    match admin.engine.revoke_everything(id, &origin("revoke_tokens")).await {
                        Ok(n) => Reply::json(
                            200,
                            &json!({ "user_id": id, "opaque_tokens_revoked": n, "jwts_revoked": true }),
                        ),
                        Err(e) => refusal(e),
                    }
                }
                (["unlock"], Method::POST) => match admin.engine.find_user(id).await {
                    Ok(None) => admin_error(404, "no such user"),
                    Ok(Some(_)) => match admin.engine.clear_user_lockout(id, &origin("unlock")).await {
                        Ok(lifted) => Reply::json(200, &json!({ "user_id": id, "was_locked": lifted })),
                        Err(e) => refusal(e),
                    },
                    Err(e) => refusal(e),
                },
                (["password"], Method::POST) => {
                    let origin = origin("set_password");
                    match password(req).await {
                        Ok(pw) => user_reply(admin.engine.set_password_audited(id, &pw, &origin).await, admin).await,
                        Err(r) => r,
                    }
                }
                (["disable" | "enable" | "revoke-tokens" | "unlock" | "password"], _) => not_allowed("POST"),
                _ => admin_error(404, "not found"),
            }
        }
        (["addresses", ip, rest @ ..], _) => {
            let Ok(ip) = ip.parse::<IpAddr>() else {
                return admin_error(400, "not an IP address");
            };
            match (rest, method) {
                ([], Method::GET) => match admin.engine.address_lockout(ip).await {
                    Ok(left) => Reply::json(
                        200,
                        &json!({ "address": ip.to_string(), "locked_out_for_secs": left.map(ceil_secs) }),
                    ),
                    Err(e) => refusal(e),
                },
                ([], _) => not_allowed("GET"),
                (["unlock"], Method::POST) => {
                    match admin.engine.clear_address_lockout(ip, &origin("unlock_address")).await {
                        Ok(lifted) => Reply::json(200, &json!({ "address": ip.to_string(), "was_locked": lifted })),
                        Err(e) => refusal(e),
                    }
                }
                (["unlock"], _) => not_allowed("POST"),
                _ => admin_error(404, "not found"),
            }
        }
        _ => admin_error(404, "not found"),
    }
}

fn not_allowed(allow: &'static str) -> Reply {
    admin_error(405, "method not allowed").header(hyper::header::ALLOW, hyper::header::HeaderValue::from_static(allow))
}

/// `id=`, `username=` or `email=` from a query string (exactly one).
fn user_ref(query: Option<&str>) -> Option<UserRef> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let [(k, v)] = pairs.as_slice() else { return None };
    match k.as_str() {
        "id" => v.parse().ok().map(UserRef::Id),
        "username" => Some(UserRef::Username(v.clone())),
        "email" => Some(UserRef::Email(v.clone())),
        _ => None,
    }
}

async fn show(admin: &Admin, r: &UserRef) -> Reply {
    match admin.engine.find_user_ref(r).await {
        Ok(Some(user)) => user_json(admin, &user).await,
        Ok(None) => admin_error(404, "no such user"),
        Err(e) => refusal(e),
    }
}

async fn user_reply(result: Result<User, EngineError>, admin: &Admin) -> Reply {
    match result {
        Ok(user) => user_json(admin, &user).await,
        Err(e) => refusal(e),
    }
}

/// A user as operators see it: no password hash, and the lockout if any.
async fn user_json(admin: &Admin, user: &User) -> Reply {
    let locked = match admin.engine.user_lockout(user.id).await {
        Ok(left) => left.map(ceil_secs),
        Err(e) => return refusal(e),
    };
    Reply::json(200, &view(user, locked))
}

/// The JSON view of a user (times in Unix seconds).
pub fn view(user: &User, locked_out_for_secs: Option<u64>) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "is_active": user.is_active,
        "email_verified": user.email_verified,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "tokens_revoked_at": user.tokens_revoked_at,
        "locked_out_for_secs": locked_out_for_secs,
    })
}

/// `{"password": "…"}`, non-empty.
async fn password(req: Request<Incoming>) -> Result<Secret, Reply> {
    let bytes = match Limited::new(req.into_body(), BODY_LIMIT).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Err(admin_error(413, "body too large")),
    };
    let body: Value =
        serde_json::from_slice(&bytes).map_err(|_| admin_error(400, "expected JSON {\"password\": \"…\"}"))?;
    match body.get("password").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => Ok(Secret::new(p)),
        _ => Err(admin_error(400, "expected JSON {\"password\": \"…\"} with a non-empty password")),
    }
}

fn refusal(e: EngineError) -> Reply {
    match e {
        EngineError::UserNotFound => admin_error(404, "no such user"),
        EngineError::Hash(crate::engine::passwords::HashError::Busy) => {
            admin_error(503, "password hashing is busy, try again")
                .header(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("1"))
        }
        other => {
            tracing::error!(error = %other, "admin users API failed");
            admin_error(503, "store unavailable")
        }
    }
}
