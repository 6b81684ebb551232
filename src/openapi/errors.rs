//! The error answers a route can give, rendered by `http::render` (the same
//! code that answers real requests) and grouped by status for the document.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::dialect::{Credential, Dialect, InputKind, Permission, Route, Source};
use crate::failure::{ErrorKey, Failure};
use crate::http::render;
use crate::template::vars;

/// Failure lists this route can produce; each list renders as one answer. The
/// route's inputs and authenticators give the generic ones; the action declares its own.
fn candidates(d: &Dialect, r: &Route) -> Vec<Vec<Failure>> {
    let mut out: Vec<Vec<Failure>> = Vec::new();
    let body_inputs = r.spec.input.values().any(|i| i.from == Source::Body);
    if body_inputs {
        out.push(vec![
            Failure::new(ErrorKey::ParseError).with(vars::ERROR, "Expecting value: line 1 column 1 (char 0)")
        ]);
        out.push(vec![Failure::new(ErrorKey::UnsupportedMediaType).with(vars::CONTENT_TYPE, "text/plain")]);
    }
    let required: Vec<Failure> = r
        .spec
        .input
        .iter()
        .filter(|(_, i)| i.required && i.from != Source::Path)
        .map(|(n, _)| Failure::field(ErrorKey::FieldRequired, r.wire.name(n)))
        .collect();
    if !required.is_empty() {
        out.push(required);
    }
    for (n, i) in r.spec.input.iter().filter(|(_, i)| i.from != Source::Path) {
        let w = r.wire.name(n);
        if i.kind == InputKind::Email {
            out.push(vec![Failure::field(ErrorKey::FieldEmail, &w)]);
        }
        if let Some(m) = i.max_length {
            out.push(vec![Failure::field(ErrorKey::FieldMaxLength, &w).with(vars::MAX_LENGTH, m.to_string())]);
        }
    }
    for (_, a) in d.authenticators_of(r) {
        let invalid = a.invalid_error.unwrap_or(match a.credential {
            Credential::Jwt => ErrorKey::JwtAuthInvalid,
            Credential::Basic => ErrorKey::BasicInvalid,
            Credential::AuthToken | Credential::Session => ErrorKey::OpaqueTokenInvalid,
        });
        out.push(vec![Failure::new(invalid).with(vars::TOKEN_REASON, ErrorKey::TokenInvalid.as_str())]);
        // A password in a header is a login: the lockout applies.
        if a.credential == Credential::Basic {
            out.push(vec![Failure::new(ErrorKey::LoginLocked).with(vars::RETRY_AFTER, "300")]);
        }
    }
    if r.spec.permission == Permission::Authenticated {
        out.push(vec![Failure::new(ErrorKey::NotAuthenticated)]);
    }
    out.extend(r.action.failures(&r.wire));
    out
}

/// A header name as the HTTP documents spell it (`Retry-After`, `WWW-Authenticate`):
/// hyper keeps names lower-case, which is how they are sent.
fn display_name(h: &hyper::header::HeaderName) -> String {
    h.as_str()
        .split('-')
        .map(|part| match part {
            "www" => "WWW".to_owned(),
            _ => part[..1].to_ascii_uppercase() + &part[1..],
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// One status's errors: keys, media type → examples, headers.
type Group = (Vec<String>, Map<String, Value>, Map<String, Value>);

/// Error responses by status: description naming the error keys, and one example per key.
pub fn responses(d: &Dialect, r: &Route) -> BTreeMap<u16, Value> {
    let mut by_status: BTreeMap<u16, Group> = BTreeMap::new();
    for list in candidates(d, r) {
        let reply = render::failures(d, &r.errors, &list, r.method.as_str());
        let key = list.first().map_or(ErrorKey::Internal, |f| f.key).as_str().to_owned();
        let entry = by_status.entry(reply.status).or_default();
        if entry.0.contains(&key) {
            continue;
        }
        entry.0.push(key.clone());
        // The media type is the content's key, not a header of its own here.
        for (h, v) in reply.headers.iter().filter(|(h, _)| **h != hyper::header::CONTENT_TYPE) {
            let example = String::from_utf8_lossy(v.as_bytes());
            entry.2.entry(display_name(h)).or_insert_with(|| json!({"schema": {"type": "string"}, "example": example}));
        }
        let Some((ct, bytes)) = reply.body else { continue };
        let ct = String::from_utf8_lossy(ct.as_bytes()).into_owned();
        let value = if ct.starts_with("application/json") {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        let media = entry.1.entry(ct).or_insert_with(|| json!({"examples": {}}));
        media["examples"][key.as_str()] = json!({"summary": key, "value": value});
    }
    by_status
        .into_iter()
        .map(|(status, (keys, media, headers))| {
            let mut res = json!({"description": format!("Errors: {}", keys.join(", "))});
            if !media.is_empty() {
                res["content"] = Value::Object(media);
            }
            if !headers.is_empty() {
                res["headers"] = Value::Object(headers);
            }
            (status, res)
        })
        .collect()
}
