//! DRF throttling as the legacy project configured it (`REST_FRAMEWORK`
//! settings on the mount): DRF's classes, keys, order (after authentication
//! and permissions, before the view and before 405), wording and
//! `Retry-After`, shared by replicas on one Redis; configuration errors stop
//! the gateway before it binds.

use std::path::Path;

use crate::support::abuse::drf_throttled;
use crate::support::{bearer, gateway, GwBuilder, Res, StoreKind};
use polyauth::config::Config;
use polyauth::secret::Secret;
use serde_json::json;

fn settings(classes: &[&str], rates: &str) -> String {
    let classes: Vec<String> = classes.iter().map(|c| format!("\"rest_framework.throttling.{c}\"")).collect();
    format!(
        "REST_FRAMEWORK = {{ DEFAULT_THROTTLE_CLASSES = [{}], DEFAULT_THROTTLE_RATES = {{ {rates} }} }}",
        classes.join(", ")
    )
}

fn simplejwt(kind: StoreKind, classes: &[&str], rates: &str) -> GwBuilder {
    gateway(kind).mount_with_settings("simplejwt", "/", &settings(classes, rates))
}

/// A 429 as DRF words it, with a wait of at most `max`; returns the wait.
#[track_caller]
fn throttled(r: &Res, max: u64) -> u64 {
    assert_eq!(r.status, 429, "{}", r.text);
    let wait: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=max).contains(&wait), "Retry-After {wait}");
    r.expect(429, json!({ "detail": drf_throttled(wait) }));
    wait
}

async fn verify(g: &crate::support::Gw) -> Res {
    g.post_json("simplejwt", "/auth/token/verify", json!({"token": "junk"})).await
}

async fn anon_rate_counts_every_request_through_the_view(kind: StoreKind) {
    let g = simplejwt(kind, &["AnonRateThrottle"], "anon = \"3/min\"").start().await;
    for _ in 0..3 {
        assert_eq!(verify(&g).await.status, 401);
    }
    let wait = throttled(&verify(&g).await, 60);
    assert!(wait >= 55, "DRF's wait: what is left of the oldest request's minute ({wait})");
    // DRF throttles before it looks for the method: a wrong method is 429, not 405.
    let r = g.send("simplejwt", "GET", "/auth/token", &[], None).await;
    throttled(&r, 60);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "still a DRF view's answer");
    // Authenticated requests are not anonymous.
    let e = &g.running.engine;
    let user = e.create_user("ann", "", &Secret::new("pw")).await.unwrap();
    let (access, _) = e.issue_jwt_pair(&user).unwrap();
    let me = g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(&access))], None).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let m = g.metrics().await;
    assert_eq!(m.get("polyauth_throttled_requests_total", &[("dialect", "simplejwt"), ("reason", "throttle")]), 2.0);
}

async fn user_rate_is_per_user_and_after_permissions(kind: StoreKind) {
    let g = simplejwt(kind, &["UserRateThrottle"], "user = \"2/hour\"").start().await;
    let e = &g.running.engine;
    let (a, b) = (
        e.create_user("a", "", &Secret::new("pw")).await.unwrap(),
        e.create_user("b", "", &Secret::new("pw")).await.unwrap(),
    );
    let get = |token: String| {
        let g = &g;
        async move { g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(&token))], None).await }
    };
    let (ta, tb) = (e.issue_jwt_pair(&a).unwrap().0, e.issue_jwt_pair(&b).unwrap().0);
    assert_eq!(get(ta.clone()).await.status, 200);
    assert_eq!(get(ta.clone()).await.status, 200);
    let wait = throttled(&get(ta.clone()).await, 3600);
    assert!(wait > 3500, "{wait}");
    assert_eq!(get(tb).await.status, 200, "another user has its own history");
    // An anonymous request fails permissions before any throttle.
    for _ in 0..3 {
        assert_eq!(g.send("simplejwt", "GET", "/auth/getuser", &[], None).await.status, 401);
    }
}

