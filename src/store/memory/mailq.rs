//! The memory store's mail queue: the rules of `store::mailq` in one process.
//! Due times are `Instant`s in a sorted set beside the records, so a claim
//! takes the oldest due mail without scanning every record.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::store::{ClaimedMail, DeliveryState, MailStatus, Settle};

struct Record {
    /// None once settled for good.
    payload: Option<String>,
    state: DeliveryState,
    attempts: u32,
    error: Option<String>,
    queued_at_ms: i64,
    lease_id: Option<String>,
    /// When due (pending) or when forgotten (settled).
    at: Instant,
}

#[derive(Default)]
pub(super) struct MailQueue {
    records: HashMap<String, Record>,
    /// (due, id) of every pending mail.
    due: BTreeSet<(Instant, String)>,
    /// Enqueues since the last sweep of forgotten records.
    enqueued: u64,
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl MailQueue {
    pub(super) fn enqueue(&mut self, id: &str, payload: &str) {
        self.sweep();
        let now = Instant::now();
        let record = Record {
            payload: Some(payload.to_owned()),
            state: DeliveryState::Queued,
            attempts: 0,
            error: None,
            queued_at_ms: unix_ms(),
            lease_id: None,
            at: now,
        };
        if let Some(old) = self.records.insert(id.to_owned(), record) {
            self.due.remove(&(old.at, id.to_owned()));
        }
        self.due.insert((now, id.to_owned()));
    }

    pub(super) fn claim(&mut self, lease: Duration, lease_id: &str) -> Option<ClaimedMail> {
        let now = Instant::now();
        let (at, id) = self.due.first().filter(|(at, _)| *at <= now).cloned()?;
        self.due.remove(&(at, id.clone()));
        let r = self.records.get_mut(&id)?;
        r.attempts += 1;
        r.state = DeliveryState::Sending;
        r.lease_id = Some(lease_id.to_owned());
        r.at = now + lease;
        self.due.insert((r.at, id.clone()));
        Some(ClaimedMail {
            id,
            payload: r.payload.clone().unwrap_or_default(),
            attempts: r.attempts,
            queued_at_ms: r.queued_at_ms,
        })
    }

    pub(super) fn settle(&mut self, id: &str, lease_id: &str, outcome: &Settle, keep: Duration) -> bool {
        let Some(r) = self.records.get_mut(id) else { return false };
        if r.lease_id.as_deref() != Some(lease_id) {
            return false;
        }
        self.due.remove(&(r.at, id.to_owned()));
        r.lease_id = None;
        let now = Instant::now();
        match outcome {
            Settle::Retry { after, reason } => {
                r.state = DeliveryState::Retrying;
                r.error = Some(reason.clone());
                r.at = now + *after;
                self.due.insert((r.at, id.to_owned()));
            }
            Settle::Sent | Settle::Failed(_) => {
                r.state = if *outcome == Settle::Sent { DeliveryState::Sent } else { DeliveryState::Failed };
                if let Settle::Failed(reason) = outcome {
                    r.error = Some(reason.clone());
                }
                r.payload = None;
                r.at = now + keep;
            }
        }
        true
    }

    pub(super) fn status(&self, ids: &[String]) -> Vec<Option<MailStatus>> {
        let now = Instant::now();
        ids.iter()
            .map(|id| {
                self.records.get(id).filter(|r| !r.state.is_final() || r.at > now).map(|r| MailStatus {
                    state: r.state,
                    attempts: r.attempts,
                    error: r.error.clone(),
                })
            })
            .collect()
    }

    pub(super) fn depth(&self) -> u64 {
        self.due.len() as u64
    }

    /// Forgets settled records whose `keep` ran out.
    fn sweep(&mut self) {
        self.enqueued += 1;
        if self.enqueued % 256 != 0 {
            return;
        }
        let now = Instant::now();
        self.records.retain(|_, r| !r.state.is_final() || r.at > now);
    }
}
