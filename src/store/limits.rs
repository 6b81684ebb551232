//! What the store keeps for abuse protection: login-attempt counters with
//! their bans (the engine's lockout), and request histories for DRF-style
//! rate throttles. Both are shared by every replica on one store and expire
//! on their own; the engine decides what they mean.

use std::time::Duration;

/// How one password attempt against a lockout subject (an account or a client
/// address) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStart {
    /// The subject is banned; nothing was counted. Under a provisional ban the
    /// wait is 1 s: the attempt holding it ends within one hash.
    Locked { retry_after: Duration },
    /// Counted. `last`: this attempt used the subject's last allowance, so the
    /// store banned the subject provisionally (until the attempt ends): no
    /// concurrent attempt can slip past the limit while this one hashes.
    Allowed { last: bool },
}

/// How an attempt ended, for one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    /// Wrong password: the attempt stays counted; if it was the last allowed,
    /// the ban starts now (for the full ban time) and the count starts over.
    Failed,
    /// The attempt no longer counts (a success for an address, or no verdict:
    /// the store or the hash queue refused); a provisional ban it held is lifted.
    Forgiven,
    /// A success for an account: its count starts over; a provisional ban it held is lifted.
    Reset,
}

impl AttemptEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptEnd::Failed => "failed",
            AttemptEnd::Forgiven => "forgiven",
            AttemptEnd::Reset => "reset",
        }
    }
}

/// One request against a sliding-window rate (DRF's `SimpleRateThrottle`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThrottleHit {
    /// Recorded: fewer than the limit were in the window.
    Allowed,
    /// Refused and not recorded: `count` requests are in the window, the
    /// oldest of them `oldest_age` ago.
    Refused { count: u64, oldest_age: Duration },
}
