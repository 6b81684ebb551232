//! Users from outside the dialects: the seed file (idempotent) and `polyauth users add`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{gateway, Redis, StoreKind};
use serde_json::json;

async fn simplejwt_login(running: &polyauth::app::Running, username: &str, password: &str) -> u16 {
    let url = format!("http://{}/auth/token", running.addr_of("simplejwt").unwrap());
    let body = json!({"username": username, "password": password});
    reqwest::Client::new().post(url).json(&body).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn seed_file_is_loaded_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("users.toml");
    std::fs::write(
        &seed,
        "[[user]]\nusername = \"seeded\"\nemail = \"seeded@example.com\"\npassword = \"seed-pass\"\nemail_verified = true\n",
    )
    .unwrap();
    let redis = Redis::start();
    let extra = format!("[users]\nseed_file = {:?}", seed.display().to_string());
    for round in 0..2 {
        // Two starts against one Redis: the second finds the user and leaves it alone.
        let b = gateway(StoreKind::Memory).mount("simplejwt", "/").extra(&extra);
        let text = b.config_text(&redis.url());
        let config = polyauth::config::Config::from_toml_str(&text, dir.path()).unwrap();
        let running = polyauth::app::start(polyauth::app::plan(config).unwrap()).await.unwrap();
        let user = running.engine.find_user(1).await.unwrap().expect("seeded user");
        assert!(user.email_verified);
        assert!(running.engine.find_user(2).await.unwrap().is_none(), "round {round}: no duplicate");
        assert_eq!(simplejwt_login(&running, "seeded", "seed-pass").await, 200);
        running.shutdown().await;
    }
}

#[tokio::test]
async fn users_add_writes_to_the_configured_store() {
    let redis = Redis::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nurl = {:?}\n[jwt]\nsigning_key = {:?}\n[passwords]\nbcrypt_cost = 4\n",
            redis.url(),
            crate::support::SIGNING_KEY
        ),
    )
    .unwrap();
    let add = |password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_polyauth"))
            .args([
                "users",
                "add",
                "--username",
                "cli-user",
                "--email",
                "cli@example.com",
                "--password-stdin",
                "--config",
            ])
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = add("cli-pass\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("id 1"), "{stdout}");
    assert!(!stderr.contains("cli-pass"), "the password is never printed");
    let (code, _, stderr) = add("other\n");
    assert_ne!(code, Some(0), "a duplicate is refused");
    assert!(stderr.contains("username taken"), "{stderr}");
    let (code, _, _) = add("");
    assert_eq!(code, Some(65), "an empty password is refused");

    // The user logs in through a gateway on the same store.
    let b = gateway(StoreKind::Memory).mount("simplejwt", "/");
    let text = b.config_text(&redis.url());
    let cfg = polyauth::config::Config::from_toml_str(&text, dir.path()).unwrap();
    let running = polyauth::app::start(polyauth::app::plan(cfg).unwrap()).await.unwrap();
    assert_eq!(simplejwt_login(&running, "cli-user", "cli-pass").await, 200);
    running.shutdown().await;
}
