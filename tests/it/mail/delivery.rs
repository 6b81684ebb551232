//! What reaches the SMTP server: Djoser's reset mail with its wording, a text
//! and an HTML part and a link that completes the reset; STARTTLS with AUTH
//! and implicit TLS against a private CA; a mount's own wording and link.

use std::time::Duration;

use serde_json::json;

use crate::support::djoser::{login, post, register, D, PW2};
use crate::support::smtp::{mail_config, reset_link, SmtpServer, SmtpTls};
use crate::support::{gateway, StoreKind};

const WAIT: Duration = Duration::from_secs(20);

async fn reset_mail_completes_the_reset(kind: StoreKind) {
    let smtp = SmtpServer::start().await;
    let g = gateway(kind).mount(D, "/djoser/").extra(&mail_config(&smtp.url())).start().await;
    register(&g, "mia", "mia@example.com").await;
    let r = post(&g, "/auth/users/reset_password/", json!({"email": "mia@example.com"})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));

    let got = smtp.wait_for(1, WAIT).await;
    let m = &got[0];
    assert_eq!(m.to, ["mia@example.com"]);
    assert_eq!(m.from, "noreply@example.com");
    assert_eq!(m.header("From").as_deref(), Some("\"Polyauth Test\" <noreply@example.com>"));
    assert_eq!(m.header("To").as_deref(), Some("mia@example.com"));
    let site = g.addr(D).to_string();
    assert_eq!(m.header("Subject"), Some(format!("Password reset on {site}")));
    assert!(m.header("Content-Type").is_some_and(|c| c.starts_with("multipart/alternative")), "{}", m.data);
    assert!(m.header("Message-ID").is_some_and(|id| id.ends_with("@example.com>")), "{}", m.data);

    // Djoser's wording, with its link built from PASSWORD_RESET_CONFIRM_URL at the site root.
    let text = m.part("text/plain").expect("text part");
    let (uid, token) = reset_link(&text);
    let link = format!("http://{site}/password/reset/confirm/{uid}/{token}");
    assert_eq!(
        text,
        format!(
            "You're receiving this email because you requested a password reset for your user account at {site}.\n\n\
             Please go to the following page and choose a new password:\n{link}\n\
             Your username, in case you've forgotten: mia\n\nThanks for using our site!\n\nThe {site} team"
        )
    );
    let html = m.part("text/html").expect("html part");
    assert_eq!(
        html,
        format!(
            "<p>You're receiving this email because you requested a password reset for your user account at {site}.</p>\n\n\
             <p>Please go to the following page and choose a new password:</p>\n<a href=\"{link}\">{link}</a>\n\
             <p>Your username, in case you've forgotten: <b>mia</b></p>\n\n<p>Thanks for using our site!</p>\n\n\
             <p>The {site} team</p>"
        )
    );

    // The link's uid and token complete the reset, and the new password logs in.
    let r =
        post(&g, "/auth/users/reset_password_confirm/", json!({"uid": uid, "token": token, "new_password": PW2})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    login(&g, "mia", PW2).await;

    // The outbox keeps a copy, with its delivery state, and metrics count it.
    let copy = g.wait_delivery("mia@example.com", "sent", WAIT).await;
    assert_eq!((copy["token"].as_str(), copy["attempts"].as_u64()), (Some(token.as_str()), Some(1)));
    assert_eq!(copy["html"].as_str(), Some(html.as_str()));
    let metrics = g.metrics().await;
    let labels = [("dialect", "djoser"), ("kind", "password_reset")];
    assert_eq!(metrics.get("polyauth_mail_queued_total", &labels), 1.0);
    assert_eq!(metrics.get("polyauth_mail_sent_total", &labels), 1.0);
    assert_eq!(metrics.get("polyauth_mail_queue_depth", &[]), 0.0);
    assert_eq!(smtp.received().len(), 1, "sent once");
}

