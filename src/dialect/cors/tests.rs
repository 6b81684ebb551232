use super::*;
use crate::dialect::settings::Declared;

/// The declarations `dialects/_drf.toml` makes (django-cors-headers' defaults).
const DECLARED: &str = r#"
CORS_ALLOWED_ORIGINS = []
CORS_ALLOWED_ORIGIN_REGEXES = []
CORS_ALLOW_ALL_ORIGINS = false
CORS_ALLOW_CREDENTIALS = false
CORS_ALLOW_PRIVATE_NETWORK = false
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "user-agent", "x-csrftoken", "x-requested-with"]
CORS_ALLOW_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
CORS_EXPOSE_HEADERS = []
CORS_PREFLIGHT_MAX_AGE = 86400
CORS_URLS_REGEX = '^.*$'
"#;

fn policy(overrides: &str) -> Result<Option<Cors>, SettingError> {
    let mut d = Declared::default();
    d.add(&DECLARED.parse().unwrap()).unwrap();
    let s = d.resolve(Some(&overrides.parse().unwrap())).unwrap();
    Cors::from_settings(&s)
}

fn on(overrides: &str) -> Cors {
    policy(overrides).unwrap().expect("an origin is let in")
}

fn refused(overrides: &str) -> SettingError {
    policy(overrides).unwrap_err()
}

