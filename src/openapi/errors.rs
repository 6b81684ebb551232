//! The error answers a route can give, rendered by `http::render` (the same
//! code that answers real requests) and grouped by status for the document.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::actions::{Action, Failure, UnknownEmail};
use crate::dialect::{Credential, Dialect, Permission, Route, Source};
use crate::http::render;

fn wire(r: &Route, name: &str) -> String {
    r.spec.input.get(name).and_then(|i| i.field.clone()).unwrap_or_else(|| name.to_owned())
}

fn has(r: &Route, name: &str) -> bool {
    r.spec.input.contains_key(name)
}

/// Failure lists this route can produce; each list renders as one answer.
/// Built with `if let` rather than an exhaustive match so that a new action
/// still gets the generic (input and authentication) errors.
fn candidates(d: &Dialect, r: &Route) -> Vec<Vec<Failure>> {
    let mut out: Vec<Vec<Failure>> = Vec::new();
    let body_inputs = r.spec.input.values().any(|i| i.from == Source::Body);
    if body_inputs {
        out.push(vec![Failure::new("parse_error").with("error", "Expecting value: line 1 column 1 (char 0)")]);
        out.push(vec![Failure::new("unsupported_media_type").with("content_type", "text/plain")]);
    }
    let required: Vec<Failure> = r
        .spec
        .input
        .iter()
        .filter(|(_, i)| i.required && i.from != Source::Path)
        .map(|(n, i)| Failure::field("field_required", i.field.clone().unwrap_or_else(|| n.clone())))
        .collect();
    if !required.is_empty() {
        out.push(required);
    }
    for (n, i) in r.spec.input.iter().filter(|(_, i)| i.from != Source::Path) {
        let w = i.field.clone().unwrap_or_else(|| n.clone());
        if i.kind == crate::dialect::InputKind::Email {
            out.push(vec![Failure::field("field_email", &w)]);
        }
        if let Some(m) = i.max_length {
            out.push(vec![Failure::field("field_max_length", &w).with("max_length", m.to_string())]);
        }
    }
    for a in r.authenticators.iter().filter_map(|n| d.authenticators.get(n)) {
        // Comparisons, not a match: a new credential kind still compiles (and reads as opaque).
        let invalid = a.invalid_error.clone().unwrap_or_else(|| {
            if a.credential == Credential::Jwt {
                "jwt_auth_invalid".into()
            } else if a.credential == Credential::Basic {
                "basic_invalid".into()
            } else {
                "opaque_token_invalid".into()
            }
        });
        if let Some(key) = static_key(&invalid) {
            out.push(vec![Failure::new(key).with("token_reason", "token_invalid")]);
        }
    }
    if r.spec.permission == Permission::Authenticated {
        out.push(vec![Failure::new("not_authenticated")]);
    }
    let mut add = |key: &'static str, field: Option<String>| {
        out.push(vec![match field {
            Some(f) => Failure::field(key, f),
            None => Failure::new(key),
        }])
    };
    let a = &r.action;
    if matches!(a, Action::Login { .. }) {
        add("invalid_credentials", None);
    }
    if let Action::Register { validate_password, .. } = a {
        if has(r, "username") {
            add("username_taken", Some(wire(r, "username")));
        }
        if has(r, "email") {
            add("email_taken", Some(wire(r, "email")));
        }
        if has(r, "re_password") {
            add("password_mismatch", None);
        }
        if *validate_password {
            add("password_too_common", Some(wire(r, "password")));
        }
    }
    if let Action::JwtRefresh { .. } = a {
        for k in ["token_invalid", "token_expired", "token_wrong_type", "token_blacklisted"] {
            add(k, None);
        }
    }
    if matches!(a, Action::JwtVerify) {
        add("token_invalid", None);
        add("token_blacklisted", None);
    }
    if matches!(a, Action::UpdateUser) && has(r, "email") {
        add("email_taken", Some(wire(r, "email")));
    }
    if matches!(a, Action::DeleteUser) {
        add("current_password_invalid", Some(wire(r, "current_password")));
    }
    if matches!(a, Action::Logout { .. } | Action::TokenRefresh) {
        add("opaque_token_invalid", None);
    }
    if let Action::PasswordResetRequest { unknown_email: UnknownEmail::Error }
    | Action::EmailVerifyRequest { unknown_email: UnknownEmail::Error } = a
    {
        add("unknown_email", Some(wire(r, "email")));
    }
    if matches!(a, Action::PasswordResetConfirm { .. } | Action::EmailVerifyConfirm) {
        add("one_time_invalid", Some(wire(r, "token")));
        if has(r, "uid") {
            add("uid_invalid", Some(wire(r, "uid")));
        }
    }
    out
}

fn static_key(key: &str) -> Option<&'static str> {
    crate::dialect::keys::ERROR_KEYS.iter().find(|(k, _)| *k == key).map(|(k, _)| *k)
}

/// One status's errors: keys, media type → examples, headers.
type Group = (Vec<String>, Map<String, Value>, Map<String, Value>);

/// Error responses by status: description naming the error keys, and one example per key.
pub fn responses(d: &Dialect, r: &Route) -> BTreeMap<u16, Value> {
    let mut by_status: BTreeMap<u16, Group> = BTreeMap::new();
    for list in candidates(d, r) {
        let reply = render::failures(d, &r.errors, &list, r.method.as_str());
        let key = list.first().map(|f| f.key).unwrap_or("internal").to_owned();
        let entry = by_status.entry(reply.status).or_default();
        if entry.0.contains(&key) {
            continue;
        }
        entry.0.push(key.clone());
        for (h, v) in &reply.headers {
            entry.2.entry(h.clone()).or_insert_with(|| json!({"schema": {"type": "string"}, "example": v}));
        }
        let Some((ct, bytes)) = reply.body else { continue };
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
