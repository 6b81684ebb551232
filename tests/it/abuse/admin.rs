//! The operators' users API on the admin listener and the same operations on
//! the command line: find, disable/enable (a disabled user's tokens stop
//! working in every dialect), delete, revoke every token, unlock, set a
//! password; each audited, with no secret in the log.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::abuse::{all_dialects, LoginRoute};
use crate::support::ops::{toml_path, Binary};
use crate::support::{basic, bearer, free_port, token, Gw, Res, StoreKind, ADMIN_TOKEN, SIGNING_KEY};
use polyauth::secret::Secret;
use serde_json::{json, Value};

async fn admin(g: &Gw, method: &str, path: &str, body: Option<Value>) -> Res {
    let addr = g.running.admin_addr.unwrap();
    let mut rb = g.http.request(method.parse().unwrap(), format!("http://{addr}{path}")).bearer_auth(ADMIN_TOKEN);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    crate::support::read(rb.send().await.unwrap()).await
}

/// One live credential of the user in every dialect.
struct Tokens {
    access: String,
    email_refresh: String,
    djoser_token: String,
    djoser_access: String,
    monta_token: String,
    session: String,
}

async fn tokens(g: &Gw, pw: &str) -> Tokens {
    let ok = |r: Res| {
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    };
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_owned();
    let sj = ok(LoginRoute::SimpleJwt.login(g, "alice", "", pw).await);
    let je = ok(LoginRoute::JwtEmail.login(g, "", "alice@example.com", pw).await);
    let dt = ok(LoginRoute::DjoserToken.login(g, "alice", "", pw).await);
    let dj = ok(LoginRoute::DjoserJwt.login(g, "alice", "", pw).await);
    let mt = ok(LoginRoute::Monta.login(g, "alice", "", pw).await);
    let fg = ok(LoginRoute::Food2gether.login(g, "", "alice@example.com", pw).await);
    Tokens {
        access: s(&sj, "access"),
        email_refresh: s(&je, "refresh"),
        djoser_token: s(&dt, "auth_token"),
        djoser_access: s(&dj, "access"),
        monta_token: s(&mt, "token"),
        session: fg["data"]["token"].as_str().unwrap().to_owned(),
    }
}

/// The status each credential gets, by dialect.
async fn uses(g: &Gw, t: &Tokens) -> Vec<(&'static str, u16)> {
    let get = |d: &'static str, path: &'static str, auth: String| async move {
        g.send(d, "GET", path, &[("Authorization", &auth)], None).await.status
    };
    vec![
        ("simplejwt access", get("simplejwt", "/auth/getuser", bearer(&t.access)).await),
        ("djoser token", get("djoser", "/auth/users/me/", token(&t.djoser_token)).await),
        ("djoser jwt", get("djoser", "/auth/users/me/", bearer(&t.djoser_access)).await),
        ("monta token", get("monta", "/api/auth/token/verify/", token(&t.monta_token)).await),
        (
            "jwt-email refresh",
            g.post_json("jwt-email", "/auth/token/refresh/", json!({"refresh": t.email_refresh})).await.status,
        ),
        // The session's only use is its logout: checked last where it must work.
        ("food2gether basic", LoginRoute::Food2gether.login(g, "", "alice@example.com", "pw-1").await.status),
    ]
}

async fn session_logout(g: &Gw, session: &str) -> u16 {
    g.send("food2gether", "DELETE", "/api/v1/authentication/", &[("Authorization", &bearer(session))], None)
        .await
        .status
}

async fn a_disabled_user_is_refused_everywhere(kind: StoreKind) {
    // A disabled user's right password is a failed login, counted by the
    // lockout like any other: off here, to see every route refuse it as 401.
    let g = all_dialects(kind, "account_failures = 0\n").start().await;
    g.running.engine.create_user("alice", "alice@example.com", &Secret::new("pw-1")).await.unwrap();
    let t = tokens(&g, "pw-1").await;
    assert!(uses(&g, &t).await.iter().all(|(_, s)| *s == 200), "{:?}", uses(&g, &t).await);

    let r = admin(&g, "POST", "/users/1/disable", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["is_active"], false);
    let refused = uses(&g, &t).await;
    assert!(refused.iter().all(|(_, s)| *s == 401), "{refused:?}");
    assert_eq!(session_logout(&g, &t.session).await, 401);
    for route in crate::support::abuse::EVERY_LOGIN {
        let r = route.login(&g, "alice", "alice@example.com", "pw-1").await;
        assert!(route.refused_credentials(&r), "{route:?}: {}", r.text);
    }

    let r = admin(&g, "POST", "/users/1/enable", None).await;
    assert_eq!(r.json()["is_active"], true);
    assert!(uses(&g, &t).await.iter().all(|(_, s)| *s == 200), "enabled again: tokens work");
    assert_eq!(session_logout(&g, &t.session).await, 200);
}

