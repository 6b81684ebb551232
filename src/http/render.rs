//! The one place that turns outcomes into HTTP: status codes, headers and
//! bodies, each chosen from the dialect's data (or a key's default status).

use std::collections::BTreeMap;
use std::io::Cursor;

use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION, VARY, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use serde_json::{Map, Value};

use crate::dialect::{Dialect, ErrorSpec, ErrorStyle};
use crate::failure::{ErrorKey, Failure};
use crate::template::{self, vars};

/// An answer's body: the bytes as rendered, sent from where they lie (a
/// `Bytes` made of a `Vec` with spare room would cost one more allocation).
pub type Body = Full<Cursor<Vec<u8>>>;

/// Headers an answer is made with room for: the usual answer has 6–9.
const HEADER_ROOM: usize = 8;

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");

/// A response under construction: status, headers, body. Header names and
/// values are hyper's own types, so what is constant (a dialect's headers, a
/// route's `Allow`) is parsed once at load and only cloned (a reference count) per answer.
pub struct Reply {
    pub status: u16,
    /// In the order added, the body's `Content-Type` first; setting a name
    /// again replaces its value where it is (as Django's header dict does).
    /// The map hyper sends: it is not copied again.
    pub headers: HeaderMap,
    /// The body's media type (also in `headers`) and bytes.
    pub body: Option<(HeaderValue, Vec<u8>)>,
}

impl Reply {
    fn new(status: u16, body: Option<(HeaderValue, Vec<u8>)>) -> Self {
        let mut headers = HeaderMap::with_capacity(HEADER_ROOM);
        if let Some((ct, _)) = &body {
            headers.insert(CONTENT_TYPE, ct.clone());
        }
        Reply { status, headers, body }
    }

    pub fn json(status: u16, value: &Value) -> Self {
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        Reply::json_bytes(status, bytes)
    }

    /// A JSON body already serialised (a compiled template's output).
    pub fn json_bytes(status: u16, bytes: Vec<u8>) -> Self {
        Reply::new(status, Some((JSON, bytes)))
    }

    pub fn empty(status: u16) -> Self {
        Reply::new(status, None)
    }

    /// A body of any media type (the metrics exposition).
    pub fn bytes(status: u16, content_type: HeaderValue, bytes: Vec<u8>) -> Self {
        Reply::new(status, Some((content_type, bytes)))
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// A header whose value is made per answer; one that is not valid HTTP is
    /// dropped (and logged), never a panic.
    pub fn header_text(self, name: HeaderName, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => self.header(name, v),
            Err(_) => {
                tracing::warn!(header = %name, "dropped a header that is not valid HTTP");
                self
            }
        }
    }

    /// A header named by dialect data (a route's or an error's own headers).
    pub fn header_named(self, name: &str, value: &str) -> Self {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(n) => self.header_text(n, value),
            Err(_) => {
                tracing::warn!(header = %name, "dropped a header that is not valid HTTP");
                self
            }
        }
    }

    /// Django's `patch_vary_headers`: `name` joins the `Vary` list unless it is
    /// there already (compared case-insensitively); a `*` stays alone.
    pub fn vary(self, name: &str) -> Self {
        let current = self.headers.get(VARY).and_then(|v| v.to_str().ok());
        let mut names: Vec<&str> = current.map(|v| v.split(',').map(str::trim).collect()).unwrap_or_default();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name);
        }
        let value = if names.contains(&"*") { "*".to_owned() } else { names.join(", ") };
        self.header_text(VARY, &value)
    }

    /// Builds the hyper response. `extra` is one more header (the request id), set last.
    pub fn into_response(self, head_only: bool, extra: Option<(HeaderName, HeaderValue)>) -> Response<Body> {
        let mut headers = self.headers;
        if let Some((k, v)) = extra {
            headers.insert(k, v);
        }
        let body = match self.body {
            Some((_, bytes)) if !head_only => Full::new(Cursor::new(bytes)),
            _ => Body::default(),
        };
        let mut res = Response::new(body);
        *res.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        *res.headers_mut() = headers;
        res
    }
}

/// A path no mount serves: there is no dialect to answer in, so plain text.
pub fn unmatched() -> Reply {
    Reply::bytes(404, HeaderValue::from_static("text/plain; charset=utf-8"), b"Not Found".to_vec())
}

/// Django's APPEND_SLASH answer: 301 to the slashed URL with an empty HTML body.
pub fn slash_redirect(location: &str) -> Reply {
    Reply::bytes(301, HTML, Vec::new()).header_text(LOCATION, location)
}

/// django-cors-headers' answer to a CORS preflight: Django's empty `HttpResponse`.
pub fn preflight() -> Reply {
    Reply::bytes(200, HTML, Vec::new())
}

/// The admin listener's refusals: `{"detail": …}`.
pub fn admin_error(status: u16, detail: &str) -> Reply {
    Reply::json(status, &serde_json::json!({ "detail": detail }))
}

