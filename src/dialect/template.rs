//! Body and header templates: JSON values whose strings may hold `{name}`
//! placeholders. A string that is exactly one placeholder takes the variable's
//! JSON value (so `"{user.id}"` renders the number 1); otherwise variables are
//! spliced in as text. `{{` and `}}` are literal braces.

use serde_json::{Map, Value};

/// Placeholder names in a template string, or an error for unbalanced braces.
pub fn placeholders(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' => name.push(ch),
                        _ => return Err(format!("unclosed or bad placeholder in {s:?}")),
                    }
                }
                if name.is_empty() {
                    return Err(format!("empty placeholder in {s:?}"));
                }
                out.push(name);
            }
            '}' => return Err(format!("unmatched '}}' in {s:?}")),
            _ => {}
        }
    }
    Ok(out)
}

/// Every placeholder in a JSON template.
pub fn value_placeholders(v: &Value, out: &mut Vec<String>) -> Result<(), String> {
    match v {
        Value::String(s) => out.extend(placeholders(s)?),
        Value::Array(items) => {
            for i in items {
                value_placeholders(i, out)?;
            }
        }
        Value::Object(map) => {
            for (k, i) in map {
                out.extend(placeholders(k)?);
                value_placeholders(i, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Substitutes variables into a string (missing ones render empty; the loader
/// has already checked that every placeholder is known).
pub fn render_str(s: &str, vars: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                if let Some(v) = vars.get(&name) {
                    out.push_str(&text_of(v));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

pub fn render(v: &Value, vars: &Map<String, Value>) -> Value {
    match v {
        Value::String(s) => {
            if let Ok(names) = placeholders(s) {
                if names.len() == 1 && *s == format!("{{{}}}", names[0]) {
                    return vars.get(&names[0]).cloned().unwrap_or(Value::Null);
                }
            }
            Value::String(render_str(s, vars))
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| render(i, vars)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, i)| (render_str(k, vars), render(i, vars))).collect()),
        other => other.clone(),
    }
}

/// TOML template → JSON template (TOML has no null: the string "{null}" stands for it).
pub fn from_toml(v: &toml::Value) -> Value {
    toml_to_json(v, true)
}

/// TOML → JSON; with `null_marker`, the string "{null}" becomes JSON null.
pub fn toml_to_json(v: &toml::Value, null_marker: bool) -> Value {
    let each = |v: &toml::Value| toml_to_json(v, null_marker);
    match v {
        toml::Value::String(s) if null_marker && s == "{null}" => Value::Null,
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(each).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), each(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_and_spliced() {
        let mut vars = Map::new();
        vars.insert("user.id".into(), json!(1));
        vars.insert("token".into(), json!("abc"));
        let t = json!({"id": "{user.id}", "h": "Token {token}", "lit": "{{x}}", "n": [ "{token}" ]});
        assert_eq!(render(&t, &vars), json!({"id": 1, "h": "Token abc", "lit": "{x}", "n": ["abc"]}));
        assert_eq!(placeholders("a {b} {{c}} {d.e}").unwrap(), vec!["b", "d.e"]);
        assert!(placeholders("a {b").is_err());
        assert!(placeholders("a }").is_err());
    }
}
