//! Every shared test helper, once. Here: the harness (the real gateway
//! in-process on port 0, over the memory store, a real `redis-server` that
//! the harness starts on a free port and stops, or the real local Redis
//! Cluster of `cluster`), `both_stores!`, and the `Authorization` header
//! values. Below: the admin listener, metrics and the real binary (`ops`),
//! certificates (`pki`), a real SMTP server (`smtp`), JWTs (`jwt`), a page
//! server and headless Chromium (`browser`), and one module of helpers per
//! dialect.

pub mod abuse;
pub mod browser;
pub mod cluster;
pub mod django;
pub mod djoser;
pub mod drf;
pub mod food2gether;
pub mod jwt;
pub mod jwt_email;
pub mod monta;
pub mod ops;
pub mod pki;
pub mod simplejwt;
pub mod smtp;

/// Generates `memory`, `redis` and `cluster` test modules calling
/// `async fn name(kind: StoreKind)`: every store-touching test runs on the
/// memory store, one Redis and a Redis Cluster (the name stayed from when
/// there were two).
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name($crate::support::StoreKind::Memory).await } )*
        }
        mod redis {
            $( #[tokio::test] async fn $name() { super::$name($crate::support::StoreKind::Redis).await } )*
        }
        mod cluster {
            $( #[tokio::test] async fn $name() { super::$name($crate::support::StoreKind::Cluster).await } )*
        }
    };
}

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use polyauth::app::{self, Running};
use polyauth::config::Config;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const SIGNING_KEY: &str = "test-signing-key-0123456789-0123456789";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Memory,
    Redis,
    /// The process's shared 3-master Cluster, under a key prefix of the test's own.
    Cluster,
}

/// The store a test runs on: its URL and key prefix, and the private
/// `redis-server` behind it (stopped on drop) for `StoreKind::Redis`.
pub struct TestStore {
    pub url: String,
    pub prefix: String,
    pub redis: Option<Redis>,
}

impl TestStore {
    pub fn start(kind: StoreKind) -> TestStore {
        match kind {
            StoreKind::Memory => TestStore { url: "memory://".into(), prefix: "pa".into(), redis: None },
            StoreKind::Redis => {
                let redis = Redis::start();
                TestStore { url: redis.url(), prefix: "pa".into(), redis: Some(redis) }
            }
            StoreKind::Cluster => TestStore {
                url: cluster::Cluster::shared().url(),
                prefix: cluster::Cluster::fresh_prefix(),
                redis: None,
            },
        }
    }
}

/// A private `redis-server` on a free loopback port, killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Redis {
    pub fn start() -> Redis {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed (apt-get install redis-server)");
            let mut redis = Redis { child, port, _dir: dir };
            if redis.wait_ready() {
                return redis;
            }
            // Lost the port to another process between probe and bind: try another.
        }
        panic!("redis-server did not start");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                use std::io::{Read, Write};
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 7];
                    if s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n" {
                        return true;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server (SIGKILL), e.g. to test an unavailable store.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn dialects_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialects")
}

/// A running gateway plus a client.
pub struct Gw {
    pub running: Running,
    pub redis: Option<Redis>,
    pub http: reqwest::Client,
}

/// Builder for test gateways.
pub struct GwBuilder {
    kind: StoreKind,
    /// (dialect, prefix, `[mount.settings]` TOML body).
    mounts: Vec<(String, String, String)>,
    extra: String,
    /// Lines of the `[passwords]` table (`bcrypt_cost = 4` unless they set it).
    passwords: String,
    /// TOML after the mounts (tables of the last mount, e.g. `[mount.mail.<kind>]`).
    tail: String,
    dialects_dir: PathBuf,
    /// `[store] key_prefix`, when not the default (a Cluster test's own).
    key_prefix: Option<String>,
    /// A store URL of the test's own (a Cluster it started), instead of `kind`'s.
    store_url: Option<String>,
}

pub fn gateway(kind: StoreKind) -> GwBuilder {
    GwBuilder {
        kind,
        mounts: Vec::new(),
        extra: String::new(),
        passwords: String::new(),
        tail: String::new(),
        dialects_dir: dialects_dir(),
        key_prefix: None,
        store_url: None,
    }
}

impl GwBuilder {
    /// Mounts a dialect at a prefix (each mount on its own port-0 listener).
    pub fn mount(mut self, dialect: &str, prefix: &str) -> Self {
        self.mounts.push((dialect.into(), prefix.into(), String::new()));
        self
    }

    /// Extra TOML sections (must not repeat [store], [jwt], [passwords] or [admin]).
    /// Mounts a dialect with `[mount.settings]` (TOML as it would follow that header).
    pub fn mount_with_settings(mut self, dialect: &str, prefix: &str, settings: &str) -> Self {
        self.mounts.push((dialect.into(), prefix.into(), settings.into()));
        self
    }

    pub fn extra(mut self, toml: &str) -> Self {
        self.extra.push_str(toml);
        self.extra.push('\n');
        self
    }