/// The admin listener's readiness refusal, with the reason.
pub fn not_ready(reason: &str) -> Reply {
    Reply::json(503, &serde_json::json!({ "status": "not ready", "reason": reason }))
}

/// Variables an error template may use.
fn error_vars(d: &Dialect, f: &Failure, status: u16) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(vars::STATUS.into(), Value::from(status));
    if let Some(field) = &f.field {
        out.insert(vars::FIELD.into(), Value::from(field.clone()));
    }
    for (k, v) in &f.vars {
        out.insert((*k).into(), Value::from(v.clone()));
    }
    if let Some(reason) = f.vars.iter().find(|(k, _)| *k == vars::TOKEN_REASON).map(|(_, v)| v.clone()) {
        let msg = d.messages.get(&reason).cloned().unwrap_or(reason);
        out.insert(vars::TOKEN_MESSAGE.into(), Value::from(msg));
    }
    // The wait, worded with the dialect's singular or plural (DRF's ngettext).
    let wait = f.vars.iter().find(|(k, _)| *k == vars::RETRY_AFTER).map(|(_, v)| v.as_str());
    let wait_message =
        wait.and_then(|w| d.messages.get(if w == "1" { "retry_after_one" } else { "retry_after_other" }));
    let wait_message = wait_message.map(|m| template::render_str(m, &out)).unwrap_or_default();
    out.insert(vars::RETRY_AFTER_MESSAGE.into(), Value::from(wait_message));
    for (k, v) in &d.messages {
        out.insert(format!("{}{k}", vars::MESSAGE_PREFIX), Value::from(v.clone()));
    }
    out
}

/// Renders one or more failures (field errors merge, DRF-style) in the dialect's style.
pub fn failures(d: &Dialect, errors: &BTreeMap<ErrorKey, ErrorSpec>, list: &[Failure], method: &str) -> Reply {
    let fallback = Failure::new(ErrorKey::Internal);
    let first = list.first().unwrap_or(&fallback);
    let default = ErrorSpec::default();
    let spec = errors.get(&first.key).unwrap_or(&default);
    let status = spec.status.unwrap_or_else(|| first.key.default_status());
    let mut values = error_vars(d, first, status);
    values.insert(vars::METHOD.into(), Value::from(method));
    let mut reply = if spec.empty {
        Reply::empty(status)
    } else if let Some(raw) = &spec.raw {
        let ct = spec.content_type.as_deref().unwrap_or("text/plain; charset=utf-8");
        let ct = HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
        Reply::bytes(status, ct, template::render_str(raw, &values).into_bytes())
    } else if let Some(body) = &spec.body {
        Reply::json(status, &template::render(&template::from_toml(body), &values))
    } else {
        match d.style {
            ErrorStyle::Empty => Reply::empty(status),
            ErrorStyle::Envelope => {
                let key = spec
                    .message_key
                    .as_deref()
                    .map(|k| template::render_str(k, &values))
                    .unwrap_or(first.key.as_str().into());
                let v = serde_json::json!({"success": false, "error": {"code": status, "message_key": key}});
                Reply::json(status, &v)
            }
            ErrorStyle::Drf => Reply::json(status, &drf_body(d, errors, list, spec, &values)),
        }
    };
    // The dialect's challenge first, so an error's own `WWW-Authenticate` (a route's) replaces it.
    if status == 401 {
        if let Some(w) = &d.www_authenticate {
            reply = reply.header_text(WWW_AUTHENTICATE, w);
        }
    }
    for (k, v) in &spec.headers {
        // A header whose value is unknown (e.g. `Retry-After` without a wait) is left off.
        let value = template::render_str(v, &values);
        if !value.is_empty() {
            reply = reply.header_named(k, &value);
        }
    }
    reply
}

fn drf_body(
    d: &Dialect,
    errors: &BTreeMap<ErrorKey, ErrorSpec>,
    list: &[Failure],
    first_spec: &ErrorSpec,
    first_vars: &Map<String, Value>,
) -> Value {
    if let Some(detail) = &first_spec.detail {
        let mut m = Map::new();
        m.insert("detail".into(), Value::from(template::render_str(detail, first_vars)));
        if let Some(code) = &first_spec.code {
            m.insert("code".into(), Value::from(template::render_str(code, first_vars)));
        }
        return Value::Object(m);
    }
    // Field and non-field messages merge into one object, in the order raised.
    let mut out: Map<String, Value> = Map::new();
    let default = ErrorSpec::default();
    for f in list {
        let spec = errors.get(&f.key).unwrap_or(&default);
        if spec.detail.is_some() {
            continue;
        }
        let values = error_vars(d, f, 400);
        let message =
            spec.message.as_deref().map(|m| template::render_str(m, &values)).unwrap_or_else(|| f.key.as_str().into());
        let field = spec.field.clone().or_else(|| f.field.clone()).unwrap_or_else(|| "non_field_errors".into());
        let slot = out.entry(field).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = slot {
            a.push(Value::from(message));
        }
    }
    Value::Object(out)
}
