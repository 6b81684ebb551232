//! The admin listener's probes: liveness, readiness (store, listeners,
//! shutdown), and that they need no token while the outbox still does.

use std::time::{Duration, Instant};

use crate::support::simplejwt::gw;
use crate::support::{gateway, Gw, StoreKind};
use serde_json::json;

async fn probes_answer_without_a_token(kind: StoreKind) {
    let g = gw(kind).await;
    g.admin_get("/healthz").await.expect(200, json!({"status": "ok"}));
    g.admin_get("/readyz").await.expect(200, json!({"status": "ready"}));
    // The outbox is still guarded.
    assert_eq!(g.admin_get("/outbox").await.status, 401);
    g.admin_get("/nope").await.expect(404, json!({"detail": "not found"}));
    let addr = g.running.admin_addr.unwrap();
    let r = crate::support::read(g.http.post(format!("http://{addr}/readyz")).send().await.unwrap()).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

async fn readiness_turns_off_when_shutting_down(kind: StoreKind) {
    let g = gw(kind).await;
    g.running.health.start_draining();
    g.admin_get("/readyz").await.expect(503, json!({"status": "not ready", "reason": "shutting down"}));
    // Still alive, and still serving while endpoints are removed.
    g.admin_get("/healthz").await.expect(200, json!({"status": "ok"}));
    let r = g.post_json("simplejwt", "/auth/token", json!({"username": "x", "password": "y"})).await;
    assert_eq!(r.status, 401);
}

both_stores!(probes_answer_without_a_token, readiness_turns_off_when_shutting_down);

/// Polls `/readyz` until it answers `status`, for at most 10 s; returns the last answer.
async fn readyz_until(g: &Gw, status: u16) -> crate::support::Res {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = g.admin_get("/readyz").await;
        if r.status == status || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn readiness_follows_redis_down_and_back() {
    let mut g = gateway(StoreKind::Redis).mount("simplejwt", "/").start().await;
    g.admin_get("/readyz").await.expect(200, json!({"status": "ready"}));

    g.redis.as_mut().unwrap().stop();
    let r = readyz_until(&g, 503).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json()["status"], "not ready");
    let reason = r.json()["reason"].as_str().unwrap().to_owned();
    assert!(reason.starts_with("store"), "{reason}");
    // Liveness does not depend on the store: kubelet must not restart the pod for it.
    assert_eq!(g.admin_get("/healthz").await.status, 200);

    g.redis.as_mut().unwrap().restart();
    let r = readyz_until(&g, 200).await;
    r.expect(200, json!({"status": "ready"}));
    // And the gateway works again on the restarted (empty) Redis.
    let r = g.post_json("simplejwt", "/auth/register", json!({"username": "back", "password": "pw"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

#[tokio::test]
async fn readiness_reports_a_listener_that_stopped() {
    let g = gw(StoreKind::Memory).await;
    // Stopping the listeners is what ends their accept loops; readiness must notice each.
    let stop = g.running.stopper();
    let health = g.running.health.clone();
    let _ = stop.send(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    let reason = loop {
        match health.readiness().await {
            Err(r) if r.contains("not accepting") => break r,
            _ if Instant::now() > deadline => panic!("readiness never reported the stopped listener"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert!(reason.contains(&g.addr("simplejwt").to_string()), "{reason}");
}
