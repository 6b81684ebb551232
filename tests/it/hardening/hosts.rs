//! Host-header poisoning: a mount answers only the hosts its ALLOWED_HOSTS
//! names (Django's 400 page otherwise, as Django 5.2 answers DisallowedHost),
//! and mail links come from configured values or a Host that an entry named,
//! never from a header that only "*" let in.

use serde_json::json;

use crate::support::djoser::PW;
use crate::support::{gateway, jwt_email, StoreKind};

const BAD_REQUEST: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n";

#[tokio::test]
async fn a_host_not_allowed_gets_djangos_400_page_on_every_dialect() {
    let g = gateway(StoreKind::Memory)
        .mount_with_settings("djoser", "/", "ALLOWED_HOSTS = [\".example.com\"]")
        .mount_with_settings("simplejwt", "/", "ALLOWED_HOSTS = [\"api.example.com\"]")
        .mount_with_settings("jwt-email", "/", "ALLOWED_HOSTS = [\"api.example.com\"]")
        .mount_with_settings("monta", "/", "ALLOWED_HOSTS = [\"api.example.com\"]")
        .mount_with_settings("food2gether", "/", "ALLOWED_HOSTS = [\"api.example.com\"]")
        .start()
        .await;
    for d in ["djoser", "simplejwt", "jwt-email", "monta"] {
        for (path, method) in [("/auth/users/reset_password/", "POST"), ("/nope", "GET")] {
            let r = g.send(d, method, path, &[("Host", "attacker.example")], Some(b"{}")).await;
            assert_eq!(r.status, 400, "{d} {path}: {}", r.text);
            assert_eq!(r.text, BAD_REQUEST, "{d}");
            assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
            assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
            assert_eq!(r.header("x-frame-options"), None, "Django answers before XFrameOptionsMiddleware");
        }
    }
    let r = g.send("food2gether", "POST", "/api/v1/authentication/", &[("Host", "evil.example")], Some(b"{}")).await;
    r.expect(400, json!({"success": false, "error": {"code": 400, "message_key": "host.notallowed"}}));
    // Allowed names: exact, subdomain pattern, any case, with a port.
    let r = g.send("djoser", "GET", "/auth/users/me/", &[("Host", "API.Example.com:8443")], None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = g.send("simplejwt", "GET", "/auth/getuser", &[("Host", "api.example.com")], None).await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = g.send("simplejwt", "GET", "/auth/getuser", &[("Host", "example.com")], None).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn mail_links_never_follow_an_unchecked_host() {
    // Default ALLOWED_HOSTS ("*"): any host is answered, links use the listener's address.
    let g = jwt_email::gw(StoreKind::Memory).await;
    jwt_email::register(&g, "ho@example.com", "Secr3t-pass!").await;
    let body = br#"{"email":"ho@example.com"}"#;
    let headers = [("Host", "attacker.example"), ("Content-Type", "application/json")];
    let r = g.send(jwt_email::D, "POST", jwt_email::RESET, &headers, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = g.outbox("ho@example.com").await.pop().unwrap();
    let text = mail["body"].as_str().unwrap();
    assert!(!text.contains("attacker"), "{text}");
    assert!(text.contains(&format!("http://{}/jwtemail/auth/reset-password/", g.addr(jwt_email::D))), "{text}");

    // A named host is used as Django would; a configured public_url wins over it.
    let named = jwt_email::builder(StoreKind::Memory)
        .mount_with_settings("djoser", "/djoser/", "ALLOWED_HOSTS = [\"id.example.com\"]")
        .start()
        .await;
    let body = json!({"username": "nm", "password": PW, "re_password": PW, "email": "nm@example.com"}).to_string();
    let headers = [("Host", "id.example.com"), ("Content-Type", "application/json")];
    let r = named.send("djoser", "POST", "/djoser/auth/users/", &headers, Some(body.as_bytes())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = named
        .send(
            "djoser",
            "POST",
            "/djoser/auth/users/reset_password/",
            &[("Host", "id.example.com"), ("Content-Type", "application/json")],
            Some(br#"{"email":"nm@example.com"}"#),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let text = named.outbox("nm@example.com").await.pop().unwrap()["body"].as_str().unwrap().to_owned();
    assert!(text.contains("http://id.example.com/password/reset/confirm/"), "{text}");
    assert!(text.contains("at id.example.com"), "{text}");
}

#[tokio::test]
async fn djoser_domain_and_site_name_and_public_url_build_the_links() {
    let dir = crate::support::dialects_dir();
    let text = format!(
        "dialects_dir = {:?}\n[store]\nurl = \"memory://\"\n[jwt]\nsigning_key = {:?}\n[passwords]\nbcrypt_cost = 4\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = {:?}\n\
         [[mount]]\ndialect = \"djoser\"\nlisten = \"127.0.0.1:0\"\nprefix = \"/\"\n[mount.settings]\nDOMAIN = \"app.example.com\"\nSITE_NAME = \"Example\"\n[mount.settings.DJOSER]\nEMAIL_FRONTEND_PROTOCOL = \"https\"\n\
         [[mount]]\ndialect = \"jwt-email\"\nlisten = \"127.0.0.1:0\"\nprefix = \"/\"\npublic_url = \"https://auth.example.org/jwt/\"\n",
        dir.display().to_string(),
        crate::support::SIGNING_KEY,
        crate::support::ADMIN_TOKEN
    );
    let config = polyauth::config::Config::from_toml_str(&text, std::path::Path::new(".")).unwrap();
    let running = polyauth::app::start(polyauth::app::plan(config).unwrap()).await.unwrap();
    let g = crate::support::Gw { running, redis: None, http: reqwest::Client::new() };
    let body = json!({"username": "dm", "password": PW, "re_password": PW, "email": "dm@example.com"});
    let r = g.post_json("djoser", "/auth/users/", body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = g
        .send(
            "djoser",
            "POST",
            "/auth/users/reset_password/",
            &[("Host", "attacker.example"), ("Content-Type", "application/json")],
            Some(br#"{"email":"dm@example.com"}"#),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let mail = g.outbox("dm@example.com").await.pop().unwrap();
    assert_eq!(mail["subject"], "Password reset on Example");
    assert!(
        mail["body"].as_str().unwrap().contains("https://app.example.com/password/reset/confirm/"),
        "{}",
        mail["body"]
    );
    let r = g
        .post_json("jwt-email", "/auth/register/", json!({"email": "pu@example.com", "password": "Secr3t-pass!"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = g
        .send(
            "jwt-email",
            "POST",
            "/auth/reset-password/",
            &[("Host", "attacker.example"), ("Content-Type", "application/json")],
            Some(br#"{"email":"pu@example.com"}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = g.outbox("pu@example.com").await.pop().unwrap()["body"].as_str().unwrap().to_owned();
    assert!(body.contains("https://auth.example.org/jwt/auth/reset-password/"), "{body}");
}