/// A dialect without an HTML template sends text/plain only, in its own words.
async fn other_dialects_keep_their_texts(kind: StoreKind) {
    let smtp = SmtpServer::start().await;
    let g = gateway(kind).mount("jwt-email", "/").extra(&mail_config(&smtp.url())).start().await;
    let r = g.post_json("jwt-email", "/auth/register/", json!({"email": "jo@example.com", "password": PW2})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = g.post_json("jwt-email", "/auth/reset-password/", json!({"email": "jo@example.com"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = &smtp.wait_for(1, WAIT).await[0];
    assert_eq!(m.header("Subject").as_deref(), Some("Password reset"));
    assert!(m.header("Content-Type").is_some_and(|c| c.starts_with("text/plain")), "{}", m.data);
    assert!(m.part("text/html").is_none());
    let token = g.last_mail_token("jo@example.com").await;
    let base = format!("http://{}", g.addr("jwt-email"));
    assert_eq!(m.part("text/plain").unwrap(), format!("Reset your password: {base}/auth/reset-password/{token}/"));
}

/// With delivery on, a reset for an address nobody has still costs a store
/// round trip where a known one queues its mail: the timing tells nothing.
async fn an_unknown_address_costs_a_round_trip_too(kind: StoreKind) {
    let smtp = SmtpServer::start().await;
    let g = gateway(kind).mount(D, "/djoser/").extra(&mail_config(&smtp.url())).start().await;
    register(&g, "kim", "kim@example.com").await;
    let ops = |m: &crate::support::ops::Exposition| {
        let count = |op| m.get("polyauth_store_operation_duration_seconds_count", &[("op", op)]);
        (count("enqueue_mail"), count("find_mail_status"))
    };
    let before = ops(&g.metrics().await);
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "kim@example.com"})).await.status, 204);
    let known = ops(&g.metrics().await);
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "nobody@example.com"})).await.status, 204);
    let unknown = ops(&g.metrics().await);
    assert_eq!((known.0 - before.0, known.1 - before.1), (1.0, 0.0), "a known address queues its mail");
    assert_eq!((unknown.0 - known.0, unknown.1 - known.1), (0.0, 1.0), "an unknown one reads a status instead");
    smtp.wait_for(1, WAIT).await;
}

both_stores!(
    reset_mail_completes_the_reset,
    other_dialects_keep_their_texts,
    an_unknown_address_costs_a_round_trip_too
);

/// STARTTLS required, AUTH with the URL's credentials, the server's CA from `ca_file`.
#[tokio::test]
async fn starttls_with_auth_and_a_private_ca() {
    let smtp = SmtpServer::start_with(SmtpTls::StartTls, Some(("mailer", "s3cret pass/word"))).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("smtp-ca.pem");
    std::fs::write(&ca, &smtp.ca.as_ref().unwrap().pem).unwrap();
    let url = format!("smtp://mailer:s3cret%20pass%2Fword@127.0.0.1:{}?tls=required", smtp.port);
    let extra = format!("{}ca_file = {:?}\n", mail_config(&url), ca.display().to_string());
    let g = gateway(StoreKind::Memory).mount(D, "/djoser/").extra(&extra).start().await;
    register(&g, "tess", "tess@example.com").await;
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "tess@example.com"})).await.status, 204);
    let m = &smtp.wait_for(1, WAIT).await[0];
    assert!(m.tls, "the conversation ran over TLS");
    assert_eq!(m.user.as_deref(), Some("mailer"));
}

/// `smtps://`: TLS from the first byte; a wrong password is a permanent refusal.
#[tokio::test]
async fn implicit_tls_and_a_refused_login() {
    let smtp = SmtpServer::start_with(SmtpTls::Implicit, Some(("mailer", "right-password-0123"))).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &smtp.ca.as_ref().unwrap().pem).unwrap();
    let ca_line = format!("ca_file = {:?}\n", ca.display().to_string());
    let good = format!("smtps://mailer:right-password-0123@127.0.0.1:{}", smtp.port);
    let g = gateway(StoreKind::Memory).mount(D, "/djoser/").extra(&(mail_config(&good) + &ca_line)).start().await;
    register(&g, "uma", "uma@example.com").await;
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "uma@example.com"})).await.status, 204);
    let m = &smtp.wait_for(1, WAIT).await[0];
    assert!(m.tls && m.user.as_deref() == Some("mailer"));

    let bad = format!("smtps://mailer:wrong-password-0123@127.0.0.1:{}", smtp.port);
    let g = gateway(StoreKind::Memory).mount(D, "/djoser/").extra(&(mail_config(&bad) + &ca_line)).start().await;
    register(&g, "val", "val@example.com").await;
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "val@example.com"})).await.status, 204);
    let failed = g.wait_delivery("val@example.com", "failed", WAIT).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("535")), "{failed}");
    assert_eq!(smtp.received().len(), 1);
}

