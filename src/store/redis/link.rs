//! The connection behind the Redis store: one shared link for every request,
//! to a single server or to a Cluster, and the rules that keep an outage short
//! and its answers fast.
//!
//! A single server is one multiplexed connection owned by a `Single`. When a
//! command fails on a broken connection (or runs past the store deadline) the
//! link goes down and a background task reconnects: at once, then every
//! 50 ms doubling to at most `MAX_BACKOFF`, forever. While down, requests
//! fail at once (no request waits out a backoff), except in the first moments
//! before the first reconnect attempt has failed: those wait for it, within
//! their deadline, so a dropped connection to a healthy server costs nothing.
//! (The redis crate's `ConnectionManager`, used before, made every request
//! wait on a shared reconnect future that slept through an exponential backoff
//! of up to a minute and more, then stayed failed until an I/O error re-armed it:
//! after Redis returned, polyauth answered 503 for over 100 s.)
//!
//! A Cluster is the redis crate's async cluster connection, which routes by
//! slot, follows MOVED/ASK, reconnects to nodes and refreshes the topology
//! itself; its retries are bounded so that they fit within the store deadline.

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use tokio::sync::watch;

use super::driver::Multiplexed;

/// Longest wait between two reconnect attempts: service returns at most this
/// long (plus one connect) after the server does.
const MAX_BACKOFF: Duration = Duration::from_millis(250);
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

/// A `redis+cluster://` / `rediss+cluster://` URL as the node URLs the cluster client takes:
/// `redis+cluster://[user:password@]host1:port1,host2:port2[/]`.
pub(super) fn cluster_nodes(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = url.split_once("+cluster://")?;
    if scheme != "redis" && scheme != "rediss" {
        return None;
    }
    let rest = rest.trim_end_matches('/');
    let (auth, hosts) = match rest.rsplit_once('@') {
        Some((auth, hosts)) => (format!("{auth}@"), hosts),
        None => (String::new(), rest),
    };
    let nodes: Vec<String> =
        hosts.split(',').filter(|h| !h.is_empty()).map(|h| format!("{scheme}://{auth}{h}")).collect();
    (!nodes.is_empty() && !hosts.contains('/')).then_some(nodes)
}

/// The shared link: cheap to clone.
#[derive(Clone)]
pub(super) enum Link {
    Single(Arc<Single>),
    Cluster(ClusterConnection),
}

/// One server: the current connection (or why there is none) and how to make another.
pub(super) struct Single {
    client: redis::Client,
    /// Bound on one connect attempt.
    connect_timeout: Duration,
    state: watch::Sender<State>,
}

#[derive(Clone)]
enum State {
    Up {
        conn: Multiplexed,
        generation: u64,
    },
    /// `failed` counts reconnect attempts since the link went down; `error` is the last reason.
    Down {
        generation: u64,
        failed: u32,
        error: String,
    },
}

impl State {
    fn generation(&self) -> u64 {
        match self {
            State::Up { generation, .. } | State::Down { generation, .. } => *generation,
        }
    }
}

impl Single {
    /// Connects once (start-up fails when the server cannot be reached) and
    /// starts the reconnect task, which lives as long as the link.
    pub(super) async fn connect(client: redis::Client, timeout: Duration) -> Result<Arc<Self>, RedisError> {
        let conn = tokio::time::timeout(timeout, Multiplexed::connect(&client))
            .await
            .map_err(|_| RedisError::from((redis::ErrorKind::IoError, "connect timed out")))??;
        let (state, _) = watch::channel(State::Up { conn, generation: 0 });
        let single = Arc::new(Single { client, connect_timeout: timeout, state });
        tokio::spawn(reconnect_loop(Arc::downgrade(&single), single.state.subscribe()));
        Ok(single)
    }

    /// The current connection; while down, an error at once, unless the link
    /// has just gone down and its first reconnect attempt is still running.
    async fn conn(&self) -> Result<(Multiplexed, u64), RedisError> {
        // The usual case, read without subscribing (a receiver is two more
        // atomic updates on a counter every request shares).
        if let State::Up { conn, generation } = &*self.state.borrow() {
            return Ok((conn.clone(), *generation));
        }
        let mut rx = self.state.subscribe();
        loop {
            match &*rx.borrow_and_update() {
                State::Up { conn, generation } => return Ok((conn.clone(), *generation)),
                State::Down { failed, error, .. } if *failed > 0 => return Err(down_error(error)),
                State::Down { .. } => {}
            }
            if rx.changed().await.is_err() {
                return Err(down_error("store link closed"));
            }
        }
    }

    /// Marks the connection of `generation` as broken (once: a newer one is kept).
    fn broken(&self, generation: u64, why: &str) {
        self.state.send_if_modified(|s| match s {
            State::Up { generation: g, .. } if *g == generation => {
                tracing::warn!(error = why, "redis connection lost; reconnecting");
                *s = State::Down { generation, failed: 0, error: why.to_owned() };
                true
            }
            _ => false,
        });
    }

    fn current_generation(&self) -> u64 {
        self.state.borrow().generation()
    }
}

fn down_error(why: &str) -> RedisError {
    RedisError::from((redis::ErrorKind::IoError, "redis unreachable", why.to_owned()))
}

