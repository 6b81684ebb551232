//! The admin listener: the mail outbox (`GET /outbox?to=ADDRESS`, behind a
//! bearer token). It is kept off the dialect listeners so a legacy client
//! can never reach it by accident.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::stopped;

use crate::engine::tokens::ct_eq;
use crate::engine::Engine;
use crate::http::render::{Body, Reply};
use crate::secret::Secret;

pub struct Admin {
    pub engine: Engine,
    /// None: the outbox route answers 404.
    pub token: Option<Secret>,
}

fn json_error(status: u16, detail: &str) -> Reply {
    Reply::json(status, &serde_json::json!({ "detail": detail }))
}

pub fn respond(admin: &Admin, req: &Request<Incoming>) -> Reply {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/outbox") => {
            let Some(expected) = &admin.token else {
                return json_error(404, "outbox disabled: no admin token configured");
            };
            let presented = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !ct_eq(presented, expected.expose()) {
                return json_error(401, "admin token required").header("WWW-Authenticate", "Bearer");
            }
            let to = req.uri().query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "to").map(|(_, v)| v.into_owned())
            });
            let mails = admin.engine.outbox().list(to.as_deref());
            Reply::json(200, &serde_json::to_value(mails).unwrap_or_default())
        }
        (_, "/outbox") => json_error(405, "method not allowed").header("Allow", "GET"),
        _ => json_error(404, "not found"),
    }
}

pub async fn serve(listener: TcpListener, admin: Arc<Admin>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let admin = admin.clone();
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let admin = admin.clone();
                    async move {
                        let head = req.method() == Method::HEAD;
                        Ok::<Response<Body>, Infallible>(respond(&admin, &req).into_response(head))
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
                });
            }
            _ = stopped(&mut stop) => break,
        }
    }
}
