//! DRF's `check_throttles`, after authentication and permissions and before
//! the view (so before the body is read, and before a 405): every configured
//! throttle is asked in turn and records the request unless its history is
//! full; if any refused, the answer is 429 with DRF's wait — the longest of
//! the refusing throttles' — in the detail and in `Retry-After`.
//!
//! As DRF's `SimpleRateThrottle`: the cache key is `throttle_<scope>_<ident>`
//! (the ident is the user id when authenticated, else the client address),
//! the history drops entries at least one period old, and the wait is the
//! time until the oldest entry leaves divided by the requests then available.
//! The history lives in the store (`Store::throttle_hit`), so replicas share
//! it; keys carry the dialect's name, so two legacy projects on one store do
//! not share their limits.

use std::net::IpAddr;
use std::time::Duration;

use crate::actions::{engine_failure, Principal};
use crate::dialect::throttle::{Rate, ThrottleClass};
use crate::dialect::Dialect;
use crate::engine::Engine;
use crate::failure::{ErrorKey, Failure};
use crate::store::ThrottleHit;
use crate::template::vars;

/// Applies the dialect's throttles to one request of a route with `scope`.
pub async fn check(
    engine: &Engine,
    d: &Dialect,
    scope: Option<&str>,
    principal: Option<&Principal>,
    client: Option<IpAddr>,
) -> Result<(), Failure> {
    if d.throttles.is_empty() {
        return Ok(());
    }
    let ident = match principal {
        Some(p) => p.user.id.to_string(),
        None => client.map(|c| c.to_string()).unwrap_or_default(),
    };
    let mut refused = false;
    let mut waits: Vec<Duration> = Vec::new();
    for class in &d.throttles.classes {
        let scope = match class {
            // Only anonymous requests count against `anon`.
            ThrottleClass::Anon if principal.is_some() => continue,
            ThrottleClass::Anon | ThrottleClass::User => class.scope(),
            ThrottleClass::Scoped => scope,
        };
        let Some((scope, rate)) = scope.and_then(|s| d.throttles.rate(s).map(|r| (s, r))) else {
            continue;
        };
        let key = format!("{}:throttle_{scope}_{ident}", d.name);
        let member = crate::engine::crypto::random_hex(8);
        let hit = engine.throttle_hit(&key, rate.num_requests, rate.duration, &member).await.map_err(engine_failure)?;
        if let ThrottleHit::Refused { count, oldest_age } = hit {
            refused = true;
            waits.extend(wait(rate, count, oldest_age));
        }
    }
    if !refused {
        return Ok(());
    }
    engine.metrics().throttled(&d.name, "throttle");
    let mut failure = Failure::new(ErrorKey::Throttled);
    if let Some(w) = waits.into_iter().max() {
        failure = failure.with(vars::RETRY_AFTER, ceil_secs(w).to_string());
    }
    Err(failure)
}

/// DRF's `SimpleRateThrottle.wait`: None when no request would be available
/// (a history longer than the rate, after the rate was lowered).
fn wait(rate: Rate, count: u64, oldest_age: Duration) -> Option<Duration> {
    let remaining = rate.duration.saturating_sub(oldest_age);
    let available = i64::from(rate.num_requests) - count as i64 + 1;
    (available > 0).then(|| remaining / available as u32)
}

/// `math.ceil` of the wait in seconds (DRF's `Throttled` rounds it up).
fn ceil_secs(d: Duration) -> u64 {
    d.as_micros().div_ceil(1_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_as_drf_computes_them() {
        let rate = Rate { num_requests: 3, duration: Duration::from_secs(60) };
        // Full history: the oldest leaves in 50 s, then one request is available.
        assert_eq!(wait(rate, 3, Duration::from_secs(10)), Some(Duration::from_secs(50)));
        // A longer history than the rate: DRF gives no wait.
        assert_eq!(wait(rate, 5, Duration::from_secs(10)), None);
        assert_eq!(ceil_secs(Duration::from_millis(59_001)), 60);
        assert_eq!(ceil_secs(Duration::from_secs(1)), 1);
    }
}
