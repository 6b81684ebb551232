//! `[mount.settings]`: the legacy project's Django settings on a mount, by
//! their own names. A declared setting changes behaviour; anything else stops
//! the gateway before it binds (exit 64), naming the mount and the key.

mod simplejwt;

use serde_json::json;

use crate::support::djoser::{jwt_pair, post, register, D, PW};
use crate::support::{gateway, StoreKind};
use polyauth::app;
use polyauth::config::Config;

/// Djoser's SimpleJWT does not rotate by default; `ROTATE_REFRESH_TOKENS` on the
/// mount turns rotation (with the blacklist) on, for that mount only.
async fn rotation_follows_the_mount_setting(kind: StoreKind) {
    let plain = crate::support::djoser::gw(kind).await;
    register(&plain, "alice", "").await;
    let (_, refresh) = jwt_pair(&plain, "alice", PW).await;
    for _ in 0..2 {
        let r = post(&plain, "/auth/jwt/refresh/", json!({ "refresh": refresh })).await;
        assert_eq!(r.status, 200, "the default mount does not rotate: {}", r.text);
    }

    let rotating =
        gateway(kind).mount_with_settings(D, "/djoser/", "SIMPLE_JWT = { ROTATE_REFRESH_TOKENS = true }").start().await;
    register(&rotating, "alice", "").await;
    let (_, refresh) = jwt_pair(&rotating, "alice", PW).await;
    let first = post(&rotating, "/auth/jwt/refresh/", json!({ "refresh": refresh })).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = post(&rotating, "/auth/jwt/refresh/", json!({ "refresh": refresh })).await;
    again.expect(401, json!({"detail": "Token is blacklisted", "code": "token_not_valid"}));
}

both_stores!(rotation_follows_the_mount_setting);

fn plan_error(settings: &str) -> (i32, String) {
    let text = format!(
        "dialects_dir = {:?}\n[[mount]]\ndialect = \"djoser\"\nlisten = \"127.0.0.1:0\"\nprefix = \"/api/\"\n[mount.settings]\n{settings}\n",
        crate::support::dialects_dir().display().to_string()
    );
    let config = Config::from_toml_str(&text, std::path::Path::new(".")).expect("config parses");
    match app::plan(config) {
        Ok(_) => (0, String::new()),
        Err(e) => (e.exit_code(), e.to_string()),
    }
}

#[test]
fn an_unknown_or_mistyped_setting_exits_64_naming_mount_and_key() {
    assert_eq!(plan_error("SIMPLE_JWT = { ROTATE_REFRESH_TOKENS = true }").0, 0);
    for (settings, key, why) in [
        ("SIMPLE_JWT = { ROTATE_REFRESH_TOKEN = true }", "SIMPLE_JWT.ROTATE_REFRESH_TOKEN", "unknown or unsupported"),
        ("SIMPLE_JWT = { ROTATE_REFRESH_TOKENS = \"yes\" }", "SIMPLE_JWT.ROTATE_REFRESH_TOKENS", "must be a boolean"),
        ("SECRET_KEY_FALLBACKS = []", "SECRET_KEY_FALLBACKS", "unknown or unsupported"),
        ("WAGTAIL = { X = 1 }", "WAGTAIL", "unknown or unsupported"),
    ] {
        let (code, message) = plan_error(settings);
        assert_eq!(code, 64, "{settings}: {message}");
        assert!(message.contains(key) && message.contains(why), "{settings}: {message}");
        assert!(message.contains("djoser") && message.contains("/api/"), "names the mount: {message}");
    }
}

#[test]
fn djoser_and_simplejwt_typos_exit_64() {
    for (settings, key, why) in [
        ("DJOSER = { HIDE_USER = false }", "DJOSER.HIDE_USER", "unknown or unsupported"),
        ("DJOSER = { SEND_ACTIVATION_EMAIL = \"yes\" }", "DJOSER.SEND_ACTIVATION_EMAIL", "must be a boolean"),
        ("SIMPLE_JWT = { ACCESS_TOKEN_LIFETIME = \"soon\" }", "SIMPLE_JWT.ACCESS_TOKEN_LIFETIME", "duration"),
        ("SIMPLE_JWT = { LEEWAY = -5 }", "SIMPLE_JWT.LEEWAY", "duration"),
        ("SIMPLE_JWT = { AUTH_HEADER_TYPES = \"Bearer\" }", "SIMPLE_JWT.AUTH_HEADER_TYPES", "must be an array"),
        ("SIMPLE_JWT = { ALGORITHM = \"RS256\" }", "SIMPLE_JWT.ALGORITHM", "unknown or unsupported"),
        ("POLYAUTH = { TOKEN_BLACKLIST = true }", "POLYAUTH.TOKEN_BLACKLIST", "unknown or unsupported"),
    ] {
        let (code, message) = plan_error(settings);
        assert_eq!(code, 64, "{settings}: {message}");
        assert!(message.contains(key) && message.contains(why), "{settings}: {message}");
        assert!(message.contains("djoser") && message.contains("/api/"), "names the mount: {message}");
    }
    // Values the settings accept but the dialect cannot use also stop the start.
    for (settings, why) in [
        ("SIMPLE_JWT = { AUTH_HEADER_TYPES = [] }", "AUTH_HEADER_TYPES has no element 0"),
        ("DJOSER = { LOGIN_FIELD = \"phone\" }", "phone"),
        ("DJOSER = { ACTIVATION_URL = \"activate/{key}\" }", "unknown placeholder {key}"),
        ("SIMPLE_JWT = { SIGNING_KEY = \"tiny-secret-x\" }", "SIGNING_KEY is 13 bytes; it must be at least 16"),
    ] {
        let (code, message) = plan_error(settings);
        assert_eq!(code, 64, "{settings}: {message}");
        assert!(message.contains(why), "{settings}: {message}");
        assert!(!message.contains("tiny-secret-x"), "a key is never printed: {message}");
    }
    // Nor Debug-printed with the config.
    let text = "[[mount]]\ndialect = \"djoser\"\nlisten = \"127.0.0.1:0\"\n[mount.settings.SIMPLE_JWT]\nSIGNING_KEY = \"the-legacy-projects-signing-key-123\"\n";
    let config = Config::from_toml_str(text, std::path::Path::new(".")).expect("config parses");
    let shown = format!("{config:?}");
    assert!(shown.contains("SIMPLE_JWT") && !shown.contains("the-legacy-projects"), "{shown}");
}
