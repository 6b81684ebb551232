//! Body and header templates: JSON values whose strings may hold `{name}`
//! placeholders. A string that is exactly one placeholder takes the variable's
//! JSON value (so `"{user.id}"` renders the number 1); otherwise variables are
//! spliced in as text. `{{` and `}}` are literal braces.
//!
//! A leaf module: it imports nothing of the crate. Every variable name a
//! template may use is declared once, in `vars`.

use serde_json::{Map, Value};

mod compiled;

pub use compiled::Compiled;

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
    /// Djoser's mail context: `http` or `https`, the site's domain and name
    /// (Django's `RequestSite`: both the request's host), and `url`, the mail's
    /// own link template (`[mail.<kind>] url`) rendered with these variables.
    pub const PROTOCOL: &str = "protocol";
    pub const DOMAIN: &str = "domain";
    pub const SITE_NAME: &str = "site_name";
    pub const URL: &str = "url";

    /// A list of users, each item with the `USER` variables (a response with `each = "users"`).
    pub const USERS: &str = "users";
    /// The list variables a response may iterate with `each`.
    pub const LISTS: &[&str] = &[USERS];

    /// Every template may use these, whatever the action.
    pub const ALWAYS: &[&str] = &[BASE_URL, DIALECT];
    /// What an action that knows its user provides.
    pub const USER: &[&str] = &[USER_ID, USER_ID_STR, USER_USERNAME, USER_EMAIL, USER_UID, USER_EMAIL_VERIFIED];
    /// Mail templates.
    pub const MAIL: &[&str] =
        &[TOKEN, UID, EMAIL, USER_USERNAME, USER_ID, BASE_URL, ORIGIN, SITE, DIALECT, PROTOCOL, DOMAIN, SITE_NAME, URL];

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
    /// Whole seconds until a refused request may be retried (lockout, throttle, busy);
    /// absent when unknown. Also the `Retry-After` header's value.
    pub const RETRY_AFTER: &str = "retry_after";
    /// The dialect's `[messages] retry_after_one` (when `retry_after` is 1) or
    /// `retry_after_other`, rendered; empty when `retry_after` is absent (DRF's
    /// "Expected available in N seconds." with its singular form).
    pub const RETRY_AFTER_MESSAGE: &str = "retry_after_message";
    /// `message.<name>` is the dialect's `[messages] <name>`.
    pub const MESSAGE_PREFIX: &str = "message.";
    pub const ERRORS: &[&str] = &[
        STATUS,
        FIELD,
        METHOD,
        CONTENT_TYPE,
        ERROR,
        TYPE,
        ATTRIBUTE,
        MIN_LENGTH,
        MAX_LENGTH,
        MESSAGE,
        TOKEN_MESSAGE,
        RETRY_AFTER,
        RETRY_AFTER_MESSAGE,
    ];
}

/// A mail: subject, plain-text body and optional HTML body, as templates over
/// `vars::MAIL`. `url`, when set, is rendered first and becomes `{url}` (how
/// Djoser builds its links from `PASSWORD_RESET_CONFIRM_URL` and friends).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailTemplate {
    pub subject: String,
    /// The text/plain part.
    pub body: String,
    /// The text/html part (variables are HTML-escaped into it); None or empty: text only.
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// A mount's `[mount.mail.<kind>]`: replaces the parts it names (`html = ""` drops the HTML part).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailOverride {
    pub subject: Option<String>,
    pub body: Option<String>,
    pub html: Option<String>,
    pub url: Option<String>,
}

/// A mail rendered for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl MailTemplate {
    pub fn apply(&mut self, o: &MailOverride) {
        if let Some(v) = &o.subject {
            self.subject = v.clone();
        }
        if let Some(v) = &o.body {
            self.body = v.clone();
        }
        if let Some(v) = &o.html {
            self.html = Some(v.clone()).filter(|h| !h.is_empty());
        }
        if let Some(v) = &o.url {
            self.url = Some(v.clone());
        }
    }

    /// Every template string, for placeholder checks.
    pub fn parts(&self) -> impl Iterator<Item = &String> {
        [Some(&self.subject), Some(&self.body), self.html.as_ref(), self.url.as_ref()].into_iter().flatten()
    }

    /// Renders the mail; `vars` gains `url`. A subject is one line (as Django
    /// requires of a header), so line breaks in it become spaces.
    pub fn render(&self, vars: &mut Map<String, Value>) -> RenderedMail {
        if let Some(url) = &self.url {
            let rendered = render_str(url, vars);
            vars.insert(vars::URL.into(), Value::String(rendered));
        }
        let subject = render_str(&self.subject, vars).replace(['\r', '\n'], " ");
        RenderedMail {
            subject,
            text: render_str(&self.body, vars),
            html: self.html.as_deref().filter(|h| !h.is_empty()).map(|h| render_html(h, vars)),
        }
    }
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
    render_with(s, vars, |out, v| out.push_str(v))
}

/// `render_str` for HTML: values are escaped as Django's autoescape does.
pub fn render_html(s: &str, vars: &Map<String, Value>) -> String {
    render_with(s, vars, |out, v| {
        for c in v.chars() {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#x27;"),
                c => out.push(c),
            }
        }
    })
}

fn render_with(s: &str, vars: &Map<String, Value>, put: impl Fn(&mut String, &str)) -> String {
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
                    put(&mut out, &text_of(v));
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

    #[test]
    fn mails_render_url_first_and_escape_html() {
        let mut t = MailTemplate {
            subject: "Reset on {site_name}\nnow".into(),
            body: "Go to {protocol}://{domain}/{url}".into(),
            html: Some("<a href=\"{protocol}://{domain}/{url}\">{user.username}</a>".into()),
            url: Some("reset/{uid}/{token}".into()),
        };
        let mut vars = Map::new();
        for (k, v) in
            [("site_name", "ex.com"), ("protocol", "https"), ("domain", "ex.com"), ("uid", "MQ"), ("token", "t-1")]
        {
            vars.insert(k.into(), json!(v));
        }
        vars.insert("user.username".into(), json!("a<b>&'\""));
        let m = t.render(&mut vars);
        assert_eq!(m.subject, "Reset on ex.com now");
        assert_eq!(m.text, "Go to https://ex.com/reset/MQ/t-1");
        assert_eq!(m.html.as_deref(), Some("<a href=\"https://ex.com/reset/MQ/t-1\">a&lt;b&gt;&amp;&#x27;&quot;</a>"));
        t.apply(&MailOverride { html: Some(String::new()), subject: Some("S".into()), ..Default::default() });
        assert_eq!(
            (t.subject.as_str(), t.html.is_none(), t.body.as_str()),
            ("S", true, "Go to {protocol}://{domain}/{url}")
        );
    }
}
