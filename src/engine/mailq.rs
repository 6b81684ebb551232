//! Sending mail, the engine's half: every mail gets a random id and a copy in
//! the outbox; with delivery on, it is sealed and queued in the store, where a
//! sender (`crate::mail`) claims it, delivers it and settles it here.
//!
//! Sealed: the queued payload is ChaCha20-Poly1305 under a key derived from
//! the server key (bound to the mail's id), so a copy of the store yields no
//! mail text and no reset link, as it yields no token. A payload sealed under
//! another key (the key changed while mails waited) cannot be opened and is
//! recorded as failed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::outbox::Mail;
use super::*;
use crate::store::{ClaimedMail, DeliveryState, MailStatus, Settle};

/// What an action hands the engine to send.
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The one-time token the mail carries (kept in the outbox for tests and contract runs).
    pub token: String,
    pub uid: Option<String>,
    /// `password_reset`, `email_verification`, … (metrics, logs, outbox).
    pub kind: String,
    pub dialect: String,
}

/// A mail as queued (inside the sealed payload).
#[derive(Clone, Serialize, Deserialize)]
pub struct QueuedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub kind: String,
    pub dialect: String,
    /// Unix ms when the one-time token it carries dies: a mail that could not
    /// go out by then is not sent at all (its link would be dead).
    #[serde(default)]
    pub useless_after_ms: Option<i64>,
}

impl std::fmt::Debug for QueuedMail {
    // The text carries a live link: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedMail").field("kind", &self.kind).field("dialect", &self.dialect).finish_non_exhaustive()
    }
}

/// A mail a sender holds: settle it with `Engine::settle_mail`.
#[derive(Debug)]
pub struct Claim {
    pub id: String,
    /// This claim's lease; a settle under an expired lease is refused.
    lease_id: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub queued_at_ms: i64,
    /// The mail, or why it cannot be read.
    pub mail: Result<QueuedMail, String>,
}

/// Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Domain-separated from the JWT key and the auth-token key.
pub(super) fn mail_key(signing_key: &Secret) -> [u8; 32] {
    Sha256::digest(format!("polyauth-mail-queue:{}", signing_key.expose())).into()
}

fn seal(key: &[u8; 32], id: &str, mail: &QueuedMail) -> String {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let plain = serde_json::to_vec(mail).unwrap_or_default();
    // Encryption with a 12-byte nonce and a valid key cannot fail.
    let sealed =
        cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: id.as_bytes() }).unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend(sealed);
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, out)
}

fn open(key: &[u8; 32], id: &str, payload: &str) -> Result<QueuedMail, String> {
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD_NO_PAD, payload)
        .map_err(|_| "the queued payload is not base64".to_owned())?;
    if raw.len() < 12 {
        return Err("the queued payload is too short".into());
    }
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    let plain =
        cipher.decrypt(Nonce::from_slice(&raw[..12]), Payload { msg: &raw[12..], aad: id.as_bytes() }).map_err(
            |_| "the queued payload does not open with this server key (was the signing key changed?)".to_owned(),
        )?;
    serde_json::from_slice(&plain).map_err(|e| format!("the queued payload is not a mail: {e}"))
}

impl Engine {
    /// Whether mails are queued for an SMTP server (else the outbox is all).
    pub fn delivers_mail(&self) -> bool {
        self.inner.mail_delivery
    }

    /// Notified whenever this process queues a mail, so an idle sender starts at once.
    pub fn mail_queued(&self) -> &tokio::sync::Notify {
        &self.inner.mail_wake
    }

    /// Accepts a mail: a copy goes to the outbox and, with delivery on, the
    /// mail is queued in the store first (a store failure refuses it: nothing
    /// is accepted that could be lost).
    pub async fn send_mail(&self, letter: Letter) -> Result<(), EngineError> {
        let id = crypto::random_hex(16);
        let delivery = if self.inner.mail_delivery {
            let queued = QueuedMail {
                to: letter.to.clone(),
                subject: letter.subject.clone(),
                text: letter.text.clone(),
                html: letter.html.clone(),
                kind: letter.kind.clone(),
                dialect: letter.dialect.clone(),
                useless_after_ms: (!letter.token.is_empty())
                    .then(|| now_ms() + self.inner.one_time_ttl.as_millis() as i64),
            };
            self.inner.store.enqueue_mail(&id, &seal(&self.inner.mail_key, &id, &queued)).await?;
            self.inner.metrics.mail_queued(&letter.dialect, &letter.kind);
            DeliveryState::Queued
        } else {
            DeliveryState::Outbox
        };
        self.inner.outbox.push(Mail {
            id,
            to: vec![letter.to],
            subject: letter.subject,
            body: letter.text,
            html: letter.html,
            token: letter.token,
            uid: letter.uid,
            purpose: letter.kind,
            dialect: letter.dialect,
            sent_at: now(),
            delivery,
            attempts: 0,
            error: None,
        });
        if delivery == DeliveryState::Queued {
            self.inner.mail_wake.notify_one();
        }
        Ok(())
    }

