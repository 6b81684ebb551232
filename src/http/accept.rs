//! DRF's content negotiation, for dialects with DRF semantics: an `Accept`
//! that no JSON (or browsable-API HTML) rendering satisfies gets 406, and
//! `application/json; indent=N` asks for indented JSON.

use hyper::header::{HeaderMap, ACCEPT};

#[derive(Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub acceptable: bool,
    /// Spaces per level, when the client asked for indented JSON.
    pub indent: Option<usize>,
}

pub fn negotiate(headers: &HeaderMap) -> Negotiated {
    let Some(accept) = headers.get(ACCEPT).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()) else {
        return Negotiated { acceptable: true, indent: None };
    };
    if accept.trim().is_empty() {
        return Negotiated { acceptable: true, indent: None };
    }
    let mut acceptable = false;
    let mut indent = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        // JSON is rendered; DRF's other renderer is the browsable API (text/html), answered here as JSON.
        if ["*/*", "application/*", "application/json", "text/*", "text/html"].contains(&media.as_str()) {
            acceptable = true;
            if media == "application/json" {
                indent = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("indent"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .map(|n| n.min(8));
            }
        }
    }
    Negotiated { acceptable, indent }
}

/// Re-renders compact JSON with Python's `json.dumps(indent=N)` layout.
pub fn indent_json(bytes: &[u8], indent: usize) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let pad = vec![b' '; indent];
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(&pad);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    serde::Serialize::serialize(&value, &mut ser).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn with(v: &'static str) -> Negotiated {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static(v));
        negotiate(&h)
    }

    #[test]
    fn accept_ranges() {
        assert!(negotiate(&HeaderMap::new()).acceptable);
        assert!(with("application/json").acceptable);
        assert!(with("text/html,application/xhtml+xml,*/*;q=0.8").acceptable);
        assert!(!with("application/xml").acceptable);
        assert_eq!(with("application/json; indent=4").indent, Some(4));
        assert_eq!(
            indent_json(br#"{"a":[1],"b":{}}"#, 4).unwrap(),
            b"{\n    \"a\": [\n        1\n    ],\n    \"b\": {}\n}"
        );
    }
}
