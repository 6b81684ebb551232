//! One request through a mount: match the route (404 / 301 / 405), find the
//! caller, check permission, parse and validate inputs, run the action,
//! render. Every exit goes through `render`, so every answer is in the
//! dialect's own format. Each request ends in one log event and one metrics
//! sample, both named by route (never by raw path), and carries a request id.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ALLOW, CONNECTION, HOST, VARY};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response};

use super::body::{self, Fields};
use super::cors::CorsRequest;
use super::hosts::{HostCheck, HostPolicy, LazyLinks, LinkConfig};
use super::render::{self, Body, Reply};
use super::{accept, auth, client_addr, inputs, metadata, throttle};
use crate::actions::{Call, Principal};
use crate::audit::{Origin, RequestId};
use crate::dialect::{Dialect, Match, Permission, Route};
use crate::engine::{crypto, Engine};
use crate::failure::{ErrorKey, Failure};
use crate::metrics::{Metrics, RouteMetrics, PREFLIGHT, UNMATCHED};
use crate::server::Conn;
use crate::template::{self, vars};

mod run;

use run::run_route;

/// A dialect served under a path prefix.
pub struct Mount {
    /// Normalised: empty for the root, else `/x` without a trailing slash.
    pub prefix: String,
    pub dialect: Arc<Dialect>,
    /// The mount's `ALLOWED_HOSTS`.
    pub hosts: HostPolicy,
    /// The dialect's name, shared by every request's `Origin`.
    name: Arc<str>,
    /// Where its mail links point (`listener_origin` is set once bound).
    pub links: LinkConfig,
    /// Per route of the dialect (same order): what every answer of it needs, made once.
    routes: Vec<RouteConst>,
    /// The dialect's headers on every answer, parsed once; the flag marks those
    /// an answer from above Django's XFrameOptionsMiddleware goes without.
    headers: Vec<(HeaderName, HeaderValue, bool)>,
}

/// A route's per-answer constants.
struct RouteConst {
    /// Its name, shared by every request's `Origin`.
    name: Arc<str>,
    /// The `Allow` header of its path.
    allow: HeaderValue,
    /// Its request series; None until the mount is served (`resolve_metrics`).
    metrics: Option<RouteMetrics>,
}

impl Mount {
    pub fn new(prefix: &str, dialect: Arc<Dialect>, public_url: Option<&str>) -> Self {
        let hosts = HostPolicy::from_settings(&dialect.settings);
        let links = LinkConfig::new(public_url, &dialect.settings);
        let routes = dialect
            .routes
            .iter()
            .map(|r| RouteConst {
                name: r.spec.name.as_str().into(),
                allow: allow_header(&dialect, &routes_at(&dialect, r)),
                metrics: None,
            })
            .collect();
        let headers = dialect
            .headers
            .iter()
            .filter_map(|(k, v)| match (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                (Ok(name), Ok(value)) => {
                    let omitted = dialect.redirect_omits_headers.iter().any(|h| h.eq_ignore_ascii_case(k));
                    Some((name, value, omitted))
                }
                _ => {
                    tracing::warn!(dialect = %dialect.name, header = %k, "dialect header is not valid HTTP: never sent");
                    None
                }
            })
            .collect();
        let name = dialect.name.as_str().into();
        Self { prefix: prefix.trim_end_matches('/').to_owned(), dialect, name, hosts, links, routes, headers }
    }

    /// Resolves each route's metrics handles (the gateway's registry is made after the plan).
    pub fn resolve_metrics(&mut self, metrics: &Metrics) {
        for (c, r) in self.routes.iter_mut().zip(&self.dialect.routes) {
            c.metrics = Some(metrics.route(&self.dialect.name, &r.spec.name, r.spec.response.status));
        }
    }

    /// A route's name for an `Origin`.
    fn route_name(&self, route: &Route) -> Arc<str> {
        self.route_const(route).map_or_else(|| route.spec.name.as_str().into(), |c| c.name.clone())
    }

    /// The constants of one of this mount's routes.
    fn route_const(&self, route: &Route) -> Option<&RouteConst> {
        // A route of this dialect sits at its offset in the table; the pointer
        // check below makes any other route find nothing.
        let offset = (route as *const Route as usize).wrapping_sub(self.dialect.routes.as_ptr() as usize);
        let i = offset / std::mem::size_of::<Route>();
        let found = self.dialect.routes.get(i).is_some_and(|r| std::ptr::eq(r, route));
        found.then(|| self.routes.get(i)).flatten()
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

/// What a request's `Origin` takes from the request, before the route is known.
#[derive(Clone, Copy)]
struct OriginBase<'a> {
    request_id: &'a RequestId,
    client: Option<std::net::IpAddr>,
}

impl OriginBase<'_> {
    /// The `Origin` of a request through one of the mount's routes.
    fn at(self, mount: &Mount, route: &Route) -> Origin {
        Origin {
            request_id: self.request_id.clone(),
            dialect: mount.name.clone(),
            route: mount.route_name(route),
            client: self.client,
        }
    }
}

