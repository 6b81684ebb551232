//! The client address: the socket peer, unless `[server] trusted_proxies`
//! says how many proxies append to `X-Forwarded-For` (DRF's NUM_PROXIES).
//! Seen through the address lockout, which counts per client address.

use crate::support::abuse::{all_dialects, assert_locked, LoginRoute};
use crate::support::{Gw, StoreKind, ADMIN_TOKEN};
use polyauth::secret::Secret;
use serde_json::Value;

const THROTTLE: &str = "account_failures = 0\nip_failures = 3\nban_secs = 120\n";

async fn fail_three_times_as(g: &Gw, xff: &str) {
    for i in 0..3 {
        let r = LoginRoute::SimpleJwt.login_with(g, &format!("n{i}"), "", "x", &[("X-Forwarded-For", xff)]).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
}

async fn address_lockout(g: &Gw, ip: &str) -> Value {
    let addr = g.running.admin_addr.unwrap();
    let r = g.http.get(format!("http://{addr}/addresses/{ip}")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["locked_out_for_secs"].clone()
}

async fn the_header_is_ignored_without_trusted_proxies(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).start().await;
    g.running.engine.create_user("u", "", &Secret::new("pw")).await.unwrap();
    fail_three_times_as(&g, "198.51.100.1").await;
    // Whatever the header claims, the failures were the socket peer's.
    let r = LoginRoute::SimpleJwt.login_with(&g, "u", "", "pw", &[("X-Forwarded-For", "198.51.100.2")]).await;
    assert_locked(LoginRoute::SimpleJwt, &r, 120);
    assert!(address_lockout(&g, "127.0.0.1").await.is_u64());
    assert!(address_lockout(&g, "198.51.100.1").await.is_null());
}

async fn behind_one_trusted_proxy_its_entry_counts(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).extra("[server]\ntrusted_proxies = 1").start().await;
    g.running.engine.create_user("u", "", &Secret::new("pw")).await.unwrap();
    // A forged left part does not help: the proxy's own (rightmost) entry counts.
    fail_three_times_as(&g, "203.0.113.66, 198.51.100.1").await;
    let as_client = |xff: &'static str| {
        let g = &g;
        async move { LoginRoute::SimpleJwt.login_with(g, "u", "", "pw", &[("X-Forwarded-For", xff)]).await }
    };
    assert_locked(LoginRoute::SimpleJwt, &as_client("198.51.100.1").await, 120);
    assert_locked(LoginRoute::SimpleJwt, &as_client("203.0.113.9, 198.51.100.1").await, 120);
    assert_eq!(as_client("198.51.100.2").await.status, 200, "another client behind the proxy");
    assert_eq!(as_client("198.51.100.1, 198.51.100.2").await.status, 200);
    assert!(address_lockout(&g, "198.51.100.1").await.is_u64());
    assert!(address_lockout(&g, "127.0.0.1").await.is_null(), "the proxy itself is not locked out");
    // A request without the header is the peer's (the proxy's address).
    assert_eq!(LoginRoute::SimpleJwt.login(&g, "u", "", "pw").await.status, 200);
}

async fn behind_two_proxies_the_second_entry_from_the_right(kind: StoreKind) {
    let g = all_dialects(kind, THROTTLE).extra("[server]\ntrusted_proxies = 2").start().await;
    g.running.engine.create_user("u", "", &Secret::new("pw")).await.unwrap();
    fail_three_times_as(&g, "203.0.113.66, 198.51.100.1, 10.0.0.1").await;
    assert!(address_lockout(&g, "198.51.100.1").await.is_u64());
    let r = LoginRoute::SimpleJwt.login_with(&g, "u", "", "pw", &[("X-Forwarded-For", "198.51.100.1, 10.0.0.2")]).await;
    assert_locked(LoginRoute::SimpleJwt, &r, 120);
}

both_stores!(
    the_header_is_ignored_without_trusted_proxies,
    behind_one_trusted_proxy_its_entry_counts,
    behind_two_proxies_the_second_entry_from_the_right,
);
