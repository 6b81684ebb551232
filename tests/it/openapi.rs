//! `polyauth openapi`: the document of every dialect file (and the example
//! dialect) validates against the official OpenAPI 3.1 JSON Schema, and every
//! route of the table appears with its method, parameters and statuses.

use std::path::{Path, PathBuf};

use polyauth::dialect::{self, Dialect};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("tests/data/openapi-3.1-schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the OpenAPI 3.1 schema compiles")
}

/// Every mountable dialect: `dialects/*.toml` except bases (`_*.toml`), plus the example.
fn all_dialects() -> Vec<Dialect> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("dialects"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".toml")).map(str::to_owned))
        .filter(|n| !n.starts_with('_'))
        .collect();
    names.sort();
    let mut out: Vec<Dialect> =
        names.iter().map(|n| dialect::load(&root().join("dialects"), n).unwrap_or_else(|e| panic!("{e}"))).collect();
    out.push(dialect::load(&root().join("fixtures/acme/server"), "acme").unwrap());
    out
}

fn openapi_path(prefix: &str, p: &str) -> String {
    let segs: Vec<String> = p
        .split('/')
        .map(|s| s.strip_prefix('<').and_then(|r| r.strip_suffix('>')).map(|n| format!("{{{n}}}")).unwrap_or(s.into()))
        .collect();
    format!("{}{}", prefix.trim_end_matches('/'), segs.join("/"))
}

fn check(d: &Dialect, prefix: &str, v: &jsonschema::Validator) {
    let doc = polyauth::openapi::document(d, prefix);
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{}: the document does not validate:\n{}", d.name, errors.join("\n"));
    assert_eq!(doc["openapi"], "3.1.0");
    for r in &d.routes {
        let path = openapi_path(prefix, &r.spec.path);
        let op = &doc["paths"][&path][r.method.as_str().to_ascii_lowercase()];
        assert_eq!(op["operationId"], r.spec.name.as_str(), "{}: route {} missing at {path}", d.name, r.spec.name);
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key(&r.spec.response.status.to_string()), "{}: {}", d.name, r.spec.name);
        for p in r.pattern.params() {
            let declared =
                op["parameters"].as_array().into_iter().flatten().any(|x| x["name"] == p && x["in"] == "path");
            assert!(declared, "{}: {} lacks path parameter {p}", d.name, r.spec.name);
        }
    }
}

#[test]
fn every_dialect_document_validates_and_lists_every_route() {
    let v = validator();
    let dialects = all_dialects();
    assert!(dialects.iter().any(|d| d.name == "simplejwt") && dialects.iter().any(|d| d.name == "acme"));
    for d in &dialects {
        check(d, "/", &v);
        check(d, "/api/", &v);
    }
}

#[test]
fn the_validator_rejects_a_broken_document() {
    let v = validator();
    let d = dialect::load(&root().join("dialects"), "simplejwt").unwrap();
    let mut doc = polyauth::openapi::document(&d, "/");
    doc["paths"]["/auth/token"]["post"]["responses"]["200"].as_object_mut().unwrap().remove("description");
    assert!(!v.is_valid(&doc), "a response without a description must not validate");
    let mut doc = polyauth::openapi::document(&d, "/");
    doc["openapi"] = "3.0.3".into();
    assert!(!v.is_valid(&doc));
}

#[test]
fn examples_are_what_the_server_answers() {
    let d = dialect::load(&root().join("dialects"), "simplejwt").unwrap();
    let doc = polyauth::openapi::document(&d, "/");
    let reg = &doc["paths"]["/auth/register"]["post"]["responses"];
    assert_eq!(
        reg["409"]["content"]["application/json"]["examples"]["username_taken"]["value"]["detail"],
        "User already exists"
    );
    let getuser = &doc["paths"]["/auth/getuser"]["get"];
    assert_eq!(
        getuser["responses"]["200"]["content"]["application/json"]["example"],
        serde_json::json!({"username": "alice"})
    );
    assert_eq!(getuser["responses"]["401"]["headers"]["WWW-Authenticate"]["example"], "Bearer realm=\"api\"");
    assert_eq!(getuser["security"], serde_json::json!([{"jwtAuth": []}]));
}

#[test]
fn the_cli_prints_the_document() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .args(["openapi", "--dialect", "acme", "--dialects-dir"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/acme/server"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(validator().is_valid(&doc));
    assert_eq!(doc["paths"]["/v2/password-resets/{token}"]["put"]["operationId"], "complete_password_reset");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .args(["openapi", "--dialect", "nope"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(64));
}