/// What every request handler shares.
pub struct Gateway {
    pub engine: Engine,
    pub body_limit: usize,
    /// A body not received whole by `server.body_read_timeout_secs` is answered
    /// 408 (slow clients).
    pub body_deadlines: crate::deadline::Deadlines,
    /// Requests are counted and timed here, by dialect and route name.
    pub metrics: Metrics,
    /// `[server] trusted_proxies`: how many proxies' `X-Forwarded-For` entries to trust.
    pub trusted_proxies: usize,
}

pub const REQUEST_ID: &str = "x-request-id";
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static(REQUEST_ID);
const VARY_ACCEPT: HeaderValue = HeaderValue::from_static("Accept");
const CLOSE: HeaderValue = HeaderValue::from_static("close");

/// The caller's `X-Request-Id` when it is a plausible id (so it cannot forge
/// log lines or smuggle a credential into them at length), else a fresh one.
pub fn request_id(headers: &HeaderMap) -> RequestId {
    let given = headers.get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).filter(|v| {
        (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    });
    match given {
        Some(id) => RequestId::new(id),
        None => RequestId::from_hex(crypto::random_hex_fast()),
    }
}

const METHOD_ORDER: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn allow_header(d: &Dialect, routes: &[&Route]) -> HeaderValue {
    let mut methods: Vec<String> = routes.iter().map(|r| r.method.to_string()).collect();
    if d.drf_views {
        if methods.iter().any(|m| m == "GET") {
            methods.push("HEAD".into());
        }
        methods.push("OPTIONS".into());
    }
    let rank = |m: &String| METHOD_ORDER.iter().position(|o| o == m).unwrap_or(99);
    methods.sort_by_key(rank);
    methods.dedup();
    // Method names are tokens: always a valid value.
    HeaderValue::from_str(&methods.join(", ")).unwrap_or(HeaderValue::from_static(""))
}

/// The routes that share the chosen route's path (for `Allow`).
fn routes_at<'a>(d: &'a Dialect, chosen: &'a Route) -> Vec<&'a Route> {
    d.routes.iter().filter(|r| r.shape == chosen.shape).collect()
}

/// The gateway's limits on a request head's size, below hyper's
/// (`server::HYPER_MAX_HEAD_BYTES`), so a head over them is refused in the
/// dialect's format. hyper itself refuses a head of more than 100 fields.
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_URI_BYTES: usize = 8 * 1024;

/// 431 or 414 for a head over the gateway's limits.
fn head_over_limits(head: &Parts) -> Option<ErrorKey> {
    let uri = head.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return Some(ErrorKey::UriTooLong);
    }
    let headers = &head.headers;
    let bytes: usize = uri + headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum::<usize>();
    (bytes > MAX_HEAD_BYTES).then_some(ErrorKey::HeadersTooLarge)
}

