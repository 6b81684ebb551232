//! food2gether answers to malformed requests, on both stores: every one is the
//! JSON envelope with `code` equal to the status, never an HTML page or a bare body.

use crate::support::food2gether::*;
use crate::support::{gateway, Gw, StoreKind};
use serde_json::json;

async fn gw(kind: StoreKind) -> Gw {
    gateway(kind).mount(D, "/").extra("[server]\nbody_limit = 1024\n").start().await
}

const JSON_CT: (&str, &str) = ("Content-Type", "application/json");

async fn unknown_paths_and_methods(kind: StoreKind) {
    let g = gw(kind).await;
    for path in [
        "/",
        "/api/v1/authentication/nope",
        "/api/v1/authentication/reset/extra/",
        "/api/v1/authentication//",
        "/api/v1/",
        "/api/v2/authentication/",
        "/API/V1/AUTHENTICATION/",
        "/favicon.ico",
    ] {
        for method in ["GET", "PUT", "POST", "DELETE"] {
            let r = g.send(D, method, path, &[], None).await;
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text);
            fails(&r, 404, "resource.notfound");
        }
    }
    for (path, allow) in [(AUTH, "POST, PUT, DELETE"), ("/api/v1/authentication/reset", "POST, PUT")] {
        for method in ["GET", "PATCH", "OPTIONS", "TRACE", "FOO"] {
            let r = g.send(D, method, path, &[], None).await;
            assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
            fails(&r, 405, "method.notallowed");
            assert_eq!(r.header("allow"), Some(allow));
        }
    }
    // HEAD: the 405's headers, no body.
    let r = g.send(D, "HEAD", RESET, &[], None).await;
    assert_eq!((r.status, r.text.as_str()), (405, ""));
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Method before credentials: a GET with good Basic is still a 405.
    register(&g, "mo@example.com", "pw").await;
    let r = g.send(D, "GET", AUTH, &[("Authorization", &basic("mo@example.com", "pw"))], None).await;
    fails(&r, 405, "method.notallowed");
}

async fn malformed_bodies(kind: StoreKind) {
    let g = gw(kind).await;
    let bodies: [&[u8]; 8] = [
        b"{",
        br#"{"email": "a@example.com", "password": "#,
        br#"{"email":"a@example.com","password":"pw",}"#,
        b"\xff\xfe",
        b"nul",
        b"[1, 2]",
        b"\"a string\"",
        b"null",
    ];
    for path in [AUTH, RESET] {
        for body in bodies {
            let r = g.send(D, "PUT", path, &[JSON_CT], Some(body)).await;
            assert_eq!(r.status, 400, "{path} {:?}: {}", String::from_utf8_lossy(body), r.text);
            fails(&r, 400, "request.malformed");
        }
        // A multipart body without a boundary, or cut short, is malformed too.
        let r = g.send(D, "PUT", path, &[("Content-Type", "multipart/form-data")], Some(b"x")).await;
        fails(&r, 400, "request.malformed");
        let r = g
            .send(D, "PUT", path, &[("Content-Type", "multipart/form-data; boundary=zz")], Some(b"--zz\r\nbroken"))
            .await;
        fails(&r, 400, "request.malformed");
    }
    // The reset confirm reads a body too.
    let r = g.send(D, "POST", RESET, &[JSON_CT, ("Authorization", "Bearer x")], Some(b"{")).await;
    fails(&r, 400, "request.malformed");
    // `application/json; charset=utf-8` and upper case are JSON.
    for ct in ["application/json; charset=utf-8", "APPLICATION/JSON"] {
        let body = br#"{"email":"ct@example.com","password":"p"}"#;
        let r = g.send(D, "PUT", AUTH, &[("Content-Type", ct)], Some(body)).await;
        if ct == "APPLICATION/JSON" {
            fails(&r, 409, "registration.failed");
        } else {
            token_of(&r, 201);
        }
    }
}

async fn media_types_and_sizes(kind: StoreKind) {
    let g = gw(kind).await;
    for ct in ["text/plain", "application/xml", "application/vnd.api+json"] {
        for (method, path) in [("PUT", AUTH), ("PUT", RESET), ("POST", RESET)] {
            let r = g.send(D, method, path, &[("Content-Type", ct)], Some(b"email=x")).await;
            assert_eq!(r.status, 415, "{method} {path} {ct}: {}", r.text);
            fails(&r, 415, "mediatype.unsupported");
        }
    }
    // A body without any Content-Type cannot be read either.
    fails(&g.send(D, "PUT", AUTH, &[], Some(b"{}")).await, 415, "mediatype.unsupported");

    // Over the limit (1024 bytes here), declared or streamed.
    let big = json!({"email": "big@example.com", "password": "x".repeat(2000)}).to_string();
    for path in [AUTH, RESET] {
        let r = g.send(D, "PUT", path, &[JSON_CT], Some(big.as_bytes())).await;
        fails(&r, 413, "request.toolarge");
    }
    let r = g.send(D, "POST", RESET, &[JSON_CT, ("Authorization", "Bearer x")], Some(big.as_bytes())).await;
    fails(&r, 413, "request.toolarge");
    // Streamed (chunked, no Content-Length): cut off at the limit.
    let (status, body) = chunked_put(&g, AUTH, 20, 100).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"success": false, "error": {"code": 413, "message_key": "request.toolarge"}})
    );
    // Just under the limit is fine.
    let ok = json!({"email": "fits@example.com", "password": "x".repeat(900)}).to_string();
    token_of(&g.send(D, "PUT", AUTH, &[JSON_CT], Some(ok.as_bytes())).await, 201);
}

/// A raw HTTP/1.1 PUT of `n` chunks of `size` spaces (chunked transfer
/// encoding, which reqwest cannot send from a fixed body): (status, body).
async fn chunked_put(g: &Gw, path: &str, n: usize, size: usize) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(g.addr(D)).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..n {
        // The server may answer and close before every chunk is sent.
        if s.write_all(format!("{size:x}\r\n{}\r\n", " ".repeat(size)).as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(headers.to_ascii_lowercase().contains("content-type: application/json"), "{headers}");
    (status, body.to_owned())
}

both_stores!(unknown_paths_and_methods, malformed_bodies, media_types_and_sizes);

/// A store that stops answering is a 503 in the envelope, on every route.
#[tokio::test]
async fn store_down_is_an_envelope_503() {
    let mut g = gateway(StoreKind::Redis).mount(D, "/").start().await;
    register(&g, "nia@example.com", "pw").await;
    g.redis.as_mut().unwrap().stop();
    let r = put_json(&g, AUTH, json!({"email": "new@example.com", "password": "pw"})).await;
    fails(&r, 503, "service.unavailable");
    fails(&login(&g, "nia@example.com", "pw").await, 503, "service.unavailable");
    fails(&put_json(&g, RESET, json!({"email": "nia@example.com"})).await, 503, "service.unavailable");
}
