//! Durable delivery: the request answers at once while the sender retries
//! with backoff through an outage and 4xx answers; a 5xx is final; a mail
//! pending on Redis survives a restart of the real binary and arrives once;
//! two replicas on one Redis deliver each mail exactly once; stopping on the
//! memory store delivers what is queued first.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::djoser::{post, register, D};
use crate::support::ops::{toml_path, Binary};
use crate::support::smtp::{mail_config, reset_link, SmtpServer};
use crate::support::{free_port, gateway, Gw, Redis, StoreKind, ADMIN_TOKEN, SIGNING_KEY};

const WAIT: Duration = Duration::from_secs(20);

async fn request_reset(g: &Gw, email: &str) {
    let r = post(g, "/auth/users/reset_password/", json!({"email": email})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "{}", r.text);
}

async fn outage_then_delivery(kind: StoreKind) {
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await;
    let g = gateway(kind).mount(D, "/djoser/").extra(&mail_config(&smtp.url())).start().await;
    register(&g, "olga", "olga@example.com").await;
    // The request answers as Djoser does, without waiting for the SMTP server.
    request_reset(&g, "olga@example.com").await;
    let pending = g.wait_delivery("olga@example.com", "retrying", WAIT).await;
    assert!(pending["error"].as_str().is_some_and(|e| !e.is_empty()), "{pending}");
    assert!(
        g.metrics().await.get("polyauth_mail_retried_total", &[("dialect", "djoser"), ("kind", "password_reset")])
            >= 1.0
    );
    assert!(smtp.received().is_empty());

    // Back, but busy for one transaction (451): retried again, then delivered.
    smtp.refuse_next(451, 1);
    smtp.restart().await;
    let got = smtp.wait_for(1, WAIT).await;
    let sent = g.wait_delivery("olga@example.com", "sent", WAIT).await;
    let (_, token) = reset_link(&got[0].part("text/plain").unwrap());
    assert_eq!(sent["token"].as_str(), Some(token.as_str()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!((smtp.received().len(), smtp.transactions()), (1, 2), "one 451, one delivery");
}

async fn a_permanent_refusal_is_final(kind: StoreKind) {
    let smtp = SmtpServer::start().await;
    smtp.refuse_next(550, 1);
    let g = gateway(kind).mount(D, "/djoser/").extra(&mail_config(&smtp.url())).start().await;
    register(&g, "pete", "pete@example.com").await;
    request_reset(&g, "pete@example.com").await;
    let failed = g.wait_delivery("pete@example.com", "failed", WAIT).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("550")), "{failed}");
    assert_eq!(failed["attempts"], 1);
    // Several retry periods (retry_max_ms = 400) later: still one transaction, nothing delivered.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!((smtp.transactions(), smtp.received().len()), (1, 0));
    let m = g.metrics().await;
    let labels = [("dialect", "djoser"), ("kind", "password_reset")];
    assert_eq!(m.get("polyauth_mail_failed_total", &[labels[0], labels[1], ("reason", "refused")]), 1.0);
    assert_eq!(m.get("polyauth_mail_retried_total", &labels), 0.0);
    assert_eq!(g.wait_delivery("pete@example.com", "failed", WAIT).await["attempts"], 1);
}

both_stores!(outage_then_delivery, a_permanent_refusal_is_final);

