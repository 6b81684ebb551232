//! The memory store's lockout counters, bans and throttle histories: the same
//! rules as the Redis scripts (`redis/limits.rs`), under the store's one lock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::super::{AttemptEnd, AttemptStart, ThrottleHit};

#[derive(Default)]
pub(super) struct Limits {
    /// Subject → (attempts counted, when the count expires).
    counts: HashMap<String, (u32, Instant)>,
    /// Subject → when its ban ends, and whether it is provisional (an attempt in flight).
    bans: HashMap<String, (Instant, bool)>,
    /// Throttle key → (request times in Unix seconds, newest first as DRF keeps them; expiry).
    histories: HashMap<String, (VecDeque<f64>, Instant)>,
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl Limits {
    pub(super) fn sweep(&mut self, now: Instant) {
        self.counts.retain(|_, (_, exp)| *exp > now);
        self.bans.retain(|_, (exp, _)| *exp > now);
        self.histories.retain(|_, (_, exp)| *exp > now);
    }

    /// (time left, provisional) of a live ban.
    fn ban(&self, subject: &str, now: Instant) -> Option<(Duration, bool)> {
        self.bans.get(subject).filter(|(end, _)| *end > now).map(|(end, p)| (*end - now, *p))
    }

    pub(super) fn begin_attempt(&mut self, subject: &str, limit: u32, window: Duration, ban: Duration) -> AttemptStart {
        let now = Instant::now();
        if let Some((left, provisional)) = self.ban(subject, now) {
            // A provisional ban is settled within one hash.
            let retry_after = if provisional { Duration::from_secs(1) } else { left };
            return AttemptStart::Locked { retry_after };
        }
        let entry = self.counts.entry(subject.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        let last = entry.0 >= limit;
        if last {
            self.bans.insert(subject.to_owned(), (now + ban, true));
        }
        AttemptStart::Allowed { last }
    }

    pub(super) fn end_attempt(&mut self, subject: &str, end: AttemptEnd, last: bool, ban: Duration) {
        let now = Instant::now();
        match end {
            AttemptEnd::Failed => {
                if last {
                    self.bans.insert(subject.to_owned(), (now + ban, false));
                    self.counts.remove(subject);
                }
                return;
            }
            AttemptEnd::Reset => {
                self.counts.remove(subject);
            }
            AttemptEnd::Forgiven => {
                if let Some((n, exp)) = self.counts.get_mut(subject) {
                    *n = n.saturating_sub(1);
                    if *n == 0 || *exp <= now {
                        self.counts.remove(subject);
                    }
                }
            }
        }
        if last {
            self.bans.remove(subject);
        }
    }

    pub(super) fn find_lockout(&self, subject: &str) -> Option<Duration> {
        self.ban(subject, Instant::now()).filter(|(_, provisional)| !provisional).map(|(left, _)| left)
    }

    pub(super) fn delete_lockout(&mut self, subject: &str) -> bool {
        self.counts.remove(subject);
        let now = Instant::now();
        self.bans.remove(subject).is_some_and(|(end, _)| end > now)
    }

    pub(super) fn throttle_hit(&mut self, key: &str, limit: u32, window: Duration) -> ThrottleHit {
        let now = unix_now();
        let expires = Instant::now() + window;
        let (history, exp) = self.histories.entry(key.to_owned()).or_insert_with(|| (VecDeque::new(), expires));
        if *exp <= Instant::now() {
            history.clear();
        }
        // DRF drops entries at least `window` old, from the oldest end.
        while history.back().is_some_and(|t| *t <= now - window.as_secs_f64()) {
            history.pop_back();
        }
        if history.len() as u64 >= u64::from(limit) {
            let oldest = history.back().copied().unwrap_or(now);
            return ThrottleHit::Refused {
                count: history.len() as u64,
                oldest_age: Duration::from_secs_f64((now - oldest).max(0.0)),
            };
        }
        history.push_front(now);
        *exp = expires;
        ThrottleHit::Allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_allowed_attempt_bans_provisionally() {
        let mut l = Limits::default();
        let (w, b) = (Duration::from_secs(60), Duration::from_secs(30));
        assert_eq!(l.begin_attempt("s", 2, w, b), AttemptStart::Allowed { last: false });
        assert_eq!(l.begin_attempt("s", 2, w, b), AttemptStart::Allowed { last: true });
        assert!(matches!(l.begin_attempt("s", 2, w, b), AttemptStart::Locked { .. }), "no third attempt in flight");
        // The last one succeeds: the ban is lifted and one allowance is back.
        l.end_attempt("s", AttemptEnd::Forgiven, true, b);
        assert_eq!(l.begin_attempt("s", 2, w, b), AttemptStart::Allowed { last: true });
        l.end_attempt("s", AttemptEnd::Failed, true, b);
        assert!(matches!(l.begin_attempt("s", 2, w, b), AttemptStart::Locked { .. }));
        assert!(l.delete_lockout("s"));
        assert_eq!(l.begin_attempt("s", 2, w, b), AttemptStart::Allowed { last: false }, "count started over");
    }

    #[test]
    fn throttle_refuses_at_the_limit_without_recording() {
        let mut l = Limits::default();
        let w = Duration::from_secs(60);
        assert_eq!(l.throttle_hit("k", 2, w), ThrottleHit::Allowed);
        assert_eq!(l.throttle_hit("k", 2, w), ThrottleHit::Allowed);
        let ThrottleHit::Refused { count, oldest_age } = l.throttle_hit("k", 2, w) else { panic!("not refused") };
        assert_eq!(count, 2);
        assert!(oldest_age < Duration::from_secs(5));
        assert!(matches!(l.throttle_hit("k", 2, w), ThrottleHit::Refused { count: 2, .. }), "refusals not recorded");
    }
}
