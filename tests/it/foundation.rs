//! Gateway-wide guarantees: atomic registration under concurrency, bcrypt
//! never stalling other requests, body limits, start-up refusal with exit 64,
//! draining on shutdown.

use std::process::Command;
use std::time::Duration;

use crate::support::{gateway, StoreKind};
use serde_json::json;

async fn fifty_concurrent_registrations_over_http(kind: StoreKind) {
    // Room for all fifty in the hash queue: this is about uniqueness, not overload.
    let g = gateway(kind).mount("simplejwt", "/").passwords("max_queued_hashes = 64").start().await;
    let url = g.url("simplejwt", "/auth/register");
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (http, url) = (g.http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(&url)
                    .json(&json!({"username": "dup", "password": "pw"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49, "{statuses:?}");
}

async fn body_over_the_limit_gets_413(kind: StoreKind) {
    let g = gateway(kind).mount("simplejwt", "/").start().await;
    let big = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(70 * 1024));
    let r = g
        .send("simplejwt", "POST", "/auth/register", &[("Content-Type", "application/json")], Some(big.as_bytes()))
        .await;
    r.expect(413, json!({"detail": "Request body too large."}));
    // The gateway still serves afterwards, and nothing was stored.
    let r = g.post_json("simplejwt", "/auth/register", json!({"username": "aaaa", "password": "x"})).await;
    assert_eq!(r.status, 201);
}

/// Re-hashes user 1's password at a real cost, so its logins keep the blocking pool busy.
async fn make_login_expensive(g: &crate::support::Gw, password: &str, cost: u32) {
    let hard = polyauth::engine::UserUpdate {
        password_hash: Some(bcrypt::hash(password, cost).unwrap()),
        ..Default::default()
    };
    g.running.engine.update_user(1, hard).await.unwrap();
}

both_stores!(fifty_concurrent_registrations_over_http, body_over_the_limit_gets_413);

/// While several expensive bcrypt logins are hashing, a cheap request is
/// answered before they finish: hashing never runs on the async workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_served_while_bcrypt_hashes() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    // Register at the test cost, then make logins expensive by hashing at cost 13 directly.
    let r = g.post_json("simplejwt", "/auth/register", json!({"username": "slow", "password": "pw"})).await;
    let access = r.json()["access"].as_str().unwrap().to_owned();
    make_login_expensive(&g, "pw", 13).await;

    let url = g.url("simplejwt", "/auth/token");
    let logins: Vec<_> = (0..4)
        .map(|_| {
            let (http, url) = (g.http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(&url).json(&json!({"username": "slow", "password": "pw"})).send().await.unwrap().status()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let me = g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None).await;
    assert_eq!(me.status, 200);
    let pending = logins.iter().filter(|h| !h.is_finished()).count();
    assert!(pending > 0, "the cheap request should have been answered while logins were still hashing");
    for h in logins {
        assert_eq!(h.await.unwrap(), 200);
    }
}

fn write_config(dir: &std::path::Path, dialects: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("gateway.toml");
    std::fs::write(
        &path,
        format!(
            "dialects_dir = {:?}\n[[mount]]\ndialect = \"simplejwt\"\nlisten = \"127.0.0.1:0\"\n",
            dialects.display().to_string()
        ),
    )
    .unwrap();
    path
}

fn check_config(config: &std::path::Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .args(["check-config", "--config"])
        .arg(config)
        .env_remove("POLYAUTH_STORE__URL")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn broken_dialect_files_exit_64_naming_file_and_route() {
    let dir = tempfile::tempdir().unwrap();
    let dialects = dir.path().join("dialects");
    std::fs::create_dir(&dialects).unwrap();
    std::fs::copy(crate::support::dialects_dir().join("_drf.toml"), dialects.join("_drf.toml")).unwrap();
    let good = std::fs::read_to_string(crate::support::dialects_dir().join("simplejwt.toml")).unwrap();
    let config = write_config(dir.path(), &dialects);

    std::fs::write(dialects.join("simplejwt.toml"), &good).unwrap();
    assert_eq!(check_config(&config).0, 0, "{}", check_config(&config).1);

    let cases = [
        (good.replace("action = \"current_user\"", "action = \"make_coffee\""), "unknown action"),
        (good.replace("username = \"{user.username}\"", "username = \"{user.shoe_size}\""), "bad template placeholder"),
        (
            good.replace("path = \"/auth/token/verify\"", "path = \"/auth/token/refresh\""),
            "duplicate or ambiguous route",
        ),
        (good.replace("name = \"simplejwt\"", "name = \"simplejwt\"\ncolour = \"blue\""), "unknown field"),
    ];
    for (text, why) in cases {
        std::fs::write(dialects.join("simplejwt.toml"), text).unwrap();
        let (code, stderr) = check_config(&config);
        assert_eq!(code, 64, "{why}: {stderr}");
        assert!(stderr.contains("simplejwt.toml"), "{why}: names the file: {stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
        if why != "unknown field" {
            assert!(stderr.contains("route"), "{why}: names the route: {stderr}");
        }
    }
}

#[test]
fn bad_config_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    for (text, why) in [
        ("[store]\nurl = \"memory://\"\nsurprise = 1\n", "unknown field"),
        ("[store]\nurl = \"redis://127.0.0.1:1/0\"\n", "signing_key is required"),
        ("[passwords]\nbcrypt_cost = 2\n", "bcrypt_cost"),
        ("[[mount]]\ndialect = \"nope\"\nlisten = \"127.0.0.1:0\"\n", "cannot read"),
    ] {
        std::fs::write(&config, text).unwrap();
        let (code, stderr) = check_config(&config);
        assert_eq!(code, 64, "{why}: {stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
}

/// Requests in flight when shutdown starts are answered; new connections are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_requests() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    g.post_json("simplejwt", "/auth/register", json!({"username": "drain", "password": "pw"})).await;
    make_login_expensive(&g, "pw", 12).await;
    let url = g.url("simplejwt", "/auth/token");
    let inflight: Vec<_> = (0..3)
        .map(|_| {
            let (http, url) = (g.http.clone(), url.clone());
            tokio::spawn(
                async move { http.post(&url).json(&json!({"username": "drain", "password": "pw"})).send().await },
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = g.addr("simplejwt");
    g.running.shutdown().await;
    for h in inflight {
        let res = h.await.unwrap().expect("in-flight request answered");
        assert_eq!(res.status(), 200);
    }
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "listener closed after shutdown");
}
