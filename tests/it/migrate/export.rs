//! The way back: import the legacy dump, log everyone in (weak hashes
//! rewritten; a token polyauth derives), `polyauth users export`, then
//! Django's own `loaddata` into a fresh database and `check_password` for
//! every user with a password.

use std::io::Write;
use std::process::Stdio;

use serde_json::{json, Value};

use super::{on_redis, polyauth_users, OnRedis};
use crate::support::django::{legacy, python};

#[tokio::test]
async fn export_loads_back_into_django() {
    let legacy = legacy();
    let OnRedis { _redis: _keep, dir, config, gateway: b } = on_redis();
    let cli = |args: &[&str]| polyauth_users(args, &config);
    let out = cli(&["import", legacy.dump().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // Every user who can logs in (weak hashes are rewritten as bcrypt, which
    // Django's BCryptPasswordHasher reads); one without an imported token gets
    // a token polyauth derives, which goes back too.
    let g = b.start().await;
    let tokens = legacy.facts["tokens"].as_object().unwrap();
    let mut derived = None;
    for u in legacy.users().iter().filter(|u| u["usable"] == true && u["active"] == true) {
        let r = g
            .post_json(
                "djoser",
                "/djoser/auth/token/login/",
                json!({"username": u["username"], "password": u["password"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}: {}", u["username"], r.text);
        let name = u["username"].as_str().unwrap();
        if derived.is_none() && !tokens.contains_key(name) {
            derived = Some((name.to_owned(), r.json()["auth_token"].as_str().unwrap().to_owned()));
        }
    }
    assert!(derived.is_some());

    let export = dir.path().join("export.json");
    let out = cli(&["export", "--output", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let users = records.iter().filter(|r| r["model"] == "auth.user").count();
    assert_eq!(users, legacy.users().len());

    // Every user with a password, the inactive one too (never logged in: its
    // Django hash goes back as it came).
    let expect: Vec<Value> = legacy
        .users()
        .iter()
        .filter(|u| u["usable"] == true)
        .map(|u| {
            let name = u["username"].as_str().unwrap();
            let token = tokens
                .get(name)
                .cloned()
                .or_else(|| derived.as_ref().filter(|(n, _)| n == name).map(|(_, k)| Value::from(k.clone())));
            json!({"username": name, "password": u["password"], "active": u["active"], "token": token})
        })
        .collect();
    assert_eq!(expect.len(), legacy.users().len() - 1, "all but the unusable one");
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
