//! django-cors-headers' middleware on the request pipeline, for a mount whose
//! settings let an origin in (`dialect::cors`). `handle` calls it at two
//! points: `is_preflight` before anything else looks at the request (a
//! preflight is answered 200 there, before routing and authentication), and
//! `decorate` on every answer of the mount, whatever route or error made it,
//! so the browser shows the page the real status and body.
//!
//! As `corsheaders.middleware.CorsMiddleware` (4.x): a request is covered when
//! `CORS_URLS_REGEX` matches its path; a preflight is an `OPTIONS` carrying
//! `Access-Control-Request-Method` (a plain `OPTIONS` goes on to the route);
//! every covered answer gets `origin` added to `Vary`; one whose `Origin` is let
//! in also gets `Access-Control-Allow-Origin` (the origin, or `*` when all are
//! allowed), `-Allow-Credentials`, `-Expose-Headers`, and on any `OPTIONS`
//! `-Allow-Headers`, `-Allow-Methods` and `-Max-Age`. Other origins get no CORS
//! header at all, and the browser keeps the answer from the page.

use hyper::header::{
    HeaderMap, HeaderName, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use hyper::Method;

use super::render::Reply;
use crate::dialect::cors::Cors;
use crate::dialect::Dialect;

const REQUEST_METHOD: &str = "access-control-request-method";
const REQUEST_PRIVATE_NETWORK: &str = "access-control-request-private-network";
const ALLOW_PRIVATE_NETWORK: HeaderName = HeaderName::from_static("access-control-allow-private-network");
const TRUE: HeaderValue = HeaderValue::from_static("true");

/// What of one request the mount's CORS policy needs, read before the request
/// is handed on (the pipeline consumes it).
pub struct CorsRequest<'d> {
    policy: &'d Cors,
    /// The request is an `OPTIONS` (its answers list the allowed headers and methods).
    options: bool,
    preflight: bool,
    /// The `Origin` as sent (several `Origin` lines joined with `,`, as a WSGI server
    /// hands them to Django); None when absent, empty or not text.
    origin: Option<String>,
    private_network: bool,
}

impl<'d> CorsRequest<'d> {
    /// None when the mount has no CORS policy or `CORS_URLS_REGEX` leaves the path out.
    pub fn of(d: &'d Dialect, method: &Method, path: &str, headers: &HeaderMap) -> Option<Self> {
        let policy = d.cors.as_ref().filter(|p| p.covers(path))?;
        let options = method == Method::OPTIONS;
        let mut origin: Option<String> = None;
        for v in headers.get_all(hyper::header::ORIGIN) {
            // Not text (obs-text): never matched, so never reflected.
            let Ok(v) = v.to_str() else {
                origin = None;
                break;
            };
            origin = Some(match origin {
                Some(o) => format!("{o},{v}"),
                None => v.to_owned(),
            });
        }
        Some(CorsRequest {
            policy,
            options,
            preflight: options && headers.contains_key(REQUEST_METHOD),
            origin: origin.filter(|o| !o.is_empty()),
            private_network: headers.get(REQUEST_PRIVATE_NETWORK).is_some_and(|v| v.as_bytes() == b"true"),
        })
    }

    /// A CORS preflight: answered here, before routing and authentication, whatever
    /// the origin (only an allowed one gets the headers that let the browser go on).
    pub fn is_preflight(&self) -> bool {
        self.preflight
    }

    /// Adds the CORS headers to an answer of the mount: the one place they are added.
    pub fn decorate(&self, reply: Reply) -> Reply {
        let p = self.policy;
        let reply = reply.vary("origin");
        let Some(origin) = self.origin.as_deref().filter(|o| p.allows(o)) else {
            return reply;
        };
        // Credentials with every origin are refused at load, so `*` never meets them.
        let allow_origin = if p.allow_all && !p.allow_credentials { "*" } else { origin };
        let mut reply = reply.header_text(ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if p.allow_credentials {
            reply = reply.header(ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        if let Some(expose) = &p.expose_headers {
            reply = reply.header_text(ACCESS_CONTROL_EXPOSE_HEADERS, expose);
        }
        if self.options {
            reply = reply
                .header_text(ACCESS_CONTROL_ALLOW_HEADERS, &p.allow_headers)
                .header_text(ACCESS_CONTROL_ALLOW_METHODS, &p.allow_methods);
            if let Some(age) = p.max_age {
                reply = reply.header(ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
            }
        }
        if p.allow_private_network && self.private_network {
            reply = reply.header(ALLOW_PRIVATE_NETWORK, TRUE);
        }
        reply
    }
}
