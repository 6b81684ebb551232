//! A real SMTP server for the tests, in process on a free loopback port: the
//! `mailin` crate speaks the protocol (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA),
//! this module does the I/O over tokio (and tokio-rustls for STARTTLS or
//! implicit TLS). Tests can make it answer a code of their choosing to the
//! next transactions (`refuse_next`), stop it (connections refused) and start
//! it again on the same port, and read what it received.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::pki::TestCa;

mod received;

pub use received::Received;

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Codes for the next MAIL commands, one each, before they are accepted again.
    refusals: Mutex<VecDeque<u16>>,
    /// MAIL commands seen (transactions attempted), refused or not.
    transactions: Mutex<u64>,
    arrived: tokio::sync::Notify,
}

/// TLS offered by the server.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    /// STARTTLS offered.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

pub struct SmtpServer {
    pub port: u16,
    shared: Arc<Shared>,
    tls: SmtpTls,
    acceptor: Option<TlsAcceptor>,
    /// (user, password) the server accepts; AUTH is offered only over TLS.
    auth: Option<(String, String)>,
    running: Option<tokio::task::JoinHandle<()>>,
    /// While stopped: the port, bound but not listening (connections are refused).
    reserved: Option<TcpSocket>,
    /// Signed the server's certificate (for `[mail] ca_file`).
    pub ca: Option<TestCa>,
}

struct Conn {
    shared: Arc<Shared>,
    auth: Option<(String, String)>,
    /// Set once the conversation runs over TLS (the session owns the handler).
    tls: Arc<AtomicBool>,
    user: Option<String>,
    current: Option<Received>,
}

impl Handler for Conn {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        *self.shared.transactions.lock().unwrap() += 1;
        if let Some(code) = self.shared.refusals.lock().unwrap().pop_front() {
            return Response::custom(code, format!("refused by the test ({code})"));
        }
        self.current = Some(Received {
            from: from.to_owned(),
            to: Vec::new(),
            data: String::new(),
            tls: self.tls.load(Ordering::SeqCst),
            user: self.user.clone(),
        });
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if let Some(c) = &mut self.current {
            c.to.push(to.to_owned());
        }
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(c) = &mut self.current {
            c.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Some(c) = self.current.take() {
            self.shared.received.lock().unwrap().push(c);
            self.shared.arrived.notify_waiters();
        }
        mailin::response::OK
    }

    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.auth_login(user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        match &self.auth {
            Some((u, p)) if u == user && p == password => {
                self.user = Some(user.to_owned());
                mailin::response::AUTH_OK
            }
            _ => mailin::response::INVALID_CREDENTIALS,
        }
    }
}

impl SmtpServer {
    /// A plain server (no TLS, no AUTH) on a free port.
    pub async fn start() -> SmtpServer {
        Self::start_with(SmtpTls::None, None).await
    }

    pub async fn start_with(tls: SmtpTls, auth: Option<(&str, &str)>) -> SmtpServer {
        let (ca, acceptor) = if tls == SmtpTls::None {
            (None, None)
        } else {
            let ca = TestCa::new();
            let leaf = ca.leaf();
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes()).collect::<Result<_, _>>().expect("cert");
            let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).expect("key");
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .expect("server config");
            (Some(ca), Some(TlsAcceptor::from(Arc::new(config))))
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let mut s = SmtpServer {
            port,
            shared: Arc::new(Shared::default()),
            tls,
            acceptor,
            auth: auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            running: None,
            reserved: None,
            ca,
        };
        s.serve(listener);
        s
    }

    fn serve(&mut self, listener: TcpListener) {
        let (shared, tls, acceptor, auth) = (self.shared.clone(), self.tls, self.acceptor.clone(), self.auth.clone());
        self.running = Some(tokio::spawn(async move {
            // Dropped with this task: stopping the server ends its conversations too.
            let mut conns = JoinSet::new();
            loop {
                let Ok((tcp, peer)) = listener.accept().await else { continue };
                let conn = Conn {
                    shared: shared.clone(),
                    auth: auth.clone(),
                    tls: Default::default(),
                    user: None,
                    current: None,
                };
                conns.spawn(converse(tcp, peer, conn, tls, acceptor.clone()));
                while conns.try_join_next().is_some() {}
            }
        }));
    }

    /// `smtp://127.0.0.1:PORT` (plain, or STARTTLS when offered) or `smtps://…`.
    pub fn url(&self) -> String {
        match self.tls {
            SmtpTls::Implicit => format!("smtps://127.0.0.1:{}", self.port),
            _ => format!("smtp://127.0.0.1:{}", self.port),
        }
    }

    /// Stops listening and cuts every open conversation: connections are refused.
    /// The port stays bound (not listening) until `restart`: the suite runs in
    /// parallel, and another test's listener must not be handed it meanwhile.
    pub async fn stop(&mut self) {
        if let Some(t) = self.running.take() {
            t.abort();
            // Its listener is closed once the task is gone.
            let _ = t.await;
        }
        if self.reserved.is_none() {
            self.reserved = reserve(self.port);
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        if let Some(Ok(listener)) = self.reserved.take().map(|s| s.listen(128)) {
            return self.serve(listener);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("cannot listen on port {} again: {e}", self.port),
            }
        };
        self.serve(listener);
    }

    /// The next `n` transactions are answered `code` at MAIL FROM.
    pub fn refuse_next(&self, code: u16, n: usize) {
        self.shared.refusals.lock().unwrap().extend(std::iter::repeat_n(code, n));
    }

    /// Transactions attempted so far (MAIL commands), accepted or refused.
    pub fn transactions(&self) -> u64 {
        *self.shared.transactions.lock().unwrap()
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{} of {n} mails arrived within {timeout:?}", self.received().len());
            }
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(t) = self.running.take() {
            t.abort();
        }
    }
}

