//! One request through a mount: match the route (404 / 301 / 405), find the
//! caller, check permission, parse and validate inputs, run the action,
//! render. Every exit goes through `render`, so every answer is in the
//! dialect's own format.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::HOST;
use hyper::{Method, Request, Response};

use super::body::{self, Fields};
use super::render::{self, Body, Reply};
use super::{auth, inputs};
use crate::actions::{self, Call, Failure};
use crate::dialect::{template, Dialect, Match, Permission, Route, Source};
use crate::engine::Engine;

/// A dialect served under a path prefix.
pub struct Mount {
    /// Normalised: empty for the root, else `/x` without a trailing slash.
    pub prefix: String,
    pub dialect: Arc<Dialect>,
}

impl Mount {
    pub fn new(prefix: &str, dialect: Arc<Dialect>) -> Self {
        Self { prefix: prefix.trim_end_matches('/').to_owned(), dialect }
    }

    /// The path inside the mount, if the request belongs to it.
    pub fn strip<'p>(&self, path: &'p str) -> Option<&'p str> {
        if self.prefix.is_empty() {
            return Some(path);
        }
        let rest = path.strip_prefix(&self.prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(if rest.is_empty() { "/" } else { rest })
    }
}

/// What every request handler shares.
pub struct Gateway {
    pub engine: Engine,
    pub body_limit: usize,
}

const METHOD_ORDER: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn allow_header(d: &Dialect, routes: &[&Route]) -> String {
    let mut methods: Vec<String> = routes.iter().map(|r| r.method.to_string()).collect();
    if d.drf_allow {
        if methods.iter().any(|m| m == "GET") {
            methods.push("HEAD".into());
        }
        methods.push("OPTIONS".into());
    }
    let rank = |m: &String| METHOD_ORDER.iter().position(|o| o == m).unwrap_or(99);
    methods.sort_by_key(rank);
    methods.dedup();
    methods.join(", ")
}

/// The routes that share the chosen route's path (for `Allow`).
fn routes_at<'a>(d: &'a Dialect, chosen: &'a Route) -> Vec<&'a Route> {
    let shape = chosen.pattern.shape();
    d.routes.iter().filter(|r| r.pattern.shape() == shape).collect()
}

fn base_url(req_host: Option<&str>, scheme: &str, prefix: &str) -> String {
    // Only a plausible host name goes into mails; anything else falls back.
    let host = req_host
        .filter(|h| {
            !h.is_empty() && h.len() < 256 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}{prefix}")
}

/// Handles a request for one of `mounts` (the listener's). Never panics on client input.
pub async fn handle(gw: &Gateway, mounts: &[Mount], req: Request<Incoming>, scheme: &str) -> Response<Body> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let Some((mount, rel)) = mounts.iter().find_map(|m| m.strip(&path).map(|r| (m, r.to_owned()))) else {
        let res = Reply {
            status: 404,
            headers: Vec::new(),
            body: Some(("text/plain; charset=utf-8".into(), b"Not Found".to_vec())),
        };
        log(&method, None, &path, 404, start);
        return res.into_response(method == Method::HEAD);
    };
    let d = &mount.dialect;
    let (reply, route_name) = dispatch(gw, mount, req, &rel, scheme).await;
    let mut reply = reply;
    for (k, v) in &d.headers {
        reply.headers.push((k.clone(), v.clone()));
    }
    log(&method, Some((d, route_name.as_deref())), &path, reply.status, start);
    reply.into_response(method == Method::HEAD)
}

fn log(method: &Method, route: Option<(&Dialect, Option<&str>)>, path: &str, status: u16, start: Instant) {
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    // The raw path is logged only when no route matched: matched paths may carry tokens.
    let (dialect, shown) = match route {
        Some((d, Some(name))) => (d.name.as_str(), name.to_owned()),
        Some((d, None)) => (d.name.as_str(), path.chars().take(200).collect()),
        None => ("-", path.chars().take(200).collect()),
    };
    tracing::info!(target: "polyauth::request", %method, dialect, route = %shown, status, latency_ms = format!("{latency_ms:.2}"), "request");
}