async fn scoped_rate_applies_to_routes_with_the_scope(kind: StoreKind) {
    let dir = tempfile::tempdir().unwrap();
    copy_dialects_with_scope(dir.path(), "token_obtain_pair", "login");
    let g = simplejwt(kind, &["ScopedRateThrottle"], "login = \"2/min\"").dialects_dir(dir.path().into()).start().await;
    let login = || g.post_json("simplejwt", "/auth/token", json!({"username": "x", "password": "y"}));
    assert_eq!(login().await.status, 401);
    assert_eq!(login().await.status, 401);
    throttled(&login().await, 60);
    for _ in 0..3 {
        assert_eq!(verify(&g).await.status, 401, "a route without a scope is not throttled");
    }
}

/// One request a second: the next one is expected in 1 second (DRF's singular).
async fn the_singular_wait(kind: StoreKind) {
    let g = simplejwt(kind, &["AnonRateThrottle"], "anon = \"1/second\"").start().await;
    assert_eq!(verify(&g).await.status, 401);
    let r = verify(&g).await;
    assert_eq!(throttled(&r, 1), 1);
    assert_eq!(r.json()["detail"], "Request was throttled. Expected available in 1 second.");
}

both_stores!(
    anon_rate_counts_every_request_through_the_view,
    user_rate_is_per_user_and_after_permissions,
    scoped_rate_applies_to_routes_with_the_scope,
    the_singular_wait,
);

#[tokio::test]
async fn replicas_share_the_history() {
    let a = simplejwt(StoreKind::Redis, &["AnonRateThrottle"], "anon = \"2/min\"").start().await;
    let url = a.redis.as_ref().unwrap().url();
    let b = simplejwt(StoreKind::Redis, &["AnonRateThrottle"], "anon = \"2/min\"").start_on(&url).await;
    assert_eq!(verify(&a).await.status, 401);
    assert_eq!(verify(&b).await.status, 401);
    throttled(&verify(&a).await, 60);
    throttled(&verify(&b).await, 60);
}

/// Copies the dialect files, giving one simplejwt route a `throttle_scope`.
fn copy_dialects_with_scope(dir: &Path, route: &str, scope: &str) {
    for entry in std::fs::read_dir(crate::support::dialects_dir()).unwrap() {
        let p = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        if p.file_name().unwrap() == "simplejwt.toml" {
            let name = format!("name = \"{route}\"\n");
            assert!(text.contains(&name));
            text = text.replace(&name, &format!("{name}throttle_scope = \"{scope}\"\n"));
        }
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
    }
}

#[test]
fn misconfigured_throttles_stop_the_gateway_naming_the_setting() {
    let cases = [
        (settings(&["AnonRateThrottle"], "user = \"1/min\""), "needs a rate for scope \"anon\""),
        (settings(&["SomeThrottle"], ""), "unknown throttle class"),
        (settings(&["UserRateThrottle"], "user = \"10/fortnight\""), "is not a rate"),
        ("REST_FRAMEWORK = { DEFAULT_THROTTLE_RATES = [\"1/min\"] }".to_owned(), "must be a table"),
    ];
    for (s, expected) in cases {
        let text = gateway(StoreKind::Memory).mount_with_settings("djoser", "/", &s).config_text("memory://");
        let config = Config::from_toml_str(&text, Path::new(".")).unwrap();
        let err = match polyauth::app::plan(config) {
            Ok(_) => panic!("{s}: accepted"),
            Err(e) => e,
        };
        assert_eq!(err.exit_code(), 64);
        let msg = err.to_string();
        assert!(msg.contains("REST_FRAMEWORK.DEFAULT_THROTTLE_"), "{msg}");
        assert!(msg.contains(expected), "{msg}");
    }
    // A scope a route names without a rate.
    let dir = tempfile::tempdir().unwrap();
    copy_dialects_with_scope(dir.path(), "token_obtain_pair", "login");
    let text = gateway(StoreKind::Memory)
        .mount_with_settings("simplejwt", "/", &settings(&["ScopedRateThrottle"], "other = \"1/min\""))
        .dialects_dir(dir.path().into())
        .config_text("memory://");
    let err = polyauth::app::plan(Config::from_toml_str(&text, Path::new(".")).unwrap()).err().expect("refused");
    assert!(err.to_string().contains("throttle_scope \"login\""), "{err}");
}
