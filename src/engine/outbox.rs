//! The mail outbox: a copy of every message the engine sends, with its
//! delivery state (bounded, oldest dropped first), so tests and contract runs
//! can follow a reset link and an admin can see what reached the SMTP server.
//! Without an SMTP server the outbox is the only transport (state `outbox`).
//! It lives in the process that queued the mail; states of mails another
//! replica delivered are read back from the store (`Engine::outbox_list`).

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

use crate::store::{DeliveryState, MailStatus};

/// One message. It carries a live token: serve it only to the admin.
#[derive(Clone, Serialize)]
pub struct Mail {
    /// The queue's id of the mail (also in delivery logs).
    pub id: String,
    /// A list, as the reference server's outbox has it.
    pub to: Vec<String>,
    pub subject: String,
    /// The text/plain part.
    pub body: String,
    /// The text/html part, when the template has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The one-time token the mail carries; empty (and left out) for a notice
    /// such as Djoser's confirmations.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The mail's kind: `password_reset`, `email_verification`, `activation`,
    /// `confirmation`, `password_changed_confirmation`, …
    pub purpose: String,
    /// The dialect whose route sent it.
    pub dialect: String,
    /// Unix seconds when it was accepted.
    pub sent_at: i64,
    pub delivery: DeliveryState,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("id", &self.id)
            .field("to", &self.to)
            .field("purpose", &self.purpose)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

impl Mail {
    pub fn apply(&mut self, status: &MailStatus) {
        self.delivery = status.state;
        self.attempts = status.attempts;
        self.error = status.error.clone();
    }
}

pub struct Outbox {
    capacity: usize,
    /// Mails kept per recipient list: a flood to one address evicts its own
    /// oldest mail first, so other recipients' pending mail stays.
    per_recipient: usize,
    mails: Mutex<VecDeque<Mail>>,
}

impl Outbox {
    pub fn new(capacity: usize, per_recipient: usize) -> Self {
        Self { capacity, per_recipient, mails: Mutex::new(VecDeque::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Mail>> {
        self.mails.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, mail: Mail) {
        let mut q = self.lock();
        let same =
            |m: &Mail| m.to.len() == mail.to.len() && m.to.iter().zip(&mail.to).all(|(a, b)| a.eq_ignore_ascii_case(b));
        if q.iter().filter(|m| same(m)).count() >= self.per_recipient.max(1) {
            if let Some(oldest) = q.iter().position(same) {
                q.remove(oldest);
            }
        }
        while q.len() >= self.capacity.max(1) {
            q.pop_front();
        }
        q.push_back(mail);
    }

    /// Records a delivery state (a no-op for a mail this outbox does not hold).
    pub fn update(&self, id: &str, status: &MailStatus) {
        if let Some(m) = self.lock().iter_mut().find(|m| m.id == id) {
            m.apply(status);
        }
    }

    /// Messages to `to` (all when None), oldest first.
    pub fn list(&self, to: Option<&str>) -> Vec<Mail> {
        let q = self.lock();
        q.iter().filter(|m| to.is_none_or(|t| m.to.iter().any(|r| r.eq_ignore_ascii_case(t)))).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, n: i64) -> Mail {
        Mail {
            id: format!("m{n}"),
            to: vec![to.into()],
            subject: "s".into(),
            body: "b".into(),
            html: None,
            token: "t".into(),
            uid: None,
            purpose: "password_reset".into(),
            dialect: "d".into(),
            sent_at: n,
            delivery: DeliveryState::Queued,
            attempts: 0,
            error: None,
        }
    }

    #[test]
    fn bounded_filtered_and_updated() {
        let o = Outbox::new(2, 2);
        o.push(mail("a@x", 1));
        o.push(mail("b@x", 2));
        o.push(mail("a@x", 3));
        let all = o.list(None);
        assert_eq!(all.iter().map(|m| m.sent_at).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(o.list(Some("A@x")).len(), 1);
        o.update("m3", &MailStatus { state: DeliveryState::Sent, attempts: 2, error: None });
        let m = &o.list(Some("a@x"))[0];
        assert_eq!((m.delivery, m.attempts), (DeliveryState::Sent, 2));
    }

    #[test]
    fn one_recipient_cannot_evict_the_others() {
        let o = Outbox::new(5, 2);
        o.push(mail("victim@x", 0));
        for n in 1..=100 {
            o.push(mail("flood@x", n));
        }
        assert_eq!(o.list(Some("victim@x")).len(), 1, "the other recipient's mail stays");
        let flood: Vec<_> = o.list(Some("FLOOD@x")).iter().map(|m| m.sent_at).collect();
        assert_eq!(flood, vec![99, 100], "newest win");
    }
}
