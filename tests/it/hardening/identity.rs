//! Identity confusion: case-insensitive email matching is ASCII-only (the
//! Kelvin sign never logs into a `k` address), and multipart text parts are
//! UTF-8 only (a UTF-16 byte-order mark does not turn bytes into `admin`),
//! with DRF's wording of a multipart parse error.

use serde_json::json;

use crate::support::{basic, gateway, jwt_email, StoreKind};

async fn kelvin_sign_is_not_k(kind: StoreKind) {
    let g = jwt_email::builder(kind).mount("food2gether", "/").start().await;
    jwt_email::register(&g, "kate.k@example.com", "Secr3t-pass!").await;
    jwt_email::login(&g, "KATE.K@EXAMPLE.COM", "Secr3t-pass!").await;
    let kelvin = "\u{212A}ate.k@example.com";
    let r = g.post_json(jwt_email::D, jwt_email::TOKEN, json!({"email": kelvin, "password": "Secr3t-pass!"})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let kelvin_at_end = "kate.\u{212A}@example.com";
    let r =
        g.post_json(jwt_email::D, jwt_email::TOKEN, json!({"email": kelvin_at_end, "password": "Secr3t-pass!"})).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // Basic login by email (food2gether) and the reset lookup agree.
    let r = g
        .send(
            "food2gether",
            "POST",
            "/api/v1/authentication/",
            &[("Authorization", &basic(kelvin, "Secr3t-pass!"))],
            None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    g.post_json(jwt_email::D, jwt_email::RESET, json!({"email": kelvin})).await;
    assert!(g.outbox("kate.k@example.com").await.is_empty(), "a reset for the look-alike reached the real address");
}

both_stores!(kelvin_sign_is_not_k);

fn multipart(boundary: &str, fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn a_utf16_bom_does_not_decode_a_part_as_utf16() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    g.post_json("simplejwt", "/auth/register", json!({"username": "admin", "password": "pw-admin-1"})).await;
    let utf16 = |s: &str| {
        let mut b = vec![0xff, 0xfe];
        b.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        b
    };
    let (user, pw) = (utf16("admin"), utf16("pw-admin-1"));
    let body = multipart("XyZ", &[("username", &user), ("password", &pw)]);
    let ct = "multipart/form-data; boundary=XyZ";
    let r = g.send("simplejwt", "POST", "/auth/token", &[("Content-Type", ct)], Some(&body)).await;
    assert_eq!(r.status, 401, "UTF-16 bytes logged in: {}", r.text);
    // The same in UTF-8 logs in.
    let body = multipart("XyZ", &[("username", b"admin"), ("password", b"pw-admin-1")]);
    let r = g.send("simplejwt", "POST", "/auth/token", &[("Content-Type", ct)], Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn multipart_errors_are_worded_as_drf() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    let ct = "multipart/form-data; boundary=XyZ";
    let r = g.send("simplejwt", "POST", "/auth/token", &[("Content-Type", ct)], Some(b"--XyZ\r\ngarbage")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let detail = r.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with("Multipart form parse error - "), "{detail}");
    assert!(!detail.contains("JSON"), "{detail}");
}
