//! CORS on a mount, configured with django-cors-headers' own settings names in
//! `[mount.settings]`, answering as that middleware (4.x) does: preflights
//! before routing and authentication, every answer of the mount marked (errors
//! included), other origins left without CORS headers, and a start refused
//! (exit 64) for settings it would not accept. The same behaviour in a real
//! browser: `browser.rs`.

use std::process::Command;

use serde_json::json;

use crate::support::{gateway, token, Gw, Res, StoreKind};
use polyauth::app;
use polyauth::config::Config;

const SPA: &str = "http://localhost:5173";
const DEFAULT_HEADERS: &str = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with";
const DEFAULT_METHODS: &str = "DELETE, GET, OPTIONS, PATCH, POST, PUT";
const PW: &str = "Correct-Horse-9";

/// Djoser at `/djoser/` with these settings.
async fn djoser(kind: StoreKind, settings: &str) -> Gw {
    gateway(kind).mount_with_settings("djoser", "/djoser/", settings).extra("[server]\nbody_limit = 1024").start().await
}

async fn preflight(g: &Gw, d: &str, path: &str, origin: &str) -> Res {
    let headers = [
        ("Origin", origin),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "authorization,content-type"),
    ];
    g.send(d, "OPTIONS", path, &headers, None).await
}

/// No `Access-Control-*` header at all.
#[track_caller]
fn no_cors(r: &Res) {
    let found: Vec<_> = r.headers.keys().filter(|k| k.as_str().starts_with("access-control-")).collect();
    assert!(found.is_empty(), "no CORS headers expected, got {found:?}");
}

/// The headers of an actual (not OPTIONS) answer to an allowed origin, without credentials.
#[track_caller]
fn marked(r: &Res, origin: &str) {
    assert_eq!(r.header("access-control-allow-origin"), Some(origin), "{r:?}");
    assert_eq!(r.header("access-control-allow-credentials"), None);
    assert_eq!(r.header("access-control-allow-methods"), None, "only OPTIONS answers list methods");
    assert_eq!(r.header("access-control-allow-headers"), None);
    assert!(r.header("vary").is_some_and(|v| v.ends_with("origin")), "Vary: {:?}", r.header("vary"));
}

#[tokio::test]
async fn an_allowed_preflight_is_answered_before_routing_and_authentication() {
    let g = djoser(StoreKind::Memory, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).await;
    // users/me/ needs a user, jwt/create/ a body, /nowhere/ exists not: the preflight
    // is answered the same before any of that is looked at.
    for path in ["/djoser/auth/users/me/", "/djoser/auth/jwt/create/", "/djoser/nowhere"] {
        let r = preflight(&g, "djoser", path, SPA).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.text, "");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"), "Django's empty HttpResponse");
        assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
        assert_eq!(r.header("access-control-allow-headers"), Some(DEFAULT_HEADERS));
        assert_eq!(r.header("access-control-allow-methods"), Some(DEFAULT_METHODS));
        assert_eq!(r.header("access-control-max-age"), Some("86400"));
        assert_eq!(r.header("access-control-allow-credentials"), None);
        assert_eq!(r.header("access-control-expose-headers"), None);
        assert_eq!(r.header("vary"), Some("origin"));
        // Not a view's answer: no DRF headers, nor XFrameOptionsMiddleware's; SecurityMiddleware's are there.
        assert_eq!(r.header("allow"), None);
        assert_eq!(r.header("www-authenticate"), None);
        assert_eq!(r.header("x-frame-options"), None);
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let m = g.metrics().await;
    assert_eq!(
        m.get("polyauth_http_requests_total", &[("dialect", "djoser"), ("route", "(preflight)"), ("status", "200")]),
        3.0
    );
}

#[tokio::test]
async fn another_origin_gets_no_cors_headers() {
    let g = djoser(StoreKind::Memory, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).await;
    for origin in ["http://localhost:5174", "https://localhost:5173", "http://evil.example", "null", "http://[::1"] {
        let r = preflight(&g, "djoser", "/djoser/auth/users/me/", origin).await;
        assert_eq!(r.status, 200, "the middleware answers every preflight, {origin}");
        no_cors(&r);
        assert_eq!(r.header("vary"), Some("origin"));
        let r = g.send("djoser", "GET", "/djoser/auth/users/me/", &[("Origin", origin)], None).await;
        assert_eq!(r.status, 401);
        no_cors(&r);
        assert_eq!(r.header("vary"), Some("Accept, origin"));
    }
    // Only scheme and host:port count: a path after the origin is ignored, as urlsplit splits it.
    let r = preflight(&g, "djoser", "/djoser/auth/users/me/", "http://localhost:5173/app").await;
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:5173/app"));
    // No Origin at all: still varies on it.
    let r = g.send("djoser", "GET", "/djoser/auth/users/me/", &[], None).await;
    no_cors(&r);
    assert_eq!(r.header("vary"), Some("Accept, origin"));
}

