//! Mail delivery over SMTP. The engine queues every mail in the store
//! (`engine::mailq`, sealed); here a sender claims each one, delivers it with
//! lettre (tokio, rustls) and records how it went. Without `[mail] smtp_url`
//! none of this runs and the outbox is the only transport.
//!
//! Knows nothing of HTTP or dialects: a mail arrives rendered.

pub mod sender;
pub mod smtp;

pub use sender::{Sender, SenderSettings};
pub use smtp::{parse_mailbox, SmtpEndpoint, TlsMode};