    /// The store work of queueing a mail, without a mail: for an address
    /// nobody has, so that the answer's timing does not tell (see
    /// `issue_one_time_for_email`). Nothing without delivery.
    pub async fn mail_decoy(&self) -> Result<(), EngineError> {
        if self.inner.mail_delivery {
            self.inner.store.find_mail_status(&[crypto::random_hex(16)]).await?;
        }
        Ok(())
    }

    /// Claims the oldest due mail for `lease`.
    pub async fn claim_mail(&self, lease: Duration) -> Result<Option<Claim>, EngineError> {
        let lease_id = crypto::random_hex(16);
        let Some(ClaimedMail { id, payload, attempts, queued_at_ms }) =
            self.inner.store.claim_mail(lease, &lease_id).await?
        else {
            return Ok(None);
        };
        let mail = open(&self.inner.mail_key, &id, &payload);
        self.inner.outbox.update(&id, &MailStatus { state: DeliveryState::Sending, attempts, error: None });
        Ok(Some(Claim { id, lease_id, attempts, queued_at_ms, mail }))
    }

    /// Records how an attempt ended (false: the lease had run out, another
    /// sender may hold the mail now). A final state is kept for `keep`.
    pub async fn settle_mail(&self, claim: &Claim, outcome: Settle, keep: Duration) -> Result<bool, EngineError> {
        let held = self.inner.store.settle_mail(&claim.id, &claim.lease_id, &outcome, keep).await?;
        let (state, error) = match outcome {
            Settle::Sent => (DeliveryState::Sent, None),
            Settle::Failed(e) => (DeliveryState::Failed, Some(e)),
            Settle::Retry { reason, .. } => (DeliveryState::Retrying, Some(reason)),
        };
        if held {
            self.inner.outbox.update(&claim.id, &MailStatus { state, attempts: claim.attempts, error });
        }
        Ok(held)
    }

    /// The outbox, with the states of mails still on their way read back from
    /// the store (another replica may have delivered them). Without the store,
    /// the states this process last saw.
    pub async fn outbox_list(&self, to: Option<&str>) -> Vec<Mail> {
        let mut mails = self.inner.outbox.list(to);
        let pending: Vec<String> = mails.iter().filter(|m| !m.delivery.is_final()).map(|m| m.id.clone()).collect();
        if pending.is_empty() {
            return mails;
        }
        match self.inner.store.find_mail_status(&pending).await {
            Ok(found) => {
                for (id, status) in pending.iter().zip(found) {
                    if let (Some(status), Some(m)) = (status, mails.iter_mut().find(|m| m.id == *id)) {
                        m.apply(&status);
                        self.inner.outbox.update(id, &status);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "outbox: delivery states not read from the store"),
        }
        mails
    }

    /// Mails not yet settled, in the whole queue (every replica's, on Redis).
    pub async fn mail_queue_depth(&self) -> Result<u64, EngineError> {
        Ok(self.inner.store.mail_queue_depth().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_mails_open_only_with_their_key_and_id() {
        let key = mail_key(&Secret::new("k".repeat(32)));
        let m = QueuedMail {
            to: "a@example.com".into(),
            subject: "s".into(),
            text: "https://x/reset/MQ/secret-token".into(),
            html: None,
            kind: "password_reset".into(),
            dialect: "djoser".into(),
            useless_after_ms: Some(1),
        };
        let sealed = seal(&key, "id1", &m);
        assert!(!sealed.contains("secret-token"));
        assert_eq!(open(&key, "id1", &sealed).unwrap().text, m.text);
        assert!(open(&key, "id2", &sealed).is_err(), "bound to its id");
        assert!(open(&mail_key(&Secret::new("j".repeat(32))), "id1", &sealed).is_err(), "bound to the key");
        assert!(open(&key, "id1", "!!").is_err());
    }
}
