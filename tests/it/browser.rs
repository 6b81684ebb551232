//! CORS proven in a real browser: a page (`tests/data/browser/cors.html`)
//! served from one origin logs in through Djoser and reads `users/me/`, logs in
//! through Monta reading the token from the `Authorization` response header and
//! verifies it, and registers and logs in through food2gether, all against
//! polyauth on other origins. The same page from an origin the mounts do not
//! allow is blocked by the browser. The assertions are on what the page itself
//! observed (written into its DOM, dumped by headless Chromium). One browser
//! launch per origin.

use serde_json::{json, Value};

use crate::support::browser::{dump_dom, element_text, PageServer};
use crate::support::{gateway, Gw, StoreKind};

const PW: &str = "Correct-Horse-9";

/// Djoser (with credentials), Monta and food2gether, each on its own origin,
/// allowing `allowed`; and a page server whose page calls them.
async fn setup(allowed: &str, page: &mut PageServer) -> Gw {
    let origins = format!("CORS_ALLOWED_ORIGINS = [{allowed:?}]");
    let g = gateway(StoreKind::Memory)
        .mount_with_settings("djoser", "/", &format!("{origins}\nCORS_ALLOW_CREDENTIALS = true"))
        .mount_with_settings("monta", "/", &origins)
        .mount_with_settings("food2gether", "/", &origins)
        .start()
        .await;
    let config = json!({
        "djoser": format!("http://{}", g.addr("djoser")),
        "monta": format!("http://{}", g.addr("monta")),
        "food2gether": format!("http://{}", g.addr("food2gether")),
        "user": {"username": "bea", "email": "bea@example.com", "password": PW, "f2g_email": "fig@example.com"},
    });
    let template = include_str!("../data/browser/cors.html");
    assert!(template.contains("/*CONFIG*/null"));
    page.serve(template.replace("/*CONFIG*/null", &config.to_string()));
    g
}

/// Loads the page in Chromium; returns what it wrote into `#result`.
async fn observe(page: &PageServer) -> Value {
    let url = format!("{}/", page.origin);
    let dom = tokio::task::spawn_blocking(move || dump_dom(&url)).await.expect("browser run");
    let text = element_text(&dom, "result").unwrap_or_else(|| panic!("no #result in the DOM:\n{dom}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the page did not finish ({e}): {text:?}"))
}

#[track_caller]
fn status(seen: &Value, step: &str) -> u64 {
    seen[step]["status"].as_u64().unwrap_or_else(|| panic!("{step}: no answer reached the page: {}", seen[step]))
}

#[tokio::test]
async fn a_page_on_an_allowed_origin_uses_every_dialect() {
    let mut page = PageServer::bind().await;
    let _g = setup(&page.origin.clone(), &mut page).await;
    let seen = observe(&page).await;
    assert!(seen.get("page_error").is_none(), "{seen}");

    // Djoser: register, log in, users/me/ with the token (credentials mode).
    assert_eq!(status(&seen, "djoser_register"), 201, "{seen}");
    assert_eq!(status(&seen, "djoser_login"), 200, "{seen}");
    let me = &seen["djoser_me"];
    assert_eq!(status(&seen, "djoser_me"), 200, "{seen}");
    assert_eq!(me["body"]["username"], "bea");
    assert_eq!(me["body"]["email"], "bea@example.com");
    // Errors reach the page with their status and body.
    assert_eq!(status(&seen, "djoser_me_bad_token"), 401);
    assert_eq!(seen["djoser_me_bad_token"]["body"], json!({"detail": "Invalid token."}));
    assert_eq!(status(&seen, "djoser_not_found"), 404);

    // Monta: the token read from the exposed `Authorization` header, equal to the body's, verified.
    assert_eq!(status(&seen, "monta_login"), 200, "{seen}");
    let body_token = seen["monta_login"]["body"]["token"].as_str().expect("token in the body");
    assert_eq!(seen["monta_login"]["authorization"], format!("Token {body_token}"), "the page read the header");
    assert_eq!(status(&seen, "monta_verify"), 200, "{seen}");
    assert_eq!(status(&seen, "monta_verify_post"), 200, "{seen}");

    // food2gether: register, the duplicate's 409 envelope, login with Basic.
    assert_eq!(status(&seen, "f2g_register"), 201, "{seen}");
    assert!(seen["f2g_register"]["body"]["data"]["token"].is_string());
    assert_eq!(status(&seen, "f2g_register_again"), 409);
    assert_eq!(seen["f2g_register_again"]["body"]["error"]["message_key"], "registration.failed");
    assert_eq!(status(&seen, "f2g_login"), 200, "{seen}");
    assert!(seen["f2g_login"]["body"]["data"]["token"].is_string());
    // Not exposed by food2gether: the header, if any, stays hidden from the page.
    assert_eq!(seen["f2g_login"]["authorization"], Value::Null);
}

#[tokio::test]
async fn the_same_page_on_another_origin_is_blocked_by_the_browser() {
    let mut page = PageServer::bind().await;
    // The mounts allow an origin; the page is served from another one.
    let g = setup("http://localhost:5173", &mut page).await;
    let seen = observe(&page).await;
    let steps = seen.as_object().expect("steps");
    assert_eq!(steps.len(), 11, "every step ran: {seen}");
    for (step, out) in steps {
        let error = out["error"].as_str().unwrap_or_else(|| panic!("{step} reached the page: {out}"));
        assert!(error.starts_with("TypeError"), "{step}: {error}");
    }
    // The server did answer (the preflights, and the simple GET of an unknown
    // path): it is the browser that kept the answers from the page.
    let m = g.metrics().await;
    assert!(m.sum("polyauth_http_requests_total", &[("route", "(preflight)"), ("status", "200")]) >= 3.0);
    assert_eq!(m.get("polyauth_http_requests_total", &[("dialect", "djoser"), ("route", "-"), ("status", "404")]), 1.0);
}
