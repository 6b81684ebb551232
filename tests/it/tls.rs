//! TLS: a mount and the admin listener over HTTPS with certificates made in
//! the test, rotation without restart (polled files and explicit reload) that
//! keeps open connections, and a `rediss://` store behind a private CA.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::ops::toml_path;
use crate::support::pki::TestCa;
use crate::support::simplejwt::D;
use crate::support::{gateway, Gw, StoreKind};
use polyauth::app;
use polyauth::config::Config;

/// Starts a gateway whose simplejwt mount (and admin listener) serve TLS from `dir`.
async fn tls_gateway(kind: StoreKind, dir: &Path, poll_ms: u64) -> Gw {
    let store = crate::support::TestStore::start(kind);
    let b = gateway(kind)
        .mount(D, "/")
        .extra(&format!("[server]\ntls_poll_interval_ms = {poll_ms}"))
        .key_prefix(&store.prefix);
    let (redis, url) = (store.redis, store.url);
    let tls =
        format!("tls = {{ cert = {}, key = {} }}\n", toml_path(&dir.join("cert.pem")), toml_path(&dir.join("key.pem")));
    let admin_tls = format!(
        "tls = {{ cert = {}, key = {} }}\n",
        toml_path(&dir.join("admin-cert.pem")),
        toml_path(&dir.join("admin-key.pem"))
    );
    // The last table of the harness config is the mount: its tls line goes at the end.
    let text = b.config_text(&url).replacen("[admin]\n", &format!("[admin]\n{admin_tls}"), 1) + &tls;
    let config = Config::from_toml_str(&text, Path::new(".")).expect("config");
    let running = app::start(app::plan(config).expect("plan")).await.expect("start");
    Gw { running, redis, http: reqwest::Client::new() }
}

