//! Which `Host` headers a mount answers (Django's `ALLOWED_HOSTS`, from the
//! mount's settings) and where links in its mails point. A link is built from
//! configured values first (`[[mount]] public_url`; Djoser's `DOMAIN`,
//! `SITE_NAME`, `EMAIL_FRONTEND_*`); else from a Host that an `ALLOWED_HOSTS`
//! entry named (not `"*"`); else from the listener's own address. A Host
//! header that only `"*"` let in never reaches a mail.

use std::sync::OnceLock;

use hyper::header::HeaderValue;

use crate::actions::SiteLinks;
use crate::dialect::Settings;

/// A mount's `ALLOWED_HOSTS`, lower-cased as Django compares them.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// The entries that name hosts (all but `"*"`).
    patterns: Vec<String>,
    /// Whether `"*"` is among them.
    wildcard: bool,
}

/// What the check made of a request's Host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCheck {
    /// Allowed by an entry naming it (`example.com`, `.example.com`): usable in
    /// links. The request's own header value, shared (no copy per request).
    Named(HeaderValue),
    /// Allowed only by `"*"`: answered, never put in a link.
    Wildcard,
    /// Django's DisallowedHost: answered 400.
    Refused,
}

impl HostPolicy {
    pub fn from_settings(s: &Settings) -> Self {
        let patterns = s.strings("ALLOWED_HOSTS").unwrap_or_else(|| vec!["*".into()]);
        Self::of(patterns.iter().map(String::as_str))
    }

    fn of<'p>(patterns: impl Iterator<Item = &'p str>) -> Self {
        let (wild, named): (Vec<&str>, Vec<&str>) = patterns.partition(|p| *p == "*");
        Self { patterns: named.iter().map(|p| p.to_ascii_lowercase()).collect(), wildcard: !wild.is_empty() }
    }

    /// Whether the policy lets every host in (start-up warns when links then
    /// have no configured origin).
    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// Django's `HttpRequest.get_host` check: the Host must be a syntactically
    /// valid name or IP literal (with an optional port) and match an entry.
    pub fn check(&self, host: Option<&HeaderValue>) -> HostCheck {
        // The value's bytes as they are: `domain_of` accepts only ASCII.
        let Some((value, domain)) = host.and_then(|h| Some((h, domain_of(h.as_bytes())?))) else {
            return HostCheck::Refused;
        };
        if self.patterns.iter().any(|p| is_same_domain(domain, p)) {
            return HostCheck::Named(value.clone());
        }
        if self.is_wildcard() {
            return HostCheck::Wildcard;
        }
        HostCheck::Refused
    }
}

/// Django's `split_domain_port` (domain only): port and a trailing dot
/// removed, as a slice of the header (callers compare it ignoring ASCII case,
/// as Django lower-cases it); None when the host is not of the accepted shape
/// `^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$`. Allocates nothing and
/// reads a name in one pass: it runs on every request.
fn domain_of(host: &[u8]) -> Option<&[u8]> {
    let (domain, port) = if let Some(rest) = host.strip_prefix(b"[") {
        let end = rest.iter().position(|&b| b == b']')?;
        let inside = &rest[..end];
        let colon = inside.iter().position(|&b| b == b':')?;
        let ok = inside.iter().all(|&b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
        if !ok || inside[..colon].contains(&b'.') {
            return None;
        }
        (&host[..end + 2], &rest[end + 1..])
    } else {
        let mut end = host.len();
        for (i, &b) in host.iter().enumerate() {
            if b == b':' {
                end = i;
                break;
            }
            if !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
                return None;
            }
        }
        if end == 0 {
            return None;
        }
        host.split_at(end)
    };
    let port_ok = match port.split_first() {
        None => true,
        Some((&colon, digits)) => colon == b':' && !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
    };
    if !port_ok {
        return None;
    }
    let domain = domain.strip_suffix(b".").unwrap_or(domain);
    (!domain.is_empty()).then_some(domain)
}