async fn revoking_every_token_ends_them_in_every_dialect(kind: StoreKind) {
    let g = all_dialects(kind, "").start().await;
    g.running.engine.create_user("alice", "alice@example.com", &Secret::new("pw-1")).await.unwrap();
    let t = tokens(&g, "pw-1").await;
    let r = admin(&g, "POST", "/users/1/revoke-tokens", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["opaque_tokens_revoked"], 2, "the auth token and the session");
    let after = uses(&g, &t).await;
    let dead: Vec<_> = after.iter().filter(|(name, _)| !name.contains("basic")).collect();
    assert!(dead.iter().all(|(_, s)| *s == 401), "{after:?}");
    assert_eq!(session_logout(&g, &t.session).await, 401);
    let refresh = g.post_json("jwt-email", "/auth/token/refresh/", json!({"refresh": t.email_refresh})).await;
    refresh.expect(401, json!({"detail": "Token is blacklisted", "code": "token_not_valid"}));
    // The password still works; tokens issued after this second do too.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fresh = tokens(&g, "pw-1").await;
    assert!(uses(&g, &fresh).await.iter().all(|(_, s)| *s == 200));
}

async fn every_operation(kind: StoreKind) {
    let g = all_dialects(kind, "ban_secs = 120\n").start().await;
    g.running.engine.create_user("alice", "Alice@Example.com", &Secret::new("pw-1")).await.unwrap();
    // Find by id, username or email (any case); never the hash.
    for q in ["/users?id=1", "/users?username=alice", "/users?email=ALICE@example.COM", "/users/1"] {
        let r = admin(&g, "GET", q, None).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        let v = r.json();
        assert_eq!((v["id"].clone(), v["username"].clone()), (json!(1), json!("alice")));
        assert!(v.get("password_hash").is_none() && !r.text.contains("$2"), "{}", r.text);
        assert_eq!(v["locked_out_for_secs"], Value::Null);
    }
    assert_eq!(admin(&g, "GET", "/users?username=nobody", None).await.status, 404);
    assert_eq!(admin(&g, "GET", "/users?name=alice", None).await.status, 400);
    assert_eq!(admin(&g, "GET", "/users?id=1&username=alice", None).await.status, 400);
    assert_eq!(admin(&g, "GET", "/users/99", None).await.status, 404);
    assert_eq!(admin(&g, "POST", "/users/99/disable", None).await.status, 404);
    let r = admin(&g, "PUT", "/users/1/disable", None).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    // Without the token: 401, for every route.
    let addr = g.running.admin_addr.unwrap();
    for path in ["/users?id=1", "/users/1", "/addresses/127.0.0.1"] {
        let r = g.http.get(format!("http://{addr}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }

    // Lockout: seen and lifted.
    for i in 0..5 {
        assert_eq!(LoginRoute::SimpleJwt.login(&g, "alice", "", &format!("w{i}")).await.status, 401);
    }
    assert_eq!(LoginRoute::SimpleJwt.login(&g, "alice", "", "pw-1").await.status, 429);
    let locked = admin(&g, "GET", "/users/1", None).await.json()["locked_out_for_secs"].clone();
    assert!(locked.as_u64().is_some_and(|s| s > 100), "{locked}");
    assert_eq!(admin(&g, "POST", "/users/1/unlock", None).await.json()["was_locked"], true);
    assert_eq!(admin(&g, "POST", "/users/1/unlock", None).await.json()["was_locked"], false);
    assert_eq!(LoginRoute::SimpleJwt.login(&g, "alice", "", "pw-1").await.status, 200);
    let a = admin(&g, "GET", "/addresses/127.0.0.1", None).await;
    assert_eq!(a.json(), json!({"address": "127.0.0.1", "locked_out_for_secs": null}));
    assert_eq!(admin(&g, "POST", "/addresses/127.0.0.1/unlock", None).await.json()["was_locked"], false);
    assert_eq!(admin(&g, "GET", "/addresses/not-an-ip", None).await.status, 400);

    // Set a password: hashed as usual, the old one stops working.
    assert_eq!(admin(&g, "POST", "/users/1/password", Some(json!({"password": ""}))).await.status, 400);
    assert_eq!(admin(&g, "POST", "/users/1/password", Some(json!({"pw": "x"}))).await.status, 400);
    let r = admin(&g, "POST", "/users/1/password", Some(json!({"password": "pw-2 new"}))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let stored = g.running.engine.find_user(1).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$2"), "hashed");
    assert!(!r.text.contains("pw-2"));
    assert_eq!(LoginRoute::SimpleJwt.login(&g, "alice", "", "pw-1").await.status, 401);
    assert_eq!(LoginRoute::Food2gether.login(&g, "", "alice@example.com", "pw-2 new").await.status, 200);

    // Delete: gone with its claims.
    let r = admin(&g, "DELETE", "/users/1", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(admin(&g, "DELETE", "/users/1", None).await.status, 404);
    assert_eq!(admin(&g, "GET", "/users?email=alice@example.com", None).await.status, 404);
    assert_eq!(LoginRoute::SimpleJwt.login(&g, "alice", "", "pw-2 new").await.status, 401);
}

both_stores!(a_disabled_user_is_refused_everywhere, revoking_every_token_ends_them_in_every_dialect, every_operation);

const PASSWORD: &str = "Audit-pw-never-logged-31";

/// The real binary's JSON log: one audit event per fact, with who, where
/// from and which request; never a secret.
#[tokio::test]
async fn every_operation_is_audited() {
    let (admin_port, mount) = (free_port(), free_port());
    let config = format!(
        "log_format = \"json\"\ndialects_dir = {}\n[store]\nurl = \"memory://\"\n[jwt]\nsigning_key = {SIGNING_KEY:?}\n\
         [passwords]\nbcrypt_cost = 4\n[login_throttle]\nban_secs = 120\n\
         [admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken = {ADMIN_TOKEN:?}\n\
         [[mount]]\ndialect = \"food2gether\"\nlisten = \"127.0.0.1:{mount}\"\n",
        toml_path(&crate::support::dialects_dir()),
    );
    let bin = Binary::start(&config, &format!("127.0.0.1:{admin_port}"), &[]);
    let http = reqwest::Client::new();
    let api = |p: &str| format!("http://127.0.0.1:{mount}/api/v1/authentication{p}");
    let adm = |p: &str| format!("http://127.0.0.1:{admin_port}{p}");
    let send = |rb: reqwest::RequestBuilder, id: &'static str| async move {
        rb.header("X-Request-Id", id).send().await.unwrap().status().as_u16()
    };
    let email = "audit@example.com";
    assert_eq!(send(http.put(api("/")).json(&json!({"email": email, "password": PASSWORD})), "r-register").await, 201);
    assert_eq!(send(http.post(api("/")).header("Authorization", basic(email, PASSWORD)), "r-login").await, 200);
    for i in 0..5 {
        assert_eq!(
            send(http.post(api("/")).header("Authorization", basic(email, &format!("bad{i}"))), "r-bad").await,
            401
        );
    }
    assert_eq!(send(http.post(api("/")).header("Authorization", basic(email, PASSWORD)), "r-locked").await, 429);
    let admin_call = |method: reqwest::Method, path: &str, id: &'static str| {
        send(http.request(method, adm(path)).bearer_auth(ADMIN_TOKEN), id)
    };
    assert_eq!(admin_call(reqwest::Method::POST, "/users/1/unlock", "a-unlock").await, 200);
    assert_eq!(admin_call(reqwest::Method::POST, "/users/1/disable", "a-disable").await, 200);
    assert_eq!(admin_call(reqwest::Method::POST, "/users/1/enable", "a-enable").await, 200);
    assert_eq!(admin_call(reqwest::Method::POST, "/users/1/revoke-tokens", "a-revoke").await, 200);
    let pw = http.post(adm("/users/1/password")).bearer_auth(ADMIN_TOKEN).json(&json!({"password": PASSWORD}));
    assert_eq!(send(pw, "a-password").await, 200);
    assert_eq!(admin_call(reqwest::Method::DELETE, "/users/1", "a-delete").await, 204);

    let log = bin.stderr();
    let audit: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["target"] == "polyauth::audit")
        .collect();
    let events: Vec<(&str, &str)> =
        audit.iter().map(|e| (e["event"].as_str().unwrap(), e["request_id"].as_str().unwrap())).collect();
    assert_eq!(
        events,
        [
            ("account_created", "r-register"),
            ("login_succeeded", "r-login"),
            ("login_failed", "r-bad"),
            ("login_failed", "r-bad"),
            ("login_failed", "r-bad"),
            ("login_failed", "r-bad"),
            ("lockout_started", "r-bad"),
            ("login_failed", "r-bad"),
            ("login_locked", "r-locked"),
            ("lockout_cleared", "a-unlock"),
            ("account_disabled", "a-disable"),
            ("account_enabled", "a-enable"),
            ("tokens_revoked", "a-revoke"),
            ("password_changed", "a-password"),
            ("account_deleted", "a-delete"),
        ],
        "{log}"
    );
    for e in &audit {
        assert_eq!(e["user_id"], 1, "{e}");
        assert_eq!(e["client"], "127.0.0.1", "{e}");
        assert_eq!(e["message"], "audit");
    }
    let login = &audit[1];
    assert_eq!((&login["dialect"], &login["route"]), (&json!("food2gether"), &json!("login")));
    assert_eq!((&audit[6]["scope"], &audit[8]["scope"]), (&json!("account"), &json!("account")));
    assert_eq!((&audit[10]["dialect"], &audit[10]["route"]), (&json!("admin"), &json!("disable")));
    for secret in [PASSWORD, email, ADMIN_TOKEN, SIGNING_KEY, "$2b$", "Basic", "Bearer"] {
        assert!(!log.contains(secret), "the log carries {secret:?}:\n{log}");
    }
}

fn cli(config: &std::path::Path, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .arg("users")
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `polyauth users …` on the store a running gateway uses: it sees the changes at once.
#[tokio::test]
async fn the_command_line_does_the_same() {
    let g = all_dialects(StoreKind::Redis, "ban_secs = 120\n").start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let url = g.redis.as_ref().unwrap().url();
    std::fs::write(
        &config,
        format!("[store]\nurl = {url:?}\n[jwt]\nsigning_key = {SIGNING_KEY:?}\n[passwords]\nbcrypt_cost = 4\n"),
    )
    .unwrap();
    g.running.engine.create_user("cli", "cli@example.com", &Secret::new("pw-1")).await.unwrap();
    let login = |pw: &'static str| LoginRoute::SimpleJwt.login(&g, "cli", "", pw);

    let (code, out, err) = cli(&config, &["show", "--email", "CLI@example.com"], "");
    assert_eq!(code, Some(0), "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((shown["id"].clone(), shown["is_active"].clone()), (json!(1), json!(true)));
    assert_eq!(cli(&config, &["show", "--username", "ghost"], "").0, Some(67));
    assert_eq!(cli(&config, &["show"], "").0, Some(2), "a user must be named");

    assert_eq!(cli(&config, &["disable", "--id", "1"], "").0, Some(0));
    assert_eq!(login("pw-1").await.status, 401);
    assert_eq!(cli(&config, &["enable", "--username", "cli"], "").0, Some(0));
    assert_eq!(login("pw-1").await.status, 200);

    let access = login("pw-1").await.json()["access"].as_str().unwrap().to_owned();
    let (code, out, _) = cli(&config, &["revoke-tokens", "--id", "1"], "");
    assert_eq!(code, Some(0));
    assert!(out.contains("revoked"), "{out}");
    let me = g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(&access))], None).await;
    assert_eq!(me.status, 401);

    for i in 0..5 {
        assert_eq!(login(["a", "b", "c", "d", "e"][i]).await.status, 401);
    }
    assert_eq!(login("pw-1").await.status, 429);
    let (code, out, _) = cli(&config, &["unlock", "--id", "1"], "");
    assert_eq!((code, out.trim()), (Some(0), "user 1: lockout lifted"));
    assert_eq!(login("pw-1").await.status, 200);
    let (code, out, _) = cli(&config, &["unlock-address", "127.0.0.1"], "");
    assert_eq!((code, out.trim()), (Some(0), "127.0.0.1: was not locked out"));

    let (code, out, err) = cli(&config, &["set-password", "--id", "1", "--password-stdin"], "pw-cli-2\n");
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("pw-cli-2") && !err.contains("pw-cli-2"));
    assert_eq!(cli(&config, &["set-password", "--id", "1", "--password-stdin"], "\n").0, Some(65));
    assert_eq!(login("pw-1").await.status, 401);
    assert_eq!(login("pw-cli-2").await.status, 200);

    let (code, out, _) = cli(&config, &["delete", "--id", "1"], "");
    assert_eq!((code, out.trim()), (Some(0), "deleted user 1 (cli)"));
    assert_eq!(cli(&config, &["delete", "--id", "1"], "").0, Some(67));
    assert_eq!(login("pw-cli-2").await.status, 401);
}
