//! Values in scenario files: `${name}` substitution, and expected values with
//! matchers (`{{jwt}}`, `{{opaque:token}}`, …) compared against actual JSON or
//! text, recording one readable line per difference.

use base64::Engine as _;
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// Values a scenario has captured or declared, by name.
pub type Vars = IndexMap<String, Value>;

/// TOML → JSON, no conventions applied (scenario files have their own matchers).
pub fn json_of(v: &toml::Value) -> Value {
    crate::template::toml_to_json(v, false)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Expands `${name}` (and `$$` → `$`) in a string. A string that is exactly
/// one `${name}` takes the variable's value with its JSON type.
pub fn substitute_str(s: &str, vars: &Vars) -> Result<Value, String> {
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        if !name.contains(['$', '{', '}']) {
            return lookup(name, vars).cloned();
        }
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(r) = after.strip_prefix('{') {
            let end = r.find('}').ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
            out.push_str(&text_of(lookup(&r[..end], vars)?));
            rest = &r[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn lookup<'v>(name: &str, vars: &'v Vars) -> Result<&'v Value, String> {
    vars.get(name).ok_or_else(|| format!("${{{name}}} is not set (no earlier step captured it)"))
}

/// Substitutes every string (and object key) of a JSON value.
pub fn substitute(v: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => substitute_str(s, vars)?,
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, vars)).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, i) in m {
                out.insert(text_of(&substitute_str(k, vars)?), substitute(i, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// A request body value: `"{{null}}"` stands for JSON null (TOML has none).
pub fn request_value(v: Value) -> Value {
    match v {
        Value::String(s) if s == "{{null}}" => Value::Null,
        Value::Array(items) => Value::Array(items.into_iter().map(request_value).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, request_value(v))).collect()),
        other => other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    AnyString,
    Jwt,
    Opaque,
    Number,
    Null,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "any" | "capture" => Kind::Any,
            "any_string" => Kind::AnyString,
            "jwt" => Kind::Jwt,
            "opaque" => Kind::Opaque,
            "number" => Kind::Number,
            "null" => Kind::Null,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Any => "any value",
            Kind::AnyString => "a string",
            Kind::Jwt => "a JWT",
            Kind::Opaque => "an opaque token",
            Kind::Number => "a number",
            Kind::Null => "null",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (Kind::Any, _) => true,
            (Kind::AnyString, Value::String(_)) => true,
            (Kind::Jwt, Value::String(s)) => is_jwt(s),
            (Kind::Opaque, Value::String(s)) => is_opaque(s),
            (Kind::Number, Value::Number(_)) => true,
            (Kind::Null, Value::Null) => true,
            _ => false,
        }
    }

    /// Within a longer string.
    fn accepts_text(self, s: &str) -> bool {
        match self {
            Kind::Any | Kind::AnyString => true,
            Kind::Jwt => is_jwt(s),
            Kind::Opaque => is_opaque(s),
            Kind::Number => s.parse::<f64>().is_ok() && !s.contains(['e', 'E', 'i', 'I', 'n', 'N', '+']),
            Kind::Null => false,
        }
    }
}

/// Three base64url segments whose first is a JSON header naming an `alg`.
pub fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 || parts[..2].iter().any(|p| p.is_empty()) {
        return false;
    }
    let b64 = |p: &str| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !parts.iter().all(|p| b64(p)) {
        return false;
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|h| h.get("alg").is_some())
}

/// At least 8 visible ASCII characters, no spaces, and not a JWT.
pub fn is_opaque(s: &str) -> bool {
    s.len() >= 8 && s.chars().all(|c| c.is_ascii_graphic()) && !is_jwt(s)
}

#[derive(Debug, Clone)]
enum Seg {
    Lit(String),
    M(Kind, Option<String>),
}

/// Splits a string into literal text and `{{kind}}` / `{{kind:capture}}` matchers.
/// Text in double braces that names no matcher kind stays literal.
fn segments(s: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let Some(end) = rest[i + 2..].find("}}") else { break };
        let inner = &rest[i + 2..i + 2 + end];
        let (kind, cap) = match inner.split_once(':') {
            Some((k, c)) => (k, Some(c.to_owned())),
            None => (inner, None),
        };
        match Kind::parse(kind) {
            Some(k) => {
                lit.push_str(&rest[..i]);
                if !lit.is_empty() {
                    segs.push(Seg::Lit(std::mem::take(&mut lit)));
                }
                segs.push(Seg::M(k, cap));
            }
            None => lit.push_str(&rest[..i + 4 + end]),
        }
        rest = &rest[i + 4 + end..];
    }
    lit.push_str(rest);
    if !lit.is_empty() || segs.is_empty() {
        segs.push(Seg::Lit(lit));
    }
    segs
}

