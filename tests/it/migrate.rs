//! Taking over a real Django backend (issue: import its users, hashes and
//! tokens so nobody is logged out): `tests/django/build_legacy.py` builds
//! the legacy database with Django itself and dumps it; the dump is imported
//! on each store (memory: in-process, as `[users] import_file` does; Redis
//! and Cluster: with the `polyauth users import` binary), and then every
//! user logs in with the old password through Djoser, SimpleJWT and Monta,
//! imported auth tokens and Django-minted JWTs answer, and the blacklist holds.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::support::django::{legacy, Legacy};
use crate::support::{bearer, gateway, token, Gw, GwBuilder, StoreKind, TestStore};
use polyauth::engine::import::{ImportOptions, ImportReport};
use polyauth::engine::passwords::is_current;

mod cli;
mod export;

/// Djoser under `/djoser/`, SimpleJWT and Monta at their roots, on `store`.
fn builder(store: &TestStore) -> GwBuilder {
    gateway(StoreKind::Memory)
        .mount("djoser", "/djoser/")
        .mount("simplejwt", "/")
        .mount("monta", "/")
        .store_url(&store.url)
        .key_prefix(&store.prefix)
}

/// A private `redis-server` and a `gateway.toml` on it (the gateway of
/// `builder`), for the binary's `users` commands; all live as long as this.
struct OnRedis {
    _redis: crate::support::Redis,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    gateway: GwBuilder,
}

fn on_redis() -> OnRedis {
    let redis = crate::support::Redis::start();
    let store = TestStore { url: redis.url(), prefix: "pa".into(), redis: None };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let gateway = builder(&store);
    std::fs::write(&config, gateway.config_text(&store.url)).unwrap();
    OnRedis { _redis: redis, dir, config, gateway }
}

/// `polyauth users ARGS --config CONFIG`, the binary as an operator runs it.
fn polyauth_users(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .arg("users")
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("POLYAUTH_LOG")
        .output()
        .unwrap()
}

