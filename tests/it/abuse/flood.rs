//! Floods of concurrent wrong-password logins. Assertions are on refusals and
//! counts, never on timings: what matters is that the flood is refused at once
//! (no queue of hashes builds up) while tokens keep being checked and genuine
//! logins keep working. `scripts/flood.sh` measures the latencies.

use std::time::{Duration, Instant};

use crate::support::abuse::{all_dialects, LoginRoute};
use crate::support::{bearer, Gw, Res, StoreKind};
use polyauth::secret::Secret;
use serde_json::json;

async fn getuser(g: &Gw, access: &str) -> Res {
    g.send("simplejwt", "GET", "/auth/getuser", &[("Authorization", &bearer(access))], None).await
}

async fn flood(g: &Gw, n: usize, make: impl Fn(usize) -> (String, String, String)) -> Vec<Res> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (name, password, xff) = make(i);
            let (http, url) = (g.http.clone(), g.url("simplejwt", "/auth/token"));
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .header("X-Forwarded-For", xff)
                    .json(&json!({"username": name, "password": password}))
                    .send()
                    .await
                    .expect("send");
                crate::support::read(r).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// 200 concurrent wrong passwords for one account: five are checked, the rest
/// refused by the lockout before bcrypt; another user logs in, tokens work.
async fn a_flood_on_one_account_is_cut_at_five(kind: StoreKind) {
    let g = all_dialects(kind, "ban_secs = 120\n").start().await;
    let e = &g.running.engine;
    e.create_user("victim", "", &Secret::new("victim-pw")).await.unwrap();
    e.create_user("genuine", "", &Secret::new("genuine-pw")).await.unwrap();
    let r = LoginRoute::SimpleJwt.login(&g, "genuine", "", "genuine-pw").await;
    let access = r.json()["access"].as_str().unwrap().to_owned();

    let (attack, check) =
        tokio::join!(flood(&g, 200, |i| ("victim".into(), format!("guess-{i}"), "-".into())), getuser(&g, &access));
    assert_eq!(check.status, 200, "a token check during the flood");
    let count = |s: u16| attack.iter().filter(|r| r.status == s).count();
    assert_eq!((count(401), count(429)), (5, 195), "five checked, the rest locked out");
    for r in attack.iter().filter(|r| r.status == 429) {
        assert!(r.header("retry-after").is_some());
    }
    let genuine = LoginRoute::SimpleJwt.login(&g, "genuine", "", "genuine-pw").await;
    assert_eq!(genuine.status, 200, "{}", genuine.text);
    assert_eq!(getuser(&g, &access).await.status, 200);
    let m = g.metrics().await;
    assert_eq!(m.get("polyauth_password_hash_rejections_total", &[]), 0.0, "the queue never filled");
}

both_stores!(a_flood_on_one_account_is_cut_at_five);

/// A distributed flood (every request from another address, for another
/// name), so the lockout cannot cut it: the bounded queue refuses what does
/// not fit at once with 503 and `Retry-After`, tokens are checked meanwhile,
/// and a genuine login works as soon as the flood is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_flood_is_refused_at_the_queue() {
    let g = all_dialects(StoreKind::Memory, "")
        .extra("[server]\ntrusted_proxies = 1")
        // A real cost: each of the flood's dummy verifications takes a while.
        .passwords("bcrypt_cost = 8\nmax_concurrent_hashes = 1\nmax_queued_hashes = 2")
        .start()
        .await;
    let e = &g.running.engine;
    e.create_user("genuine", "", &Secret::new("genuine-pw")).await.unwrap();
    let r = LoginRoute::SimpleJwt.login(&g, "genuine", "", "genuine-pw").await;
    let access = r.json()["access"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let attack = tokio::spawn({
        let g_http = g.http.clone();
        let url = g.url("simplejwt", "/auth/token");
        async move {
            let tasks: Vec<_> = (0..150)
                .map(|i| {
                    let (http, url) = (g_http.clone(), url.clone());
                    tokio::spawn(async move {
                        let r = http
                            .post(url)
                            .header("X-Forwarded-For", format!("198.51.{}.{}", i / 250, i % 250 + 1))
                            .json(&json!({"username": format!("bot-{i}"), "password": "x"}))
                            .send()
                            .await
                            .expect("send");
                        crate::support::read(r).await
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        }
    });
    // While the flood is inside the gateway, a token check is answered.
    while g.metrics().await.get("polyauth_password_hash_rejections_total", &[]) == 0.0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the queue never filled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(getuser(&g, &access).await.status, 200, "a token check during the flood");
    let attack = attack.await.unwrap();
    let count = |s: u16| attack.iter().filter(|r| r.status == s).count();
    assert_eq!(count(401) + count(503), 150, "{:?}", attack.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(count(503) > 0);
    for r in attack.iter().filter(|r| r.status == 503) {
        r.expect(
            503,
            json!({"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"}),
        );
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    let m = g.metrics().await;
    assert_eq!(m.get("polyauth_password_hash_rejections_total", &[]), count(503) as f64);
    assert_eq!(m.get("polyauth_throttled_requests_total", &[("dialect", "simplejwt"), ("reason", "lockout")]), 0.0);
    let genuine = LoginRoute::SimpleJwt.login(&g, "genuine", "", "genuine-pw").await;
    assert_eq!(genuine.status, 200, "{}", genuine.text);
}
