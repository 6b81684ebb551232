//! Prometheus metrics. One `Metrics` handle (a cheap clone over `Arc`) is made
//! at start and passed explicitly to what counts: the request pipeline, the
//! engine (logins, tokens, password hashing) and the store decorator. There is
//! no global registry, so every in-process test gateway has its own numbers.
//!
//! Label values are bounded by construction: dialect and route names come from
//! dialect files, statuses from dialect data, kinds and store operations from
//! fixed lists in the code. A raw path or anything else a client sent never
//! becomes a label value.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// The route label of a request that matched no route (or no mount).
pub const UNMATCHED: &str = "-";

/// The route label of a CORS preflight, answered before any route is matched.
pub const PREFLIGHT: &str = "(preflight)";

/// The content type `/metrics` answers with (OpenMetrics text, which Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    dialect: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    dialect: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    dialect: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpErrorLabels {
    op: &'static str,
    error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpgradeLabels {
    from: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ThrottledLabels {
    dialect: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MailLabels {
    dialect: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MailFailLabels {
    dialect: String,
    kind: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// One store operation's latency series, resolved once (`Metrics::store_series`).
pub type StoreSeries = Histogram;

fn request_histogram() -> Histogram {
    // 1 ms .. ~16 s: a cached token check up to a queued bcrypt login on a busy pod.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn store_histogram() -> Histogram {
    // 100 µs .. ~1.6 s: Redis round trips, up to the store timeout.
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// One route's request series (`Metrics::route`).
pub struct RouteMetrics {
    metrics: Metrics,
    dialect: String,
    route: String,
    ok_status: u16,
    duration: OnceLock<Histogram>,
    ok: OnceLock<Counter>,
}

impl RouteMetrics {
    /// One answered request of this route (as `Metrics::request`).
    pub fn request(&self, status: u16, elapsed: Duration) {
        let inner = &self.metrics.inner;
        let labels = || RouteLabels { dialect: self.dialect.clone(), route: self.route.clone() };
        self.duration
            .get_or_init(|| inner.request_duration.get_or_create(&labels()).clone())
            .observe(elapsed.as_secs_f64());
        let counter = |status| RequestLabels { dialect: self.dialect.clone(), route: self.route.clone(), status };
        if status == self.ok_status {
            self.ok.get_or_init(|| inner.requests.get_or_create(&counter(status)).clone()).inc();
        } else {
            inner.requests.get_or_create(&counter(status)).inc();
        }
    }
}

/// Cheap to clone: every clone counts into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<RouteLabels>,
    logins: Family<LoginLabels, Counter>,
    tokens_issued: Family<KindLabels, Counter>,
    tokens_revoked: Family<KindLabels, Counter>,
    hash_queue: Gauge,
    hash_refused: Counter,
    hash_duration: Histogram,
    password_upgrades: Family<UpgradeLabels, Counter>,
    lockouts: Family<ScopeLabels, Counter>,
    throttled: Family<ThrottledLabels, Counter>,
    store_duration: Histograms<OpLabels>,
    store_errors: Family<OpErrorLabels, Counter>,
    mail_queued: Family<MailLabels, Counter>,
    mail_sent: Family<MailLabels, Counter>,
    mail_retried: Family<MailLabels, Counter>,
    mail_failed: Family<MailFailLabels, Counter>,
    mail_queue_depth: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("polyauth");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "Requests answered, by dialect, route name and status", requests.clone());
        let request_duration = Histograms::<RouteLabels>::new_with_constructor(request_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from request head to response, by dialect and route name",
            Unit::Seconds,
            request_duration.clone(),
        );
        let logins = Family::<LoginLabels, Counter>::default();
        registry.register("logins", "Password logins by dialect; outcome is succeeded or failed", logins.clone());
        let tokens_issued = Family::<KindLabels, Counter>::default();
        registry.register("tokens_issued", "Tokens handed out, by kind", tokens_issued.clone());
        let tokens_revoked = Family::<KindLabels, Counter>::default();
        registry.register("tokens_revoked", "Tokens revoked or blacklisted, by kind", tokens_revoked.clone());
        let hash_queue = Gauge::default();
        registry.register(
            "password_hash_queue_depth",
            "Password hashes waiting for or holding a hashing slot",
            hash_queue.clone(),
        );
        let hash_refused = Counter::default();
        registry.register(
            "password_hash_rejections",
            "Password hashes refused at once because max_queued_hashes were already waiting",
            hash_refused.clone(),
        );
        let lockouts = Family::<ScopeLabels, Counter>::default();
        registry.register("login_lockouts", "Login lockouts started, by scope (account or address)", lockouts.clone());
        let throttled = Family::<ThrottledLabels, Counter>::default();
        registry.register(
            "throttled_requests",
            "Requests refused by abuse protection, by dialect and reason (lockout, throttle, busy)",
            throttled.clone(),
        );
        let hash_duration = Histogram::new(exponential_buckets(0.001, 2.0, 13));
        registry.register_with_unit(
            "password_hash_duration",
            "Time one password hash or verification takes on the blocking pool",
            Unit::Seconds,
            hash_duration.clone(),
        );
        let password_upgrades = Family::<UpgradeLabels, Counter>::default();
        registry.register(
            "password_upgrades",
            "Stored password hashes rewritten with the configured bcrypt after a login, by the old algorithm",
            password_upgrades.clone(),
        );
        let store_duration = Histograms::<OpLabels>::new_with_constructor(store_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "store_operation_duration",
            "Store round trips by operation",
            Unit::Seconds,
            store_duration.clone(),
        );
        let store_errors = Family::<OpErrorLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Store operations that failed, by operation and error (unavailable or corrupt)",
            store_errors.clone(),
        );
        let mail_queued = Family::<MailLabels, Counter>::default();
        registry.register("mail_queued", "Mails queued for SMTP delivery, by dialect and kind", mail_queued.clone());
        let mail_sent = Family::<MailLabels, Counter>::default();
        registry.register("mail_sent", "Mails the SMTP server accepted, by dialect and kind", mail_sent.clone());
        let mail_retried = Family::<MailLabels, Counter>::default();
        registry.register(
            "mail_retried",
            "Delivery attempts that failed temporarily and will be retried, by dialect and kind",
            mail_retried.clone(),
        );
        let mail_failed = Family::<MailFailLabels, Counter>::default();
        registry.register(
            "mail_failed",
            "Mails given up: refused (5xx), expired (too old to retry) or unreadable, by dialect and kind",
            mail_failed.clone(),
        );
        let mail_queue_depth = Gauge::default();
        registry.register(
            "mail_queue_depth",
            "Mails in the store's queue not yet sent or given up (every replica's, on Redis)",
            mail_queue_depth.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION") }).set(1);
        registry.register("build_info", "Always 1; the version label names the running build", build);
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_duration,
                logins,
                tokens_issued,
                tokens_revoked,
                hash_queue,
                hash_refused,
                hash_duration,
                password_upgrades,
                lockouts,
                throttled,
                store_duration,
                store_errors,
                mail_queued,
                mail_sent,
                mail_retried,
                mail_failed,
                mail_queue_depth,
            }),
        }
    }

    /// One answered request. `route` is a route name from the dialect table, or `UNMATCHED`.
    pub fn request(&self, dialect: &str, route: &str, status: u16, elapsed: Duration) {
        let (dialect, route) = (dialect.to_owned(), route.to_owned());
        self.inner
            .request_duration
            .get_or_create(&RouteLabels { dialect: dialect.clone(), route: route.clone() })
            .observe(elapsed.as_secs_f64());
        self.inner.requests.get_or_create(&RequestLabels { dialect, route, status }).inc();
    }

    /// One password login that reached a verdict on the credentials.
    pub fn login(&self, dialect: &str, succeeded: bool) {
        let outcome = if succeeded { "succeeded" } else { "failed" };
        self.inner.logins.get_or_create(&LoginLabels { dialect: dialect.to_owned(), outcome }).inc();
    }

    /// `kind`: one of the fixed token kinds named in the README's metrics reference.
    pub fn token_issued(&self, kind: &'static str) {
        self.inner.tokens_issued.get_or_create(&KindLabels { kind }).inc();
    }

    pub fn tokens_revoked(&self, kind: &'static str, n: u64) {
        if n > 0 {
            self.inner.tokens_revoked.get_or_create(&KindLabels { kind }).inc_by(n);
        }
    }

    /// A hash entered (+1) or left (-1) the hashing queue.
    pub fn hash_queue(&self, delta: i64) {
        self.inner.hash_queue.inc_by(delta);
    }

    /// The handles of one route's request series, resolved once (on its first
    /// answer, so a route never requested shows no series) instead of a label
    /// lookup per request. `ok` is the status the route answers on success.
    pub fn route(&self, dialect: &str, route: &str, ok: u16) -> RouteMetrics {
        RouteMetrics {
            metrics: self.clone(),
            dialect: dialect.to_owned(),
            route: route.to_owned(),
            ok_status: ok,
            duration: OnceLock::new(),
            ok: OnceLock::new(),
        }
    }

    /// A hash refused because the queue was full.
    pub fn hash_refused(&self) {
        self.inner.hash_refused.inc();
    }

    /// A stored hash rewritten after a login; `from` is `passwords::algorithm`'s name.
    pub fn password_upgraded(&self, from: &'static str) {
        self.inner.password_upgrades.get_or_create(&UpgradeLabels { from }).inc();
    }

    /// A lockout started; `scope` is `account` or `address`.
    pub fn lockout(&self, scope: &'static str) {
        self.inner.lockouts.get_or_create(&ScopeLabels { scope }).inc();
    }

    /// A request refused by abuse protection; `reason` is `lockout`, `throttle` or `busy`.
    pub fn throttled(&self, dialect: &str, reason: &'static str) {
        self.inner.throttled.get_or_create(&ThrottledLabels { dialect: dialect.to_owned(), reason }).inc();
    }

    pub fn hash_done(&self, elapsed: Duration) {
        self.inner.hash_duration.observe(elapsed.as_secs_f64());
    }

    /// One store operation; `error` names the failure class when it failed.
    pub fn store_op(&self, op: &'static str, elapsed: Duration, error: Option<&'static str>) {
        self.inner.store_duration.get_or_create(&OpLabels { op }).observe(elapsed.as_secs_f64());
        self.store_failed(op, error);
    }

    /// A store operation's latency series, to keep (an operation every request makes).
    pub fn store_series(&self, op: &'static str) -> StoreSeries {
        self.inner.store_duration.get_or_create(&OpLabels { op }).clone()
    }

    /// Counts a failed store operation (`error`: its class; None: it did not fail).
    pub fn store_failed(&self, op: &'static str, error: Option<&'static str>) {
        if let Some(error) = error {
            self.inner.store_errors.get_or_create(&OpErrorLabels { op, error }).inc();
        }
    }

    fn mail_labels(dialect: &str, kind: &str) -> MailLabels {
        MailLabels { dialect: dialect.to_owned(), kind: kind.to_owned() }
    }

    pub fn mail_queued(&self, dialect: &str, kind: &str) {
        self.inner.mail_queued.get_or_create(&Self::mail_labels(dialect, kind)).inc();
    }

    pub fn mail_sent(&self, dialect: &str, kind: &str) {
        self.inner.mail_sent.get_or_create(&Self::mail_labels(dialect, kind)).inc();
    }

    pub fn mail_retried(&self, dialect: &str, kind: &str) {
        self.inner.mail_retried.get_or_create(&Self::mail_labels(dialect, kind)).inc();
    }

    /// `reason`: `refused`, `expired` or `unreadable`.
    pub fn mail_failed(&self, dialect: &str, kind: &str, reason: &'static str) {
        let labels = MailFailLabels { dialect: dialect.to_owned(), kind: kind.to_owned(), reason };
        self.inner.mail_failed.get_or_create(&labels).inc();
    }

    pub fn mail_queue_depth(&self, depth: u64) {
        self.inner.mail_queue_depth.set(depth as i64);
    }

    /// The exposition text served at `/metrics`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_exposition() {
        let m = Metrics::new();
        m.request("simplejwt", "token_obtain", 200, Duration::from_millis(3));
        m.login("simplejwt", false);
        m.token_issued("access");
        m.store_op("find_user", Duration::from_micros(300), Some("unavailable"));
        m.mail_failed("djoser", "password_reset", "refused");
        m.mail_queue_depth(3);
        let text = m.encode();
        assert!(
            text.contains(r#"polyauth_http_requests_total{dialect="simplejwt",route="token_obtain",status="200"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"polyauth_logins_total{dialect="simplejwt",outcome="failed"} 1"#), "{text}");
        assert!(text.contains(r#"polyauth_tokens_issued_total{kind="access"} 1"#), "{text}");
        assert!(text.contains(r#"polyauth_store_errors_total{op="find_user",error="unavailable"} 1"#), "{text}");
        assert!(text.contains(r#"polyauth_build_info{version=""#), "{text}");
        assert!(
            text.contains(r#"polyauth_mail_failed_total{dialect="djoser",kind="password_reset",reason="refused"} 1"#),
            "{text}"
        );
        assert!(text.contains("polyauth_mail_queue_depth 3"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
