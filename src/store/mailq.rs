//! The mail queue's records as the store holds them: an id, an opaque payload
//! (sealed by the engine: the store never sees a mail's text or token), a
//! delivery state and a lease. Both stores keep the same rules:
//!
//! - a queued mail is due at once; `claim_mail` hands the oldest due one to one
//!   caller and makes it due again only when the lease runs out (a sender that
//!   died mid-send), so concurrent senders never hold the same mail;
//! - `settle_mail` counts only from the holder of the current lease: sent and
//!   failed mails leave the queue (their payload is dropped, their state kept
//!   for `keep`), a retry makes the mail due again after a delay.

use std::time::Duration;

use serde::Serialize;

/// Where a mail is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// No SMTP server configured: the outbox is the only copy.
    Outbox,
    /// Waiting for its first attempt.
    Queued,
    /// A sender holds it now.
    Sending,
    /// An attempt failed temporarily; due again later.
    Retrying,
    Sent,
    /// Refused for good (5xx), undeliverable, or too old to retry.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Outbox => "outbox",
            DeliveryState::Queued => "queued",
            DeliveryState::Sending => "sending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "outbox" => DeliveryState::Outbox,
            "queued" => DeliveryState::Queued,
            "sending" => DeliveryState::Sending,
            "retrying" => DeliveryState::Retrying,
            "sent" => DeliveryState::Sent,
            "failed" => DeliveryState::Failed,
            _ => return None,
        })
    }

    /// Nothing will happen to the mail any more.
    pub fn is_final(self) -> bool {
        matches!(self, DeliveryState::Outbox | DeliveryState::Sent | DeliveryState::Failed)
    }
}

/// A mail a sender holds until its lease runs out.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimedMail {
    pub id: String,
    /// Opaque to the store.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Unix milliseconds when it was queued (the store's clock).
    pub queued_at_ms: i64,
}

impl std::fmt::Debug for ClaimedMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedMail").field("id", &self.id).field("attempts", &self.attempts).finish_non_exhaustive()
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    Sent,
    /// Final: the reason is kept with the state.
    Failed(String),
    /// Due again after `after`; the reason is kept with the state.
    Retry {
        after: Duration,
        reason: String,
    },
}

/// A mail's state as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailStatus {
    pub state: DeliveryState,
    pub attempts: u32,
    /// Why the last attempt failed (an SMTP reply or a connection error; never the mail's text).
    pub error: Option<String>,
}
