//! Slow clients are bounded, over raw sockets: a body that trickles is
//! answered 408 (in the dialect's format) and its connection closed; an idle
//! keep-alive connection is closed; past a listener's connection cap new
//! connections wait while the admin listener still answers probes, and are
//! served once a slot frees. Counts and times are bounded; margins generous.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{gateway, Gw, StoreKind};

const SLOW_HEAD: &[u8] =
    b"POST /auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user";

/// Reads until the peer closes (or `limit` passes); returns what arrived.
async fn read_to_close(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, false),
        }
    }
}

async fn slow_gateway(extra: &str) -> Gw {
    gateway(StoreKind::Memory).mount("simplejwt", "/").extra(extra).start().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_body_gets_408_and_the_connection_closes() {
    let g = slow_gateway("[server]\nbody_read_timeout_secs = 1\nheader_read_timeout_secs = 5").await;
    let addr = g.addr("simplejwt");
    let start = Instant::now();
    let mut socks = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(SLOW_HEAD).await.unwrap();
        socks.push(s);
    }
    for s in &mut socks {
        let (bytes, closed) = read_to_close(s, Duration::from_secs(20)).await;
        let text = String::from_utf8_lossy(&bytes);
        assert!(closed, "the connection stayed open: {text}");
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
        assert!(text.ends_with(r#"{"detail":"Request body not received in time."}"#), "{text}");
        assert!(text.to_ascii_lowercase().contains("x-request-id: "), "{text}");
    }
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn food2gether_answers_a_slow_body_in_its_envelope() {
    let g = gateway(StoreKind::Memory)
        .mount("food2gether", "/")
        .extra("[server]\nbody_read_timeout_secs = 1")
        .start()
        .await;
    let mut s = TcpStream::connect(g.addr("food2gether")).await.unwrap();
    s.write_all(b"PUT /api/v1/authentication/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{").await.unwrap();
    let (bytes, closed) = read_to_close(&mut s, Duration::from_secs(20)).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(closed && text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.ends_with(r#"{"success":false,"error":{"code":408,"message_key":"request.timeout"}}"#), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let g = slow_gateway("[server]\nheader_read_timeout_secs = 1").await;
    let mut s = TcpStream::connect(g.addr("simplejwt")).await.unwrap();
    s.write_all(b"GET /auth/getuser HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"HTTP/1.1 401");
    let idle = Instant::now();
    let (_, closed) = read_to_close(&mut s, Duration::from_secs(15)).await;
    assert!(closed, "an idle keep-alive connection stayed open for 15 s");
    assert!(idle.elapsed() >= Duration::from_millis(900), "closed before the timeout: {:?}", idle.elapsed());
}

/// The idle bound restarts with each request: a connection that keeps asking
/// within the timeout stays open past it, then closes one timeout after its last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_bound_restarts_with_each_request() {
    let g = slow_gateway("[server]\nheader_read_timeout_secs = 2").await;
    let mut s = TcpStream::connect(g.addr("simplejwt")).await.unwrap();
    let first = Instant::now();
    for _ in 0..4 {
        s.write_all(b"GET /auth/getuser HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"HTTP/1.1 401");
        // Drain the rest of the answer; the connection must still be open.
        let (_, closed) = read_to_close(&mut s, Duration::from_millis(800)).await;
        assert!(!closed, "closed {:?} after the first request, while in use", first.elapsed());
    }
    assert!(first.elapsed() >= Duration::from_millis(3200), "{:?}", first.elapsed());
    let (_, closed) = read_to_close(&mut s, Duration::from_secs(15)).await;
    assert!(closed, "an idle keep-alive connection stayed open for 15 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_cap_connections_wait_and_probes_still_answer() {
    let g =
        slow_gateway("[server]\nmax_connections = 4\nheader_read_timeout_secs = 30\nbody_read_timeout_secs = 30").await;
    let addr = g.addr("simplejwt");
    // Four connections hold every slot, each with half a head.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /auth/getuser HTTP/1.1\r\nHost: loc").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fifth connects (the kernel queues it) but is not served…
    let mut fifth = TcpStream::connect(addr).await.unwrap();
    fifth.write_all(b"GET /auth/getuser HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 12];
    let waited = tokio::time::timeout(Duration::from_millis(700), fifth.read_exact(&mut buf)).await;
    assert!(waited.is_err(), "served past the cap");
    // …while the admin listener answers its probes.
    let admin = g.running.admin_addr.unwrap();
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = g.http.get(format!("http://{admin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // Once a slot frees, the fifth is served.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(10), fifth.read_exact(&mut buf)).await.expect("served").unwrap();
    assert_eq!(&buf, b"HTTP/1.1 401");
}