/// Handles a request for one of `mounts` (the listener's). Never panics on client input.
pub async fn handle(gw: &Gateway, mounts: &[Mount], req: Request<Incoming>, conn: Conn) -> Response<Body> {
    let start = Instant::now();
    // The head is kept here and lent to each step; only the body moves on.
    let (head, body) = req.into_parts();
    let method = head.method.clone();
    let id = request_id(&head.headers);
    let path = head.uri.path();
    let Some((mount, rel)) = mounts.iter().find_map(|m| m.strip(path).map(|r| (m, r))) else {
        let res = render::unmatched();
        finish(gw, &id, &method, UNMATCHED, UNMATCHED, 404, start);
        return res.into_response(method == Method::HEAD, id_header(&id));
    };
    let d = &mount.dialect;
    // A head over the gateway's limits is refused first (Django's server would).
    // django-cors-headers sits above CommonMiddleware and the views: it answers a
    // preflight before routing and authentication, and marks every answer below.
    // Then CommonMiddleware refuses a Host not in ALLOWED_HOSTS.
    let cors = CorsRequest::of(d, &method, path, &head.headers);
    let preflight = cors.as_ref().is_some_and(CorsRequest::is_preflight);
    let checked = mount.hosts.check(head.headers.get(HOST));
    let early = match (head_over_limits(&head), &checked) {
        (Some(key), _) => Some(key),
        (None, _) if preflight => None,
        (None, HostCheck::Refused) => Some(ErrorKey::DisallowedHost),
        _ => None,
    };
    let (mut reply, route) = match early {
        Some(key) => {
            let mut reply = render::failures(d, &d.errors, &[Failure::new(key)], method.as_str());
            // The head is refused whole: close rather than read what follows it.
            reply = reply.header(CONNECTION, CLOSE);
            (reply, None)
        }
        None if preflight => (render::preflight(), None),
        None => {
            let links = LazyLinks::new(&mount.links, &checked, conn.scheme, &mount.prefix);
            // DRF negotiates the response format before anything else a view does.
            let negotiated = d.drf_views.then(|| accept::negotiate(&head.headers));
            let acceptable = negotiated.as_ref().is_none_or(|n| n.acceptable);
            let indent = negotiated.and_then(|n| n.indent);
            let client = client_addr::resolve(&head.headers, Some(conn.peer), gw.trusted_proxies);
            let base = OriginBase { request_id: &id, client };
            let req = Req { head: &head, body };
            let (mut reply, route) = dispatch(gw, mount, req, rel, &links, acceptable, base).await;
            if let (Some(n), Some((ct, bytes))) = (indent, reply.body.as_mut()) {
                if ct.as_bytes().starts_with(b"application/json") {
                    if let Some(pretty) = accept::indent_json(bytes, n) {
                        *bytes = pretty;
                    }
                }
            }
            (reply, route)
        }
    };
    // A body that did not arrive in time is not read on: the connection ends.
    if reply.status == 408 {
        reply = reply.header(CONNECTION, CLOSE);
    }
    // What answers above XFrameOptionsMiddleware (CommonMiddleware's redirect
    // and DisallowedHost, CorsMiddleware's preflight) misses the headers it would add.
    let before_frame_options = reply.status == 301 || preflight || early.is_some();
    for (k, v, omitted) in &mount.headers {
        if !(before_frame_options && *omitted) {
            reply.headers.insert(k.clone(), v.clone());
        }
    }
    if let Some(c) = &cors {
        reply = c.decorate(reply);
    }
    let name = match route {
        Some(r) => r.spec.name.as_str(),
        None if preflight && early.is_none() => PREFLIGHT,
        None => UNMATCHED,
    };
    let series = route.and_then(|r| mount.route_const(r)).and_then(|c| c.metrics.as_ref());
    match series {
        Some(m) => {
            let elapsed = start.elapsed();
            m.request(reply.status, elapsed);
            log(&id, &method, &d.name, name, reply.status, elapsed);
        }
        None => finish(gw, &id, &method, &d.name, name, reply.status, start),
    }
    reply.into_response(method == Method::HEAD, id_header(&id))
}

/// The `X-Request-Id` answer header (an id is always a valid value: `request_id` checks it).
fn id_header(id: &RequestId) -> Option<(HeaderName, HeaderValue)> {
    // The id's own bytes, shared: no copy.
    HeaderValue::from_maybe_shared(id.bytes()).ok().map(|v| (REQUEST_ID_HEADER, v))
}

/// The request's one log event and metrics sample. Only names from the dialect
/// table are recorded: a raw path may carry a token, so it is never logged.
fn finish(gw: &Gateway, id: &RequestId, method: &Method, dialect: &str, route: &str, status: u16, start: Instant) {
    let elapsed = start.elapsed();
    gw.metrics.request(dialect, route, status, elapsed);
    log(id, method, dialect, route, status, elapsed);
}

/// The request's log event. Its fields are worked out only when the level
/// lets the event through (inside the macro).
fn log(id: &RequestId, method: &Method, dialect: &str, route: &str, status: u16, elapsed: Duration) {
    tracing::info!(
        target: "polyauth::request",
        request_id = id.as_str(),
        %method,
        dialect,
        route,
        status,
        // Rounded to 10 µs: finer digits are noise in a log line.
        latency_ms = (elapsed.as_secs_f64() * 100_000.0).round() / 100.0,
        "request"
    );
}

/// A request as the pipeline passes it on: its head lent (`handle` keeps it,
/// so the path it routed by needs no copy), its body owned.
struct Req<'r> {
    head: &'r Parts,
    body: Incoming,
}