/// `domain_of`, lower-cased (tests and callers that keep it).
#[cfg(test)]
fn split_domain_port(host: &str) -> Option<String> {
    domain_of(host.as_bytes()).map(|d| String::from_utf8_lossy(d).to_ascii_lowercase())
}

/// Django's `is_same_domain`: `.example.com` matches it and its subdomains
/// (`pattern` is lower-case; `host` is compared ignoring ASCII case).
fn is_same_domain(host: &[u8], pattern: &str) -> bool {
    let ends_with = |suffix: &str| {
        host.len() >= suffix.len() && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    match pattern.strip_prefix('.') {
        Some(bare) => ends_with(pattern) || host.eq_ignore_ascii_case(bare.as_bytes()),
        None => host.eq_ignore_ascii_case(pattern.as_bytes()),
    }
}

/// Where a mount's mail links point: the template variables `base_url`,
/// `origin` and `site`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// `scheme://host[:port]` plus the mount's path.
    pub base_url: String,
    /// `scheme://host[:port]` (Djoser: `{protocol}://{domain}`).
    pub origin: String,
    /// The site's name (Djoser: `site_name`); the host by default.
    pub site: String,
}

/// One request's links, made on first use: most answers carry none.
pub struct LazyLinks<'a> {
    config: &'a LinkConfig,
    checked: &'a HostCheck,
    scheme: &'a str,
    prefix: &'a str,
    made: OnceLock<Links>,
}

impl<'a> LazyLinks<'a> {
    pub fn new(config: &'a LinkConfig, checked: &'a HostCheck, scheme: &'a str, prefix: &'a str) -> Self {
        Self { config, checked, scheme, prefix, made: OnceLock::new() }
    }

    pub fn get(&self) -> &Links {
        self.made.get_or_init(|| self.config.links(self.checked, self.scheme, self.prefix))
    }
}

impl SiteLinks for LazyLinks<'_> {
    fn base_url(&self) -> &str {
        &self.get().base_url
    }

    fn origin(&self) -> &str {
        &self.get().origin
    }

    fn site(&self) -> &str {
        &self.get().site
    }
}

/// The configured parts of a mount's links, settled at start.
#[derive(Debug, Clone, Default)]
pub struct LinkConfig {
    /// `[[mount]] public_url`, without a trailing slash.
    pub public_url: Option<String>,
    /// `scheme://address` of the listener, the last resort (never a header).
    pub listener_origin: String,
    domain: String,
    site_name: String,
    protocol: String,
}

impl LinkConfig {
    pub fn new(public_url: Option<&str>, s: &Settings) -> Self {
        let get = |names: &[&str]| {
            names.iter().filter_map(|n| s.str(n)).find(|v| !v.is_empty()).unwrap_or_default().to_owned()
        };
        Self {
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            listener_origin: String::new(),
            domain: get(&["DJOSER.EMAIL_FRONTEND_DOMAIN", "DOMAIN"]),
            site_name: get(&["DJOSER.EMAIL_FRONTEND_SITE_NAME", "SITE_NAME"]),
            protocol: get(&["DJOSER.EMAIL_FRONTEND_PROTOCOL"]),
        }
    }

    /// True when a link would fall back to the listener's address for lack
    /// of a configured origin or a named host (start-up warns).
    pub fn is_unconfigured(&self, hosts: &HostPolicy) -> bool {
        self.public_url.is_none() && self.domain.is_empty() && hosts.patterns.is_empty()
    }

    /// The links of one request: `checked` is the Host check's verdict.
    pub fn links(&self, checked: &HostCheck, scheme: &str, prefix: &str) -> Links {
        let base_url = match (&self.public_url, checked) {
            (Some(url), _) => url.clone(),
            // A named host passed `domain_of`: ASCII, so `to_str` cannot fail.
            (None, HostCheck::Named(host)) => format!("{scheme}://{}{prefix}", host.to_str().unwrap_or_default()),
            (None, _) => format!("{}{prefix}", self.listener_origin),
        };
        let (origin, host) = origin_and_site(&base_url);
        let scheme = origin.split("://").next().unwrap_or(scheme);
        let protocol = if self.protocol.is_empty() { scheme } else { &self.protocol };
        let domain = if self.domain.is_empty() { host } else { &self.domain };
        let site = if self.site_name.is_empty() { domain } else { &self.site_name };
        Links { origin: format!("{protocol}://{domain}"), site: site.to_owned(), base_url: base_url.clone() }
    }
}

