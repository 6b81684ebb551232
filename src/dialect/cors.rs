//! A mount's CORS policy: django-cors-headers' settings (`CORS_ALLOWED_ORIGINS`,
//! `CORS_ALLOW_CREDENTIALS`, …, top-level names in `[mount.settings]`) read and
//! checked once at load into a typed `Cors`, regexes compiled. `http::cors`
//! applies it to requests.
//!
//! The semantics are django-cors-headers 4.x's (`corsheaders/middleware.py`,
//! `conf.py`, `checks.py`): origins in `CORS_ALLOWED_ORIGINS` are compared by
//! scheme (case-insensitively) and network location (exactly), as Python's
//! `urlsplit` splits them; `CORS_ALLOWED_ORIGIN_REGEXES` and `CORS_URLS_REGEX`
//! are tried with `re.match`, i.e. anchored at the start only. Refused at load
//! (exit 64, naming the key), as its system checks do, plus one rule of ours:
//! `CORS_ALLOW_ALL_ORIGINS` with `CORS_ALLOW_CREDENTIALS` (it would let any site
//! act with the user's credentials).
//!
//! Regexes are compiled by the `regex` crate, not Python's `re`: no
//! look-around or backreferences (refused at load), `$` matches only at the
//! very end (Python's also before a final newline), `\Z` is written `\z`,
//! flags are inline (`(?i)`), and matching is in linear time.

use std::net::Ipv6Addr;

use regex::Regex;

use super::settings::{SettingError, Settings};

pub const ALLOWED_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
pub const ALLOWED_ORIGIN_REGEXES: &str = "CORS_ALLOWED_ORIGIN_REGEXES";
pub const ALLOW_ALL_ORIGINS: &str = "CORS_ALLOW_ALL_ORIGINS";
pub const ALLOW_CREDENTIALS: &str = "CORS_ALLOW_CREDENTIALS";
pub const ALLOW_HEADERS: &str = "CORS_ALLOW_HEADERS";
pub const ALLOW_METHODS: &str = "CORS_ALLOW_METHODS";
pub const ALLOW_PRIVATE_NETWORK: &str = "CORS_ALLOW_PRIVATE_NETWORK";
pub const EXPOSE_HEADERS: &str = "CORS_EXPOSE_HEADERS";
pub const PREFLIGHT_MAX_AGE: &str = "CORS_PREFLIGHT_MAX_AGE";
pub const URLS_REGEX: &str = "CORS_URLS_REGEX";

/// django-cors-headers' `defaults.default_headers`.
pub const DEFAULT_HEADERS: [&str; 6] =
    ["accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with"];
/// django-cors-headers' `defaults.default_methods`.
pub const DEFAULT_METHODS: [&str; 6] = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"];
/// django-cors-headers' default `CORS_PREFLIGHT_MAX_AGE` (one day).
pub const DEFAULT_MAX_AGE: i64 = 86_400;
/// django-cors-headers' default `CORS_URLS_REGEX`: every path.
pub const DEFAULT_URLS_REGEX: &str = r"^.*$";

/// A mount's CORS policy, validated. Present only when it lets some origin in
/// (see `from_settings`).
#[derive(Debug, Clone)]
pub struct Cors {
    /// `(scheme, netloc)` of each `CORS_ALLOWED_ORIGINS` entry, as `urlsplit` gives them.
    origins: Vec<(String, String)>,
    /// `"null"` is listed: the literal `Origin: null` (sandboxed frames, `file:` pages) is let in.
    allows_null: bool,
    /// `CORS_ALLOWED_ORIGIN_REGEXES`, each anchored at the start (`re.match`).
    origin_regexes: Vec<Regex>,
    pub allow_all: bool,
    pub allow_credentials: bool,
    pub allow_private_network: bool,
    /// `CORS_ALLOW_HEADERS` joined with ", ", as sent.
    pub allow_headers: String,
    /// `CORS_ALLOW_METHODS` joined with ", ", as sent.
    pub allow_methods: String,
    /// `CORS_EXPOSE_HEADERS` joined, or None when the list is empty (no header is sent).
    pub expose_headers: Option<String>,
    /// `CORS_PREFLIGHT_MAX_AGE`, or None for 0 (no header is sent).
    pub max_age: Option<i64>,
    /// `CORS_URLS_REGEX`, anchored at the start, tried on the percent-decoded path.
    urls: Regex,
}