async fn dispatch<'m>(
    gw: &Gateway,
    mount: &'m Mount,
    req: Req<'_>,
    rel: &str,
    links: &LazyLinks<'_>,
    // False when a DRF dialect's content negotiation failed (answered 406 on known paths).
    acceptable: bool,
    // The request id and client address: the `Origin` is made once a route is matched.
    base: OriginBase<'_>,
) -> (Reply, Option<&'m Route>) {
    let d = &mount.dialect;
    let method = &req.head.method;
    let found = d.find(method, rel);
    if !acceptable && !matches!(found, Match::NotFound) {
        let routes: Vec<&Route> = match &found {
            Match::Found(r, _) => routes_at(d, r),
            Match::WrongMethod(rs) => rs.clone(),
            Match::NotFound => Vec::new(),
        };
        let name = routes.first().copied();
        let errors = routes.first().map(|r| &r.errors).unwrap_or(&d.errors);
        let mut reply = render::failures(d, errors, &[Failure::new(ErrorKey::NotAcceptable)], method.as_str());
        drf_headers(d, &mut reply, &allow_header(d, &routes));
        return (reply, name);
    }
    match found {
        Match::NotFound => {
            if d.slash_redirect(rel) {
                let mut location = format!("{}{rel}/", mount.prefix);
                if let Some(q) = req.head.uri.query() {
                    location.push('?');
                    location.push_str(q);
                }
                return (render::slash_redirect(&location), None);
            }
            (render::failures(d, &d.errors, &[Failure::new(ErrorKey::NotFound)], method.as_str()), None)
        }
        Match::WrongMethod(routes) => {
            let first = routes[0];
            let allow = allow_header(d, &routes);
            let name = Some(first);
            // DRF answers OPTIONS itself, with the view's metadata.
            if let Some(view) = d.views.get(&first.shape).filter(|_| d.drf_views && method == Method::OPTIONS) {
                let params = first.pattern.matches(rel).unwrap_or_default();
                let origin = base.at(mount, first);
                // Boxed for the size of its future (see `auth::resolve`'s password check).
                let answer =
                    Box::pin(metadata::answer(&gw.engine, d, view, &routes, &params, &req.head.headers, &origin));
                let mut reply = match answer.await {
                    Ok(r) => r,
                    Err(f) => render::failures(d, &first.errors, &[f], method.as_str()),
                };
                drf_headers(d, &mut reply, &allow);
                return (reply, name);
            }
            if d.drf_views || routes.iter().any(|r| r.spec.auth_before_method) {
                let origin = base.at(mount, first);
                let who = auth::authenticate(&gw.engine, d, &first.auth_slots, &req.head.headers, None, &origin).await;
                let refused = match who {
                    Err(f) => Some(f),
                    // DRF checks permissions before it looks for a handler of the method.
                    Ok(None)
                        if routes.iter().any(|r| {
                            r.spec.auth_before_method || (d.drf_views && r.spec.permission == Permission::Authenticated)
                        }) =>
                    {
                        Some(Failure::new(ErrorKey::NotAuthenticated))
                    }
                    // DRF throttles after permissions, before it looks for the method's handler.
                    Ok(p) => {
                        throttle::check(&gw.engine, d, first.spec.throttle_scope.as_deref(), p.as_ref(), base.client)
                            .await
                            .err()
                    }
                };
                if let Some(f) = refused {
                    let mut reply = render::failures(d, &first.errors, &[f], method.as_str());
                    drf_headers(d, &mut reply, &allow);
                    return (reply, name);
                }
            }
            let f = Failure::new(ErrorKey::MethodNotAllowed).with(vars::METHOD, method.as_str());
            let mut reply = render::failures(d, &first.errors, &[f], method.as_str());
            if !d.drf_views {
                reply = reply.header(ALLOW, allow.clone());
            }
            drf_headers(d, &mut reply, &allow);
            (reply, name)
        }
        Match::Found(route, params) => {
            let allow = match mount.route_const(route) {
                Some(c) => c.allow.clone(),
                None => allow_header(d, &routes_at(d, route)),
            };
            let origin = base.at(mount, route);
            let mut reply = match run_route(gw, mount, route, req, &params, links, &origin).await {
                Ok(r) => r,
                Err(list) => render::failures(d, &route.errors, &list, method.as_str()),
            };
            drf_headers(d, &mut reply, &allow);
            (reply, Some(route))
        }
    }
}

/// DRF puts `Allow` and `Vary: Accept` on every response of its views.
fn drf_headers(d: &Dialect, reply: &mut Reply, allow: &HeaderValue) {
    if d.drf_views {
        reply.headers.insert(ALLOW, allow.clone());
        reply.headers.insert(VARY, VARY_ACCEPT);
    }
}
