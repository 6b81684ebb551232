//! The admin listener, kept off the dialect listeners so a legacy client can
//! never reach it by accident:
//! - `GET /healthz`: 200 while the process serves (liveness).
//! - `GET /readyz`: 200 when ready, else 503 with the reason (see `health`).
//! - `GET /metrics`: Prometheus metrics (OpenMetrics text).
//! - `GET /outbox?to=ADDRESS`: the mail outbox, behind the admin bearer token.
//! - `/users…`, `/addresses…`: the operators' users API, behind the same token (`users`).
//!
//! Probes and metrics need no token: kubelet and Prometheus reach them on the
//! pod's admin port, which no Service should expose.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::engine::crypto::ct_eq;
use crate::engine::Engine;
use crate::health::Health;
use crate::http::render::{self, admin_error, Body, Reply};
use crate::metrics::{self, Metrics};
use crate::secret::Secret;
use crate::server::{self, tls::ReloadingTls, ConnSettings};

pub mod users;

pub struct Admin {
    pub engine: Engine,
    /// None: the outbox and the users API answer 404.
    pub token: Option<Secret>,
    pub health: Arc<Health>,
    pub metrics: Metrics,
}

/// `GET` and `HEAD` read; anything else gets 405.
fn reads(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

pub async fn respond(admin: &Admin, req: &Request<Incoming>) -> Reply {
    let path = req.uri().path();
    let known = matches!(path, "/healthz" | "/readyz" | "/metrics" | "/outbox");
    if !known {
        return admin_error(404, "not found");
    }
    if !reads(req.method()) {
        return admin_error(405, "method not allowed").header(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    match path {
        "/healthz" => Reply::json(200, &serde_json::json!({ "status": "ok" })),
        "/readyz" => match admin.health.readiness().await {
            Ok(()) => Reply::json(200, &serde_json::json!({ "status": "ready" })),
            Err(reason) => render::not_ready(&reason),
        },
        "/metrics" => {
            Reply::bytes(200, HeaderValue::from_static(metrics::CONTENT_TYPE), admin.metrics.encode().into_bytes())
        }
        _ => outbox(admin, req).await,
    }
}

impl Admin {
    /// Checks the admin bearer token: None when it holds, else the refusal
    /// (404 while no token is configured).
    pub fn refusal(&self, req: &Request<Incoming>, what: &str) -> Option<Reply> {
        let Some(expected) = &self.token else {
            return Some(admin_error(404, &format!("{what} disabled: no admin token configured")));
        };
        let presented = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        (!ct_eq(presented, expected.expose())).then(|| {
            admin_error(401, "admin token required").header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
        })
    }
}

async fn outbox(admin: &Admin, req: &Request<Incoming>) -> Reply {
    if let Some(refusal) = admin.refusal(req, "outbox") {
        return refusal;
    }
    let to = req
        .uri()
        .query()
        .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "to").map(|(_, v)| v.into_owned()));
    let mails = admin.engine.outbox_list(to.as_deref()).await;
    Reply::json(200, &serde_json::to_value(mails).unwrap_or_default())
}

/// Serves the admin listener until `stop`, then drains like the dialect listeners.
/// Connections open at once on the admin listener (probes, scrapes, outbox reads).
pub const MAX_CONNECTIONS: usize = 64;

pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ReloadingTls>>,
    admin: Arc<Admin>,
    settings: ConnSettings,
    stop: watch::Receiver<bool>,
) {
    server::serve(listener, tls, settings, stop, move |req: Request<Incoming>, conn: server::Conn| {
        let admin = admin.clone();
        async move {
            let head = req.method() == Method::HEAD;
            let reply: Reply = if users::handles(req.uri().path()) {
                users::respond(&admin, req, conn.peer.ip()).await
            } else {
                respond(&admin, &req).await
            };
            let res: Response<Body> = reply.into_response(head, None);
            Ok::<_, Infallible>(res)
        }
    })
    .await
}
