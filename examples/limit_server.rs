//! The limit server of `scripts/bench.sh`: the least a server can do for the
//! request shapes polyauth answers, so that polyauth's own per-request cost
//! is what the ratio between the two measures. hyper 1 + tokio, jsonwebtoken
//! (HS256), one multiplexed Redis connection; no routing table, no metrics,
//! no logs, no error formats.
//!
//!   limit_server [--bare] PORT SIGNING_KEY memory|REDIS_URL [USER_ID:USERNAME[:TOKEN]]
//!
//! - `GET /hello`: `{"status":"ok"}`.
//! - `POST /auth/token/verify` (`{"token": JWT}`): HS256 check; on Redis also
//!   one `GET` of the blacklist key of its `jti` (SimpleJWT's verify). `{}`.
//! - `GET /auth/getuser` (`Authorization: Bearer JWT`): HS256 check, then the
//!   user: one Redis `HGETALL` of polyauth's own user hash (the one record
//!   polyauth reads), 401 unless it exists and `is_active` is 1; or a HashMap
//!   lookup on memory. `{"username": …}`.
//! - `GET /api/auth/token/verify/` (`Authorization: Token KEY`): the opaque
//!   token check of DRF's TokenAuthentication on polyauth's own keys: SHA-256
//!   of the key, `GET pa:tok:<hex>` (→ `<id>:authtoken`), `HGETALL` the user's
//!   hash, 401 unless it exists and `is_active` is 1. `{}`. On memory, two
//!   HashMap lookups.
//!
//! The JWTs and the auth token are polyauth's (same signing key, same store);
//! `USER_ID:USERNAME[:TOKEN]` seeds the memory variant with the bench's user.
//!
//! Every answer carries the head polyauth's DRF dialects send (DRF's `Allow`
//! and `Vary`, Django's security middleware headers, an `X-Request-Id`), as
//! constants: the bytes on the wire are the same, so the ratio measures the
//! work of producing them, not their size (`--bare` leaves them off).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, VARY};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use redis::aio::MultiplexedConnection;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

#[derive(Deserialize)]
struct Claims {
    user_id: String,
    jti: String,
}

#[derive(Deserialize)]
struct VerifyBody {
    token: String,
}

enum Store {
    Memory { users: HashMap<u64, String>, tokens: HashMap<String, u64> },
    Redis(MultiplexedConnection),
}

