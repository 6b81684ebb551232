//! Request bodies: JSON, form-urlencoded and multipart, read under a size
//! limit and flattened into named fields the way DRF's `request.data` sees them.

use std::borrow::Cow;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE};
use smallvec::SmallVec;

use crate::dialect::BodyKind;
use crate::failure::{ErrorKey, Failure};
use crate::template::vars;

mod json;

use json::{Top, TopSeed};

/// One field as the client sent it, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    /// A JSON number, kept as written (DRF's CharField accepts numbers).
    Number(String),
    Bool(bool),
    Null,
    /// A JSON array or object.
    Nested,
}

/// The body fields a route reads, as the client sent them: one slot per name
/// the route declares (`Route::body_fields`, a few). Members nobody reads are
/// parsed (a malformed body is still refused) but not kept, so a body of many
/// members costs no memory and a lookup is a scan of a few names.
#[derive(Debug)]
pub struct Fields<'w> {
    names: &'w [String],
    values: SmallVec<[Option<FieldValue>; 4]>,
}

impl<'w> Fields<'w> {
    /// No field yet, of those named.
    pub fn new(names: &'w [String]) -> Self {
        Self { names, values: smallvec::smallvec![None; names.len()] }
    }

    /// The field's value, if the body has it (a repeated name: its last value, as Django's).
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.slot(name).and_then(|i| self.values[i].as_ref())
    }

    /// Where a member of this name is kept, if it is read.
    fn slot(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    fn set(&mut self, slot: usize, value: FieldValue) {
        self.values[slot] = Some(value);
    }

    /// Whether no read field was sent.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }
}

/// Reads the whole body, refusing more than `limit` bytes.
pub async fn read(body: Incoming, headers: &HeaderMap, limit: usize) -> Result<Bytes, Failure> {
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Failure::new(ErrorKey::BodyTooLarge));
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(Failure::new(ErrorKey::BodyTooLarge))
        }
        // The client went away or sent a broken chunk: nobody will read the answer.
        Err(_) => Err(Failure::new(ErrorKey::ParseError).with(vars::ERROR, "incomplete request body")),
    }
}

/// The `Content-Type` as sent (for the multipart boundary and the 415 message)
/// and what its essence names, compared without copies (in any case).
fn media_type(headers: &HeaderMap) -> (Cow<'_, str>, Essence) {
    let full = headers.get(CONTENT_TYPE).map_or(Cow::Borrowed(""), |v| String::from_utf8_lossy(v.as_bytes()));
    let essence = full.split(';').next().unwrap_or("").trim();
    let named = if essence.is_empty() {
        Essence::None
    } else if essence.eq_ignore_ascii_case("application/json") {
        Essence::Known(BodyKind::Json)
    } else if essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Essence::Known(BodyKind::Form)
    } else if essence.eq_ignore_ascii_case("multipart/form-data") {
        Essence::Known(BodyKind::Multipart)
    } else {
        Essence::Other
    };
    (full, named)
}

/// What a `Content-Type` names.
#[derive(Clone, Copy, PartialEq)]
enum Essence {
    /// No header, or an empty essence.
    None,
    Known(BodyKind),
    Other,
}

/// Parses a body as DRF would for a view accepting `accepted` encodings,
/// keeping the fields `names` (the route's `body_fields`).
pub async fn parse<'w>(
    bytes: Bytes,
    headers: &HeaderMap,
    accepted: &[BodyKind],
    names: &'w [String],
) -> Result<Fields<'w>, Failure> {
    let (full, essence) = media_type(headers);
    let kind = match essence {
        Essence::Known(k) => accepted.contains(&k).then_some(k),
        Essence::None | Essence::Other => None,
    };
    if bytes.is_empty() && (essence == Essence::None || kind.is_some()) {
        return Ok(Fields::new(names));
    }
    match kind {
        Some(BodyKind::Json) => parse_json(&bytes, names),
        Some(BodyKind::Form) => {
            let mut fields = Fields::new(names);
            for (k, v) in form_urlencoded::parse(&bytes) {
                if let Some(i) = fields.slot(&k) {
                    fields.set(i, FieldValue::Text(v.into_owned()));
                }
            }
            Ok(fields)
        }
        // Boxed for the size of its future (see `auth::resolve`'s password check).
        Some(BodyKind::Multipart) => Box::pin(parse_multipart(bytes, &full, names)).await,
        None => Err(Failure::new(ErrorKey::UnsupportedMediaType).with(vars::CONTENT_TYPE, full.into_owned())),
    }
}

