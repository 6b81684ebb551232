//! `polyauth openapi`: an OpenAPI 3.1 document generated from a dialect's
//! route table — paths, methods, parameters, request bodies, and responses
//! with statuses and example bodies. Examples come from the same templates
//! and the same renderer that serve real requests, so they cannot drift.

use serde_json::{json, Map, Value};

use crate::dialect::{AuthenticatorSpec, BodyKind, Credential, Dialect, InputKind, Permission, Route, Source};
use crate::template::{self, vars};

mod errors;

/// Sample values for response templates.
fn sample_vars(d: &Dialect) -> Map<String, Value> {
    let jwt = |typ: &str| {
        let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
        format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64(&format!(
                r#"{{"token_type":"{typ}","exp":1700000300,"iat":1700000000,"jti":"0f1e2d3c4b5a69788796a5b4c3d2e1f0","user_id":"1"}}"#
            ))
        )
    };
    let mut v = Map::new();
    v.insert(vars::ACCESS.into(), jwt("access").into());
    v.insert(vars::REFRESH.into(), jwt("refresh").into());
    v.insert(vars::TOKEN.into(), "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b".into());
    v.insert(vars::USER_ID.into(), 1.into());
    v.insert(vars::USER_ID_STR.into(), "1".into());
    v.insert(vars::USER_USERNAME.into(), "alice".into());
    v.insert(vars::USER_EMAIL.into(), "alice@example.com".into());
    v.insert(vars::USER_UID.into(), "MQ".into());
    v.insert(vars::USER_EMAIL_VERIFIED.into(), true.into());
    v.insert(vars::BASE_URL.into(), "http://localhost:8000".into());
    v.insert(vars::DIALECT.into(), d.name.clone().into());
    v
}

/// A JSON Schema describing an example value.
pub fn schema_of(v: &Value) -> Value {
    match v {
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Array(items) => json!({"type": "array", "items": items.first().map(schema_of).unwrap_or(json!({}))}),
        Value::Object(m) => {
            let props: Map<String, Value> = m.iter().map(|(k, v)| (k.clone(), schema_of(v))).collect();
            json!({"type": "object", "properties": props, "required": m.keys().collect::<Vec<_>>()})
        }
    }
}

/// `/auth/reset/<token>/` → `/auth/reset/{token}/`, under the mount prefix.
fn openapi_path(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let p: Vec<String> = path
        .split('/')
        .map(|s| match s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
            Some(name) => format!("{{{name}}}"),
            None => s.to_owned(),
        })
        .collect();
    format!("{prefix}{}", p.join("/"))
}

fn scheme_name(name: &str) -> String {
    format!("{name}Auth")
}

fn security_scheme(a: &AuthenticatorSpec) -> Option<Value> {
    let scheme = a.scheme.as_ref()?.first()?.as_str();
    Some(match (scheme.to_ascii_lowercase().as_str(), a.credential) {
        ("bearer", Credential::Jwt) => json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}),
        ("bearer", _) => json!({"type": "http", "scheme": "bearer"}),
        ("basic", _) => json!({"type": "http", "scheme": "basic"}),
        _ => json!({
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": format!("`Authorization: {scheme} <token>`"),
        }),
    })
}

fn sample_input(name: &str, kind: InputKind) -> Value {
    match (name, kind) {
        (_, InputKind::Email) | ("email", _) => "alice@example.com".into(),
        (n, _) if n.contains("password") => "correct-horse-battery".into(),
        ("username" | "login", _) => "alice".into(),
        ("uid", _) => "MQ".into(),
        (n, _) => format!("<{n}>").into(),
    }
}

fn request_body(d: &Dialect, r: &Route) -> Option<Value> {
    let mut props = Map::new();
    let mut required = Vec::new();
    let mut example = Map::new();
    for (name, input) in r.spec.input.iter().filter(|(_, i)| i.from == Source::Body) {
        let wire = input.field.clone().unwrap_or_else(|| name.clone());
        let mut s = json!({"type": "string"});
        if input.kind == InputKind::Email {
            s["format"] = "email".into();
        }
        if let Some(m) = input.max_length {
            s["maxLength"] = m.into();
        }
        if !input.allow_blank {
            s["minLength"] = 1.into();
        }
        if input.required {
            required.push(wire.clone());
        }
        example.insert(wire.clone(), sample_input(name, input.kind));
        props.insert(wire, s);
    }
    for (_, a) in d.authenticators_of(r) {
        if let Some(field) = &a.body_field {
            props.insert(field.clone(), json!({"type": "string", "description": "credential"}));
            example.insert(field.clone(), "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b".into());
        }
    }
    if props.is_empty() {
        return None;
    }
    let schema = json!({"type": "object", "properties": props, "required": required});
    let mut content = Map::new();
    for kind in &r.spec.body {
        let media = match kind {
            BodyKind::Json => "application/json",
            BodyKind::Form => "application/x-www-form-urlencoded",
            BodyKind::Multipart => "multipart/form-data",
        };
        content.insert(media.into(), json!({"schema": schema, "example": example}));
    }
    Some(json!({"required": !required.is_empty(), "content": content}))
}