/// Matches text against segments; on success returns the captured substrings.
fn match_text(segs: &[Seg], text: &str) -> Option<Vec<(String, String)>> {
    let Some((first, rest)) = segs.split_first() else {
        return text.is_empty().then(Vec::new);
    };
    match first {
        Seg::Lit(l) => match_text(rest, text.strip_prefix(l.as_str())?),
        Seg::M(kind, cap) => {
            // Try the longest piece first, so a trailing matcher takes the rest.
            let ends: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            for &end in ends.iter().rev() {
                let piece = &text[..end];
                if !kind.accepts_text(piece) {
                    continue;
                }
                if let Some(mut caps) = match_text(rest, &text[end..]) {
                    if let Some(c) = cap {
                        caps.push((c.clone(), piece.to_owned()));
                    }
                    return Some(caps);
                }
            }
            None
        }
    }
}

/// Shows a value briefly for a diff line.
pub fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One comparison: differences found and values captured. `${name}` in
/// expected values is expanded as it is reached, so a value captured earlier
/// in the same expectation (document order) can be used later in it.
#[derive(Default)]
pub struct Outcome {
    pub diffs: Vec<String>,
    pub captures: Vec<(String, Value)>,
    /// The scenario's values plus what this comparison captured so far.
    pub scope: Vars,
}

impl Outcome {
    pub fn new(vars: &Vars) -> Self {
        Self { diffs: Vec::new(), captures: Vec::new(), scope: vars.clone() }
    }

    fn capture(&mut self, name: &str, v: Value) {
        self.scope.insert(name.to_owned(), v.clone());
        self.captures.push((name.to_owned(), v));
    }

    /// Expands `${name}` in an expected string; a failure becomes a diff line.
    pub fn expand(&mut self, at: &str, s: &str) -> Option<Value> {
        match substitute_str(s, &self.scope) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diffs.push(format!("{at}: {e}"));
                None
            }
        }
    }

    /// Compares an expected string pattern with actual text (headers, raw bodies).
    pub fn text(&mut self, at: &str, expected: &str, actual: Option<&str>) {
        let Some(expected) = self.expand(at, expected) else { return };
        let expected = match expected {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let expected = expected.as_str();
        let Some(actual) = actual else {
            self.diffs.push(format!("{at}: missing (expected {})", show(&Value::from(expected))));
            return;
        };
        match match_text(&segments(expected), actual) {
            Some(caps) => {
                for (k, v) in caps {
                    self.capture(&k, Value::String(v));
                }
            }
            None => self.diffs.push(format!(
                "{at}: expected {}, got {}",
                show(&Value::from(expected)),
                show(&Value::from(actual))
            )),
        }
    }

    /// Compares expected JSON (with matchers) against actual JSON. `subset`:
    /// keys of the actual top-level object that are not expected are allowed.
    pub fn json(&mut self, at: &str, expected: &Value, actual: &Value, subset: bool) {
        let expanded;
        let expected = match expected {
            Value::String(s) if s.contains('$') => match self.expand(at, s) {
                Some(v) => {
                    expanded = v;
                    &expanded
                }
                None => return,
            },
            other => other,
        };
        match (expected, actual) {
            (Value::String(s), _) => {
                let segs = segments(s);
                if let [Seg::M(kind, cap)] = segs.as_slice() {
                    if kind.accepts(actual) {
                        if let Some(c) = cap {
                            self.capture(c, actual.clone());
                        }
                    } else {
                        self.diffs.push(format!("{at}: expected {}, got {}", kind.describe(), show(actual)));
                    }
                } else if let Value::String(a) = actual {
                    // Already expanded: escape `$` so it is not expanded twice.
                    self.text(at, &s.replace('$', "$$"), Some(a));
                } else {
                    self.diffs.push(format!("{at}: expected {}, got {}", show(expected), show(actual)));
                }
            }
            (Value::Object(e), Value::Object(a)) => {
                let mut keys = Vec::new();
                for (k, ev) in e {
                    let k = match k.contains('$') {
                        true => match self.expand(&format!("{at}.{k}"), k) {
                            Some(v) => text_of(&v),
                            None => continue,
                        },
                        false => k.clone(),
                    };
                    let path = format!("{at}.{k}");
                    match a.get(&k) {
                        Some(av) => self.json(&path, ev, av, false),
                        None => self.diffs.push(format!("{path}: missing (expected {})", show(ev))),
                    }
                    keys.push(k);
                }
                if !subset {
                    for (k, av) in a.iter().filter(|(k, _)| !keys.contains(k)) {
                        self.diffs.push(format!("{at}.{k}: unexpected key (got {})", show(av)));
                    }
                }
            }
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    self.diffs.push(format!("{at}: expected {} item(s), got {}: {}", e.len(), a.len(), show(actual)));
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    self.json(&format!("{at}[{i}]"), ev, av, false);
                }
            }
            (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
            (e, a) if e == a => {}
            (e, a) if std::mem::discriminant(e) != std::mem::discriminant(a) => self.diffs.push(format!(
                "{at}: expected {} {}, got {} {}",
                type_name(e),
                show(e),
                type_name(a),
                show(a)
            )),
            (e, a) => self.diffs.push(format!("{at}: expected {}, got {}", show(e), show(a))),
        }
    }
}

#[cfg(test)]
mod tests;
