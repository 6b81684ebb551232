//! SIGTERM on the real binary, as Kubernetes sends it: readiness turns 503 at
//! once, the listeners keep accepting for the delay, every in-flight request
//! (slow bcrypt logins) completes, and the process exits 0 within the timeout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::ops::{toml_path, Binary, Exposition};
use crate::support::{free_port, SIGNING_KEY};
use serde_json::json;

const LOGINS: usize = 6;

/// Concurrent logins of one account, three of them wrong: the lockout (which
/// checks at most `account_failures` of those at once) is off, so that all of
/// them are in flight when the signal comes.
fn config(dir: &std::path::Path, admin: u16, mount: u16) -> String {
    let seed = dir.join("users.toml");
    std::fs::write(&seed, "[[user]]\nusername = \"slow\"\npassword = \"pw-slow-login\"\n").unwrap();
    format!(
        "dialects_dir = {}\n[server]\nshutdown_delay_secs = 1\nshutdown_timeout_secs = 30\n\
         [store]\nurl = \"memory://\"\n[jwt]\nsigning_key = {SIGNING_KEY:?}\n\
         [passwords]\nbcrypt_cost = 11\nmax_concurrent_hashes = 1\n[users]\nseed_file = {}\n\
         [login_throttle]\naccount_failures = 0\n\
         [admin]\nlisten = \"127.0.0.1:{admin}\"\n\
         [[mount]]\ndialect = \"simplejwt\"\nlisten = \"127.0.0.1:{mount}\"\n",
        toml_path(&crate::support::dialects_dir()),
        toml_path(&seed),
    )
}

async fn get(http: &reqwest::Client, url: &str) -> (u16, String) {
    let r = http.get(url).send().await.expect("request");
    (r.status().as_u16(), r.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_loses_no_request_in_flight() {
    let seed_dir = tempfile::tempdir().unwrap();
    let (admin, mount) = (free_port(), free_port());
    let mut bin = Binary::start(&config(seed_dir.path(), admin, mount), &format!("127.0.0.1:{admin}"), &[]);
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{mount}");

    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = TcpStream::connect(("127.0.0.1", mount)).unwrap();
    idle.write_all(b"GET /auth/getuser HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 12];
    idle.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 401");

    let logins: Vec<_> = (0..LOGINS)
        .map(|i| {
            // One client each: separate connections, as separate callers would have.
            let client = reqwest::Client::new();
            let url = format!("{base}/auth/token");
            let password = if i % 2 == 0 { "pw-slow-login" } else { "wrong" };
            tokio::spawn(async move {
                let r = client.post(url).json(&json!({"username": "slow", "password": password})).send().await;
                // When this login's answer arrived, taken here and not when the test reads it.
                let answered = Instant::now();
                r.map(|r| (r.status().as_u16(), answered)).map_err(|e| e.to_string())
            })
        })
        .collect();
    // Wait until every login is inside the gateway (hashing or queued for a hashing slot).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, text) = get(&http, &format!("http://127.0.0.1:{admin}/metrics")).await;
        if Exposition::parse(&text).get("polyauth_password_hash_queue_depth", &[]) == LOGINS as f64 {
            break;
        }
        assert!(Instant::now() < deadline, "the logins never queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let term = Instant::now();
    bin.signal("TERM");
    // Readiness turns 503 at once…
    let ready_url = format!("http://127.0.0.1:{admin}/readyz");
    loop {
        let (status, body) = get(&http, &ready_url).await;
        if status == 503 {
            assert!(body.contains("shutting down"), "{body}");
            break;
        }
        assert!(term.elapsed() < Duration::from_secs(1), "readiness did not turn 503 within the delay");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // …while the listeners still accept new requests during the delay.
    let (status, _) = get(&http, &format!("{base}/auth/getuser")).await;
    assert_eq!(status, 401);
    assert!(term.elapsed() < Duration::from_secs(1), "the check above must run inside the delay");
    // Once the delay is over, new connections are refused…
    let closed = loop {
        if TcpStream::connect(("127.0.0.1", mount)).is_err() {
            break Instant::now();
        }
        assert!(term.elapsed() < Duration::from_secs(10), "the listener never stopped accepting");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(closed - term >= Duration::from_secs(1), "listeners stopped before the delay ended");

    // …and the logins still queued then finish anyway.
    let mut statuses = Vec::new();
    let mut answered = Vec::new();
    for l in logins {
        let (status, at) = l.await.unwrap().expect("an in-flight login was dropped");
        statuses.push(status);
        answered.push(at);
    }
    let last = answered.iter().max().copied().unwrap();
    eprintln!("listener closed {:?} after SIGTERM; last login answered {:?} after", closed - term, last - term);
    // Every login was sent before SIGTERM, so one answered after the listeners
    // closed was in flight while they closed: the drain is what answered it.
    assert!(last > closed, "no login was still in flight when the listeners closed; the test proves nothing");
    let expected: Vec<u16> = (0..LOGINS).map(|i| if i % 2 == 0 { 200 } else { 401 }).collect();
    assert_eq!(statuses, expected);

    assert_eq!(bin.wait_exit(Duration::from_secs(30)), Some(0), "{}", bin.stderr());
    assert!(term.elapsed() < Duration::from_secs(25), "exit took {:?}", term.elapsed());
    assert!(TcpStream::connect(("127.0.0.1", mount)).is_err(), "still listening after exit");
    drop(idle);
}
