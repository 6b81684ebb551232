//! Operations helpers: the admin listener (probes, metrics), a strict parser
//! of the metrics exposition, restarting the private Redis, and running the
//! real `polyauth` binary with a temporary config.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{read, Gw, Redis, Res};

impl Redis {
    /// Freezes the server (SIGSTOP): connections stay open and nothing answers,
    /// as with a stalled host or a dropped network.
    pub fn pause(&self) {
        let ok = Command::new("kill").args(["-STOP", &self.child.id().to_string()]).status().expect("kill");
        assert!(ok.success());
    }

    /// Undoes `pause` (SIGCONT).
    pub fn resume(&self) {
        let ok = Command::new("kill").args(["-CONT", &self.child.id().to_string()]).status().expect("kill");
        assert!(ok.success());
    }

    /// Starts the server again on the same port (after `stop`), as an operator restoring Redis would.
    pub fn restart(&mut self) {
        self.child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self._dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        assert!(self.wait_ready(), "redis-server did not come back on port {}", self.port);
    }
}

impl Gw {
    /// GET on the admin listener, without a token.
    pub async fn admin_get(&self, path: &str) -> Res {
        let addr = self.running.admin_addr.expect("admin listener");
        read(self.http.get(format!("http://{addr}{path}")).send().await.expect("admin request")).await
    }

    /// Scrapes `/metrics` and parses it strictly.
    pub async fn metrics(&self) -> Exposition {
        let r = self.admin_get("/metrics").await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/openmetrics-text")));
        Exposition::parse(&r.text)
    }
}

/// Samples of a metrics exposition, keyed by `name{sorted labels}`.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: BTreeMap<String, f64>,
    /// Family name → declared type.
    pub types: BTreeMap<String, String>,
}

fn key(name: &str, labels: &[(&str, &str)]) -> String {
    let mut l: Vec<_> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    l.sort();
    format!("{name}{{{}}}", l.join(","))
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `k="v",…` → pairs; panics on anything the text format does not allow.
fn parse_labels(mut s: &str, line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !s.is_empty() {
        let (k, rest) = s.split_once("=\"").unwrap_or_else(|| panic!("bad label in {line:?}"));
        assert!(is_name(k), "bad label name {k:?} in {line:?}");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {line:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        };
        out.push((k.to_owned(), value));
        s = &rest[end + 1..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
    out
}

impl Exposition {
    /// Parses OpenMetrics/Prometheus text; panics on a malformed line.
    pub fn parse(text: &str) -> Exposition {
        let mut e = Exposition::default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.last(), Some(&"# EOF"), "the exposition must end with # EOF");
        for line in &lines[..lines.len() - 1] {
            if let Some(meta) = line.strip_prefix("# ") {
                let mut parts = meta.splitn(3, ' ');
                let (kind, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "unknown comment {line:?}");
                assert!(is_name(name), "bad metric name in {line:?}");
                if kind == "TYPE" {
                    let t = parts.next().unwrap_or("");
                    assert!(matches!(t, "counter" | "gauge" | "histogram" | "info" | "unknown"), "type {t:?}");
                    e.types.insert(name.to_owned(), t.to_owned());
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value in {line:?}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, parse_labels(l.strip_suffix('}').expect("closing brace"), line)),
                None => (series, Vec::new()),
            };
            assert!(is_name(name), "bad sample name in {line:?}");
            let family = ["_total", "_bucket", "_count", "_sum", "_created", "_info"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| e.types.contains_key(*f)))
                .unwrap_or(name);
            assert!(e.types.contains_key(family), "sample {name} of an undeclared family");
            let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert!(e.samples.insert(key(name, &pairs), value).is_none(), "duplicate series {line:?}");
        }
        e
    }

    /// A sample's value; 0 when the series does not exist yet.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples.get(&key(name, labels)).copied().unwrap_or(0.0)
    }

    /// The sum over every series of `name` whose labels include `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        self.samples
            .iter()
            .filter(|(k, _)| {
                k.split_once('{').is_some_and(|(n, l)| n == name && wanted.iter().all(|w| l.contains(w.as_str())))
            })
            .map(|(_, v)| v)
            .sum()
    }
}

/// The real `polyauth serve` as a child process, with its stderr captured to a file.
pub struct Binary {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub admin: String,
}

impl Binary {
    /// Writes `config` to a temp dir and starts `polyauth serve` on it; waits until `/readyz` answers 200.
    pub fn start(config: &str, admin: &str, env: &[(&str, &str)]) -> Binary {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).expect("write config");
        let log = std::fs::File::create(dir.path().join("stderr.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_polyauth"))
            .args(["serve", "--config"])
            .arg(&path)
            .envs(env.iter().copied())
            .env_remove("POLYAUTH_LOG")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("polyauth binary");
        let mut b = Binary { child, dir, admin: admin.to_owned() };
        b.wait_ready();
        b
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("polyauth exited early ({status}): {}", self.stderr());
            }
            if let Ok(mut s) = std::net::TcpStream::connect(&self.admin) {
                use std::io::Write;
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                if out.starts_with("HTTP/1.1 200") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("polyauth did not become ready: {}", self.stderr());
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends a signal by name (`TERM`, `HUP`) with `kill`.
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").arg(format!("-{name}")).arg(self.pid()).status().expect("kill");
        assert!(ok.success());
    }

    /// Waits for the process to exit, at most `limit`; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("polyauth did not exit within {limit:?}: {}", self.stderr());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TOML string literal for a path.
pub fn toml_path(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}
