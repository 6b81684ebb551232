//! The flood experiment for `scripts/flood.sh`: A attackers send wrong-password
//! logins to a SimpleJWT mount in a closed loop for D seconds, while a genuine
//! client logs in (right password, its own account and address) every 500 ms
//! and checks a token every 100 ms. Prints one JSON line: the genuine login's
//! and the token check's latencies and answers, the attackers' answers, and
//! the deepest hash queue seen on `/metrics`. Loopback targets only.
//!
//! usage: flood BASE_URL ADMIN_URL MODE ATTACKERS SECONDS
//!   MODE one-account: every attacker guesses `victim`'s password from 203.0.113.66
//!        distributed:  every request another name from another address
//! (addresses travel in `X-Forwarded-For`: run the gateway with `trusted_proxies = 1`).
//! The gateway must hold the users `victim` and `genuine` (password `genuine-pw`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const GENUINE_ADDR: &str = "198.51.100.7";

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0.0)
}

fn summary(mut lat: Vec<f64>, statuses: BTreeMap<u16, u64>) -> Value {
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    json!({
        "n": lat.len(),
        "p50_ms": (pct(&lat, 0.5) * 100.0).round() / 100.0,
        "p99_ms": (pct(&lat, 0.99) * 100.0).round() / 100.0,
        "max_ms": (lat.last().copied().unwrap_or(0.0) * 100.0).round() / 100.0,
        "statuses": statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
    })
}

async fn timed(rb: reqwest::RequestBuilder) -> (f64, u16, Option<Value>) {
    let t = Instant::now();
    match rb.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.json::<Value>().await.ok();
            (t.elapsed().as_secs_f64() * 1000.0, status, body)
        }
        Err(_) => (t.elapsed().as_secs_f64() * 1000.0, 0, None),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: flood BASE_URL ADMIN_URL one-account|distributed ATTACKERS SECONDS");
        std::process::exit(2);
    }
    let (base, admin, mode) = (args[1].clone(), args[2].clone(), args[3].clone());
    for u in [&base, &admin] {
        assert!(u.starts_with("http://127.") || u.starts_with("http://localhost"), "loopback targets only");
    }
    let attackers: usize = args[4].parse().expect("attackers");
    let seconds: f64 = args[5].parse().expect("seconds");
    let distributed = match mode.as_str() {
        "one-account" => false,
        "distributed" => true,
        _ => panic!("mode: one-account or distributed"),
    };
    let login_url = format!("{base}/auth/token");
    let genuine = reqwest::Client::new();
    let body = json!({"username": "genuine", "password": "genuine-pw"});
    let first = genuine.post(&login_url).header("X-Forwarded-For", GENUINE_ADDR).json(&body).send().await;
    let pair: Value = first.expect("genuine login before the flood").json().await.expect("json");
    let access = pair["access"].as_str().expect("an access token before the flood").to_owned();

    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    // The attackers: one connection each, closed loop.
    let mut tasks = Vec::new();
    for a in 0..attackers {
        let (url, stop) = (login_url.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let (name, addr) = if distributed {
                    let n = (a as u64) * 1_000_000 + i;
                    (format!("bot-{n}"), format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255))
                } else {
                    ("victim".to_owned(), "203.0.113.66".to_owned())
                };
                let rb = client
                    .post(&url)
                    .header("X-Forwarded-For", addr)
                    .json(&json!({"username": name, "password": format!("guess-{a}-{i}")}));
                let (_, status, _) = timed(rb).await;
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    // The hash queue, sampled.
    let sampler = {
        let (stop, url) = (stop.clone(), format!("{admin}/metrics"));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut deepest = 0.0f64;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(r) = client.get(&url).send().await {
                    let text = r.text().await.unwrap_or_default();
                    let depth = text
                        .lines()
                        .find_map(|l| l.strip_prefix("polyauth_password_hash_queue_depth "))
                        .and_then(|v| v.trim().parse::<f64>().ok());
                    deepest = deepest.max(depth.unwrap_or(0.0));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            deepest
        })
    };
    // The token checks.
    let checker = {
        let (stop, url, access) = (stop.clone(), format!("{base}/auth/getuser"), access.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut lat, mut statuses) = (Vec::new(), BTreeMap::new());
            while !stop.load(Ordering::Relaxed) {
                let (ms, status, _) = timed(client.get(&url).bearer_auth(&access)).await;
                lat.push(ms);
                *statuses.entry(status).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (lat, statuses)
        })
    };
    // The genuine logins: one every 500 ms, each waited for whatever it takes.
    let (mut lat, mut statuses) = (Vec::new(), BTreeMap::new());
    tokio::time::sleep(Duration::from_millis(500)).await;
    while Instant::now() < deadline {
        let rb = genuine.post(&login_url).header("X-Forwarded-For", GENUINE_ADDR).json(&body);
        let (ms, status, _) = timed(rb).await;
        lat.push(ms);
        *statuses.entry(status).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut attack: BTreeMap<u16, u64> = BTreeMap::new();
    for t in tasks {
        for (k, v) in t.await.expect("attacker") {
            *attack.entry(k).or_default() += v;
        }
    }
    let (check_lat, check_statuses) = checker.await.expect("checker");
    let deepest = sampler.await.expect("sampler");
    let out = json!({
        "mode": mode,
        "attackers": attackers,
        "seconds": seconds,
        "genuine_login": summary(lat, statuses),
        "token_check": summary(check_lat, check_statuses),
        "attack_statuses": attack.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "max_hash_queue_depth": deepest,
    });
    println!("{out}");
}