/// Imports a dump into the gateway's store: in-process for the memory store,
/// else with the binary (its report on stdout, exit code).
async fn import(g: &Gw, b: &GwBuilder, store: &TestStore, dump: &Path, extra: &[&str]) -> (i32, String) {
    if store.url == "memory://" {
        let input = std::io::BufReader::new(std::fs::File::open(dump).unwrap());
        let mut options = ImportOptions::default();
        if let Some(i) = extra.iter().position(|a| *a == "--user-model") {
            options.user_model = extra[i + 1].to_owned();
        }
        let r = g.running.engine.import_dump(Box::new(input), &options, |_| {}).await.unwrap();
        return (if r.bad_records() > 0 { 65 } else { 0 }, summary(&r));
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, b.config_text(&store.url)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .args(["users", "import"])
        .arg(dump)
        .arg("--config")
        .arg(&config)
        .args(extra)
        .env_remove("POLYAUTH_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), stdout + &String::from_utf8_lossy(&out.stderr))
}

/// The CLI's summary lines, from an in-process report (the same wording, so
/// the assertions below read one text whatever the store).
fn summary(r: &ImportReport) -> String {
    let mut s = String::new();
    for p in &r.problems {
        let kind = if p.bad { "bad record" } else { "kept" };
        s += &format!("{kind}: record {} ({} pk={}): {}\n", p.index, p.model, p.pk, p.reason);
    }
    s += &format!(
        "users: {} created, {} unchanged, {} differ (kept as stored)\n",
        r.users_created, r.users_unchanged, r.users_differ
    );
    s += &format!("auth tokens: {} created, {} unchanged\n", r.tokens_created, r.tokens_unchanged);
    s +=
        &format!("blacklisted refresh tokens: {} imported, {} already expired\n", r.blacklisted, r.blacklisted_expired);
    s
}

/// Whether a hasher's hash is current as imported (the tests' `bcrypt_cost` is 4, the
/// cost Django's bcrypt hashes were made at): the rest are rewritten on the first login.
fn current_as_imported(hasher: &str) -> bool {
    matches!(hasher, "bcrypt_sha256" | "bcrypt")
}

async fn djoser_login(g: &Gw, user: &str, pw: &str) -> (u16, String) {
    let r = g.post_json("djoser", "/djoser/auth/token/login/", json!({"username": user, "password": pw})).await;
    (r.status, r.json()["auth_token"].as_str().unwrap_or_default().to_owned())
}

async fn simplejwt_login(g: &Gw, user: &str, pw: &str) -> u16 {
    g.post_json("simplejwt", "/auth/token", json!({"username": user, "password": pw})).await.status
}

async fn monta_login(g: &Gw, user: &str, pw: &str) -> (u16, String) {
    let r = g.post_json("monta", "/api/auth/token/", json!({"username": user, "password": pw})).await;
    (r.status, r.json()["token"].as_str().unwrap_or_default().to_owned())
}

fn count(text: &str, line_start: &str) -> String {
    text.lines().find(|l| l.starts_with(line_start)).unwrap_or_default().to_owned()
}

async fn takes_over_a_django_backend(kind: StoreKind) {
    let legacy: &Legacy = legacy();
    let store = TestStore::start(kind);
    let b = builder(&store);
    let g = builder(&store).start().await;
    // JSON Lines on the Cluster, the JSON array elsewhere: both are dumpdata's.
    let dump = if kind == StoreKind::Cluster { legacy.dump_lines() } else { legacy.dump() };
    let (code, out) = import(&g, &b, &store, &dump, &[]).await;
    assert_eq!(code, 0, "{out}");
    let n = legacy.users().len();
    assert_eq!(count(&out, "users:"), format!("users: {n} created, 0 unchanged, 0 differ (kept as stored)"), "{out}");
    assert_eq!(count(&out, "auth tokens:"), "auth tokens: 3 created, 0 unchanged", "{out}");
    assert_eq!(count(&out, "blacklisted"), "blacklisted refresh tokens: 1 imported, 0 already expired", "{out}");
    // Idempotent: the same file again changes nothing, and says so.
    let (code, out) = import(&g, &b, &store, &dump, &[]).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(count(&out, "users:"), format!("users: 0 created, {n} unchanged, 0 differ (kept as stored)"), "{out}");
    assert_eq!(count(&out, "auth tokens:"), "auth tokens: 0 created, 3 unchanged", "{out}");

    // Imported auth tokens answer before any login: Djoser users/me/, Monta verify.
    let tokens = legacy.facts["tokens"].as_object().unwrap();
    for (name, key) in tokens {
        let key = key.as_str().unwrap();
        let user = legacy.users().iter().find(|u| u["username"] == name.as_str()).unwrap();
        let me = g.send("djoser", "GET", "/djoser/auth/users/me/", &[("Authorization", &token(key))], None).await;
        me.expect(200, json!({"email": user["email"], "id": user["id"], "username": name}));
        let v = g.send("monta", "GET", "/api/auth/token/verify/", &[("Authorization", &token(key))], None).await;
        assert_eq!(v.status, 200, "monta verify of {name}'s imported token: {}", v.text);
    }
    // A Django-minted access token answers at getuser; the blacklisted refresh stays refused.
    let access = legacy.facts["access"].as_str().unwrap();
    let me = g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(access))], None).await;
    me.expect(200, json!({"username": legacy.facts["access_user"]}));
    let dead = legacy.facts["refresh_blacklisted"].as_str().unwrap();
    let r = g.post_json("simplejwt", "/auth/token/refresh", json!({"refresh": dead})).await;
    assert_eq!(r.status, 401, "a blacklisted refresh token: {}", r.text);
    let live = legacy.facts["refresh_live"].as_str().unwrap();
    let r = g.post_json("simplejwt", "/auth/token/refresh", json!({"refresh": live})).await;
    assert_eq!(r.status, 200, "a live refresh token of the old backend: {}", r.text);

    for u in legacy.users() {
        let (name, pw, hasher) =
            (u["username"].as_str().unwrap(), u["password"].as_str().unwrap(), u["hasher"].as_str().unwrap());
        let can = u["active"] == true && u["usable"] == true;
        let wrong = format!("{pw}-wrong");
        assert_ne!(djoser_login(&g, name, &wrong).await.0, 200, "{name}: a wrong password");
        assert_ne!(simplejwt_login(&g, name, &wrong).await, 200, "{name}: a wrong password");
        assert_ne!(monta_login(&g, name, &wrong).await.0, 200, "{name}: a wrong password");
        if !can {
            if u["usable"] == false || u["active"] == false {
                assert_ne!(djoser_login(&g, name, pw).await.0, 200, "{name} must be refused");
                assert_ne!(simplejwt_login(&g, name, pw).await, 200, "{name} must be refused");
                assert_ne!(monta_login(&g, name, pw).await.0, 200, "{name} must be refused");
            }
            continue;
        }
        let id = u["id"].as_u64().unwrap();
        let before = g.running.engine.find_user(id).await.unwrap().unwrap().password_hash;
        assert_eq!(is_current(&before, 4), current_as_imported(hasher), "{name}: {hasher} as imported");
        let (status, key) = djoser_login(&g, name, pw).await;
        assert_eq!(status, 200, "{name} ({hasher}) logs in through Djoser with the old password");
        assert_eq!(simplejwt_login(&g, name, pw).await, 200, "{name} ({hasher}) through SimpleJWT");
        let (status, monta_key) = monta_login(&g, name, pw).await;
        assert_eq!(status, 200, "{name} ({hasher}) through Monta");
        // One login replaced a weak hash with the configured one; the old password still opens it.
        let after = g.running.engine.find_user(id).await.unwrap().unwrap().password_hash;
        assert!(is_current(&after, 4), "{name}: {hasher} upgraded after one login");
        assert_eq!(after == before, current_as_imported(hasher), "{name}: only a weak hash is rewritten");
        assert_eq!(simplejwt_login(&g, name, pw).await, 200, "{name} after the upgrade");
        if let Some(imported) = tokens.get(name).and_then(Value::as_str) {
            assert_eq!(key, imported, "{name}: login returns the imported key, as DRF does");
            assert_eq!(monta_key, imported, "{name}: Monta's login too");
        }
    }
}

both_stores!(takes_over_a_django_backend);