fn err(key: &str, message: impl Into<String>) -> SettingError {
    SettingError { key: key.to_owned(), message: message.into() }
}

/// A list of strings, the library's default when the dialect does not declare the setting.
fn strings(s: &Settings, key: &str, default: &[&str]) -> Result<Vec<String>, SettingError> {
    let Some(v) = s.get(key) else {
        return Ok(default.iter().map(|d| (*d).to_owned()).collect());
    };
    let items = v.as_array().ok_or_else(|| err(key, "must be an array of strings"))?;
    items.iter().map(|i| i.as_str().map(str::to_owned).ok_or_else(|| err(key, "must be an array of strings"))).collect()
}

fn flag(s: &Settings, key: &str) -> Result<bool, SettingError> {
    match s.get(key) {
        None => Ok(false),
        Some(v) => v.as_bool().ok_or_else(|| err(key, "must be a boolean")),
    }
}

/// Joins a list into one header value, refusing what HTTP cannot carry.
fn header_value(key: &str, items: &[String]) -> Result<String, SettingError> {
    let joined = items.join(", ");
    if hyper::header::HeaderValue::from_str(&joined).is_err() {
        return Err(err(key, "holds characters a header value cannot carry"));
    }
    Ok(joined)
}

/// Compiles a pattern as Python's `re.match` uses it: anchored at the start only.
fn compile(key: &str, pattern: &str) -> Result<Regex, SettingError> {
    // Alone first, so a pattern that only parses inside our wrapper ("a)|(b") is refused.
    Regex::new(pattern).map_err(|e| err(key, format!("{pattern:?} is not a regex the regex crate accepts: {e}")))?;
    Regex::new(&format!(r"\A(?:{pattern})"))
        .map_err(|e| err(key, format!("{pattern:?} is not a regex the regex crate accepts: {e}")))
}

impl Cors {
    /// The policy of a mount's resolved settings. None when nothing lets an origin
    /// in (no allowed origin, no regex, not all origins): the mount then behaves as
    /// a Django project without django-cors-headers (no `Vary: origin`, preflights
    /// reach the routes), which is what the documented APIs are.
    pub fn from_settings(s: &Settings) -> Result<Option<Cors>, SettingError> {
        let listed = strings(s, ALLOWED_ORIGINS, &[])?;
        let mut origins = Vec::new();
        let mut allows_null = false;
        for o in &listed {
            // checks.py E013/E014: "null" and "file://" are the special values.
            if o == "null" {
                allows_null = true;
            }
            let split = urlsplit(o).map_err(|e| err(ALLOWED_ORIGINS, format!("origin {o:?}: {e}")))?;
            if o != "null" && o != "file://" {
                if split.scheme.is_empty() || split.netloc.is_empty() {
                    return Err(err(
                        ALLOWED_ORIGINS,
                        format!("origin {o:?} is missing scheme or netloc (e.g. \"https://example.com\")"),
                    ));
                }
                for (part, value) in [("path", split.path), ("query", split.query), ("fragment", split.fragment)] {
                    if !value.is_empty() {
                        return Err(err(ALLOWED_ORIGINS, format!("origin {o:?} should not have {part}")));
                    }
                }
            }
            origins.push((split.scheme, split.netloc.to_owned()));
        }
        let origin_regexes = strings(s, ALLOWED_ORIGIN_REGEXES, &[])?
            .iter()
            .map(|p| compile(ALLOWED_ORIGIN_REGEXES, p))
            .collect::<Result<Vec<_>, _>>()?;
        let allow_all = flag(s, ALLOW_ALL_ORIGINS)?;
        let allow_credentials = flag(s, ALLOW_CREDENTIALS)?;
        if allow_all && allow_credentials {
            return Err(err(
                ALLOW_CREDENTIALS,
                format!(
                    "refused together with {ALLOW_ALL_ORIGINS} = true: any web site could then call this API \
                     with its visitors' credentials; list the sites in {ALLOWED_ORIGINS} or {ALLOWED_ORIGIN_REGEXES}"
                ),
            ));
        }
        let allow_private_network = flag(s, ALLOW_PRIVATE_NETWORK)?;
        let allow_headers = header_value(ALLOW_HEADERS, &strings(s, ALLOW_HEADERS, &DEFAULT_HEADERS)?)?;
        let allow_methods = header_value(ALLOW_METHODS, &strings(s, ALLOW_METHODS, &DEFAULT_METHODS)?)?;
        let expose = strings(s, EXPOSE_HEADERS, &[])?;
        let expose_headers = if expose.is_empty() { None } else { Some(header_value(EXPOSE_HEADERS, &expose)?) };
        let max_age = match s.get(PREFLIGHT_MAX_AGE) {
            None => DEFAULT_MAX_AGE,
            Some(v) => v
                .as_integer()
                .filter(|n| *n >= 0)
                .ok_or_else(|| err(PREFLIGHT_MAX_AGE, "must be an integer greater than or equal to zero"))?,
        };
        let urls = match s.get(URLS_REGEX) {
            None => compile(URLS_REGEX, DEFAULT_URLS_REGEX)?,
            Some(v) => compile(URLS_REGEX, v.as_str().ok_or_else(|| err(URLS_REGEX, "must be a string"))?)?,
        };
        if listed.is_empty() && origin_regexes.is_empty() && !allow_all {
            return Ok(None);
        }
        Ok(Some(Cors {
            origins,
            allows_null,
            origin_regexes,
            allow_all,
            allow_credentials,
            allow_private_network,
            allow_headers,
            allow_methods,
            expose_headers,
            max_age: (max_age > 0).then_some(max_age),
            urls,
        }))
    }