#[tokio::test]
async fn regex_origins_and_max_age() {
    let settings = r#"
CORS_ALLOWED_ORIGIN_REGEXES = ['^https://\w+\.example\.com$', 'http://localhost:\d+']
CORS_PREFLIGHT_MAX_AGE = 600
"#;
    let g = djoser(StoreKind::Memory, settings).await;
    for (origin, allowed) in [
        ("https://app.example.com", true),
        ("https://example.com", false),
        ("https://app.example.com.evil.net", false),
        ("http://localhost:5173", true),
        // Python's re.match anchors the start only: this is what django-cors-headers lets in too.
        ("http://localhost:1.evil.net", true),
        ("https://localhost:5173", false),
    ] {
        let r = preflight(&g, "djoser", "/djoser/auth/jwt/create/", origin).await;
        assert_eq!(r.status, 200);
        if allowed {
            assert_eq!(r.header("access-control-allow-origin"), Some(origin));
            assert_eq!(r.header("access-control-max-age"), Some("600"));
        } else {
            no_cors(&r);
        }
    }
    let g = djoser(StoreKind::Memory, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]\nCORS_PREFLIGHT_MAX_AGE = 0")).await;
    let r = preflight(&g, "djoser", "/djoser/auth/jwt/create/", SPA).await;
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-max-age"), None, "0 sends none");
}

