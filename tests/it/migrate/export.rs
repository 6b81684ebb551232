//! The way back: import the legacy dump, log in (a token polyauth derives),
//! `polyauth users export`, then Django's own `loaddata` into a fresh
//! database and `check_password` for every user whose hash Django 5.2 reads.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::{builder, verifies};
use crate::support::django::{legacy, python};
use crate::support::{Redis, TestStore};

#[tokio::test]
async fn export_loads_back_into_django() {
    let legacy = legacy();
    let redis = Redis::start();
    let store = TestStore { url: redis.url(), prefix: "pa".into(), redis: None };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let b = builder(&store);
    std::fs::write(&config, b.config_text(&store.url)).unwrap();
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_polyauth"))
            .arg("users")
            .args(args)
            .arg("--config")
            .arg(&config)
            .env_remove("POLYAUTH_LOG")
            .output()
            .unwrap()
    };
    let out = cli(&["import", legacy.dump().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // A user without an imported token logs in: polyauth derives one, which goes back too.
    let g = b.start().await;
    let fresh = legacy
        .users()
        .iter()
        .find(|u| {
            verifies(u["hasher"].as_str().unwrap())
                && u["active"] == true
                && !legacy.facts["tokens"].as_object().unwrap().contains_key(u["username"].as_str().unwrap())
        })
        .cloned();
    let mut derived = None;
    if let Some(u) = &fresh {
        let r = g
            .post_json(
                "djoser",
                "/djoser/auth/token/login/",
                json!({"username": u["username"], "password": u["password"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        derived =
            Some((u["username"].as_str().unwrap().to_owned(), r.json()["auth_token"].as_str().unwrap().to_owned()));
    }

    let export = dir.path().join("export.json");
    let out = cli(&["export", "--output", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let users = records.iter().filter(|r| r["model"] == "auth.user").count();
    assert_eq!(users, legacy.users().len());

    // Every user whose hash Django 5.2 itself reads (the old hand-written
    // formats it no longer does are not checkable on either side).
    let tokens = legacy.facts["tokens"].as_object().unwrap();
    let expect: Vec<Value> = legacy
        .users()
        .iter()
        .filter(|u| {
            u["usable"] == true && !matches!(u["hasher"].as_str(), Some("sha1" | "unsalted_md5" | "unsalted_sha1"))
        })
        .map(|u| {
            let name = u["username"].as_str().unwrap();
            let token = tokens
                .get(name)
                .cloned()
                .or_else(|| derived.as_ref().filter(|(n, _)| n == name).map(|(_, k)| Value::from(k.clone())));
            json!({"username": name, "password": u["password"], "active": u["active"], "token": token})
        })
        .collect();
    assert!(expect.len() >= 8, "{expect:?}");
    let mut child = python()
        .arg("check_export.py")
        .arg(dir.path().join("restore"))
        .arg(&export)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&serde_json::to_vec(&expect).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Django's loaddata + check_password: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