/// `scheme://host[:port]` and `host[:port]` of a URL (`scheme://host[:port]/path`).
pub fn origin_and_site(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[after_scheme..].find('/').map(|i| after_scheme + i).unwrap_or(url.len());
    (&url[..end], &url[after_scheme..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(p: &[&str]) -> HostPolicy {
        HostPolicy::of(p.iter().copied())
    }

    #[test]
    fn django_host_shapes() {
        assert_eq!(split_domain_port("Example.COM:8000").as_deref(), Some("example.com"));
        assert_eq!(split_domain_port("example.com.").as_deref(), Some("example.com"));
        assert_eq!(split_domain_port("[::1]:8000").as_deref(), Some("[::1]"));
        assert_eq!(split_domain_port("127.0.0.1").as_deref(), Some("127.0.0.1"));
        for bad in ["", "evil.com/x", "a b", "example.com:", "example.com:80x", "ex@mple.com", "[zz::1]", ":80"] {
            assert_eq!(split_domain_port(bad), None, "{bad:?}");
        }
    }

    fn hv(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn allowed_hosts_as_django() {
        let p = policy(&[".example.com", "api.test"]);
        assert_eq!(p.check(Some(&hv("example.com"))), HostCheck::Named(hv("example.com")));
        assert_eq!(p.check(Some(&hv("a.b.EXAMPLE.com:443"))), HostCheck::Named(hv("a.b.EXAMPLE.com:443")));
        assert_eq!(p.check(Some(&hv("api.test"))), HostCheck::Named(hv("api.test")));
        assert_eq!(p.check(Some(&hv("notexample.com"))), HostCheck::Refused);
        assert_eq!(p.check(Some(&hv("attacker.example"))), HostCheck::Refused);
        assert_eq!(p.check(None), HostCheck::Refused);
        assert_eq!(policy(&[]).check(Some(&hv("example.com"))), HostCheck::Refused, "an empty list refuses all");
        let any = policy(&["*"]);
        assert_eq!(any.check(Some(&hv("attacker.example"))), HostCheck::Wildcard);
        assert_eq!(any.check(Some(&hv("bad/host"))), HostCheck::Refused, "malformed even under *");
    }

    #[test]
    fn links_never_follow_a_wildcard_host() {
        let c = LinkConfig { listener_origin: "http://127.0.0.1:8001".into(), ..LinkConfig::default() };
        let l = c.links(&HostCheck::Wildcard, "http", "/jwt");
        assert_eq!(l.base_url, "http://127.0.0.1:8001/jwt");
        let l = c.links(&HostCheck::Named(hv("auth.example.com")), "https", "/jwt");
        assert_eq!(
            (l.base_url.as_str(), l.origin.as_str(), l.site.as_str()),
            ("https://auth.example.com/jwt", "https://auth.example.com", "auth.example.com")
        );
        let c = LinkConfig { public_url: Some("https://id.example.org/auth".into()), ..c };
        let l = c.links(&HostCheck::Named(hv("other.example.com")), "http", "/jwt");
        assert_eq!((l.base_url.as_str(), l.origin.as_str()), ("https://id.example.org/auth", "https://id.example.org"));
    }

    #[test]
    fn djoser_domain_site_name_and_protocol() {
        let c = LinkConfig {
            listener_origin: "http://127.0.0.1:8002".into(),
            domain: "app.example.com".into(),
            site_name: "Example".into(),
            protocol: "https".into(),
            ..LinkConfig::default()
        };
        let l = c.links(&HostCheck::Wildcard, "http", "/");
        assert_eq!((l.origin.as_str(), l.site.as_str()), ("https://app.example.com", "Example"));
    }
}
