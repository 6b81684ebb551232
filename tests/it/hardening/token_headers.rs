//! Answers that carry a credential are not cached (`Cache-Control: no-store`,
//! `Pragma: no-cache`, as OAuth token endpoints), and food2gether sends the
//! same security headers as the Django dialects.

use serde_json::json;

use crate::support::{basic, gateway, StoreKind};

#[tokio::test]
async fn token_answers_are_not_cached() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").mount("food2gether", "/").start().await;
    let r = g.post_json("simplejwt", "/auth/register", json!({"username": "cc", "password": "pw-cc-1"})).await;
    assert_eq!(r.status, 201);
    let refresh = r.json()["refresh"].as_str().unwrap().to_owned();
    let answers = [
        r,
        g.post_json("simplejwt", "/auth/token", json!({"username": "cc", "password": "pw-cc-1"})).await,
        g.post_json("simplejwt", "/auth/token/refresh", json!({"refresh": refresh})).await,
        g.send(
            "food2gether",
            "PUT",
            "/api/v1/authentication/",
            &[("Content-Type", "application/json")],
            Some(br#"{"email":"cc@example.com","password":"pw"}"#),
        )
        .await,
        g.send(
            "food2gether",
            "POST",
            "/api/v1/authentication/",
            &[("Authorization", &basic("cc@example.com", "pw"))],
            None,
        )
        .await,
    ];
    for r in &answers {
        assert!(r.status < 300, "{}", r.text);
        assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text);
        assert_eq!(r.header("pragma"), Some("no-cache"));
    }
    // Answers without a credential are left to the usual caching rules.
    let r = g.send("simplejwt", "GET", "/auth/getuser", &[], None).await;
    assert_eq!(r.header("cache-control"), None);
    // food2gether: the Django dialects' security headers, on errors too.
    for r in [&answers[3], &g.send("food2gether", "GET", "/nope", &[], None).await] {
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("same-origin"));
        assert_eq!(r.header("cross-origin-opener-policy"), Some("same-origin"));
    }
}
