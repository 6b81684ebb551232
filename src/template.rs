//! Body and header templates: JSON values whose strings may hold `{name}`
//! placeholders. A string that is exactly one placeholder takes the variable's
//! JSON value (so `"{user.id}"` renders the number 1); otherwise variables are
//! spliced in as text. `{{` and `}}` are literal braces.
//!
//! A leaf module: it imports nothing of the crate. Every variable name a
//! template may use is declared once, in `vars`.

use serde_json::{Map, Value};

/// Template variable names, declared once: actions provide them, the dialect
/// loader checks placeholders against them, OpenAPI samples fill them.
pub mod vars {
    /// `scheme://host` plus the mount prefix.
    pub const BASE_URL: &str = "base_url";
    /// The dialect's name.
    pub const DIALECT: &str = "dialect";
    pub const USER_ID: &str = "user.id";
    /// The id as a string (SimpleJWT's `user_id` claim is one).
    pub const USER_ID_STR: &str = "user.id_str";
    pub const USER_USERNAME: &str = "user.username";
    pub const USER_EMAIL: &str = "user.email";
    /// Django's `urlsafe_base64_encode(force_bytes(pk))`.
    pub const USER_UID: &str = "user.uid";
    pub const USER_EMAIL_VERIFIED: &str = "user.email_verified";
    pub const ACCESS: &str = "access";
    pub const REFRESH: &str = "refresh";
    /// An opaque token: auth token, session, or a mailed one-time token.
    pub const TOKEN: &str = "token";
    /// Mail only: the user's uid, the recipient, and where links point.
    pub const UID: &str = "uid";
    pub const EMAIL: &str = "email";
    /// `scheme://host[:port]` of the site (Djoser's links sit at the site root).
    pub const ORIGIN: &str = "origin";
    /// `host[:port]` of the site.
    pub const SITE: &str = "site";

    /// A list of users, each item with the `USER` variables (a response with `each = "users"`).
    pub const USERS: &str = "users";
    /// The list variables a response may iterate with `each`.
    pub const LISTS: &[&str] = &[USERS];

    /// Every template may use these, whatever the action.
    pub const ALWAYS: &[&str] = &[BASE_URL, DIALECT];
    /// What an action that knows its user provides.
    pub const USER: &[&str] = &[USER_ID, USER_ID_STR, USER_USERNAME, USER_EMAIL, USER_UID, USER_EMAIL_VERIFIED];
    /// Mail templates.
    pub const MAIL: &[&str] = &[TOKEN, UID, EMAIL, USER_USERNAME, USER_ID, BASE_URL, ORIGIN, SITE, DIALECT];

    // Error templates.
    pub const STATUS: &str = "status";
    pub const FIELD: &str = "field";
    pub const METHOD: &str = "method";
    pub const CONTENT_TYPE: &str = "content_type";
    /// A parser's own error text (Python's json module wording).
    pub const ERROR: &str = "error";
    pub const TYPE: &str = "type";
    pub const ATTRIBUTE: &str = "attribute";
    pub const MIN_LENGTH: &str = "min_length";
    pub const MAX_LENGTH: &str = "max_length";
    pub const MESSAGE: &str = "message";
    /// The dialect's wording of `token_reason` (a token error nested in an auth error).
    pub const TOKEN_MESSAGE: &str = "token_message";
    /// Not a placeholder: the error key whose wording becomes `token_message`.
    pub const TOKEN_REASON: &str = "token_reason";
    /// `message.<name>` is the dialect's `[messages] <name>`.
    pub const MESSAGE_PREFIX: &str = "message.";
    pub const ERRORS: &[&str] =
        &[STATUS, FIELD, METHOD, CONTENT_TYPE, ERROR, TYPE, ATTRIBUTE, MIN_LENGTH, MAX_LENGTH, MESSAGE, TOKEN_MESSAGE];
}

/// A mail's subject and plain-text body, as templates over `vars::MAIL`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailTemplate {
    pub subject: String,
    pub body: String,
}

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
