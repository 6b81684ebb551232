//! DRF's OPTIONS (SimpleMetadata) on every route of the Djoser, SimpleJWT and
//! jwt-email dialects, on both stores, against the reference server's own
//! answers (`tests/data/options-reference.json`): status, `Allow`,
//! `WWW-Authenticate` and the body, byte for byte as JSON. The one
//! difference: Djoser answers OPTIONS on users/me/ with a 500 (not recorded).

use serde_json::{json, Value};

use crate::support::djoser::{self, PW};
use crate::support::{gateway, StoreKind};

fn reference() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/options-reference.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("reference answers")).expect("JSON");
    v["answers"].as_array().expect("answers").clone()
}

async fn options_match_the_reference(kind: StoreKind) {
    let g = gateway(kind).mount("djoser", "/djoser/").mount("simplejwt", "/").mount("jwt-email", "/").start().await;
    djoser::register(&g, "opt1", "opt1@example.com").await;
    djoser::register(&g, "opt2", "").await;
    let t = djoser::login(&g, "opt1", PW).await;
    let r = g.post_json("simplejwt", "/auth/register", json!({"username": "opt3", "password": "pw"})).await;
    let access = r.json()["access"].as_str().expect("access").to_owned();
    let answers = reference();
    assert!(answers.len() >= 50, "the reference covers every route");
    for a in answers {
        let (dialect, path, auth) =
            (a["dialect"].as_str().unwrap(), a["path"].as_str().unwrap(), a["auth"].as_str().unwrap());
        let header = match auth {
            "token" => format!("Token {t}"),
            "bearer" => format!("Bearer {access}"),
            _ => String::new(),
        };
        let headers: Vec<(&str, &str)> =
            if header.is_empty() { vec![] } else { vec![("Authorization", header.as_str())] };
        let url = if dialect == "djoser" { format!("/djoser/{path}") } else { format!("/{path}") };
        let r = g.send(dialect, "OPTIONS", &url, &headers, None).await;
        let what = format!("OPTIONS {dialect} {path} ({auth})");
        assert_eq!(r.status as u64, a["status"].as_u64().unwrap(), "{what}: {}", r.text);
        assert_eq!(r.header("allow"), a["allow"].as_str(), "{what}");
        assert_eq!(r.header("www-authenticate"), a["www_authenticate"].as_str(), "{what}");
        assert_eq!(r.json(), a["body"], "{what}");
        // Key order too: DRF's dicts keep insertion order.
        assert_eq!(r.text, serde_json::to_string(&a["body"]).unwrap(), "{what}: bytes");
    }
    // users/me/: Djoser crashes (500); polyauth describes it as DRF would.
    let r =
        g.send("djoser", "OPTIONS", "/djoser/auth/users/me/", &[("Authorization", &format!("Token {t}"))], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["name"], "Me");
    assert_eq!(r.json()["actions"]["PUT"]["email"]["type"], "email");
}

both_stores!(options_match_the_reference);