async fn https_mount_rotates_without_restart(kind: StoreKind) {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let first = ca.leaf();
    first.write(&dir.path().join("cert.pem"), &dir.path().join("key.pem"));
    ca.leaf().write(&dir.path().join("admin-cert.pem"), &dir.path().join("admin-key.pem"));
    let g = tls_gateway(kind, dir.path(), 25).await;
    let addr = g.addr(D);

    let mut kept = ca.connect(addr).await;
    assert_eq!(kept.peer_cert(), first.der);
    let body = r#"{"username": "tls-user", "password": "pw-tls-1"}"#;
    let (status, text) = kept.request("POST", "/auth/register", &[("Content-Type", "application/json")], body).await;
    assert_eq!(status, 201, "{text}");

    let second = ca.leaf();
    second.write(&dir.path().join("cert.pem"), &dir.path().join("key.pem"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = ca.connect(addr).await;
        if fresh.peer_cert() == second.der {
            break;
        }
        assert!(Instant::now() < deadline, "the rotated certificate was never served");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The connection opened before the rotation still works, on its original session.
    let body = r#"{"username": "tls-user", "password": "pw-tls-1"}"#;
    let (status, text) = kept.request("POST", "/auth/token", &[("Content-Type", "application/json")], body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(kept.peer_cert(), first.der);

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new().get(format!("http://{addr}/auth/getuser")).send().await;
    assert!(plain.is_err() || plain.unwrap().status() == 400);
}

both_stores!(https_mount_rotates_without_restart);

#[tokio::test]
async fn a_half_written_rotation_keeps_the_old_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ca = TestCa::new();
    let first = ca.leaf();
    first.write(&cert, &key);
    ca.leaf().write(&dir.path().join("admin-cert.pem"), &dir.path().join("admin-key.pem"));
    // Polling effectively off: reloads happen only when the test asks (as on SIGHUP).
    let g = tls_gateway(StoreKind::Memory, dir.path(), 3_600_000).await;
    let addr = g.addr(D);

    // New certificate, old key: refused, the first pair stays in force.
    let second = ca.leaf();
    std::fs::write(&cert, &second.cert_pem).unwrap();
    let err = g.running.tls.iter().filter_map(|t| t.reload().err()).next().expect("a mismatched pair must not load");
    assert!(err.to_string().contains("cert.pem"), "{err}");
    assert_eq!(ca.connect(addr).await.peer_cert(), first.der);

    std::fs::write(&key, &second.key_pem).unwrap();
    g.running.reload_tls();
    assert_eq!(ca.connect(addr).await.peer_cert(), second.der);
    for t in &g.running.tls {
        assert!(!t.reload().unwrap(), "files already loaded do not reload again");
    }
}

#[tokio::test]
async fn admin_listener_serves_https() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    ca.leaf().write(&dir.path().join("cert.pem"), &dir.path().join("key.pem"));
    let admin = ca.leaf();
    admin.write(&dir.path().join("admin-cert.pem"), &dir.path().join("admin-key.pem"));
    let g = tls_gateway(StoreKind::Memory, dir.path(), 60_000).await;
    let mut conn = ca.connect(g.running.admin_addr.unwrap()).await;
    assert_eq!(conn.peer_cert(), admin.der);
    let (status, body) = conn.request("GET", "/readyz", &[], "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
    let (status, body) = conn.request("GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    crate::support::ops::Exposition::parse(&body);
}

#[tokio::test]
async fn bad_tls_files_stop_the_start_with_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    std::fs::write(dir.path().join("key.pem"), "nor a key").unwrap();
    let text = gateway(StoreKind::Memory).mount(D, "/").config_text("memory://")
        + &format!(
            "tls = {{ cert = {}, key = {} }}\n",
            toml_path(&dir.path().join("cert.pem")),
            toml_path(&dir.path().join("key.pem"))
        );
    let err = app::plan(Config::from_toml_str(&text, Path::new(".")).unwrap()).err().expect("must fail");
    assert_eq!(err.exit_code(), 64);
    assert!(err.to_string().contains("cert.pem"), "{err}");
}

/// A `redis-server` that speaks only TLS, with a certificate from `ca`.
struct TlsRedis {
    child: std::process::Child,
    port: u16,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tls_redis(ca: &TestCa, dir: &Path) -> TlsRedis {
    let leaf = ca.leaf();
    leaf.write(&dir.join("redis-cert.pem"), &dir.join("redis-key.pem"));
    std::fs::write(dir.join("ca.pem"), &ca.pem).unwrap();
    let port = crate::support::free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(dir.join("redis-cert.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("redis-key.pem"))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.pem"))
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    TlsRedis { child, port }
}

#[tokio::test]
async fn rediss_store_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let redis = tls_redis(&ca, dir.path());
    let url = format!("rediss://localhost:{}/0", redis.port);
    let text = gateway(StoreKind::Memory).mount(D, "/").config_text(&url).replacen(
        "[store]\n",
        &format!("[store]\nca_file = {}\n", toml_path(&dir.path().join("ca.pem"))),
        1,
    );
    let config = Config::from_toml_str(&text, Path::new(".")).expect("config");
    // The server may still be starting: retry the connection for a while.
    let deadline = Instant::now() + Duration::from_secs(10);
    let running = loop {
        match app::start(app::plan(config.clone()).expect("plan")).await {
            Ok(r) => break r,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("rediss:// store did not open: {e}"),
        }
    };
    let g = Gw { running, redis: None, http: reqwest::Client::new() };
    let r = g.post_json(D, "/auth/register", serde_json::json!({"username": "tls", "password": "pw-tls-2"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        g.post_json(D, "/auth/token", serde_json::json!({"username": "tls", "password": "pw-tls-2"})).await.status,
        200
    );
    assert_eq!(g.admin_get("/readyz").await.status, 200);

    // Without the CA, the server's certificate is not trusted: the store does not open.
    let untrusted = gateway(StoreKind::Memory).mount(D, "/").config_text(&url);
    let plan = app::plan(Config::from_toml_str(&untrusted, Path::new(".")).unwrap()).unwrap();
    assert!(app::start(plan).await.is_err());
}

#[tokio::test]
async fn sighup_reloads_the_certificate_of_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ca = TestCa::new();
    let first = ca.leaf();
    first.write(&cert, &key);
    let (admin, mount) = (crate::support::free_port(), crate::support::free_port());
    // Polling every hour: only SIGHUP can explain a reload within the test.
    let config = format!(
        "dialects_dir = {}\n[server]\ntls_poll_interval_ms = 3600000\n[passwords]\nbcrypt_cost = 4\n\
         [admin]\nlisten = \"127.0.0.1:{admin}\"\n[[mount]]\ndialect = \"simplejwt\"\nlisten = \"127.0.0.1:{mount}\"\n\
         tls = {{ cert = {}, key = {} }}\n",
        toml_path(&crate::support::dialects_dir()),
        toml_path(&cert),
        toml_path(&key)
    );
    let bin = crate::support::ops::Binary::start(&config, &format!("127.0.0.1:{admin}"), &[]);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{mount}").parse().unwrap();
    assert_eq!(ca.connect(addr).await.peer_cert(), first.der);

    let second = ca.leaf();
    second.write(&cert, &key);
    bin.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while ca.connect(addr).await.peer_cert() != second.der {
        assert!(Instant::now() < deadline, "SIGHUP did not reload the certificate: {}", bin.stderr());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(bin.stderr().contains("TLS certificate reloaded"));
}
