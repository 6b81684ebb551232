//! A master of a 3 + 3 Cluster killed under a write load: errors only until
//! its replica is promoted (503 in the dialect's format, none past the store
//! deadline), then full service, and no acknowledged registration lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::cluster::Cluster;
use crate::support::{gateway, StoreKind};
use polyauth::store;

/// One request of the load: when it started (since the kill; negative
/// before), how long it took, its status, and the user it registered.
struct Sample {
    at: f64,
    took: Duration,
    status: u16,
    username: String,
}

/// How long the failure detection takes: `cluster-node-timeout` (Redis's
/// example redis.conf: 15000 ms); the window is about this plus the replica's
/// election (about 1 s).
const NODE_TIMEOUT_MS: &str = "3000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_fails_over_without_losing_acknowledged_writes() {
    let mut cluster = Cluster::start(
        3,
        1,
        &["--cluster-node-timeout", NODE_TIMEOUT_MS, "--appendonly", "yes", "--appendfsync", "always"],
    );
    let prefix = Cluster::fresh_prefix();
    let g =
        gateway(StoreKind::Cluster).store_url(&cluster.url()).key_prefix(&prefix).mount("simplejwt", "/").start().await;
    let url = g.url("simplejwt", "/auth/register");
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let killed_at = Arc::new(Mutex::new(None::<Instant>));
    let started = Instant::now();
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let (http, url, stop, samples, killed_at) =
                (g.http.clone(), url.clone(), stop.clone(), samples.clone(), killed_at.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let username = format!("w{w}-{n}");
                    let t = Instant::now();
                    let r = http.post(&url).json(&json!({"username": username, "password": "pw"})).send().await;
                    let took = t.elapsed();
                    let (status, body) = match r {
                        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                        Err(_) => (0, String::new()),
                    };
                    if status == 503 {
                        let v: serde_json::Value = serde_json::from_str(&body).expect("a 503 in the dialect's JSON");
                        assert!(v.get("detail").is_some(), "{body}");
                    }
                    let kill = (*killed_at.lock().unwrap()).unwrap_or(started + Duration::from_secs(3600));
                    let at = t.saturating_duration_since(kill).as_secs_f64()
                        - kill.saturating_duration_since(t).as_secs_f64();
                    samples.lock().unwrap().push(Sample { at, took, status, username });
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = cluster.masters()[0];
    tokio::task::block_in_place(|| cluster.kill(victim));
    *killed_at.lock().unwrap() = Some(Instant::now());
    // Run until three clean seconds follow the errors (or 40 s).
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let s = samples.lock().unwrap();
        let since_kill = killed_at.lock().unwrap().unwrap().elapsed().as_secs_f64();
        let last_error = s.iter().filter(|x| x.status != 201).map(|x| x.at).fold(f64::MIN, f64::max);
        if (last_error > 0.0 && since_kill - last_error > 3.0) || Instant::now() > deadline {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }

    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let errors: Vec<&Sample> = samples.iter().filter(|s| s.status != 201).collect();
    let (first, last) =
        (errors.first().map(|s| s.at), errors.iter().map(|s| s.at + s.took.as_secs_f64()).fold(0.0, f64::max));
    let slowest = samples.iter().map(|s| s.took).max().unwrap();
    let acknowledged: Vec<&Sample> = samples.iter().filter(|s| s.status == 201).collect();
    // Every acknowledged registration is still there.
    tokio::task::block_in_place(|| cluster.wait_ok(3));
    let s = store::open(&cluster.url(), &prefix, Duration::from_secs(5)).await.unwrap();
    let mut lost = Vec::new();
    for a in &acknowledged {
        let found = match s.find_user_id_by_username(&a.username).await.unwrap() {
            Some(id) => s.find_user(id).await.unwrap().is_some_and(|u| u.username == a.username),
            None => false,
        };
        if !found {
            lost.push(a.username.clone());
        }
    }
    eprintln!(
        "failover (cluster-node-timeout {NODE_TIMEOUT_MS} ms, appendfsync always): {} requests, {} errors \
         from {:.2} s to {:.2} s after the kill (window {:.2} s), slowest request {:.2} s, \
         {} acknowledged writes, {} lost",
        samples.len(),
        errors.len(),
        first.unwrap_or(0.0),
        last,
        last - first.unwrap_or(0.0),
        slowest.as_secs_f64(),
        acknowledged.len(),
        lost.len()
    );
    assert!(
        errors.iter().all(|s| s.status == 503),
        "errors are 503s: {:?}",
        errors.iter().map(|s| s.status).collect::<Vec<_>>()
    );
    assert!(last < 10.0, "error window ends {last:.2} s after the kill");
    assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");
    // No hang: the first store operation that fails ends the request, within timeout_ms (2 s).
    assert!(slowest < Duration::from_secs(3), "slowest request {slowest:?}");
    // Full service after: the last requests all succeeded.
    assert!(samples.iter().rev().take(20).all(|s| s.status == 201));
}
