//! `polyauth users import` as an operator runs it: bad records reported with
//! index, model and pk while the others import; a custom email-login user
//! model; the memory store refused.

use serde_json::{json, Value};

use super::{builder, on_redis, polyauth_users, OnRedis};
use crate::support::django::legacy;
use crate::support::{StoreKind, TestStore};

fn run(args: &[&str], config: &std::path::Path) -> (i32, String) {
    let out = polyauth_users(&[&["import"], args].concat(), config);
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn bad_records_are_listed_and_the_rest_imports() {
    let legacy = legacy();
    let OnRedis { _redis: _keep, dir, config, gateway: _ } = on_redis();

    // The real dump with bad records spliced in: a username another record
    // holds, a password that is no hash, and a token of no user.
    let mut records: Vec<Value> = serde_json::from_slice(&std::fs::read(legacy.dump()).unwrap()).unwrap();
    records.insert(1, json!({"model": "auth.user", "pk": 900, "fields": {"username": "u_pbkdf2", "email": "", "password": "!x", "is_active": true}}));
    records.push(json!({"model": "authtoken.token", "pk": "ffffffffffffffffffffffffffffffffffffffff", "fields": {"user": 901, "created": "2024-01-01T00:00:00Z"}}));
    let last = records.len() - 1;
    // A password column holding no hash Django ever wrote (a plaintext one, say).
    records.insert(2, json!({"model": "auth.user", "pk": 902, "fields": {"username": "plain", "email": "", "password": "hunter2", "is_active": true}}));
    let last = last + 1;
    let dump = dir.path().join("bad.json");
    std::fs::write(&dump, serde_json::to_vec(&records).unwrap()).unwrap();

    let (code, out) = run(&[dump.to_str().unwrap(), "--dry-run"], &config);
    // A dry run checks each record's shape, not the store: only the bad hash shows.
    assert_eq!(code, 65, "{out}");
    assert!(out.contains("nothing written") && out.contains("record 2 (auth.user pk=902)"), "{out}");
    assert!(!out.contains("pk=900"), "{out}");
    let (code, out) = run(&[dump.to_str().unwrap()], &config);
    assert_eq!(code, 65, "{out}");
    assert!(out.contains("bad record: record 1 (auth.user pk=900): the username belongs to another user"), "{out}");
    assert!(
        out.contains("bad record: record 2 (auth.user pk=902): the password is no hash format Django ever wrote"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "bad record: record {last} (authtoken.token pk=ffffffffffffffffffffffffffffffffffffffff): no user 901"
        )),
        "{out}"
    );
    let n = legacy.users().len();
    assert!(out.contains(&format!("users: {n} created")), "the good records import: {out}");
    assert!(out.contains("skipped:") && out.contains("contenttypes.contenttype"), "{out}");

    let (code, out) = run(&["/nonexistent/dump.json"], &config);
    assert_eq!(code, 66, "{out}");
    std::fs::write(&dump, b"[{\"model\": ").unwrap();
    let (code, out) = run(&[dump.to_str().unwrap()], &config);
    assert_eq!(code, 65, "{out}");

    // The memory store would forget the import with the command: refused, with the way to do it.
    let memory = TestStore::start(StoreKind::Memory);
    std::fs::write(&config, builder(&memory).config_text("memory://")).unwrap();
    let (code, out) = run(&[legacy.dump().to_str().unwrap()], &config);
    assert_eq!(code, 64, "{out}");
    assert!(out.contains("import_file"), "{out}");
}

#[tokio::test]
async fn a_custom_email_user_model() {
    let legacy = legacy();
    let OnRedis { _redis: _keep, dir: _dir, config, gateway: b } = on_redis();
    let (code, out) = run(&[legacy.emailauth().to_str().unwrap(), "--user-model", "emailauth.User"], &config);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("users: 1 created"), "{out}");
    let g = b.start().await;
    let u = &legacy.facts["email_user"];
    let (email, pw) = (u["email"].as_str().unwrap(), u["password"].as_str().unwrap());
    // The email is the username; stored normalised (domain lower-cased).
    let r = g.post_json("djoser", "/djoser/auth/token/login/", json!({"username": email, "password": pw})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r.json()["auth_token"].as_str().unwrap().to_owned();
    let me =
        g.send("djoser", "GET", "/djoser/auth/users/me/", &[("Authorization", &format!("Token {key}"))], None).await;
    me.expect(200, json!({"email": email, "id": u["id"], "username": email}));
}

/// The memory store's way: `[users] import_file`, imported before the server
/// serves; a dump with a bad record stops the start (exit 64), naming it.
#[tokio::test]
async fn the_memory_store_imports_at_start() {
    let legacy = legacy();
    let memory = TestStore::start(StoreKind::Memory);
    let file = |p: &std::path::Path| format!("[users]\nimport_file = {:?}\n", p.display().to_string());
    let g = builder(&memory).extra(&file(&legacy.dump())).start().await;
    let (name, key) = legacy.facts["tokens"].as_object().unwrap().iter().next().unwrap();
    let me = g
        .send(
            "djoser",
            "GET",
            "/djoser/auth/users/me/",
            &[("Authorization", &format!("Token {}", key.as_str().unwrap()))],
            None,
        )
        .await;
    assert_eq!((me.status, me.json()["username"].as_str()), (200, Some(name.as_str())), "{}", me.text);
    let u = legacy.users().iter().find(|u| u["username"] == "u_argon2id").unwrap();
    let r =
        g.post_json("simplejwt", "/auth/token", json!({"username": u["username"], "password": u["password"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, br#"[{"model": "auth.user", "pk": 1, "fields": {"username": "x", "password": "hunter2"}}]"#)
        .unwrap();
    let text = builder(&memory).extra(&file(&bad)).config_text("memory://");
    let config = polyauth::config::Config::from_toml_str(&text, std::path::Path::new(".")).unwrap();
    let err = match polyauth::app::start(polyauth::app::plan(config).unwrap()).await {
        Err(e) => e,
        Ok(_) => panic!("a dump with a bad record must stop the start"),
    };
    assert_eq!(err.exit_code(), 64);
    assert!(err.to_string().contains("record 0 (auth.user pk=1)"), "{err}");
}
