//! Route inputs: each named input is read from its source and validated the
//! way DRF's CharField/EmailField do, collecting every field error at once.

use std::borrow::Cow;

use hyper::header::{HeaderMap, AUTHORIZATION};

use super::body::{FieldValue, Fields};
use crate::actions::InputList;
use crate::dialect::{InputKind, InputSpec, Route, Source};
use crate::failure::{ErrorKey, Failure};
use crate::template::vars;

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

pub fn collect<'a>(
    route: &'a Route,
    body: &'a Fields<'_>,
    params: &[(String, String)],
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<InputList<'a>, Vec<Failure>> {
    let mut values = InputList::new();
    let mut failures = Vec::new();
    for (name, spec) in &route.spec.input {
        let wire = spec.field.as_deref().unwrap_or(name);
        // A body field is read where it lies and kept borrowed; the others are made here.
        let value = if spec.from == Source::Body {
            validate(spec, wire, body.get(wire), &mut failures).map(Cow::Borrowed)
        } else {
            let made = match spec.from {
                Source::Path => params.iter().find(|(k, _)| k == wire).map(|(_, v)| FieldValue::Text(decode(v))),
                Source::Query => query.and_then(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .filter(|(k, _)| k == wire)
                        .last()
                        .map(|(_, v)| FieldValue::Text(v.into_owned()))
                }),
                Source::Bearer => bearer(headers).map(FieldValue::Text),
                Source::Body => None,
            };
            validate(spec, wire, made.as_ref(), &mut failures).map(|t| Cow::Owned(t.to_owned()))
        };
        if let Some(v) = value {
            values.push((name.as_str(), v));
        }
    }
    if failures.is_empty() {
        Ok(values)
    } else {
        Err(failures)
    }
}

/// The input's text once valid (trimmed where the field trims); None when it
/// is absent (and optional) or invalid, each failure added to `failures`.
fn validate<'t>(
    spec: &InputSpec,
    wire: &str,
    raw: Option<&'t FieldValue>,
    failures: &mut Vec<Failure>,
) -> Option<&'t str> {
    let text = match raw {
        None if spec.required => {
            failures.push(Failure::field(ErrorKey::FieldRequired, wire));
            return None;
        }
        None => return None,
        Some(FieldValue::Null) => {
            failures.push(Failure::field(ErrorKey::FieldNull, wire));
            return None;
        }
        Some(FieldValue::Bool(_) | FieldValue::Nested) => {
            // DRF's EmailField words its "not a string" failure as an invalid address.
            let key = if spec.kind == InputKind::Email { ErrorKey::FieldEmail } else { ErrorKey::FieldInvalid };
            failures.push(Failure::field(key, wire));
            return None;
        }
        Some(FieldValue::Number(n)) => n.as_str(),
        Some(FieldValue::Text(t)) => t.as_str(),
    };
    let text = if spec.trim { text.trim() } else { text };
    if text.is_empty() {
        if !spec.allow_blank {
            failures.push(Failure::field(ErrorKey::FieldBlank, wire));
            return None;
        }
        return Some(text);
    }
    // DRF runs every validator of a field and reports each failure, in
    // Django's order: the username rule before the length limit, the email rule after.
    let before = failures.len();
    if spec.kind == InputKind::Username && !is_username(text) {
        failures.push(Failure::field(ErrorKey::FieldUsername, wire));
    }
    if let Some(max) = spec.max_length.filter(|m| text.chars().count() > *m) {
        failures.push(Failure::field(ErrorKey::FieldMaxLength, wire).with(vars::MAX_LENGTH, max.to_string()));
    }
    if spec.kind == InputKind::Email && !is_email(text) {
        failures.push(Failure::field(ErrorKey::FieldEmail, wire));
    }
    (failures.len() == before).then_some(text)
}

/// What follows the `Bearer` keyword of the Authorization header (possibly
/// empty), or None when the header is absent or uses another scheme.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(AUTHORIZATION)?;
    let text = String::from_utf8_lossy(raw.as_bytes());
    let text = text.trim_start();
    let (keyword, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    keyword.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_owned())
}

/// Django's `UnicodeUsernameValidator` (`^[\w.@+-]+\Z`): Python's Unicode `\w`
/// is letters, digits and `_`, so `Zoë_x` passes and `bad name!` does not.
pub fn is_username(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_.@+-".contains(c))
}

/// A practical subset of Django's EmailValidator: at most 320 characters, one
/// `@`, an ASCII dot-atom local part, and a domain of valid labels with a dot,
/// `localhost`, or an IP literal (`[127.0.0.1]`).
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if s.chars().count() > 320 {
        return false;
    }
    let atom = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = !local.is_empty() && local.split('.').all(|p| !p.is_empty() && p.chars().all(atom));
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return local_ok && literal.parse::<std::net::IpAddr>().is_ok();
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = domain == "localhost"
        || (labels.len() >= 2
            && labels.iter().all(|l| label_ok(l))
            && labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::{bearer, is_email, is_username};
    use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION};

    #[test]
    fn bearer_values() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(v));
            bearer(&h)
        };
        assert_eq!(bearer(&HeaderMap::new()), None);
        assert_eq!(with("Bearer abc"), Some("abc".into()));
        assert_eq!(with("bEaReR   abc "), Some("abc".into()));
        assert_eq!(with("Bearer"), Some(String::new()));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearerabc"), None);
        assert_eq!(with("Token abc"), None);
    }

    #[test]
    fn usernames() {
        for ok in ["alice", "Zoë_x", "a.b@c+d-e", "144162273", "日本"] {
            assert!(is_username(ok), "{ok}");
        }
        for bad in ["", "a b", "bad name!", "x/y", "tab\t"] {
            assert!(!is_username(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        let long_local = format!("{}@b.cd", "a".repeat(250));
        for ok in [
            "a@b.co",
            "first.last+tag@example.com",
            "x@localhost",
            "u@sub.domain.org",
            "ep@[127.0.0.1]",
            "u@exämple.com",
            &long_local,
        ] {
            assert!(is_email(ok), "{ok}");
        }
        let too_long = format!("{}@b.cd", "a".repeat(320));
        for bad in [
            "",
            "a",
            "a@",
            "@b.co",
            "a@b",
            "a b@c.de",
            "a@b..de",
            "a..b@c.de",
            "a@-b.de",
            "a@b.c",
            "ü@b.de",
            "zoë@example.com",
            "a@[1.2.3]",
            &too_long,
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