/// `port` bound without listening. Address reuse: the cut conversations may
/// leave the port in TIME_WAIT; the kernel still hands a bound port to no
/// listener that asks for any free one.
fn reserve(port: u16) -> Option<TcpSocket> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.set_reuseaddr(true).ok()?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port))).ok()?;
    Some(socket)
}

/// One SMTP conversation, upgraded to TLS when asked (or from the start).
async fn converse(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    conn: Conn,
    tls: SmtpTls,
    acceptor: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    let mut builder = SessionBuilder::new("polyauth-test-smtp");
    if tls == SmtpTls::StartTls {
        builder.enable_start_tls();
    }
    if conn.auth.is_some() {
        builder.enable_auth(AuthMechanism::Plain).enable_auth(AuthMechanism::Login);
    }
    let acceptor = acceptor.filter(|_| tls != SmtpTls::None);
    let over_tls = conn.tls.clone();
    if let (SmtpTls::Implicit, Some(a)) = (tls, &acceptor) {
        over_tls.store(true, Ordering::SeqCst);
        let mut session = builder.build(peer.ip(), conn);
        session.tls_active();
        let stream = a.accept(tcp).await?;
        lines(stream, &mut session, true).await?;
        return Ok(());
    }
    let mut session = builder.build(peer.ip(), conn);
    if let Some(tcp) = lines(tcp, &mut session, true).await? {
        let a = acceptor.expect("STARTTLS only when offered");
        let stream = a.accept(tcp).await?;
        session.tls_active();
        over_tls.store(true, Ordering::SeqCst);
        lines(stream, &mut session, false).await?;
    }
    Ok(())
}

/// Reads command lines and answers them; returns the stream when the client
/// asked for STARTTLS (after the 220 went out).
async fn lines<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    session: &mut mailin::Session<Conn>,
    greet: bool,
) -> std::io::Result<Option<S>> {
    let mut io = BufReader::new(io);
    if greet {
        write(&mut io, &session.greeting()).await?;
    }
    let mut line = Vec::new();
    loop {
        line.clear();
        if io.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let res = session.process(&line);
        match res.action {
            Action::Reply => write(&mut io, &res).await?,
            Action::Close => {
                write(&mut io, &res).await?;
                return Ok(None);
            }
            Action::UpgradeTls => {
                write(&mut io, &res).await?;
                return Ok(Some(io.into_inner()));
            }
            Action::NoReply => {}
        }
    }
}

async fn write<S: AsyncRead + AsyncWrite + Unpin>(io: &mut BufReader<S>, res: &Response) -> std::io::Result<()> {
    let mut buf = Vec::new();
    res.write_to(&mut buf)?;
    io.get_mut().write_all(&buf).await?;
    io.get_mut().flush().await
}

/// `[mail]` for a test gateway: this URL, quick retries and polls.
pub fn mail_config(smtp_url: &str) -> String {
    format!(
        "[mail]\nfrom = \"Polyauth Test <noreply@example.com>\"\nsmtp_url = {smtp_url:?}\ntimeout_ms = 3000\n\
         retry_initial_ms = 100\nretry_max_ms = 400\npoll_interval_ms = 100\n"
    )
}

/// The (uid, token) of a Djoser reset link (`…/password/reset/confirm/<uid>/<token>`) in a text.
pub fn reset_link(text: &str) -> (String, String) {
    let at = text.find("/password/reset/confirm/").unwrap_or_else(|| panic!("no reset link in {text:?}"));
    let rest = &text[at + "/password/reset/confirm/".len()..];
    let end = rest.find(|c: char| c.is_whitespace() || c == '"' || c == '<').unwrap_or(rest.len());
    let (uid, token) = rest[..end].split_once('/').expect("uid/token");
    (uid.to_owned(), token.to_owned())
}

impl super::Gw {
    /// Polls the outbox until the newest mail to `to` is in delivery state
    /// `state` (`sent`, `retrying`, `failed`, …); returns it.
    pub async fn wait_delivery(&self, to: &str, state: &str, timeout: Duration) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.outbox(to).await;
            if let Some(m) = mails.last().filter(|m| m["delivery"] == state) {
                return m.clone();
            }
            assert!(Instant::now() < deadline, "no mail to {to} reached {state:?} within {timeout:?}: {mails:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
