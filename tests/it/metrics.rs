//! `/metrics`: a strict parse of the exposition, counters that move with
//! traffic, bounded label values, and the request id echoed on every answer.

use crate::support::simplejwt::{gw, D};
use crate::support::StoreKind;
use serde_json::json;

async fn counters_move_with_traffic(kind: StoreKind) {
    let g = gw(kind).await;
    let before = g.metrics().await;
    assert_eq!(before.get("polyauth_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    assert_eq!(before.sum("polyauth_http_requests_total", &[]), 0.0);

    let r = g.post_json(D, "/auth/register", json!({"username": "mia", "password": "pw-mia-1"})).await;
    assert_eq!(r.status, 201);
    let ok = g.post_json(D, "/auth/token", json!({"username": "mia", "password": "pw-mia-1"})).await;
    assert_eq!(ok.status, 200);
    for _ in 0..2 {
        let bad = g.post_json(D, "/auth/token", json!({"username": "mia", "password": "wrong"})).await;
        assert_eq!(bad.status, 401);
    }
    let refresh = ok.json()["refresh"].as_str().unwrap().to_owned();
    assert_eq!(g.post_json(D, "/auth/token/refresh", json!({"refresh": refresh})).await.status, 200);

    let m = g.metrics().await;
    assert_eq!(m.types.get("polyauth_http_requests").map(String::as_str), Some("counter"));
    assert_eq!(m.types.get("polyauth_http_request_duration_seconds").map(String::as_str), Some("histogram"));
    let req = |route: &str, status: &str| {
        m.get("polyauth_http_requests_total", &[("dialect", D), ("route", route), ("status", status)])
    };
    assert_eq!(req("register", "201"), 1.0);
    assert_eq!(req("token_obtain_pair", "200"), 1.0);
    assert_eq!(req("token_obtain_pair", "401"), 2.0);
    assert_eq!(req("token_refresh", "200"), 1.0);
    let count =
        |route: &str| m.get("polyauth_http_request_duration_seconds_count", &[("dialect", D), ("route", route)]);
    assert_eq!(count("token_obtain_pair"), 3.0);
    assert_eq!(
        m.get(
            "polyauth_http_request_duration_seconds_bucket",
            &[("dialect", D), ("route", "token_obtain_pair"), ("le", "+Inf")]
        ),
        3.0
    );
    assert_eq!(m.get("polyauth_logins_total", &[("dialect", D), ("outcome", "succeeded")]), 1.0);
    assert_eq!(m.get("polyauth_logins_total", &[("dialect", D), ("outcome", "failed")]), 2.0);
    // register + login issue a pair each; the rotation issues another and blacklists one refresh.
    assert_eq!(m.get("polyauth_tokens_issued_total", &[("kind", "access")]), 3.0);
    assert_eq!(m.get("polyauth_tokens_issued_total", &[("kind", "refresh")]), 3.0);
    assert_eq!(m.get("polyauth_tokens_revoked_total", &[("kind", "refresh")]), 1.0);
    // One hash at registration, three verifications at login.
    assert!(m.get("polyauth_password_hash_duration_seconds_count", &[]) >= 4.0);
    assert_eq!(m.get("polyauth_password_hash_queue_depth", &[]), 0.0);
    let store_ops = m.sum("polyauth_store_operation_duration_seconds_count", &[]);
    assert!(store_ops >= 6.0, "store operations were not counted: {store_ops}");
    assert!(m.get("polyauth_store_operation_duration_seconds_count", &[("op", "create_user")]) >= 1.0);
    assert_eq!(m.sum("polyauth_store_errors_total", &[]), 0.0);
}

async fn label_values_never_come_from_the_client(kind: StoreKind) {
    let g = gw(kind).await;
    let probe = "zz-client-chosen-9f8e7d";
    assert_eq!(g.send(D, "GET", &format!("/auth/{probe}"), &[], None).await.status, 404);
    assert_eq!(g.send(D, "GET", &format!("/{probe}/x"), &[("X-Request-Id", probe)], None).await.status, 404);
    assert_eq!(g.send(D, "GET", "/auth/token", &[], None).await.status, 405);
    let text = g.admin_get("/metrics").await.text;
    assert!(!text.contains(probe), "a client value became a label: {text}");
    let m = crate::support::ops::Exposition::parse(&text);
    assert_eq!(m.get("polyauth_http_requests_total", &[("dialect", D), ("route", "-"), ("status", "404")]), 2.0);
    // A wrong method is named by the route it hit.
    assert_eq!(
        m.get("polyauth_http_requests_total", &[("dialect", D), ("route", "token_obtain_pair"), ("status", "405")]),
        1.0
    );
}

async fn request_id_is_echoed_or_generated(kind: StoreKind) {
    let g = gw(kind).await;
    let r = g.send(D, "GET", "/auth/getuser", &[("X-Request-Id", "abc-123.def:4_5")], None).await;
    assert_eq!(r.header("x-request-id"), Some("abc-123.def:4_5"));
    let r = g.send(D, "GET", "/auth/getuser", &[], None).await;
    let generated = r.header("x-request-id").expect("a generated id").to_owned();
    assert_eq!(generated.len(), 32);
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));
    // An id that could forge log lines (or is absurdly long) is replaced.
    let long = "a".repeat(200);
    for bad in ["has space", "quote\"d", long.as_str()] {
        let r = g.send(D, "GET", "/auth/getuser", &[("X-Request-Id", bad)], None).await;
        let id = r.header("x-request-id").unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 32);
    }
    // Unmatched paths carry one too.
    assert!(g.send(D, "GET", "/nowhere", &[], None).await.header("x-request-id").is_some());
}

both_stores!(counters_move_with_traffic, label_values_never_come_from_the_client, request_id_is_echoed_or_generated);

#[tokio::test]
async fn store_errors_are_counted() {
    let mut g = gw(StoreKind::Redis).await;
    g.redis.as_mut().unwrap().stop();
    let r = g.post_json(D, "/auth/token", json!({"username": "a", "password": "b"})).await;
    assert_eq!(r.status, 503, "{}", r.text);
    let m = g.metrics().await;
    assert!(
        m.get("polyauth_store_errors_total", &[("op", "find_user_id_by_username"), ("error", "unavailable")]) >= 1.0
    );
    // No credential verdict was reached: not a failed login.
    assert_eq!(m.get("polyauth_logins_total", &[("dialect", D), ("outcome", "failed")]), 0.0);
}