/// The real binary, stopped with SIGTERM while a mail waits for the SMTP
/// server, started again: the mail arrives, once, and its link works.
#[tokio::test]
async fn a_pending_mail_survives_a_restart_on_redis() {
    let redis = Redis::start();
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await;
    let (admin, mount) = (free_port(), free_port());
    let config = format!(
        "dialects_dir = {}\n[store]\nurl = {:?}\n[passwords]\nbcrypt_cost = 4\n{}\
         [admin]\nlisten = \"127.0.0.1:{admin}\"\n[[mount]]\ndialect = \"djoser\"\nlisten = \"127.0.0.1:{mount}\"\n",
        toml_path(&crate::support::dialects_dir()),
        redis.url(),
        // The SMTP URL (a secret) comes from the environment, as in Kubernetes.
        mail_config(&smtp.url()).lines().filter(|l| !l.starts_with("smtp_url")).collect::<Vec<_>>().join("\n") + "\n",
    );
    let smtp_url = smtp.url();
    let env = [
        ("POLYAUTH_LOG_FORMAT", "json"),
        ("POLYAUTH_JWT__SIGNING_KEY", SIGNING_KEY),
        ("POLYAUTH_ADMIN__TOKEN", ADMIN_TOKEN),
        ("POLYAUTH_MAIL__SMTP_URL", smtp_url.as_str()),
    ];
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://127.0.0.1:{mount}/auth/users/{p}");
    let mut first = Binary::start(&config, &format!("127.0.0.1:{admin}"), &env);
    let pw = "Correct-Horse-9";
    let r = http
        .post(url(""))
        .json(&json!({"username": "rita", "password": pw, "re_password": pw, "email": "rita@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http.post(url("reset_password/")).json(&json!({"email": "rita@example.com"})).send().await.unwrap();
    assert_eq!(r.status(), 204);
    // Wait for a failed attempt, logged as one JSON event without body or token.
    let deadline = std::time::Instant::now() + WAIT;
    let attempt = loop {
        let log = first.stderr();
        let events: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        if let Some(e) = events.into_iter().find(|e| e["message"] == "mail delivery") {
            break e;
        }
        assert!(std::time::Instant::now() < deadline, "no delivery attempt logged: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (attempt["outcome"].as_str(), attempt["dialect"].as_str()),
        (Some("retry"), Some("djoser")),
        "{attempt}"
    );
    assert_eq!((attempt["kind"].as_str(), attempt["attempt"].as_u64()), (Some("password_reset"), Some(1)), "{attempt}");
    assert!(attempt["mail_id"].as_str().is_some_and(|id| id.len() == 32), "{attempt}");
    let outbox: Value = http
        .get(format!("http://127.0.0.1:{admin}/outbox?to=rita@example.com"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = outbox[0]["token"].as_str().expect("token").to_owned();
    first.signal("TERM");
    assert_eq!(first.wait_exit(Duration::from_secs(30)), Some(0));
    let log = first.stderr();
    assert!(!log.contains(&token) && !log.contains("You're receiving"), "a log line carries the mail: {log}");
    assert!(log.contains("mails stay queued in the store"), "{log}");
    drop(first);

    // Redis holds the mail sealed: neither the token nor the text is readable there.
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = ::redis::cmd("KEYS").arg("pa:{mailq}:*").query_async(&mut c).await.unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mail_key = keys.iter().find(|k| k.starts_with("pa:{mailq}:m:")).expect("the mail's record");
    let record: std::collections::HashMap<String, String> =
        ::redis::cmd("HGETALL").arg(mail_key).query_async(&mut c).await.unwrap();
    assert_eq!(record.get("state").map(String::as_str), Some("retrying"), "{:?}", record.keys());
    let payload = record.get("payload").expect("a pending mail keeps its payload");
    assert!(payload.len() > 200, "the sealed mail is there");
    let stored: String = record.values().cloned().collect();
    assert!(
        !stored.contains(&token) && !stored.contains("receiving") && !stored.contains("rita"),
        "the queue holds the mail in clear"
    );

    smtp.restart().await;
    let second = Binary::start(&config, &format!("127.0.0.1:{admin}"), &env);
    let got = smtp.wait_for(1, WAIT).await;
    let (uid, linked) = reset_link(&got[0].part("text/plain").unwrap());
    assert_eq!(linked, token);
    let r = http
        .post(url("reset_password_confirm/"))
        .json(&json!({"uid": uid, "token": linked, "new_password": "Battery-Staple-7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.received().len(), 1, "delivered once");
    drop(second);
}

/// Two gateways on one Redis: mails queued on both while the SMTP server is
/// down are all delivered once it is back, each exactly once.
#[tokio::test]
async fn two_replicas_deliver_each_mail_once() {
    let redis = Redis::start();
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await;
    let extra = mail_config(&smtp.url()) + "concurrency = 4\n";
    let a = gateway(StoreKind::Redis).mount(D, "/djoser/").extra(&extra).start_on(&redis.url()).await;
    let b = gateway(StoreKind::Redis).mount(D, "/djoser/").extra(&extra).start_on(&redis.url()).await;
    const N: usize = 12;
    for i in 0..N {
        let g = if i % 2 == 0 { &a } else { &b };
        let email = format!("user{i}@example.com");
        register(g, &format!("user{i}"), &email).await;
        request_reset(g, &email).await;
    }
    let mut tokens = BTreeSet::new();
    for i in 0..N {
        let g = if i % 2 == 0 { &a } else { &b };
        let m = g.wait_delivery(&format!("user{i}@example.com"), "retrying", WAIT).await;
        tokens.insert(m["token"].as_str().unwrap().to_owned());
    }
    smtp.restart().await;
    let got = smtp.wait_for(N, WAIT).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got_again = smtp.received();
    assert_eq!((got_again.len(), smtp.transactions() as usize), (N, N), "each mail exactly once");
    let delivered: BTreeSet<String> = got.iter().map(|m| reset_link(&m.part("text/plain").unwrap()).1).collect();
    assert_eq!(delivered, tokens);
    let labels = [("dialect", "djoser"), ("kind", "password_reset")];
    let sent = a.metrics().await.get("polyauth_mail_sent_total", &labels)
        + b.metrics().await.get("polyauth_mail_sent_total", &labels);
    assert_eq!(sent, N as f64);
    // Each replica sees every mail it queued as sent, whoever delivered it.
    for i in 0..N {
        let g = if i % 2 == 0 { &a } else { &b };
        g.wait_delivery(&format!("user{i}@example.com"), "sent", WAIT).await;
    }
}

/// On the memory store the queue dies with the process: stopping delivers
/// what is queued first, a retry waiting for its turn included.
#[tokio::test]
async fn stopping_on_memory_delivers_the_queue_first() {
    let smtp = SmtpServer::start().await;
    smtp.refuse_next(451, 1);
    let extra = mail_config(&smtp.url()).replace("retry_initial_ms = 100", "retry_initial_ms = 300");
    let g = gateway(StoreKind::Memory).mount(D, "/djoser/").extra(&extra).start().await;
    register(&g, "sam", "sam@example.com").await;
    request_reset(&g, "sam@example.com").await;
    g.wait_delivery("sam@example.com", "retrying", WAIT).await;
    assert!(smtp.received().is_empty());
    tokio::time::timeout(WAIT, g.running.shutdown()).await.expect("shutdown within its budget");
    assert_eq!(smtp.received().len(), 1);
}

/// A reset link is not mailed once its token is dead: a mail that could not go
/// out within `tokens.one_time_ttl_secs` is recorded as failed, never sent late.
#[tokio::test]
async fn a_mail_whose_token_died_is_not_sent_late() {
    let mut smtp = SmtpServer::start().await;
    smtp.stop().await;
    let extra = mail_config(&smtp.url()) + "[tokens]\none_time_ttl_secs = 1\n";
    let g = gateway(StoreKind::Memory).mount(D, "/djoser/").extra(&extra).start().await;
    register(&g, "tina", "tina@example.com").await;
    request_reset(&g, "tina@example.com").await;
    let failed = g.wait_delivery("tina@example.com", "failed", WAIT).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("token")), "{failed}");
    let reason = [("dialect", "djoser"), ("kind", "password_reset"), ("reason", "expired")];
    assert_eq!(g.metrics().await.get("polyauth_mail_failed_total", &reason), 1.0);
    smtp.restart().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(smtp.received().is_empty());
}