/// Reconnects whenever the link is down, with a short capped backoff, until
/// the `Single` is dropped.
async fn reconnect_loop(single: Weak<Single>, mut rx: watch::Receiver<State>) {
    loop {
        // Wait for the link to go down.
        loop {
            if matches!(&*rx.borrow_and_update(), State::Down { .. }) {
                break;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            let Some(s) = single.upgrade() else { return };
            // Connect and PING under one bound: a frozen server still accepts
            // connections (the kernel does) but never answers.
            let attempt = tokio::time::timeout(s.connect_timeout, async {
                let mut conn = Multiplexed::connect(&s.client).await?;
                redis::cmd("PING").query_async::<String>(&mut conn.conn).await?;
                Ok::<_, RedisError>(conn)
            })
            .await;
            let result = match attempt {
                Ok(Ok(conn)) => Ok(conn),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("connect timed out".to_owned()),
            };
            match result {
                Ok(conn) => {
                    s.state.send_modify(|st| *st = State::Up { conn, generation: st.generation() + 1 });
                    tracing::info!("redis connection re-established");
                    break;
                }
                Err(error) => s.state.send_modify(|st| {
                    let (generation, failed) = match st {
                        State::Down { generation, failed, .. } => (*generation, *failed + 1),
                        State::Up { generation, .. } => (*generation, 1),
                    };
                    *st = State::Down { generation, failed, error };
                }),
            }
            drop(s);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// A connection for one store operation: commands that fail on a broken
/// connection take the link down (a single server; a Cluster heals itself).
pub(super) enum Conn {
    Single { conn: Multiplexed, generation: u64, link: Arc<Single> },
    Cluster(ClusterConnection),
}

impl Link {
    /// Connects to the store a URL names: a Cluster (`redis+cluster://`,
    /// `rediss+cluster://`) or one server; with `ca_pem`, TLS servers are
    /// verified against that CA (a private one).
    pub(super) async fn open(url: &str, timeout: Duration, ca_pem: Option<Vec<u8>>) -> Result<Link, RedisError> {
        let certs = |root_cert| redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert) };
        if let Some(nodes) = cluster_nodes(url) {
            let mut b = redis::cluster::ClusterClientBuilder::new(nodes)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                // Retries (MOVED/ASK, a node reconnecting, a failover) fit within the deadline.
                .retries(3)
                .min_retry_wait(50)
                .max_retry_wait(500);
            if let Some(ca) = ca_pem {
                b = b.certs(certs(ca));
            }
            return Ok(Link::Cluster(b.build()?.get_async_connection().await?));
        }
        if url.contains("+cluster") {
            return Err(RedisError::from((redis::ErrorKind::InvalidClientConfig, "not a cluster URL", url.to_owned())));
        }
        let client = match ca_pem {
            None => redis::Client::open(url),
            Some(ca) => redis::Client::build_with_tls(url, certs(ca)),
        }?;
        Ok(Link::Single(Single::connect(client, timeout).await?))
    }

    pub(super) async fn conn(&self) -> Result<Conn, RedisError> {
        match self {
            Link::Single(s) => {
                let (conn, generation) = s.conn().await?;
                Ok(Conn::Single { conn, generation, link: s.clone() })
            }
            Link::Cluster(c) => Ok(Conn::Cluster(c.clone())),
        }
    }

    /// An operation ran past its deadline: on a single server the connection
    /// is presumed dead (a half-open socket gives no other sign).
    pub(super) fn timed_out(&self) {
        if let Link::Single(s) = self {
            s.broken(s.current_generation(), "operation timed out");
        }
    }
}

/// Errors after which the connection cannot be trusted.
fn breaks_connection(e: &RedisError) -> bool {
    e.is_io_error() || e.is_unrecoverable_error() || e.is_connection_dropped() || e.is_timeout()
}

impl Conn {
    fn note<T>(&self, r: &Result<T, RedisError>) {
        if let (Err(e), Conn::Single { generation, link, .. }) = (r, self) {
            if breaks_connection(e) {
                link.broken(*generation, &e.to_string());
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let r = match self {
                Conn::Single { conn, .. } => conn.conn.req_packed_command(cmd).await,
                Conn::Cluster(c) => c.req_packed_command(cmd).await,
            };
            self.note(&r);
            r
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let r = match self {
                Conn::Single { conn, .. } => conn.conn.req_packed_commands(cmd, offset, count).await,
                Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count).await,
            };
            self.note(&r);
            r
        })
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single { conn, .. } => conn.conn.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn cluster_urls_name_every_node() {
        assert_eq!(cluster_nodes("redis+cluster://a:7000,b:7001/").unwrap(), ["redis://a:7000", "redis://b:7001"]);
        assert_eq!(
            cluster_nodes("rediss+cluster://u:p@a:7000,b:7001").unwrap(),
            ["rediss://u:p@a:7000", "rediss://u:p@b:7001"]
        );
        assert!(cluster_nodes("redis://a:7000").is_none());
        assert!(cluster_nodes("http+cluster://a:7000").is_none());
        assert!(cluster_nodes("redis+cluster:///").is_none());
        assert!(cluster_nodes("redis+cluster://a:1/0").is_none(), "a cluster has one database");
    }
}
