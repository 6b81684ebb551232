//! The legacy project's own Django settings, by their own names, on a mount.
//!
//! A dialect file declares in `[settings]` every setting it honours, with its
//! default: top-level names (`ALLOWED_HOSTS = ["*"]`) and, in sub-tables,
//! the names of one library (`[settings.DJOSER] SEND_ACTIVATION_EMAIL = false`).
//! A mount overrides them in `[mount.settings]` with the same shape. A name the
//! dialect does not declare, or a value of another type, is refused at start
//! (exit 64, naming the mount and the key): never ignored.
//!
//! Types come from the declared default: boolean, integer, string, array, table,
//! or **duration**: a default written as a duration string (`"5m"`, `"1d"`,
//! `"90s"`, `"1h30m"`; units s, m, h, d, w) makes the setting a duration, which a
//! mount may give as integer seconds or as such a string (Django's `timedelta`).
//! Durations resolve to integer seconds.
//!
//! The rest of the dialect file uses settings as `${NAME}` or `${LIB.NAME}`: a
//! string that is exactly one reference takes the setting's typed value (a
//! boolean stays a boolean), `"!${LIB.FLAG}"` negates a boolean, and a reference
//! inside a longer string is spliced in as text; `${LIB.LIST[0]}` is an
//! element of an array. A table value that is exactly `"${?LIB.NAME}"` takes
//! the setting only when the mount sets it, and is left out otherwise, so the
//! gateway's own default stays in force (the `[jwt]` key and lifetimes).
//! Routes and inputs with `when = false` (typically `when = "${LIB.FLAG}"`)
//! are left out.

use std::collections::{BTreeMap, BTreeSet};

/// What a declared setting holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Str,
    Duration,
    List,
    Table,
}

impl Kind {
    fn of_default(v: &toml::Value) -> Kind {
        match v {
            toml::Value::Boolean(_) => Kind::Bool,
            toml::Value::Integer(_) => Kind::Int,
            toml::Value::String(s) if parse_duration(s).is_some() && !s.chars().all(|c| c.is_ascii_digit()) => {
                Kind::Duration
            }
            toml::Value::String(_) | toml::Value::Datetime(_) => Kind::Str,
            toml::Value::Float(_) => Kind::Int,
            toml::Value::Array(_) => Kind::List,
            toml::Value::Table(_) => Kind::Table,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean",
            Kind::Int => "an integer",
            Kind::Str => "a string",
            Kind::Duration => "a duration (integer seconds or \"5m\", \"1d\", …)",
            Kind::List => "an array",
            Kind::Table => "a table",
        }
    }
}

/// `"90s"`, `"5m"`, `"1h30m"`, `"14d"`, `"2w"`, or digits (seconds) → seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok();
    }
    let (mut total, mut number) = (0i64, String::new());
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: i64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    number.is_empty().then_some(total)
}

/// The settings a dialect honours: dotted name → (kind, default).
#[derive(Debug, Clone, Default)]
pub struct Declared {
    entries: BTreeMap<String, (Kind, toml::Value)>,
}

impl Declared {
    /// Reads one file's `[settings]` table; `over` (a file extending this one) wins name by name.
    pub fn add(&mut self, table: &toml::Table) -> Result<(), String> {
        for (name, v) in table {
            check_name(name)?;
            match v {
                toml::Value::Table(lib) => {
                    for (key, default) in lib {
                        check_name(key)?;
                        self.entries.insert(format!("{name}.{key}"), (Kind::of_default(default), default.clone()));
                    }
                }
                default => {
                    self.entries.insert(name.clone(), (Kind::of_default(default), default.clone()));
                }
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Resolves the defaults under a mount's overrides. Errors name the key.
    pub fn resolve(&self, overrides: Option<&toml::Table>) -> Result<Settings, SettingError> {
        let mut values: BTreeMap<String, toml::Value> = BTreeMap::new();
        let mut overridden = BTreeSet::new();
        for (name, (kind, default)) in &self.entries {
            values.insert(name.clone(), normalise(*kind, default).unwrap_or_else(|| default.clone()));
        }
        for (name, v) in overrides.into_iter().flatten() {
            let namespace = self.entries.keys().any(|k| k.starts_with(&format!("{name}.")));
            match v {
                toml::Value::Table(lib) if namespace => {
                    for (key, value) in lib {
                        let key = format!("{name}.{key}");
                        self.set(&mut values, &key, value)?;
                        overridden.insert(key);
                    }
                }
                value => {
                    self.set(&mut values, name, value)?;
                    overridden.insert(name.clone());
                }
            }
        }
        Ok(Settings { values, overridden })
    }

    fn set(
        &self,
        values: &mut BTreeMap<String, toml::Value>,
        key: &str,
        value: &toml::Value,
    ) -> Result<(), SettingError> {
        let err = |message: String| SettingError { key: key.to_owned(), message };
        let Some((kind, _)) = self.entries.get(key) else {
            let lib = key.split_once('.').map(|(l, _)| l);
            let known: Vec<&str> = self
                .entries
                .keys()
                .filter(|k| match lib {
                    Some(l) => k.starts_with(&format!("{l}.")),
                    None => !k.contains('.'),
                })
                .map(String::as_str)
                .collect();
            let hint =
                if known.is_empty() { String::new() } else { format!(" (this dialect honours: {})", known.join(", ")) };
            return Err(err(format!("unknown or unsupported setting{hint}")));
        };
        let v = normalise(*kind, value).ok_or_else(|| err(format!("must be {}", kind.name())))?;
        values.insert(key.to_owned(), v);
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("settings: {name:?} is not a Django setting name (UPPER_CASE)"))
    }
}

/// The value as stored (durations in seconds), or None when it is not of `kind`.
fn normalise(kind: Kind, v: &toml::Value) -> Option<toml::Value> {
    Some(match (kind, v) {
        (Kind::Bool, toml::Value::Boolean(_))
        | (Kind::Int, toml::Value::Integer(_))
        | (Kind::Str, toml::Value::String(_))
        | (Kind::List, toml::Value::Array(_))
        | (Kind::Table, toml::Value::Table(_)) => v.clone(),
        (Kind::Duration, toml::Value::Integer(i)) if *i >= 0 => v.clone(),
        (Kind::Duration, toml::Value::String(s)) => toml::Value::Integer(parse_duration(s)?),
        _ => return None,
    })
}

/// A mount's setting refused at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

/// A mount's resolved settings: dotted name → value (durations in seconds).
#[derive(Clone, Default, PartialEq)]
pub struct Settings {
    values: BTreeMap<String, toml::Value>,
    /// The names the mount set itself (the rest hold the dialect's defaults).
    overridden: BTreeSet<String>,
}

impl std::fmt::Debug for Settings {
    // Values are left out: `SIMPLE_JWT.SIGNING_KEY` is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").field("names", &self.values.keys()).field("overridden", &self.overridden).finish()
    }
}

impl Settings {
    /// Whether the mount set the name itself.
    pub fn is_overridden(&self, name: &str) -> bool {
        self.overridden.contains(name)
    }