    /// `CORS_URLS_REGEX` on a request path (Django's `path_info`: percent-decoded).
    pub fn covers(&self, path: &str) -> bool {
        let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
        self.urls.is_match(&decoded)
    }

    /// Whether a request's `Origin` is let in (the middleware's allow-all and white lists).
    pub fn allows(&self, origin: &str) -> bool {
        // An origin `urlsplit` refuses (a broken IPv6 literal) gets no CORS headers.
        let Ok(url) = urlsplit(origin) else {
            return false;
        };
        self.allow_all
            || (origin == "null" && self.allows_null)
            || self.origins.iter().any(|(scheme, netloc)| *scheme == url.scheme && netloc == url.netloc)
            || self.origin_regexes.iter().any(|r| r.is_match(origin))
    }
}

/// The parts of a URL that Python's `urllib.parse.urlsplit` returns.
#[derive(Debug, PartialEq, Eq)]
pub struct Split<'a> {
    /// Lower-cased.
    pub scheme: String,
    pub netloc: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub fragment: &'a str,
}

/// Python's `urlsplit` (3.11+), for what origins hold: a scheme of letters,
/// digits, `+-.` after a leading letter; `//netloc` up to the first `/?#`; and its
/// `ValueError`s for unbalanced or invalid bracketed hosts. Leading C0 controls
/// and spaces are stripped; a tab or line break inside is refused (Python drops
/// them; a header value carries none, and a setting should not).
pub fn urlsplit(url: &str) -> Result<Split<'_>, String> {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    if url.contains(['\t', '\r', '\n']) {
        return Err("contains a tab or line break".into());
    }
    let mut scheme = String::new();
    let mut rest = url;
    if let Some(i) = url.find(':') {
        let candidate = &url[..i];
        let valid = candidate.starts_with(|c: char| c.is_ascii_alphabetic())
            && candidate.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = &url[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
        check_brackets(netloc)?;
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Ok(Split { scheme, netloc, path, query, fragment })
}

/// `urlsplit`'s checks of a bracketed host (`_check_bracketed_host`): both
/// brackets or neither, and between the first `[` and the next `]` an IPv6
/// address (Python accepts a `%zone`) or an IPvFuture literal.
fn check_brackets(netloc: &str) -> Result<(), String> {
    match (netloc.contains('['), netloc.contains(']')) {
        (false, false) => return Ok(()),
        (true, true) => {}
        _ => return Err("Invalid IPv6 URL".into()),
    }
    let bracketed = netloc.split_once('[').map_or("", |(_, r)| r);
    let host = bracketed.split_once(']').map_or(bracketed, |(h, _)| h);
    let ok = match host.strip_prefix('v') {
        // IPvFuture: "v" 1*HEXDIG "." 1*anything
        Some(f) => f.split_once('.').is_some_and(|(hex, tail)| {
            !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) && !tail.is_empty()
        }),
        None => host.split_once('%').map_or(host, |(a, _)| a).parse::<Ipv6Addr>().is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{host:?} does not appear to be an IPv6 address"))
    }
}

#[cfg(test)]
mod tests;