async fn actual_requests_without_and_with_credentials(kind: StoreKind) {
    let g = djoser(kind, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).await;
    let body = json!({"username": "ann", "password": PW, "re_password": PW, "email": "ann@example.com"});
    let r = g
        .send(
            "djoser",
            "POST",
            "/djoser/auth/users/",
            &[("Origin", SPA), ("Content-Type", "application/json")],
            Some(body.to_string().as_bytes()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    marked(&r, SPA);
    assert_eq!(r.header("vary"), Some("Accept, origin"), "DRF's Vary, then the middleware's");
    assert_eq!(r.header("allow"), Some("GET, POST, HEAD, OPTIONS"));
    let login = json!({"username": "ann", "password": PW}).to_string();
    let r = g
        .send(
            "djoser",
            "POST",
            "/djoser/auth/token/login/",
            &[("Origin", SPA), ("Content-Type", "application/json")],
            Some(login.as_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    marked(&r, SPA);
    let t = r.json()["auth_token"].as_str().unwrap().to_owned();
    let r = g
        .send("djoser", "GET", "/djoser/auth/users/me/", &[("Origin", SPA), ("Authorization", &token(&t))], None)
        .await;
    assert_eq!(r.status, 200);
    marked(&r, SPA);

    // Every origin, without credentials: `*`.
    let g = djoser(kind, "CORS_ALLOW_ALL_ORIGINS = true").await;
    let r = g.send("djoser", "GET", "/djoser/auth/users/me/", &[("Origin", "https://any.example")], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-credentials"), None);

    // With credentials: the origin itself, and the credentials flag.
    let settings = format!(
        "CORS_ALLOWED_ORIGINS = [{SPA:?}]\nCORS_ALLOW_CREDENTIALS = true\nCORS_EXPOSE_HEADERS = [\"X-Request-Id\"]"
    );
    let g = djoser(kind, &settings).await;
    let r = g.send("djoser", "GET", "/djoser/auth/users/me/", &[("Origin", SPA)], None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("access-control-expose-headers"), Some("X-Request-Id"));
    let r = preflight(&g, "djoser", "/djoser/auth/users/me/", SPA).await;
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let r = g.send("djoser", "GET", "/djoser/auth/users/me/", &[("Origin", "http://evil.example")], None).await;
    no_cors(&r);
}

both_stores!(actual_requests_without_and_with_credentials);

/// Method, path, headers, body, expected status.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Option<&'a [u8]>, u16);

/// A browser shows the page an error's status and body only when the error
/// carries the CORS headers too: 401, 404, 405, 406, 413, 415, 301.
#[tokio::test]
async fn errors_carry_the_cors_headers() {
    let g = djoser(StoreKind::Memory, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).await;
    let big = vec![b'x'; 4096];
    let cases: [Case<'_>; 7] = [
        ("GET", "/djoser/auth/users/me/", vec![], None, 401),
        ("GET", "/djoser/no/such/path/", vec![], None, 404),
        ("DELETE", "/djoser/auth/token/login/", vec![], None, 405),
        ("POST", "/djoser/auth/token/login/", vec![("Accept", "text/csv")], Some(b"{}"), 406),
        ("POST", "/djoser/auth/token/login/", vec![("Content-Type", "application/json")], Some(&big), 413),
        ("POST", "/djoser/auth/token/login/", vec![("Content-Type", "text/plain")], Some(b"x"), 415),
        ("GET", "/djoser/auth/users/me", vec![], None, 301),
    ];
    for (method, path, mut headers, body, status) in cases {
        headers.push(("Origin", SPA));
        let r = g.send("djoser", method, path, &headers, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        marked(&r, SPA);
    }
    // food2gether's envelope errors too.
    let g = gateway(StoreKind::Memory)
        .mount_with_settings("food2gether", "/", &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]"))
        .extra("[server]\nbody_limit = 1024")
        .start()
        .await;
    for (method, path, body, status) in [
        ("GET", "/nowhere/", None, 404),
        ("PATCH", "/api/v1/authentication/", None, 405),
        ("PUT", "/api/v1/authentication/", Some(&big[..]), 413),
        ("POST", "/api/v1/authentication/", None, 401),
    ] {
        let r =
            g.send("food2gether", method, path, &[("Origin", SPA), ("Content-Type", "application/json")], body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        assert_eq!(r.json()["error"]["code"], status);
        marked(&r, SPA);
        assert_eq!(r.header("vary"), Some("origin"));
    }
}

#[tokio::test]
async fn a_store_outage_503_carries_the_cors_headers() {
    let mut g = djoser(StoreKind::Redis, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).await;
    g.redis.as_mut().unwrap().stop();
    let login = json!({"username": "ann", "password": PW}).to_string();
    let r = g
        .send(
            "djoser",
            "POST",
            "/djoser/auth/token/login/",
            &[("Origin", SPA), ("Content-Type", "application/json")],
            Some(login.as_bytes()),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    marked(&r, SPA);
    // The preflight needs no store.
    assert_eq!(preflight(&g, "djoser", "/djoser/auth/token/login/", SPA).await.status, 200);
}

/// Monta hands out the token in the `Authorization` response header: with CORS on,
/// the dialect exposes it, so the browser lets the page read it.
#[tokio::test]
async fn monta_exposes_the_authorization_header() {
    use crate::support::monta::{builder, seed_file, token_of, D, LOGIN, REFRESH};
    let users = [("mo", "mo@example.com", PW)];
    let login = json!({"username": "mo", "password": PW}).to_string();
    let json_login = [("Origin", SPA), ("Content-Type", "application/json")];
    let (_dir, seeds) = seed_file(&users);
    let g = gateway(StoreKind::Memory)
        .mount_with_settings(D, "/", &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]"))
        .extra(&format!("[users]\nseed_file = {seeds:?}"))
        .start()
        .await;
    let r = g.send(D, "POST", LOGIN, &json_login, Some(login.as_bytes())).await;
    let t = token_of(&r);
    marked(&r, SPA);
    assert_eq!(r.header("access-control-expose-headers"), Some("Authorization"));
    let r = g.send(D, "POST", REFRESH, &[("Origin", SPA), ("Authorization", &token(&t))], None).await;
    token_of(&r);
    assert_eq!(r.header("access-control-expose-headers"), Some("Authorization"));
    // CORS off (a mount without the settings): nothing is marked, nothing varies on Origin.
    let (_dir, b) = builder(StoreKind::Memory, &users);
    let plain = b.start().await;
    let r = plain.send(D, "POST", LOGIN, &json_login, Some(login.as_bytes())).await;
    token_of(&r);
    no_cors(&r);
    assert_eq!(r.header("vary"), Some("Accept"));
}

#[tokio::test]
async fn a_mount_can_replace_monta_s_exposed_headers() {
    let settings = format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]\nCORS_EXPOSE_HEADERS = []");
    let g = gateway(StoreKind::Memory).mount_with_settings("monta", "/", &settings).start().await;
    let r = g.send("monta", "POST", "/api/auth/token/", &[("Origin", SPA)], None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-expose-headers"), None);
}

/// A plain `OPTIONS` (no `Access-Control-Request-Method`) is not a preflight: it goes
/// on to the route (DRF's answer, with `Allow`), and being an OPTIONS from an
/// allowed origin it lists the allowed headers and methods, as the middleware does.
#[tokio::test]
async fn a_plain_options_reaches_the_route() {
    let g = djoser(StoreKind::Memory, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).await;
    let r = g.send("djoser", "OPTIONS", "/djoser/auth/jwt/create/", &[("Origin", SPA)], None).await;
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "the view answered: {r:?}");
    assert!(!r.text.is_empty() && r.json().is_object(), "a DRF body, not the empty preflight answer: {}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(SPA));
    assert_eq!(r.header("access-control-allow-methods"), Some(DEFAULT_METHODS));
    assert_eq!(r.header("access-control-allow-headers"), Some(DEFAULT_HEADERS));
    let m = g.metrics().await;
    assert_eq!(m.sum("polyauth_http_requests_total", &[("dialect", "djoser"), ("route", "(preflight)")]), 0.0);
}

/// Without an allowed origin the mount is served as the legacy project was,
/// without the middleware: preflights reach the routes and nothing varies on
/// `Origin`. `CORS_URLS_REGEX` limits the middleware to the paths it matches.
#[tokio::test]
async fn off_by_default_and_limited_by_the_urls_regex() {
    let g = gateway(StoreKind::Memory).mount("djoser", "/djoser/").start().await;
    let r = preflight(&g, "djoser", "/djoser/auth/jwt/create/", SPA).await;
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "the route answered: {r:?}");
    no_cors(&r);
    assert_eq!(r.header("vary"), Some("Accept"));

    let settings = format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]\nCORS_URLS_REGEX = '^/djoser/auth/jwt/'");
    let g = djoser(StoreKind::Memory, &settings).await;
    let r = preflight(&g, "djoser", "/djoser/auth/jwt/create/", SPA).await;
    assert_eq!((r.status, r.header("access-control-allow-origin")), (200, Some(SPA)));
    let r = preflight(&g, "djoser", "/djoser/auth/users/me/", SPA).await;
    assert_ne!(r.header("content-type"), Some("text/html; charset=utf-8"), "not the preflight answer: {r:?}");
    no_cors(&r);
    assert_eq!(r.header("vary"), Some("Accept"));
}

fn plan_error(dialect: &str, settings: &str) -> (i32, String) {
    let text = format!(
        "dialects_dir = {:?}\n[[mount]]\ndialect = {dialect:?}\nlisten = \"127.0.0.1:0\"\nprefix = \"/api/\"\n[mount.settings]\n{settings}\n",
        crate::support::dialects_dir().display().to_string()
    );
    let config = Config::from_toml_str(&text, std::path::Path::new(".")).expect("config parses");
    match app::plan(config) {
        Ok(_) => (0, String::new()),
        Err(e) => (e.exit_code(), e.to_string()),
    }
}

#[test]
fn settings_it_would_not_accept_stop_the_start_naming_mount_and_key() {
    for d in ["djoser", "simplejwt", "jwt-email", "monta", "food2gether"] {
        assert_eq!(plan_error(d, &format!("CORS_ALLOWED_ORIGINS = [{SPA:?}]")).0, 0, "{d} honours CORS settings");
        let (code, message) = plan_error(d, "CORS_ALLOW_ALL_ORIGINS = true\nCORS_ALLOW_CREDENTIALS = true");
        assert_eq!(code, 64, "{d}: {message}");
        assert!(
            message.contains("CORS_ALLOW_CREDENTIALS") && message.contains(d) && message.contains("/api/"),
            "{message}"
        );
    }
    for (settings, key, why) in [
        ("CORS_ALLOWED_ORIGINS = [\"localhost:5173\"]", "CORS_ALLOWED_ORIGINS", "missing scheme or netloc"),
        ("CORS_ALLOWED_ORIGINS = [\"https://a.example/\"]", "CORS_ALLOWED_ORIGINS", "should not have path"),
        ("CORS_ALLOWED_ORIGIN_REGEXES = ['^https://(?!evil)']", "CORS_ALLOWED_ORIGIN_REGEXES", "regex"),
        ("CORS_ALLOW_ALL_ORIGINS = \"yes\"", "CORS_ALLOW_ALL_ORIGINS", "must be a boolean"),
        ("CORS_PREFLIGHT_MAX_AGE = -5", "CORS_PREFLIGHT_MAX_AGE", "greater than or equal to zero"),
        ("CORS_ORIGIN_WHITELIST = []", "CORS_ORIGIN_WHITELIST", "unknown or unsupported"),
    ] {
        let (code, message) = plan_error("djoser", settings);
        assert_eq!(code, 64, "{settings}: {message}");
        assert!(message.contains(key) && message.contains(why), "{settings}: {message}");
    }
}

/// The refusal through the real binary: exit 64 before anything is bound.
#[test]
fn the_binary_refuses_every_origin_with_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let text = format!(
        "dialects_dir = {:?}\n[[mount]]\ndialect = \"monta\"\nlisten = \"127.0.0.1:0\"\n[mount.settings]\nCORS_ALLOW_ALL_ORIGINS = true\nCORS_ALLOW_CREDENTIALS = true\n",
        crate::support::dialects_dir().display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_polyauth")).arg("serve").arg("--config").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("CORS_ALLOW_CREDENTIALS") && stderr.contains("CORS_ALLOW_ALL_ORIGINS"), "{stderr}");
}
