//! A body template compiled once, at dialect load: every part without a
//! placeholder is serialised to JSON bytes then, so an answer only writes the
//! variables. The output is byte for byte `serde_json::to_vec(&render(t, vars))`
//! (the tests compare the two).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::placeholders;

#[derive(Debug, Clone)]
pub struct Compiled(Node);

#[derive(Debug, Clone)]
enum Node {
    /// A part with no placeholder, serialised.
    Raw(Box<[u8]>),
    /// A string that is exactly one placeholder: the variable's JSON value (null when missing).
    Var(String),
    /// A string with placeholders spliced in as text.
    Text(Vec<Seg>),
    Array(Vec<Node>),
    /// Keys serialised (with their `:`), values compiled.
    Object(Vec<(Box<[u8]>, Node)>),
    /// An object with a placeholder in a key: rendered the slow way (keys could collide).
    Dynamic(Value),
}

#[derive(Debug, Clone)]
enum Seg {
    Lit(String),
    Var(String),
}

/// A string's literal and placeholder parts (`{{`/`}}` are literal braces).
fn segments(s: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                lit.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                lit.push('}');
            }
            '{' => {
                if !lit.is_empty() {
                    out.push(Seg::Lit(std::mem::take(&mut lit)));
                }
                out.push(Seg::Var(chars.by_ref().take_while(|c| *c != '}').collect()));
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Seg::Lit(lit));
    }
    out
}

fn has_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => placeholders(s).map_or(true, |p| !p.is_empty()),
        Value::Array(items) => items.iter().any(has_placeholder),
        Value::Object(map) => {
            map.iter().any(|(k, i)| placeholders(k).map_or(true, |p| !p.is_empty()) || has_placeholder(i))
        }
        _ => false,
    }
}

/// A placeholder-free part as sent (rendering it still turns `{{`/`}}` into braces).
fn raw(v: &Value) -> Node {
    Node::Raw(serde_json::to_vec(&super::render(v, &Map::new())).unwrap_or_default().into_boxed_slice())
}

fn node(v: &Value) -> Node {
    if !has_placeholder(v) {
        return raw(v);
    }
    match v {
        Value::String(s) => match segments(s).as_slice() {
            [Seg::Var(name)] => Node::Var(name.clone()),
            segs => Node::Text(segs.to_vec()),
        },
        Value::Array(items) => Node::Array(items.iter().map(node).collect()),
        Value::Object(map) if map.keys().any(|k| placeholders(k).map_or(true, |p| !p.is_empty())) => {
            Node::Dynamic(v.clone())
        }
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(k, i)| {
                    let mut key = serde_json::to_vec(k).unwrap_or_default();
                    key.push(b':');
                    (key.into_boxed_slice(), node(i))
                })
                .collect(),
        ),
        other => raw(other),
    }
}

impl Compiled {
    pub fn new(template: &Value) -> Self {
        Self(node(template))
    }

    /// The rendered template as JSON bytes.
    pub fn to_json(&self, vars: &Map<String, Value>) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        write(&self.0, vars, &mut out);
        out
    }
}

fn write(n: &Node, vars: &Map<String, Value>, out: &mut Vec<u8>) {
    match n {
        Node::Raw(bytes) => out.extend_from_slice(bytes),
        Node::Var(name) => json(vars.get(name).unwrap_or(&Value::Null), out),
        Node::Text(segs) => {
            let mut text = String::new();
            for s in segs {
                match s {
                    Seg::Lit(l) => text.push_str(l),
                    Seg::Var(name) => match vars.get(name) {
                        Some(Value::String(v)) => text.push_str(v),
                        Some(Value::Null) | None => {}
                        Some(other) => {
                            let _ = write!(text, "{other}");
                        }
                    },
                }
            }
            json(&text, out);
        }
        Node::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, vars, out);
            }
            out.push(b']');
        }
        Node::Object(entries) => {
            out.push(b'{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(key);
                write(item, vars, out);
            }
            out.push(b'}');
        }
        Node::Dynamic(v) => json(&super::render(v, vars), out),
    }
}

fn json<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and these values always serialise.
    let _ = serde_json::to_writer(out, v);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn same_bytes_as_render_then_serialise() {
        let mut vars = Map::new();
        vars.insert("user.id".into(), json!(7));
        vars.insert("user.username".into(), json!("a\"b\\c\u{1}é"));
        vars.insert("token".into(), json!("abc"));
        vars.insert("flag".into(), json!(true));
        vars.insert("none".into(), Value::Null);
        vars.insert("list".into(), json!([1, {"x": "y"}]));
        let k = "k{token}";
        let templates = [
            json!({"username": "{user.username}"}),
            json!({"id": "{user.id}", "h": "Token {token}", "lit": "{{x}}", "n": ["{token}", 1, null, {"a": "{flag}"}]}),
            json!({"missing": "{nothing}", "text": "x{nothing}y{none}z{user.id}{flag}{list}", "none": "{none}"}),
            json!({}),
            json!([]),
            json!("plain"),
            json!("{token}"),
            json!({"static": {"deep": [1, 2.5, "s", false]}, "mixed": {"a": 1, "b": "{user.id}"}}),
            json!({k: 1, "other": "{token}"}),
            json!({"esc": "{{{token}}}", "brace": "}}{{"}),
        ];
        for t in templates {
            let expected = serde_json::to_vec(&super::super::render(&t, &vars)).unwrap();
            let compiled = Compiled::new(&t);
            assert_eq!(
                String::from_utf8(compiled.to_json(&vars)).unwrap(),
                String::from_utf8(expected).unwrap(),
                "{t}"
            );
        }
    }
}
