//! Logs of the real binary in JSON (chosen by the environment over the file):
//! one parseable object per line, one event per request with its fields, and
//! never a password, token, key or Authorization header.

use std::time::Duration;

use crate::support::ops::{toml_path, Binary};
use crate::support::{free_port, ADMIN_TOKEN, SIGNING_KEY};
use serde_json::{json, Value};

const PASSWORD: &str = "Pw-never-logged-7731";

#[tokio::test]
async fn json_logs_carry_requests_and_no_secret() {
    let (admin, mount) = (free_port(), free_port());
    let config = format!(
        "log_format = \"text\"\ndialects_dir = {}\n[store]\nurl = \"memory://\"\n[passwords]\nbcrypt_cost = 4\n\
         [admin]\nlisten = \"127.0.0.1:{admin}\"\n[[mount]]\ndialect = \"simplejwt\"\nlisten = \"127.0.0.1:{mount}\"\n",
        toml_path(&crate::support::dialects_dir()),
    );
    // Secrets from the environment, as the Kubernetes example passes them.
    let env = [
        ("POLYAUTH_LOG_FORMAT", "json"),
        ("POLYAUTH_JWT__SIGNING_KEY", SIGNING_KEY),
        ("POLYAUTH_ADMIN__TOKEN", ADMIN_TOKEN),
    ];
    let mut bin = Binary::start(&config, &format!("127.0.0.1:{admin}"), &env);
    let http = reqwest::Client::new();
    let url = |p: &str| format!("http://127.0.0.1:{mount}{p}");

    let r = http.post(url("/auth/register")).json(&json!({"username": "logan", "password": PASSWORD})).send().await;
    assert_eq!(r.unwrap().status(), 201);
    let r = http
        .post(url("/auth/token"))
        .header("X-Request-Id", "req-login-1")
        .json(&json!({"username": "logan", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-login-1");
    let pair: Value = r.json().await.unwrap();
    let (access, refresh) = (pair["access"].as_str().unwrap(), pair["refresh"].as_str().unwrap());
    let wrong = http.post(url("/auth/token")).json(&json!({"username": "logan", "password": "wrong-Pw-9"})).send();
    assert_eq!(wrong.await.unwrap().status(), 401);
    let me = http.get(url("/auth/getuser")).bearer_auth(access).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let verify = http.post(url("/auth/token/verify")).json(&json!({"token": refresh})).send().await.unwrap();
    assert_eq!(verify.status(), 200);
    // A token in a path that matches no route, and a bad token in the header.
    assert_eq!(http.get(url(&format!("/auth/{access}"))).send().await.unwrap().status(), 404);
    let bad = http.get(url("/auth/getuser")).header("Authorization", format!("Bearer {refresh}x")).send();
    assert_eq!(bad.await.unwrap().status(), 401);
    let outbox = http.get(format!("http://127.0.0.1:{admin}/outbox")).bearer_auth(ADMIN_TOKEN).send();
    assert_eq!(outbox.await.unwrap().status(), 200);

    bin.signal("TERM");
    assert_eq!(bin.wait_exit(Duration::from_secs(30)), Some(0));
    let log = bin.stderr();

    let events: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect();
    let requests: Vec<&Value> = events.iter().filter(|e| e["message"] == "request").collect();
    assert_eq!(requests.len(), 7, "one event per dialect request:\n{log}");
    for r in &requests {
        for field in ["timestamp", "level", "request_id", "method", "dialect", "route", "status", "latency_ms"] {
            assert!(!r[field].is_null(), "{field} missing in {r}");
        }
    }
    let login = requests.iter().find(|r| r["request_id"] == "req-login-1").expect("the login's event");
    assert_eq!(
        (&login["dialect"], &login["route"], &login["method"], &login["status"]),
        (&json!("simplejwt"), &json!("token_obtain_pair"), &json!("POST"), &json!(200))
    );
    assert!(requests.iter().any(|r| r["route"] == "-" && r["status"] == 404));
    assert!(requests.iter().all(|r| r["latency_ms"].is_f64()), "latency is a number");
    assert!(events.iter().any(|e| e["message"] == "stopped"), "no shutdown event:\n{log}");

    for secret in [PASSWORD, "wrong-Pw-9", access, refresh, SIGNING_KEY, ADMIN_TOKEN, "Bearer", "$2b$"] {
        assert!(!log.contains(secret), "the log carries a secret ({}…):\n{log}", &secret[..4]);
    }
    // Tokens are long: no 24-character stretch of one may appear either (no partial leak).
    for token in [access, refresh] {
        for start in (0..token.len() - 24).step_by(8) {
            assert!(!log.contains(&token[start..start + 24]), "part of a token is in the log");
        }
    }
}
