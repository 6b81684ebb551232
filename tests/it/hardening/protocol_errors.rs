//! Heads over the gateway's limits are refused in the dialect's format (431,
//! 414), with a request id; only heads past hyper's own limits (more than 100
//! fields, over 64 KiB, or not HTTP at all) get hyper's bare answer, as the
//! README documents. A client that half-closes its connection after the
//! request is still answered.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{gateway, StoreKind};

async fn raw(addr: std::net::SocketAddr, head: String) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await.expect("answered").unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn many_headers(path: &str, n: usize) -> String {
    let mut h = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for i in 0..n {
        h.push_str(&format!("X-Filler-{i}: v\r\n"));
    }
    h + "\r\n"
}

#[tokio::test]
async fn over_the_limits_in_each_dialects_format() {
    let g = gateway(StoreKind::Memory).mount("djoser", "/").mount("food2gether", "/").start().await;
    let long_uri = format!("/auth/users/me/?q={}", "a".repeat(9000));
    let big_header =
        format!("GET /auth/users/me/ HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n", "b".repeat(20_000));
    for (head, status) in [(big_header, "431"), (format!("GET {long_uri} HTTP/1.1\r\nHost: localhost\r\n\r\n"), "414")]
    {
        let text = raw(g.addr("djoser"), head).await;
        assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
        let lower = text.to_ascii_lowercase();
        assert!(lower.contains("content-type: text/html; charset=utf-8"), "{text}");
        assert!(lower.contains("x-request-id: "), "{text}");
        assert!(lower.contains("x-content-type-options: nosniff"), "{text}");
        assert!(text.contains(&format!("({status})</h1>")), "{text}");
    }
    let big = format!("GET /api/v1/authentication/ HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(20_000));
    let text = raw(g.addr("food2gether"), big).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert!(
        text.ends_with(r#"{"success":false,"error":{"code":431,"message_key":"request.headerstoolarge"}}"#),
        "{text}"
    );
    let long = format!("GET /api/v1/authentication/?{} HTTP/1.1\r\nHost: x\r\n\r\n", "q".repeat(9000));
    let text = raw(g.addr("food2gether"), long).await;
    assert!(text.ends_with(r#"{"success":false,"error":{"code":414,"message_key":"request.uritoolong"}}"#), "{text}");
}

/// What hyper still answers itself (documented): a head of more than 100 fields,
/// one past its buffer, or one that is not HTTP.
#[tokio::test]
async fn past_hypers_limits_the_answer_is_bare() {
    let g = gateway(StoreKind::Memory).mount("food2gether", "/").start().await;
    // 100 fields (Host, Connection and 98 more) reach the dialect; 101 do not.
    let text = raw(g.addr("food2gether"), many_headers("/api/v1/authentication/", 98)).await;
    assert!(text.contains(r#""success":false"#) && !text.starts_with("HTTP/1.1 431"), "{text}");
    let text = raw(g.addr("food2gether"), many_headers("/api/v1/authentication/", 99)).await;
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("x-request-id"), "{text}");
    let huge = format!("GET / HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n", "h".repeat(70_000));
    assert!(raw(g.addr("food2gether"), huge).await.starts_with("HTTP/1.1 431"));
    assert!(raw(g.addr("food2gether"), "NOT HTTP\r\n\r\n".into()).await.starts_with("HTTP/1.1 400"));
}

/// A client that shuts its sending side once the request is out (`nc -N`,
/// HTTP/1.0-style clients) still gets its answer: a hang-up is noticed when
/// the answer is written, not by a read while the handler runs (hyper's
/// half-close). The login waits on a password hash, so the handler is still
/// running when the end of the stream arrives.
#[tokio::test]
async fn a_half_closed_client_still_gets_its_answer() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    let reg =
        g.post_json("simplejwt", "/auth/register", serde_json::json!({"username": "hc", "password": "pw-12345678"}));
    assert_eq!(reg.await.status, 201);
    let body = r#"{"username":"hc","password":"pw-12345678"}"#;
    let head = format!(
        "POST /auth/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(g.addr("simplejwt")).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await.expect("answered").unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""access":""#), "{text}");
}