    /// Lines for the `[passwords]` table (e.g. `max_queued_hashes = 64`, `bcrypt_cost = 8`).
    pub fn passwords(mut self, toml: &str) -> Self {
        self.passwords.push_str(toml);
        self.passwords.push('\n');
        self
    }

    /// TOML appended after the mounts: tables of the last mount (`[mount.mail.password_reset]`).
    pub fn tail(mut self, toml: &str) -> Self {
        self.tail.push_str(toml);
        self.tail.push('\n');
        self
    }

    pub fn dialects_dir(mut self, dir: PathBuf) -> Self {
        self.dialects_dir = dir;
        self
    }

    pub fn store_url(mut self, url: &str) -> Self {
        self.store_url = Some(url.into());
        self
    }

    pub fn key_prefix(mut self, prefix: &str) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    pub fn config_text(&self, store_url: &str) -> String {
        let mut t = format!(
            "dialects_dir = {:?}\n{}\n[store]\nurl = {:?}\nkey_prefix = {:?}\n[jwt]\nsigning_key = {:?}\n[passwords]\n{}[admin]\nlisten = \"127.0.0.1:0\"\ntoken = {:?}\n",
            self.dialects_dir.display().to_string(),
            self.extra,
            store_url,
            self.key_prefix.as_deref().unwrap_or("pa"),
            SIGNING_KEY,
            if self.passwords.contains("bcrypt_cost") {
                self.passwords.clone()
            } else {
                format!("bcrypt_cost = 4\n{}", self.passwords)
            },
            ADMIN_TOKEN
        );
        for (d, p, settings) in &self.mounts {
            t.push_str(&format!("[[mount]]\ndialect = {d:?}\nlisten = \"127.0.0.1:0\"\nprefix = {p:?}\n"));
            if !settings.is_empty() {
                t.push_str(&format!("[mount.settings]\n{settings}\n"));
            }
        }
        t.push_str(&self.tail);
        t
    }

    pub async fn start(mut self) -> Gw {
        let store = TestStore::start(self.kind);
        if self.key_prefix.is_none() {
            self.key_prefix = Some(store.prefix);
        }
        let url = self.store_url.clone().unwrap_or(store.url);
        let mut gw = self.start_on(&url).await;
        gw.redis = store.redis;
        gw
    }

    /// Starts on a store that outlives the gateway (a Redis the test holds: restarts, replicas).
    pub async fn start_on(self, url: &str) -> Gw {
        let redis = None;
        let text = self.config_text(url);
        let config = Config::from_toml_str(&text, std::path::Path::new(".")).expect("test config");
        let plan = app::plan(config).expect("plan");
        let running = app::start(plan).await.expect("start");
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Gw { running, redis, http }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts status and exact JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16, body: Value) -> &Self {
        assert_eq!(self.status, status, "status; body was {}", self.text);
        assert_eq!(self.json(), body, "body");
        self
    }
}

pub async fn read(r: reqwest::Response) -> Res {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    Res { status, headers, text }
}

impl Gw {
    pub fn addr(&self, dialect: &str) -> SocketAddr {
        self.running.addr_of(dialect).expect("dialect mounted")
    }

    pub fn url(&self, dialect: &str, path: &str) -> String {
        format!("http://{}{path}", self.addr(dialect))
    }

    pub async fn post_json(&self, dialect: &str, path: &str, body: Value) -> Res {
        read(self.http.post(self.url(dialect, path)).json(&body).send().await.expect("send")).await
    }

    pub async fn post_form(&self, dialect: &str, path: &str, form: &[(&str, &str)]) -> Res {
        read(self.http.post(self.url(dialect, path)).form(form).send().await.expect("send")).await
    }

    pub async fn post_multipart(&self, dialect: &str, path: &str, fields: &[(&str, &str)]) -> Res {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        read(self.http.post(self.url(dialect, path)).multipart(form).send().await.expect("send")).await
    }

    /// Any request: method, path, headers, optional raw body.
    pub async fn send(
        &self,
        dialect: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Res {
        let mut rb = self.http.request(method.parse().expect("method"), self.url(dialect, path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b.to_vec());
        }
        read(rb.send().await.expect("send")).await
    }

    /// Messages in the admin outbox for an address, oldest first.
    pub async fn outbox(&self, to: &str) -> Vec<Value> {
        let addr = self.running.admin_addr.expect("admin listener");
        let r = self
            .http
            .get(format!("http://{addr}/outbox"))
            .query(&[("to", to)])
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("outbox");
        assert_eq!(r.status(), 200);
        match r.json::<Value>().await.expect("outbox json") {
            Value::Array(a) => a,
            other => panic!("outbox not a list: {other}"),
        }
    }

    /// The token of the newest mail to an address.
    pub async fn last_mail_token(&self, to: &str) -> String {
        let mails = self.outbox(to).await;
        let last = mails.last().unwrap_or_else(|| panic!("no mail to {to}"));
        last["token"].as_str().expect("token").to_owned()
    }
}

/// `Basic base64(login:password)`.
pub fn basic(login: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}")))
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// DRF's `Token <key>`.
pub fn token(key: &str) -> String {
    format!("Token {key}")
}
