//! Wire details shared by the Django-family dialects, checked against the
//! reference server's recorded answers (scripts/reference-recordings).

use crate::support::{gateway, StoreKind};
use serde_json::json;

#[tokio::test]
async fn append_slash_redirect_has_no_frame_options() {
    let g = gateway(StoreKind::Memory).mount("jwt-email", "/").start().await;
    let r = g.send("jwt-email", "POST", "/auth/register?x=1", &[], None).await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/auth/register/?x=1"));
    assert_eq!(r.header("x-frame-options"), None, "Django's 301 comes before XFrameOptionsMiddleware");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let r = g.send("jwt-email", "GET", "/nowhere/", &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn python_json_errors_and_null_bodies() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    let json_ct = [("Content-Type", "application/json")];
    for (body, detail) in [
        (&b"{"[..], "JSON parse error - Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"nul", "JSON parse error - Expecting value: line 1 column 1 (char 0)"),
        (br#"{"username": NaN}"#, "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"),
    ] {
        g.send("simplejwt", "POST", "/auth/token", &json_ct, Some(body)).await.expect(400, json!({"detail": detail}));
    }
    g.send("simplejwt", "POST", "/auth/token", &json_ct, Some(b"null"))
        .await
        .expect(400, json!({"non_field_errors": ["No data provided"]}));
}

#[tokio::test]
async fn content_negotiation_as_drf() {
    let g = gateway(StoreKind::Memory).mount("simplejwt", "/").start().await;
    let r = g.send("simplejwt", "POST", "/auth/token", &[("Accept", "application/xml")], None).await;
    r.expect(406, json!({"detail": "Could not satisfy the request Accept header."}));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    let r = g.send("simplejwt", "POST", "/auth/token", &[("Accept", "application/json; indent=4")], None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text, "{\n    \"username\": [\n        \"This field is required.\"\n    ],\n    \"password\": [\n        \"This field is required.\"\n    ]\n}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Browsers' Accept headers are fine (answered as JSON).
    let r = g
        .send("simplejwt", "POST", "/auth/token", &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")], None)
        .await;
    assert_eq!(r.status, 400);
}