fn parse_json<'w>(bytes: &[u8], names: &'w [String]) -> Result<Fields<'w>, Failure> {
    // serde_json::from_slice, with the names to keep handed to the visitor.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = serde::de::DeserializeSeed::deserialize(TopSeed(names), &mut de).and_then(|t| de.end().map(|()| t));
    match top.map_err(|e| json_error(bytes, &e))? {
        Top::Object(fields) => Ok(fields),
        // DRF's serializer sees `data=None`.
        Top::Null => Err(Failure::new(ErrorKey::NoData)),
        Top::Other(python_type) => Err(Failure::new(ErrorKey::InvalidBody).with(vars::TYPE, python_type)),
    }
}

/// Words a JSON error the way Python's `json` module does, which DRF repeats
/// ("Expecting value: line 1 column 1 (char 0)"), as closely as serde's report allows.
fn json_error(bytes: &[u8], e: &serde_json::Error) -> Failure {
    let fail = |text: String| Failure::new(ErrorKey::ParseError).with(vars::ERROR, text);
    if bytes.starts_with(b"\xef\xbb\xbf") {
        return fail("Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)".into());
    }
    if let Err(u) = std::str::from_utf8(bytes) {
        let pos = u.valid_up_to();
        return fail(format!(
            "'utf-8' codec can't decode byte 0x{:02x} in position {pos}: invalid start byte",
            bytes[pos]
        ));
    }
    let text = std::str::from_utf8(bytes).unwrap_or_default();
    let chars: Vec<char> = text.chars().collect();
    let msg = e.to_string();
    // Where serde stopped, as a character offset (Python counts characters).
    let mut offset = if msg.starts_with("EOF") {
        chars.len()
    } else {
        let (line, col) = (e.line().max(1), e.column().max(1));
        text.split('\n').take(line - 1).map(|l| l.chars().count() + 1).sum::<usize>() + col - 1
    };
    offset = offset.min(chars.len());
    let at = chars.get(offset).copied();
    let what = if msg.starts_with("key must be a string") || msg.starts_with("EOF while parsing an object") {
        "Expecting property name enclosed in double quotes"
    } else if msg.starts_with("expected `:`") {
        "Expecting ':' delimiter"
    } else if msg.starts_with("expected `,` or") {
        "Expecting ',' delimiter"
    } else if msg.starts_with("trailing comma") && at == Some('}') {
        "Expecting property name enclosed in double quotes"
    } else if msg.starts_with("trailing characters") {
        "Extra data"
    } else if msg.starts_with("control character") {
        "Invalid control character at"
    } else if msg.starts_with("invalid escape") {
        "Invalid \\escape"
    } else if msg.starts_with("EOF while parsing a string") {
        "Unterminated string starting at"
    } else {
        "Expecting value"
    };
    if what == "Expecting value" {
        // Python points at the start of a bad literal (`nul`, `tru`), serde after it.
        let word = |c: char| c.is_ascii_alphabetic() || c == '-';
        if offset > 0 && chars.get(offset - 1).is_some_and(|c| c.is_ascii_alphabetic()) {
            while offset > 0 && word(chars[offset - 1]) {
                offset -= 1;
            }
        } else if offset > 0 && chars[offset - 1] == '-' {
            offset -= 1;
        }
        let literal: String = chars[offset..].iter().take_while(|c| word(**c)).collect();
        // Python's json accepts these; DRF's parser then refuses them.
        if ["NaN", "Infinity", "-Infinity"].contains(&literal.as_str()) {
            return fail(format!("Out of range float values are not JSON compliant: '{literal}'"));
        }
    }
    let line = chars[..offset].iter().filter(|c| **c == '\n').count() + 1;
    let col = offset - chars[..offset].iter().rposition(|c| *c == '\n').map(|p| p + 1).unwrap_or(0) + 1;
    fail(format!("{what}: line {line} column {col} (char {offset})"))
}