    pub fn get(&self, name: &str) -> Option<&toml::Value> {
        self.values.get(name)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(toml::Value::as_bool)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(toml::Value::as_integer)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(toml::Value::as_str)
    }

    /// An array of strings (other elements are skipped).
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        let a = self.get(name)?.as_array()?;
        Some(a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &toml::Value)> {
        self.values.iter()
    }

    /// Replaces `${NAME}` references in every string of `v` (see the module doc).
    pub fn substitute(&self, v: &mut toml::Value) -> Result<(), String> {
        match v {
            toml::Value::String(s) => {
                if let Some(new) = self.substitute_str(s)? {
                    *v = new;
                }
            }
            toml::Value::Array(items) => {
                for i in items {
                    self.substitute(i)?;
                }
            }
            toml::Value::Table(t) => {
                // `"${?NAME}"`: only what the mount set; otherwise the key goes.
                let unset: Vec<String> = t
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = v.as_str()?.strip_prefix("${?")?.strip_suffix('}')?;
                        // An undeclared name stays, to fail in `lookup` below.
                        (self.values.contains_key(name) && !self.is_overridden(name)).then(|| k.clone())
                    })
                    .collect();
                for k in unset {
                    t.remove(&k);
                }
                for (_, i) in t.iter_mut() {
                    if let Some(name) = i.as_str().and_then(|s| s.strip_prefix("${?")).and_then(|r| r.strip_suffix('}'))
                    {
                        *i = self.lookup(name)?.clone();
                        continue;
                    }
                    self.substitute(i)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn lookup_whole(s: &str) -> Option<&str> {
        s.strip_prefix("${").and_then(|r| r.strip_suffix('}')).filter(|n| !n.contains('}'))
    }

    /// A setting's value; `NAME[i]` is an element of an array setting.
    fn lookup(&self, name: &str) -> Result<&toml::Value, String> {
        let missing = || format!("${{{name}}}: the dialect declares no such setting in [settings]");
        if let Some((base, index)) = name.strip_suffix(']').and_then(|n| n.split_once('[')) {
            let i: usize = index.parse().map_err(|_| format!("${{{name}}}: bad index"))?;
            let list = self.values.get(base).ok_or_else(missing)?;
            let list = list.as_array().ok_or_else(|| format!("${{{name}}}: {base} is not an array"))?;
            return list.get(i).ok_or_else(|| format!("${{{name}}}: {base} has no element {i}"));
        }
        self.values.get(name).ok_or_else(missing)
    }

    fn substitute_str(&self, s: &str) -> Result<Option<toml::Value>, String> {
        if !s.contains("${") {
            return Ok(None);
        }
        if let Some(name) = Self::lookup_whole(s) {
            return Ok(Some(self.lookup(name)?.clone()));
        }
        if let Some(name) = s.strip_prefix('!').and_then(Self::lookup_whole) {
            let b =
                self.lookup(name)?.as_bool().ok_or_else(|| format!("{s}: only a boolean setting can be negated"))?;
            return Ok(Some(toml::Value::Boolean(!b)));
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').ok_or_else(|| format!("{s:?}: unclosed ${{"))? + i;
            let v = self.lookup(&rest[i + 2..end])?;
            match v {
                toml::Value::String(t) => out.push_str(t),
                toml::Value::Integer(n) => out.push_str(&n.to_string()),
                toml::Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
                _ => return Err(format!("{s:?}: ${{{}}} is not text", &rest[i + 2..end])),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(Some(toml::Value::String(out)))
    }
}

#[cfg(test)]
mod tests;
