//! A real local Redis Cluster for the tests: `redis-server --cluster-enabled
//! yes` nodes on free ports (each also binds its bus port, port + 10000),
//! joined by `redis-cli --cluster create`. One shared 3-master cluster serves
//! every `cluster::…` test of the process, each test under its own key prefix;
//! the failover tests start their own with replicas. A watchdog process kills
//! the nodes and removes their files once the test process is gone (statics
//! are never dropped).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Cluster {
    pub nodes: Vec<Node>,
    /// The nodes' files, removed on drop.
    _dir: tempfile::TempDir,
    watchdog: Child,
}

pub struct Node {
    pub port: u16,
    child: Child,
}

/// A port whose bus port (+10000) is free too.
fn free_node_port(taken: &[u16]) -> u16 {
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        if port > 55_000 || taken.contains(&port) || taken.contains(&(port - 10_000)) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// `redis-cli -p PORT ARGS…`, its stdout.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli must be installed (apt-get install redis-server)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn_node(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let node_dir = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir).expect("node dir");
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--cluster-enabled", "yes"])
        .args(["--cluster-config-file", "nodes.conf", "--save", ""])
        .args(extra)
        .arg("--dir")
        .arg(&node_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (apt-get install redis-server)")
}

impl Cluster {
    /// The cluster every `cluster::…` test shares (3 masters, no replicas).
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(|| Cluster::start(3, 0, &[]))
    }

    /// A key prefix no other test of this process uses.
    pub fn fresh_prefix() -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// `masters` masters with `replicas` replicas each; `extra` are redis-server options for every node.
    pub fn start(masters: usize, replicas: usize, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ports = Vec::new();
        for _ in 0..masters * (1 + replicas) {
            ports.push(free_node_port(&ports));
        }
        let nodes: Vec<Node> =
            ports.iter().map(|&port| Node { port, child: spawn_node(dir.path(), port, extra) }).collect();
        let pids: Vec<String> = nodes.iter().map(|n| n.child.id().to_string()).collect();
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -9 {} 2>/dev/null; rm -rf '{}'",
                std::process::id(),
                pids.join(" "),
                dir.path().display()
            ))
            .stdin(Stdio::null())
            .spawn()
            .expect("sh");
        let cluster = Cluster { nodes, _dir: dir, watchdog };
        for n in &cluster.nodes {
            assert!(wait_for(Duration::from_secs(10), || cli(n.port, &["PING"]).trim() == "PONG"), "node {}", n.port);
        }
        let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli");
        assert!(out.status.success(), "cluster create: {}", String::from_utf8_lossy(&out.stdout));
        cluster.wait_healthy(masters, replicas);
        cluster
    }

    /// Waits until every live node sees the cluster ok with `masters` masters, each with `replicas` replicas.
    pub fn wait_healthy(&self, masters: usize, replicas: usize) {
        let ok = wait_for(Duration::from_secs(60), || {
            self.nodes.iter().all(|n| !cli(n.port, &["PING"]).contains("PONG") || self.node_sees_ok(n.port))
                && self.masters().len() == masters
                && self.replica_count() == masters * replicas
        });
        assert!(ok, "cluster never became healthy:\n{}", cli(self.nodes[0].port, &["CLUSTER", "NODES"]));
    }

    /// Waits until every live node sees the cluster ok, served by `masters` masters.
    pub fn wait_ok(&self, masters: usize) {
        let ok = wait_for(Duration::from_secs(60), || {
            self.nodes.iter().all(|n| !cli(n.port, &["PING"]).contains("PONG") || self.node_sees_ok(n.port))
                && self.masters().len() == masters
        });
        assert!(ok, "cluster never became ok:\n{}", cli(self.nodes[0].port, &["CLUSTER", "NODES"]));
    }

    fn node_sees_ok(&self, port: u16) -> bool {
        cli(port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
    }

    /// Lines of `CLUSTER NODES` as a live node sees them.
    fn view(&self) -> String {
        self.nodes.iter().map(|n| cli(n.port, &["CLUSTER", "NODES"])).find(|v| !v.trim().is_empty()).unwrap_or_default()
    }

    /// Ports of the masters that serve slots and are not marked failed.
    pub fn masters(&self) -> Vec<u16> {
        self.view()
            .lines()
            .filter(|l| l.contains("master") && !l.contains("fail") && l.split(' ').count() > 8)
            .filter_map(|l| l.split(' ').nth(1)?.split([':', '@']).nth(1)?.parse().ok())
            .collect()
    }

    /// Replicas whose replication link is up (the initial sync done: one
    /// that never synced is too stale to be promoted).
    fn replica_count(&self) -> usize {
        self.view()
            .lines()
            .filter(|l| l.contains("slave") && !l.contains("fail"))
            .filter_map(|l| l.split(' ').nth(1)?.split([':', '@']).nth(1)?.parse::<u16>().ok())
            .filter(|&port| cli(port, &["INFO", "replication"]).contains("master_link_status:up"))
            .count()
    }

    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// SIGKILL of the node on `port`.
    pub fn kill(&mut self, port: u16) {
        let n = self.nodes.iter_mut().find(|n| n.port == port).expect("node");
        let _ = n.child.kill();
        let _ = n.child.wait();
    }

    /// Keys under `prefix` on the node on `port`.
    pub fn count_keys(&self, port: u16, prefix: &str) -> usize {
        cli(port, &["--scan", "--pattern", &format!("{prefix}:*")]).lines().filter(|l| !l.is_empty()).count()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            let _ = n.child.kill();
            let _ = n.child.wait();
        }
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

pub fn wait_for(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}