async fn parse_multipart<'w>(bytes: Bytes, content_type: &str, names: &'w [String]) -> Result<Fields<'w>, Failure> {
    let bad = |why: String| Failure::new(ErrorKey::MultipartParseError).with(vars::ERROR, why);
    let boundary = multer::parse_boundary(content_type).map_err(|e| bad(e.to_string()))?;
    let stream = futures_util_once(bytes);
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut out = Fields::new(names);
    while let Some(field) = mp.next_field().await.map_err(|e| bad(e.to_string()))? {
        let slot = out.slot(field.name().unwrap_or_default());
        let is_file = field.file_name().is_some();
        // Every part is read through (a broken one is refused either way).
        // UTF-8 only, as Django decodes form data (invalid bytes replaced): a
        // byte-order mark never switches a part to UTF-16.
        let bytes = field.bytes().await.map_err(|e| bad(e.to_string()))?;
        // Files are not credentials; DRF would list them, no action reads them.
        if let Some(i) = slot.filter(|_| !is_file) {
            out.set(i, FieldValue::Text(String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Ok(out)
}

/// A one-item stream over the already-limited body.
fn futures_util_once(bytes: Bytes) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> {
    struct Once(Option<Bytes>);
    impl futures_core::Stream for Once {
        type Item = Result<Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.take().map(Ok))
        }
    }
    Once(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    fn err_text(body: &str) -> String {
        let f = parse_json(body.as_bytes(), &[]).unwrap_err();
        f.vars.iter().find(|(k, _)| *k == "error").map(|(_, v)| v.clone()).unwrap_or_default()
    }

    #[test]
    fn python_like_json_errors() {
        // Each expectation is what DRF answered on the reference server.
        for (body, python) in [
            ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            (
                r#"{"username":"x","password":"y",}"#,
                "Expecting property name enclosed in double quotes: line 1 column 32 (char 31)",
            ),
            ("nul", "Expecting value: line 1 column 1 (char 0)"),
            (r#"{"a": nul}"#, "Expecting value: line 1 column 7 (char 6)"),
            (r#"{"a":1}{"b":2}"#, "Extra data: line 1 column 8 (char 7)"),
            (r#"{"username": NaN}"#, "Out of range float values are not JSON compliant: 'NaN'"),
            (r#"{"a": -Infinity}"#, "Out of range float values are not JSON compliant: '-Infinity'"),
            ("   ", "Expecting value: line 1 column 4 (char 3)"),
            (r#"{"username": "x", "password": "#, "Expecting value: line 1 column 31 (char 30)"),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            (r#"{"a" 1}"#, "Expecting ':' delimiter: line 1 column 6 (char 5)"),
            (r#"{"a":1 "b":2}"#, "Expecting ',' delimiter: line 1 column 8 (char 7)"),
            ("\u{feff}{}", "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"),
        ] {
            assert_eq!(err_text(body), python, "{body:?}");
        }
        assert_eq!(err_text(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err_text("{bad"), "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
        assert_eq!(parse_json(b"[1]", &[]).unwrap_err().vars, vec![("type", "list".to_string())]);
        let wanted = names(&["a", "c", "d"]);
        let f = parse_json(br#"{"a": 1, "b": "x", "c": null, "d": [1]}"#, &wanted).unwrap();
        assert_eq!(f.get("a"), Some(&FieldValue::Number("1".into())));
        assert_eq!(f.get("c"), Some(&FieldValue::Null));
        assert_eq!(f.get("d"), Some(&FieldValue::Nested));
        // A member the route does not read is parsed, not kept.
        assert_eq!(f.get("b"), None);
        // ... and still has to be valid JSON.
        assert!(err_text(r#"{"a": "x", "b": [1,}"#).starts_with("Expecting value"));
    }

    #[test]
    fn json_members_as_fields() {
        // What the `serde_json::Value` tree gave before, member by member.
        let body = br#"{"b": 1.5, "a": "x", "b": 2, "n": {"k": [1, {"z": null}]}, "t": true, "e": 1e3,
            "big": 18446744073709551615, "neg": -7, "s": "caf\u00e9"}"#;
        let wanted = names(&["b", "a", "n", "t", "e", "big", "neg", "s", "absent"]);
        let f = parse_json(body, &wanted).unwrap();
        // A repeated name takes the last value.
        let get = |n: &str| f.get(n).cloned();
        assert_eq!(get("b"), Some(FieldValue::Number("2".into())));
        assert_eq!(get("a"), Some(FieldValue::Text("x".into())));
        assert_eq!(get("n"), Some(FieldValue::Nested));
        assert_eq!(get("t"), Some(FieldValue::Bool(true)));
        assert_eq!(get("e"), Some(FieldValue::Number("1000.0".into())));
        assert_eq!(get("big"), Some(FieldValue::Number("18446744073709551615".into())));
        assert_eq!(get("neg"), Some(FieldValue::Number("-7".into())));
        assert_eq!(get("s"), Some(FieldValue::Text("café".into())));
        assert_eq!(get("absent"), None);
        // A name written with escapes is the same name.
        let f = parse_json(br#"{"\u0061": "y"}"#, &wanted).unwrap();
        assert_eq!(f.get("a"), Some(&FieldValue::Text("y".into())));
        for (body, python) in [("\"x\"", "str"), ("3", "int"), ("-3", "int"), ("3.5", "float"), ("true", "bool")] {
            assert_eq!(
                parse_json(body.as_bytes(), &[]).unwrap_err().vars,
                vec![("type", python.to_string())],
                "{body}"
            );
        }
        assert_eq!(parse_json(b"null", &[]).unwrap_err().key, ErrorKey::NoData);
        assert!(parse_json(b"{}", &wanted).unwrap().is_empty());
        assert!(parse_json(br#"{"other": 1}"#, &wanted).unwrap().is_empty());
    }

    #[tokio::test]
    async fn form_and_multipart_keep_the_read_fields() {
        let wanted = names(&["username", "password"]);
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
        let body = Bytes::from_static(b"username=a&junk=1&username=b%21&password=");
        let f = parse(body, &headers, &[BodyKind::Form], &wanted).await.unwrap();
        assert_eq!(f.get("username"), Some(&FieldValue::Text("b!".into())));
        assert_eq!(f.get("password"), Some(&FieldValue::Text(String::new())));
        assert_eq!(f.get("junk"), None);
        headers.insert(CONTENT_TYPE, "multipart/form-data; boundary=XX".parse().unwrap());
        let body = Bytes::from_static(
            b"--XX\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\nj\r\n\
              --XX\r\nContent-Disposition: form-data; name=\"password\"; filename=\"p.txt\"\r\n\r\nf\r\n\
              --XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nzoe\r\n--XX--\r\n",
        );
        let f = parse(body, &headers, &[BodyKind::Multipart], &wanted).await.unwrap();
        assert_eq!(f.get("username"), Some(&FieldValue::Text("zoe".into())));
        // A file part is never a field.
        assert_eq!(f.get("password"), None);
    }
}