async fn dispatch(
    gw: &Gateway,
    mount: &Mount,
    req: Request<Incoming>,
    rel: &str,
    scheme: &str,
) -> (Reply, Option<String>) {
    let d = &mount.dialect;
    let method = req.method().clone();
    match d.find(&method, rel) {
        Match::NotFound => {
            if d.slash_redirect(rel) {
                let mut location = format!("{}{rel}/", mount.prefix);
                if let Some(q) = req.uri().query() {
                    location.push('?');
                    location.push_str(q);
                }
                let reply = Reply {
                    status: 301,
                    headers: vec![("Location".into(), location)],
                    body: Some(("text/html; charset=utf-8".into(), Vec::new())),
                };
                return (reply, None);
            }
            (render::failures(d, &d.errors, &[Failure::new("not_found")], method.as_str()), None)
        }
        Match::WrongMethod(routes) => {
            let first = routes[0];
            let allow = allow_header(d, &routes);
            let name = Some(first.spec.name.clone());
            if d.drf_allow || routes.iter().any(|r| r.spec.auth_before_method) {
                let who = auth::authenticate(&gw.engine, d, &first.authenticators, req.headers(), None).await;
                let refused = match who {
                    Err(f) => Some(f),
                    Ok(None) if routes.iter().any(|r| r.spec.auth_before_method) => {
                        Some(Failure::new("not_authenticated"))
                    }
                    Ok(_) => None,
                };
                if let Some(f) = refused {
                    return (
                        with_drf_headers(d, render::failures(d, &first.errors, &[f], method.as_str()), &allow),
                        name,
                    );
                }
            }
            let f = Failure::new("method_not_allowed").with("method", method.as_str());
            let mut reply = render::failures(d, &first.errors, &[f], method.as_str());
            if !d.drf_allow {
                reply = reply.header("Allow", allow.clone());
            }
            (with_drf_headers(d, reply, &allow), name)
        }
        Match::Found(route, params) => {
            let allow = allow_header(d, &routes_at(d, route));
            let reply = match run_route(gw, mount, route, req, &params, scheme).await {
                Ok(r) => r,
                Err(list) => render::failures(d, &route.errors, &list, method.as_str()),
            };
            (with_drf_headers(d, reply, &allow), Some(route.spec.name.clone()))
        }
    }
}

/// DRF puts `Allow` and `Vary: Accept` on every response of its views.
fn with_drf_headers(d: &Dialect, reply: Reply, allow: &str) -> Reply {
    if d.drf_allow {
        reply.header("Allow", allow).header("Vary", "Accept")
    } else {
        reply
    }
}

/// The authenticated caller, if any; refuses when the route needs one and nobody is there.
async fn caller(
    gw: &Gateway,
    d: &Dialect,
    route: &Route,
    headers: &hyper::HeaderMap,
    fields: Option<&Fields>,
) -> Result<Option<actions::Principal>, Vec<Failure>> {
    let principal =
        auth::authenticate(&gw.engine, d, &route.authenticators, headers, fields).await.map_err(|f| vec![f])?;
    if route.spec.permission == Permission::Authenticated && principal.is_none() {
        return Err(vec![Failure::new("not_authenticated")]);
    }
    Ok(principal)
}

async fn run_route(
    gw: &Gateway,
    mount: &Mount,
    route: &Route,
    req: Request<Incoming>,
    params: &[(String, String)],
    scheme: &str,
) -> Result<Reply, Vec<Failure>> {
    let d = &mount.dialect;
    let (parts, incoming) = req.into_parts();
    let body_auth =
        route.authenticators.iter().any(|a| d.authenticators.get(a).is_some_and(|s| s.body_field.is_some()));
    let wants_body = route.spec.input.values().any(|i| i.from == Source::Body) || body_auth;
    // DRF authenticates and checks permissions before the view parses the body: a bad
    // or missing credential is a 401 even when the body is unparseable. Only a route
    // whose authenticator reads the body has to parse it first.
    let mut principal = if body_auth { None } else { caller(gw, d, route, &parts.headers, None).await? };
    let mut fields = Fields::new();
    if wants_body {
        let bytes = body::read(incoming, &parts.headers, gw.body_limit).await.map_err(|f| vec![f])?;
        fields = body::parse(bytes, &parts.headers, &route.spec.body).await.map_err(|f| vec![f])?;
    } else {
        drop(incoming);
    }
    if body_auth {
        principal = caller(gw, d, route, &parts.headers, Some(&fields)).await?;
    }
    let inputs = inputs::collect(route, &fields, params, parts.uri.query(), &parts.headers)?;
    let host = parts.headers.get(HOST).and_then(|h| h.to_str().ok());
    let base = base_url(host, scheme, &mount.prefix);
    let call = Call {
        engine: &gw.engine,
        inputs: &inputs.values,
        fields: &inputs.fields,
        principal: principal.as_ref(),
        dialect: d,
        base_url: &base,
    };
    let vars = actions::run(&route.action, &call).await?;
    let status = route.spec.response.status;
    let mut reply = match &route.body {
        Some(t) => Reply::json(status, &template::render(t, &vars)),
        None => Reply::empty(status),
    };
    for (k, v) in &route.spec.response.headers {
        reply = reply.header(k.clone(), template::render_str(v, &vars));
    }
    Ok(reply)
}