fn parameters(r: &Route) -> Vec<Value> {
    let mut out: Vec<Value> = r
        .pattern
        .params()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    for (name, input) in r.spec.input.iter().filter(|(_, i)| i.from == Source::Query) {
        let wire = input.field.clone().unwrap_or_else(|| name.clone());
        out.push(json!({"name": wire, "in": "query", "required": input.required, "schema": {"type": "string"}}));
    }
    out
}

fn success(r: &Route, vars: &Map<String, Value>) -> Value {
    let mut res = json!({"description": r.spec.summary.clone().unwrap_or_else(|| "Success".into())});
    if let Some(body) = &r.body {
        let mut example = template::render(body, vars);
        // `each`: the template renders once per item of a list.
        if r.spec.response.each.is_some() {
            example = Value::Array(vec![example]);
        }
        res["content"] = json!({"application/json": {"schema": schema_of(&example), "example": example}});
    }
    if !r.spec.response.headers.is_empty() {
        let headers: Map<String, Value> = r
            .spec
            .response
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!({"schema": {"type": "string"}, "example": template::render_str(v, vars)})))
            .collect();
        res["headers"] = Value::Object(headers);
    }
    res
}

fn operation(d: &Dialect, r: &Route, vars: &Map<String, Value>) -> Value {
    let mut op = json!({"operationId": r.spec.name, "summary": r.spec.summary.clone().unwrap_or_default()});
    let params = parameters(r);
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(b) = request_body(d, r) {
        op["requestBody"] = b;
    }
    let mut responses = Map::new();
    responses.insert(r.spec.response.status.to_string(), success(r, vars));
    for (status, res) in errors::responses(d, r) {
        responses.entry(status.to_string()).or_insert(res);
    }
    op["responses"] = Value::Object(responses);
    let header_auth: Vec<&String> =
        d.authenticators_of(r).filter(|(_, a)| a.scheme.is_some()).map(|(n, _)| n).collect();
    if !header_auth.is_empty() {
        let mut sec: Vec<Value> = Vec::new();
        if r.spec.permission == Permission::Any {
            sec.push(json!({}));
        }
        sec.extend(header_auth.iter().map(|n| json!({ scheme_name(n): [] })));
        op["security"] = Value::Array(sec);
    }
    op
}

/// The OpenAPI 3.1 document of a dialect mounted at `prefix`.
pub fn document(d: &Dialect, prefix: &str) -> Value {
    let vars = sample_vars(d);
    let mut paths = Map::new();
    for r in &d.routes {
        let item = paths.entry(openapi_path(prefix, &r.spec.path)).or_insert_with(|| json!({}));
        item[r.method.as_str().to_ascii_lowercase()] = operation(d, r, &vars);
    }
    let schemes: Map<String, Value> =
        d.authenticators.iter().filter_map(|(n, a)| security_scheme(a).map(|s| (scheme_name(n), s))).collect();
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} (served by polyauth)", d.name),
            "version": env!("CARGO_PKG_VERSION"),
            "description": d.description.clone().unwrap_or_default(),
        },
        "paths": paths,
    });
    if !schemes.is_empty() {
        doc["components"] = json!({"securitySchemes": schemes});
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_schemas() {
        assert_eq!(openapi_path("/", "/auth/reset/<token>/"), "/auth/reset/{token}/");
        assert_eq!(openapi_path("/api/", "/auth/token"), "/api/auth/token");
        assert_eq!(
            schema_of(&json!({"id": 1, "n": [ "a" ]})),
            json!({"type": "object", "properties": {"id": {"type": "integer"}, "n": {"type": "array", "items": {"type": "string"}}}, "required": ["id", "n"]})
        );
    }
}
