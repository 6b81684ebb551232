//! The mail outbox: every message the engine sends is kept here (bounded,
//! oldest dropped first) so tests and contract runs can follow a reset link.
//! polyauth has no SMTP: the outbox is its mail transport.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// One sent message. It carries a live token: serve it only to the admin.
#[derive(Clone, Serialize)]
pub struct Mail {
    /// A list, as the reference server's outbox has it.
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    /// The one-time token the mail carries; none for a notice (Djoser's confirmations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The mail template's name: `password_reset`, `email_verification`,
    /// `activation`, `confirmation`, `password_changed_confirmation`, …
    pub purpose: String,
    /// The dialect whose route sent it.
    pub dialect: String,
    /// Unix seconds.
    pub sent_at: i64,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail").field("to", &self.to).field("purpose", &self.purpose).finish_non_exhaustive()
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

    pub fn push(&self, mail: Mail) {
        let mut q = self.mails.lock().unwrap_or_else(|e| e.into_inner());
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

    /// Messages to `to` (all when None), oldest first.
    pub fn list(&self, to: Option<&str>) -> Vec<Mail> {
        let q = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        q.iter().filter(|m| to.is_none_or(|t| m.to.iter().any(|r| r.eq_ignore_ascii_case(t)))).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(to: &str, n: i64) -> Mail {
        Mail {
            to: vec![to.into()],
            subject: "s".into(),
            body: "b".into(),
            token: Some("t".into()),
            uid: None,
            purpose: "password_reset".into(),
            dialect: "d".into(),
            sent_at: n,
        }
    }

    #[test]
    fn bounded_and_filtered() {
        let o = Outbox::new(2, 2);
        o.push(mail("a@x", 1));
        o.push(mail("b@x", 2));
        o.push(mail("a@x", 3));
        let all = o.list(None);
        assert_eq!(all.iter().map(|m| m.sent_at).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(o.list(Some("A@x")).len(), 1);
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
