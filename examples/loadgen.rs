//! A small closed-loop load generator for `scripts/bench.sh`: C concurrent
//! keep-alive clients send one request shape for D seconds; prints one JSON
//! line with throughput and latency percentiles. Loopback targets only.
//!
//! usage: loadgen URL METHOD BODY_OR_- HEADER_OR_- CONCURRENCY SECONDS

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 7 {
        eprintln!("usage: loadgen URL METHOD BODY|- 'Name: value'|- CONCURRENCY SECONDS");
        std::process::exit(2);
    }
    let url = args[1].clone();
    assert!(url.starts_with("http://127.") || url.starts_with("http://localhost"), "loopback targets only");
    let method: reqwest::Method = args[2].parse().expect("method");
    let body = (args[3] != "-").then(|| args[3].clone());
    let header = (args[4] != "-").then(|| {
        let (k, v) = args[4].split_once(':').expect("Name: value");
        (k.trim().to_owned(), v.trim().to_owned())
    });
    let concurrency: usize = args[5].parse().expect("concurrency");
    let seconds: f64 = args[6].parse().expect("seconds");
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, method, body, header) =
            (client.clone(), url.clone(), method.clone(), body.clone(), header.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let mut rb = client.request(method.clone(), &url);
                if let Some(b) = &body {
                    rb = rb.header("Content-Type", "application/json").body(b.clone());
                }
                if let Some((k, v)) = &header {
                    rb = rb.header(k, v);
                }
                let t = Instant::now();
                match rb.send().await {
                    Ok(r) if r.status().as_u16() < 500 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("task");
        all.extend(l);
        errors += e;
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0.0);
    println!(
        "{{\"requests\":{},\"errors\":{},\"rps\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2}}}",
        all.len(),
        errors,
        all.len() as f64 / seconds,
        pct(0.50),
        pct(0.99)
    );
}