/// A mount words a mail its own way (`[mount.mail.<kind>]`) and moves its link
/// (`PASSWORD_RESET_CONFIRM_URL`); an unknown mail kind stops the start.
#[tokio::test]
async fn a_mount_words_its_mails_and_links() {
    let smtp = SmtpServer::start().await;
    let g = gateway(StoreKind::Memory)
        .mount_with_settings(D, "/djoser/", "DJOSER = { PASSWORD_RESET_CONFIRM_URL = \"#/reset/{uid}/{token}\" }")
        .extra(&mail_config(&smtp.url()))
        .tail("[mount.mail.password_reset]\nsubject = \"Your {site_name} password\"\nhtml = \"\"")
        .start()
        .await;
    register(&g, "wes", "wes@example.com").await;
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "wes@example.com"})).await.status, 204);
    let m = &smtp.wait_for(1, WAIT).await[0];
    let site = g.addr(D).to_string();
    assert_eq!(m.header("Subject"), Some(format!("Your {site} password")));
    assert!(m.part("text/html").is_none(), "html = \"\" drops the HTML part");
    let text = m.part("text/plain").unwrap();
    assert!(text.contains(&format!("http://{site}/#/reset/")), "{text}");
    assert!(text.starts_with("You're receiving this email"), "the body stays Djoser's: {text}");

    let bad = gateway(StoreKind::Memory).mount(D, "/djoser/").tail("[mount.mail.activation_typo]\nsubject = \"x\"");
    let bad = bad.config_text("memory://");
    let config = polyauth::config::Config::from_toml_str(&bad, std::path::Path::new(".")).unwrap();
    let err = polyauth::app::plan(config).err().expect("refused");
    assert_eq!(err.exit_code(), 64);
    let msg = err.to_string();
    assert!(msg.contains("[mount.mail.activation_typo]") && msg.contains("password_reset"), "{msg}");
    let bad = gateway(StoreKind::Memory).mount(D, "/djoser/").tail("[mount.mail.password_reset]\nsubject = \"{nope}\"");
    let bad = bad.config_text("memory://");
    let config = polyauth::config::Config::from_toml_str(&bad, std::path::Path::new(".")).unwrap();
    let msg = polyauth::app::plan(config).err().expect("refused").to_string();
    assert!(msg.contains("unknown placeholder {nope}"), "{msg}");
}

/// A bad `smtp_url` or `from` stops the start (exit 64) without showing the password.
#[tokio::test]
async fn bad_mail_config_is_refused_at_load() {
    for (mail, needle) in [
        ("smtp_url = \"http://u:hunter2-pw@h\"", "mail.smtp_url"),
        ("smtp_url = \"smtp://u:hunter2-pw@h?tls=sometimes\"", "tls="),
        ("from = \"not an address\"", "mail.from"),
        ("smtp_url = \"smtp://h\"\nretry_initial_ms = 0", "positive"),
        ("smtp_url = \"smtp://h\"\nbogus = 1", "bogus"),
        // Every secret is at least 16 bytes, the SMTP password too.
        ("smtp_url = \"smtp://u:hunter2-pw@h\"", "at least 16"),
    ] {
        let text = gateway(StoreKind::Memory).mount(D, "/").extra(&format!("[mail]\n{mail}")).config_text("memory://");
        let err = polyauth::config::Config::from_toml_str(&text, std::path::Path::new(".")).expect_err(mail);
        let msg = err.to_string();
        assert!(msg.contains(needle) && !msg.contains("hunter2"), "{mail}: {msg}");
    }
    let text = gateway(StoreKind::Memory)
        .mount(D, "/")
        .extra("[mail]\nsmtp_url = \"smtp://mailer:hunter2-pw-0123456@h:2525\"")
        .config_text("memory://");
    let config = polyauth::config::Config::from_toml_str(&text, std::path::Path::new(".")).unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}