struct State {
    /// `--bare`: answers without polyauth's head.
    bare: bool,
    key: DecodingKey,
    validation: Validation,
    store: Store,
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The rest of polyauth's head on a DRF view's answer.
fn drf_head(res: &mut Reply, allow: &'static str) {
    let h = res.headers_mut();
    h.insert(ALLOW, HeaderValue::from_static(allow));
    h.insert(VARY, HeaderValue::from_static("Accept"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-request-id", request_id());
}

/// 32 hex digits from a per-thread xorshift generator (an id, not a secret).
fn request_id() -> HeaderValue {
    thread_local!(static STATE: std::cell::Cell<u64> = std::cell::Cell::new(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    ));
    let mut out = [0u8; 32];
    STATE.with(|s| {
        for chunk in out.chunks_mut(16) {
            let mut x = s.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            for (i, b) in chunk.iter_mut().enumerate() {
                *b = b"0123456789abcdef"[((x >> (i * 4)) & 0xf) as usize];
            }
        }
    });
    HeaderValue::from_bytes(&out).unwrap_or(HeaderValue::from_static("0"))
}

fn unauthorized() -> Reply {
    reply(StatusCode::UNAUTHORIZED, r#"{"detail":"unauthorized"}"#)
}

fn credential<'a>(req: &'a Request<Incoming>, scheme: &str) -> Option<&'a str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

impl State {
    fn claims(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).ok().map(|d| d.claims)
    }

    async fn verify(&self, req: Request<Incoming>) -> Reply {
        let Ok(body) = req.into_body().collect().await else { return reply(StatusCode::BAD_REQUEST, "{}") };
        let Ok(body) = serde_json::from_slice::<VerifyBody>(&body.to_bytes()) else {
            return reply(StatusCode::BAD_REQUEST, "{}");
        };
        let Some(claims) = self.claims(&body.token) else { return unauthorized() };
        if let Store::Redis(conn) = &self.store {
            let listed: Option<String> =
                match redis::cmd("GET").arg(format!("pa:bl:{}", claims.jti)).query_async(&mut conn.clone()).await {
                    Ok(v) => v,
                    Err(_) => return reply(StatusCode::SERVICE_UNAVAILABLE, "{}"),
                };
            if listed.is_some() {
                return unauthorized();
            }
        }
        reply(StatusCode::OK, "{}")
    }

    async fn getuser(&self, req: Request<Incoming>) -> Reply {
        let Some(claims) = credential(&req, "Bearer").and_then(|t| self.claims(t)) else { return unauthorized() };
        let Ok(id) = claims.user_id.parse::<u64>() else { return unauthorized() };
        let username = match &self.store {
            Store::Memory { users, .. } => users.get(&id).cloned(),
            Store::Redis(conn) => {
                let user: HashMap<String, String> =
                    match redis::cmd("HGETALL").arg(format!("pa:{{u:{id}}}:user")).query_async(&mut conn.clone()).await
                    {
                        Ok(v) => v,
                        Err(_) => return reply(StatusCode::SERVICE_UNAVAILABLE, "{}"),
                    };
                user.get("is_active").filter(|v| *v == "1").and_then(|_| user.get("username").cloned())
            }
        };
        match username {
            Some(name) => reply(StatusCode::OK, serde_json::json!({ "username": name }).to_string()),
            None => unauthorized(),
        }
    }

    async fn opaque(&self, req: Request<Incoming>) -> Reply {
        let Some(key) = credential(&req, "Token") else { return unauthorized() };
        let digest = hex::encode(Sha256::digest(key.as_bytes()));
        let active = match &self.store {
            Store::Memory { users, tokens } => tokens.get(&digest).is_some_and(|id| users.contains_key(id)),
            Store::Redis(conn) => {
                let mut conn = conn.clone();
                let found: Option<String> =
                    match redis::cmd("GET").arg(format!("pa:tok:{digest}")).query_async(&mut conn).await {
                        Ok(v) => v,
                        Err(_) => return reply(StatusCode::SERVICE_UNAVAILABLE, "{}"),
                    };
                let Some(id) = found.as_deref().and_then(|v| v.split_once(':')).map(|(id, _)| id.to_owned()) else {
                    return unauthorized();
                };
                let user: HashMap<String, String> =
                    match redis::cmd("HGETALL").arg(format!("pa:{{u:{id}}}:user")).query_async(&mut conn).await {
                        Ok(v) => v,
                        Err(_) => return reply(StatusCode::SERVICE_UNAVAILABLE, "{}"),
                    };
                user.get("is_active").is_some_and(|v| v == "1")
            }
        };
        if active {
            reply(StatusCode::OK, "{}")
        } else {
            unauthorized()
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Result<Reply, Infallible> {
        let (mut res, allow) = match (req.method(), req.uri().path()) {
            (&Method::GET, "/hello") => return Ok(reply(StatusCode::OK, r#"{"status":"ok"}"#)),
            (&Method::POST, "/auth/token/verify") => (self.verify(req).await, "POST, OPTIONS"),
            (&Method::GET, "/auth/getuser") => (self.getuser(req).await, "GET, HEAD, OPTIONS"),
            (&Method::GET, "/api/auth/token/verify/") => (self.opaque(req).await, "GET, POST, HEAD, OPTIONS"),
            _ => return Ok(reply(StatusCode::NOT_FOUND, "{}")),
        };
        if !self.bare {
            drf_head(&mut res, allow);
        }
        Ok(res)
    }
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let bare = args.iter().any(|a| a == "--bare");
    args.retain(|a| a != "--bare");
    if !(4..=5).contains(&args.len()) {
        eprintln!("usage: limit_server [--bare] PORT SIGNING_KEY memory|REDIS_URL [USER_ID:USERNAME[:TOKEN]]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse().expect("port");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let store = if args[3] == "memory" {
        // The memory variant's data: 1,000 users, the bench's among them.
        let mut users: HashMap<u64, String> = (1..=1000).map(|id| (id, format!("user{id}"))).collect();
        let mut tokens = HashMap::new();
        if let Some(given) = args.get(4) {
            let mut parts = given.splitn(3, ':');
            let id: u64 = parts.next().and_then(|s| s.parse().ok()).expect("USER_ID");
            users.insert(id, parts.next().expect("USERNAME").to_owned());
            if let Some(token) = parts.next() {
                tokens.insert(hex::encode(Sha256::digest(token.as_bytes())), id);
            }
        }
        Store::Memory { users, tokens }
    } else {
        let client = redis::Client::open(args[3].as_str()).expect("redis url");
        Store::Redis(client.get_multiplexed_async_connection().await.expect("redis connection"))
    };
    let state = Arc::new(State { bare, key: DecodingKey::from_secret(args[2].as_bytes()), validation, store });
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| state.clone().handle(req));
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
