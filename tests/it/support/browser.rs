//! A real browser for the CORS tests: a tiny static server (in process, on a
//! free port) that serves one page from its own origin, and Debian's headless
//! Chromium loading it and printing the DOM once the page's requests are done
//! (`--dump-dom` with a virtual-time budget: virtual time stands still while a
//! fetch is pending, so the dump waits for every answer). There is no skip:
//! without Chromium the test fails, naming the install command
//! (`scripts/test.sh` installs it).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The browser binary: Debian's `chromium`, or `$CHROMIUM`.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// Wall-clock bound on one browser run (start, page, requests, dump); generous for a loaded 2-core machine.
const BROWSER_LIMIT: Duration = Duration::from_secs(120);

/// One page served at `/` from `http://127.0.0.1:<port>`; everything else is 404.
pub struct PageServer {
    pub origin: String,
    listener: Option<TcpListener>,
    task: Option<JoinHandle<()>>,
}

impl PageServer {
    /// Binds a free port first, so the origin is known before the page is written.
    pub async fn bind() -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind page server");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        PageServer { origin, listener: Some(listener), task: None }
    }

    /// Serves `html` until dropped.
    pub fn serve(&mut self, html: String) {
        let listener = self.listener.take().expect("serve once");
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let html = html.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 2048];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16_384 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head);
                    let (status, body) = match line.split(' ').nth(1) {
                        Some("/") => ("200 OK", html.as_bytes()),
                        _ => ("404 Not Found", &b"not found"[..]),
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.write_all(body).await;
                    let _ = stream.shutdown().await;
                });
            }
        }));
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Loads `url` in a fresh headless Chromium and returns the DOM it dumps once
/// the page is idle. Blocking: run it on the blocking pool while the runtime
/// serves the page and the gateway.
pub fn dump_dom(url: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out_path, err_path) = (dir.path().join("dom.html"), dir.path().join("chromium.log"));
    let out = std::fs::File::create(&out_path).expect("dom file");
    let err = std::fs::File::create(&err_path).expect("log file");
    // As root Chromium needs --no-sandbox; the background-networking flags keep it
    // from calling out (a closed network refuses it); a new profile each time.
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} ({e}): the browser tests need Debian's chromium; scripts/test.sh installs it \
                 (apt-get install chromium)",
                chromium()
            )
        });
    let deadline = Instant::now() + BROWSER_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_LIMIT:?}; its log:\n{}", tail(&err_path));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium failed ({status}); its log:\n{}", tail(&err_path));
    let dom = std::fs::read_to_string(&out_path).expect("dom");
    assert!(!dom.is_empty(), "chromium printed no DOM; its log:\n{}", tail(&err_path));
    dom
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The text of `<pre id="…">` in a dumped DOM, entities decoded.
pub fn element_text(dom: &str, id: &str) -> Option<String> {
    let open = format!("<pre id=\"{id}\">");
    let start = dom.find(&open)? + open.len();
    let end = dom[start..].find("</pre>")? + start;
    Some(dom[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", "\u{a0}").replace("&amp;", "&"))
}
