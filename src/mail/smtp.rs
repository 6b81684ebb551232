//! The SMTP side: `[mail] smtp_url` parsed and checked at load, the lettre
//! transport (tokio, rustls) built from it, a queued mail turned into a MIME
//! message, and lettre's errors sorted into "try again" and "refused for good".

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::engine::mailq::QueuedMail;
use crate::secret::Secret;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtp://…?tls=none`: plain text, even when the server offers STARTTLS.
    None,
    /// `smtp://…` (default): STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or no delivery.
    Required,
    /// `smtps://…`: TLS from the first byte.
    Implicit,
}

/// Where mail goes: `[mail] smtp_url`, parsed. `Debug` never shows the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    pub password: Option<Secret>,
}

impl SmtpEndpoint {
    /// `smtp://[user:pass@]host[:port][?tls=opportunistic|required|none]` or
    /// `smtps://[user:pass@]host[:port]`; user and password percent-decoded.
    /// Errors never repeat the URL (it may hold a password).
    pub fn parse(s: &str) -> Result<SmtpEndpoint, String> {
        let url = url::Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
        let implicit = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("scheme {other:?}: use smtp:// or smtps://")),
        };
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err("a path or fragment means nothing here".into());
        }
        let mut tls = if implicit { TlsMode::Implicit } else { TlsMode::Opportunistic };
        for (k, v) in url.query_pairs() {
            tls = match (k.as_ref(), v.as_ref(), implicit) {
                ("tls", "opportunistic", false) => TlsMode::Opportunistic,
                ("tls", "required", false) => TlsMode::Required,
                ("tls", "none", false) => TlsMode::None,
                ("tls", _, true) => return Err("smtps:// is TLS already; ?tls= is for smtp://".into()),
                ("tls", other, false) => return Err(format!("tls={other:?}: use opportunistic, required or none")),
                (other, _, _) => return Err(format!("unknown parameter {other:?} (only tls=)")),
            };
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let user = Some(decode(url.username())).filter(|u| !u.is_empty());
        let password = url.password().map(|p| Secret::new(decode(p)));
        if password.is_some() && user.is_none() {
            return Err("a password without a user".into());
        }
        let port = url.port().unwrap_or(if implicit { 465 } else { 25 });
        Ok(SmtpEndpoint { host, port, tls, user, password })
    }

    /// The transport; `ca_pem` adds a private CA to the system roots.
    pub fn transport(
        &self,
        timeout: Duration,
        ca_pem: Option<&[u8]>,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let params = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(self.host.clone());
            if let Some(pem) = ca_pem {
                b = b.add_root_certificate(Certificate::from_pem(pem).map_err(|e| format!("mail.ca_file: {e}"))?);
            }
            b.build_rustls().map_err(|e| format!("TLS setup: {e}"))
        };
        let tls = match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::Opportunistic => Tls::Opportunistic(params()?),
            TlsMode::Required => Tls::Required(params()?),
            TlsMode::Implicit => Tls::Wrapper(params()?),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.clone())
            .port(self.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some(user) = &self.user {
            let pass = self.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            b = b.credentials(Credentials::new(user.clone(), pass));
        }
        Ok(b.build())
    }
}

/// `addr@example.com` or `Name <addr@example.com>`.
pub fn parse_mailbox(s: &str) -> Result<Mailbox, String> {
    s.parse::<Mailbox>().map_err(|e| format!("{s:?} is not a mail address ({e})"))
}

/// The MIME message of a queued mail: text/plain, or multipart/alternative
/// with the HTML part when there is one (as Django's `EmailMultiAlternatives`).
pub fn message(from: &Mailbox, id: &str, mail: &QueuedMail) -> Result<Message, String> {
    let to = parse_mailbox(&mail.to)?;
    let domain = from.email.domain().to_owned();
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{id}@{domain}>")));
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(mail.text.clone());
    match mail.html.as_deref() {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.to_owned())),
        ),
        None => builder.singlepart(text),
    }
    .map_err(|e| format!("cannot build the message: {e}"))
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    /// Down, unreachable, timed out, TLS trouble, or a 4xx: try again later.
    Temporary {
        code: Option<u16>,
        error: String,
    },
    /// A 5xx: the server will not take it.
    Refused {
        code: Option<u16>,
        error: String,
    },
}

/// Sends one message within `timeout` (the whole conversation).
pub async fn send(transport: &AsyncSmtpTransport<Tokio1Executor>, message: Message, timeout: Duration) -> Attempt {
    match tokio::time::timeout(timeout, transport.send(message)).await {
        Ok(Ok(_)) => Attempt::Sent,
        Ok(Err(e)) => {
            let code = e.status().map(|c| c.to_string().parse().unwrap_or(0));
            let error = e.to_string();
            if e.is_permanent() {
                Attempt::Refused { code, error }
            } else {
                Attempt::Temporary { code, error }
            }
        }
        Err(_) => Attempt::Temporary { code: None, error: format!("no answer within {} ms", timeout.as_millis()) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = SmtpEndpoint::parse("smtp://mailer:p%40ss@mail.example.com:2525?tls=required").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.tls), ("mail.example.com", 2525, TlsMode::Required));
        assert_eq!((e.user.as_deref(), e.password.as_ref().map(Secret::expose)), (Some("mailer"), Some("p@ss")));
        assert!(!format!("{e:?}").contains("p@ss"));
        let e = SmtpEndpoint::parse("smtp://127.0.0.1").unwrap();
        assert_eq!((e.port, e.tls, e.user), (25, TlsMode::Opportunistic, None));
        assert_eq!(SmtpEndpoint::parse("smtps://h").unwrap().port, 465);
        assert_eq!(SmtpEndpoint::parse("smtp://h:1025?tls=none").unwrap().tls, TlsMode::None);
        assert_eq!(SmtpEndpoint::parse("smtp://[::1]:25").unwrap().host, "::1");
        for bad in
            ["http://h", "smtp://", "smtps://h?tls=none", "smtp://h?tls=maybe", "smtp://h?x=1", "smtp://h/p", "nope"]
        {
            assert!(SmtpEndpoint::parse(bad).is_err(), "{bad}");
        }
        let err = SmtpEndpoint::parse("smtp://u:hunter2@h?tls=maybe").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn messages_carry_both_parts() {
        let from = parse_mailbox("Site <noreply@example.com>").unwrap();
        let mut mail = QueuedMail {
            to: "a@example.org".into(),
            subject: "Hello".into(),
            text: "plain".into(),
            html: Some("<p>rich</p>".into()),
            kind: "password_reset".into(),
            dialect: "djoser".into(),
            useless_after_ms: None,
        };
        let raw = String::from_utf8(message(&from, "abc", &mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <abc@example.com>"), "{raw}");
        assert!(raw.contains("multipart/alternative") && raw.contains("<p>rich</p>") && raw.contains("plain"), "{raw}");
        mail.html = None;
        let raw = String::from_utf8(message(&from, "abc", &mail).unwrap().formatted()).unwrap();
        assert!(!raw.contains("multipart") && raw.contains("text/plain"), "{raw}");
        mail.to = "not an address".into();
        assert!(message(&from, "abc", &mail).is_err());
    }
}