#[test]
fn urlsplit_splits_as_python_does() {
    // Expected values printed by CPython 3.11's urllib.parse.urlsplit.
    let ok = [
        ("http://localhost:5173", ("http", "localhost:5173", "", "", "")),
        ("HTTP://Example.COM:80", ("http", "Example.COM:80", "", "", "")),
        ("http://[::1]:8000", ("http", "[::1]:8000", "", "", "")),
        ("http://a[::1]", ("http", "a[::1]", "", "", "")),
        ("http://[v1.x]", ("http", "[v1.x]", "", "", "")),
        ("http://[fe80::1%eth0]:1", ("http", "[fe80::1%eth0]:1", "", "", "")),
        ("null", ("", "", "null", "", "")),
        ("file://", ("file", "", "", "", "")),
        ("https://a.com/", ("https", "a.com", "/", "", "")),
        ("https://a.com?x", ("https", "a.com", "", "x", "")),
        ("foo", ("", "", "foo", "", "")),
        ("1http://a", ("", "", "1http://a", "", "")),
        (" http://a", ("http", "a", "", "", "")),
        ("http://a:b@[::1]:80", ("http", "a:b@[::1]:80", "", "", "")),
        ("http://[::1]:80/p?q#f", ("http", "[::1]:80", "/p", "q", "f")),
    ];
    for (url, (scheme, netloc, path, query, fragment)) in ok {
        let s = urlsplit(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!((s.scheme.as_str(), s.netloc, s.path, s.query, s.fragment), (scheme, netloc, path, query, fragment));
    }
    for url in ["http://[::1", "http://::1]", "http://[1.2.3.4]", "http://u[@a.com]", "http://[v.x]", "http://a\t.com"]
    {
        assert!(urlsplit(url).is_err(), "{url} is a ValueError");
    }
}

#[test]
fn without_an_allowed_origin_there_is_no_policy() {
    assert!(policy("").unwrap().is_none());
    assert!(policy("CORS_ALLOW_CREDENTIALS = true\nCORS_EXPOSE_HEADERS = [\"X\"]").unwrap().is_none());
    // A dialect that declares none of the settings (the invented acme) has none either.
    assert!(Cors::from_settings(&Declared::default().resolve(None).unwrap()).unwrap().is_none());
}

#[test]
fn origins_match_by_scheme_and_netloc() {
    let c = on(r#"CORS_ALLOWED_ORIGINS = ["http://localhost:5173", "HTTPS://App.Example.com"]"#);
    assert!(c.allows("http://localhost:5173"));
    assert!(c.allows("HTTP://localhost:5173"), "the scheme is compared lower-cased");
    assert!(c.allows("http://localhost:5173/any/path"), "only scheme and netloc are compared");
    assert!(c.allows("https://App.Example.com"));
    assert!(!c.allows("https://app.example.com"), "the netloc is compared as written");
    assert!(!c.allows("http://localhost:5174"));
    assert!(!c.allows("https://localhost:5173"));
    assert!(!c.allows("http://localhost"));
    assert!(!c.allows("null"));
    assert!(!c.allows("http://[::1"), "what urlsplit refuses is not let in");
}

#[test]
fn null_and_file_are_the_special_values() {
    let c = on(r#"CORS_ALLOWED_ORIGINS = ["null", "file://"]"#);
    assert!(c.allows("null"));
    assert!(c.allows("file://"));
    assert!(!c.allows("http://a"));
}

#[test]
fn regexes_are_anchored_at_the_start_only_as_re_match() {
    let c = on(r#"CORS_ALLOWED_ORIGIN_REGEXES = ['https://\w+\.example\.com', '(?i)^http://LOCALHOST:\d+$']"#);
    assert!(c.allows("https://app.example.com"));
    assert!(c.allows("https://app.example.com.evil.net"), "re.match does not anchor the end");
    assert!(!c.allows("http://x.https://app.example.com"), "re.match anchors the start");
    assert!(c.allows("http://localhost:5173"));
    assert!(!c.allows("http://localhost:5173/x"));
}

#[test]
fn allow_all_and_the_header_values() {
    let c = on("CORS_ALLOW_ALL_ORIGINS = true");
    assert!(c.allows("https://anything.example") && c.allows("null"));
    assert_eq!(c.allow_headers, "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with");
    assert_eq!(c.allow_methods, "DELETE, GET, OPTIONS, PATCH, POST, PUT");
    assert_eq!(c.max_age, Some(86_400));
    assert_eq!(c.expose_headers, None);
    let c = on(r#"CORS_ALLOWED_ORIGINS = ["https://a.example"]
CORS_PREFLIGHT_MAX_AGE = 0
CORS_EXPOSE_HEADERS = ["Authorization", "X-Request-Id"]
CORS_ALLOW_METHODS = ["GET"]"#);
    assert_eq!(c.max_age, None, "0 sends no max-age header");
    assert_eq!(c.expose_headers.as_deref(), Some("Authorization, X-Request-Id"));
    assert_eq!(c.allow_methods, "GET");
}

#[test]
fn urls_regex_is_tried_on_the_decoded_path() {
    let c = on("CORS_ALLOWED_ORIGINS = [\"https://a.example\"]\nCORS_URLS_REGEX = '/api/'");
    assert!(c.covers("/api/auth/token/"));
    assert!(!c.covers("/admin/api/"), "anchored at the start");
    assert!(c.covers("/%61pi/x"), "percent-decoded, as Django's path_info");
    assert!(on("CORS_ALLOWED_ORIGINS = [\"https://a.example\"]").covers("/anything"));
}

#[test]
fn bad_settings_are_refused_naming_the_key() {
    for (overrides, key, why) in [
        ("CORS_ALLOW_ALL_ORIGINS = true\nCORS_ALLOW_CREDENTIALS = true", ALLOW_CREDENTIALS, "refused together"),
        (r#"CORS_ALLOWED_ORIGINS = ["localhost:5173"]"#, ALLOWED_ORIGINS, "missing scheme or netloc"),
        (r#"CORS_ALLOWED_ORIGINS = ["example.com"]"#, ALLOWED_ORIGINS, "missing scheme or netloc"),
        (r#"CORS_ALLOWED_ORIGINS = ["https://a.example/"]"#, ALLOWED_ORIGINS, "should not have path"),
        (r#"CORS_ALLOWED_ORIGINS = ["https://a.example?x=1"]"#, ALLOWED_ORIGINS, "should not have query"),
        (r#"CORS_ALLOWED_ORIGINS = ["http://[::1"]"#, ALLOWED_ORIGINS, "Invalid IPv6 URL"),
        (r#"CORS_ALLOWED_ORIGINS = [1]"#, ALLOWED_ORIGINS, "array of strings"),
        (r#"CORS_ALLOWED_ORIGIN_REGEXES = ['^https://(?=a)']"#, ALLOWED_ORIGIN_REGEXES, "regex crate"),
        (r#"CORS_ALLOWED_ORIGIN_REGEXES = ['a)|(b']"#, ALLOWED_ORIGIN_REGEXES, "regex crate"),
        ("CORS_ALLOW_ALL_ORIGINS = true\nCORS_URLS_REGEX = '(unclosed'", URLS_REGEX, "regex crate"),
        ("CORS_ALLOW_ALL_ORIGINS = true\nCORS_PREFLIGHT_MAX_AGE = -1", PREFLIGHT_MAX_AGE, "greater than or equal"),
        ("CORS_ALLOW_ALL_ORIGINS = true\nCORS_ALLOW_HEADERS = [\"a\\nb\"]", ALLOW_HEADERS, "header value"),
    ] {
        let e = refused(overrides);
        assert_eq!(e.key, key, "{overrides}: {e:?}");
        assert!(e.message.contains(why), "{overrides}: {e:?}");
    }
}
