//! Listeners: hyper 1 HTTP/1.1 with keep-alive, a header-read timeout (which
//! also ends idle keep-alive connections) and a cap on open connections, over
//! plain TCP or TLS (`tls`, reloadable). Shutdown stops accepting, lets
//! in-flight requests finish (bounded), then returns. The body-read timeout
//! is the request handler's (`http::handle`), so it answers in the dialect's format.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::http::render::Body;

mod conn_timer;
pub mod tls;

use tls::ReloadingTls;

/// Connection settings shared by every listener.
#[derive(Clone, Copy)]
pub struct ConnSettings {
    /// Bound on reading a request head, and on a TLS handshake. hyper starts
    /// the same timer when a keep-alive connection waits for its next request,
    /// so it also closes idle keep-alive connections.
    pub header_read_timeout: Duration,
    /// Bound on draining in-flight requests once the listener stops accepting.
    pub shutdown_timeout: Duration,
    /// Connections open at once on this listener; past it the listener stops
    /// accepting until one closes (new ones wait in the kernel's accept queue,
    /// holding no file descriptor of ours).
    pub max_connections: usize,
}

/// hyper's limit on a head's bytes, above the gateway's (`http::handle`), so that
/// a head between the two is refused by the handler in the dialect's format; only
/// a head past it gets hyper's bare 431 (or 414).
///
/// The field count keeps hyper's default (100, the gateway's limit too): a head
/// with more fields gets hyper's bare 431, as a Django app's clients got their
/// server's own page (http.server and gunicorn both stop at 100). Raising it costs
/// every request: hyper then allocates and fills two header arrays of that size
/// per head (~3k instructions, a tenth of an opaque-token check).
pub const HYPER_MAX_HEAD_BYTES: usize = 64 * 1024;

/// `http` or `https`: how the listener is reached (for links in mails).
pub type Scheme = &'static str;

/// What a handler knows of the connection a request came over (passed beside
/// the request rather than in its extensions, which would cost a map per request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conn {
    /// How the listener is reached.
    pub scheme: Scheme,
    /// The remote address: the client when no trusted proxy stands between (`http::client_addr`).
    pub peer: SocketAddr,
}

/// Serves one listener until `stop` turns true, then drains. `handler` answers
/// each request; it is given the scheme the connection arrived over.
pub async fn serve<H, F>(
    listener: TcpListener,
    tls: Option<Arc<ReloadingTls>>,
    settings: ConnSettings,
    mut stop: watch::Receiver<bool>,
    handler: H,
) where
    H: Fn(Request<Incoming>, Conn) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let scheme: Scheme = if tls.is_some() { "https" } else { "http" };
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let mut full_logged = false;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => {
                full_logged = false;
                p
            }
            Err(_) => {
                if !full_logged {
                    tracing::warn!(
                        max_connections = settings.max_connections,
                        "connection cap reached: not accepting until a connection closes"
                    );
                    full_logged = true;
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    _ = stopped(&mut stop) => break,
                }
            }
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, conn) = match accepted {
                    Ok((s, peer)) => (s, Conn { scheme, peer }),
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // Taken now, before a stop can be signalled, so the connection drains with the rest.
                let watcher = graceful.watcher();
                let handler = handler.clone();
                let acceptor = tls.as_ref().map(|t| t.acceptor());
                tokio::spawn(async move {
                    // Held for the connection's life: its slot frees when it ends.
                    let _permit = permit;
                    let Some(acceptor) = acceptor else {
                        return connection(stream, conn, handler, settings, watcher).await;
                    };
                    match tokio::time::timeout(settings.header_read_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => connection(tls_stream, conn, handler, settings, watcher).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(settings.shutdown_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutdown timeout reached with connections still open");
    }
}

/// Serves HTTP/1.1 on one accepted (and, for TLS, handshaken) connection.
async fn connection<IO, H, F>(io: IO, conn: Conn, handler: H, settings: ConnSettings, watcher: Watcher)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>, Conn) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
{
    let svc = service_fn(move |req: Request<Incoming>| handler(req, conn));
    let conn = http1::Builder::new()
        .timer(conn_timer::ConnTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .keep_alive(true)
        // A client that shuts its sending side after the request still gets the
        // answer; a hang-up is seen when the answer is written. Without this,
        // hyper watches for one with a read while the handler runs, reserving a
        // fresh 8 KiB buffer per request to do it (the last one is still lent to
        // the request's head). Cancelling a handler would save no work anyway:
        // a password hash runs to its end on the blocking pool.
        .half_close(true)
        .max_buf_size(HYPER_MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(io), svc);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Turns a future into a stop flag for listeners.
pub fn stop_on(signal: impl Future<Output = ()> + Send + 'static) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        let _ = tx.send(true);
    });
    rx
}

/// Resolves once the stop flag is set (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs `reload` on every SIGHUP, for the life of the process (Unix only).
pub fn on_hangup(reload: impl Fn() + Send + 'static) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        reload();
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for SIGHUP"),
        }
    }
    #[cfg(not(unix))]
    drop(reload);
}
