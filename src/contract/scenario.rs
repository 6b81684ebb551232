//! The scenario file format (`fixtures/<dialect>/*.toml`), as serde reads it.
//! Every table denies unknown keys, so a misspelt expectation is a load error,
//! never a check that silently does not happen. See `fixtures/README.md`.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Deserialize;

/// One scenario: ordered steps sharing captured values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown in reports; defaults to the file name without `.toml`.
    #[serde(default)]
    pub name: String,
    pub description: Option<String>,
    /// Constants usable as `${name}` in every step.
    #[serde(default)]
    pub vars: IndexMap<String, toml::Value>,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
    /// The file it came from (set by the loader).
    #[serde(skip)]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub name: String,
    /// An HTTP request to the target.
    pub request: Option<Request>,
    /// Instead of a request: read the mail outbox for this address (newest mail last).
    pub outbox: Option<String>,
    #[serde(default)]
    pub expect: Expect,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    #[serde(default = "get")]
    pub method: String,
    /// Appended to the target URL; may carry a query string.
    pub path: String,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// A JSON body (`Content-Type: application/json` unless `headers` sets one).
    pub json: Option<toml::Value>,
    /// An `application/x-www-form-urlencoded` body.
    pub form: Option<IndexMap<String, String>>,
    /// A `multipart/form-data` body of text fields.
    pub multipart: Option<IndexMap<String, String>>,
    /// A body sent verbatim (set `Content-Type` in `headers` if wanted).
    pub raw: Option<String>,
    /// `[login, password]`: sends `Authorization: Basic base64(login:password)`.
    pub basic: Option<[String; 2]>,
}

fn get() -> String {
    "GET".into()
}

/// What the answer must look like. Absent keys are not checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub status: Option<u16>,
    /// Header name (any case) → value pattern.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Headers that must not be present.
    #[serde(default)]
    pub absent_headers: Vec<String>,
    /// The body as JSON: equal in structure, every object key accounted for.
    pub json: Option<toml::Value>,
    /// The raw body text (a pattern).
    pub body: Option<String>,
    /// Text the raw body must contain.
    pub body_contains: Option<String>,
    /// The body must be empty.
    #[serde(default)]
    pub empty_body: bool,
    /// Outbox steps: the newest mail has at least these keys with these values.
    pub mail: Option<toml::Value>,
    /// Outbox steps: exactly this many mails to the address.
    pub mails: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{dir}: no scenario files (*.toml)")]
    Empty { dir: String },
}

fn check(s: &Scenario) -> Result<(), String> {
    if s.steps.is_empty() {
        return Err("a scenario needs at least one [[step]]".into());
    }
    for (i, step) in s.steps.iter().enumerate() {
        let at = format!("step {} ({:?})", i + 1, step.name);
        match (&step.request, &step.outbox) {
            (Some(r), None) => {
                let bodies = [r.json.is_some(), r.form.is_some(), r.multipart.is_some(), r.raw.is_some()];
                if bodies.iter().filter(|b| **b).count() > 1 {
                    return Err(format!("{at}: set at most one of json, form, multipart, raw"));
                }
                if !r.path.starts_with('/') {
                    return Err(format!("{at}: path {:?} must start with '/'", r.path));
                }
                if r.method.parse::<hyper::Method>().is_err() {
                    return Err(format!("{at}: bad method {:?}", r.method));
                }
                if step.expect.status.is_none() {
                    return Err(format!("{at}: expect.status is required for a request"));
                }
                if step.expect.mail.is_some() || step.expect.mails.is_some() {
                    return Err(format!("{at}: expect.mail and expect.mails belong to outbox steps"));
                }
            }
            (None, Some(_)) => {
                let e = &step.expect;
                if e.status.is_some() || e.json.is_some() || e.body.is_some() || !e.headers.is_empty() {
                    return Err(format!("{at}: an outbox step checks only expect.mail and expect.mails"));
                }
            }
            _ => return Err(format!("{at}: set exactly one of request and outbox")),
        }
    }
    Ok(())
}

/// Reads one scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    let err = |message: String| LoadError::File { file: file.clone(), message };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let mut s: Scenario = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    check(&s).map_err(err)?;
    if s.name.is_empty() {
        s.name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    }
    s.file = path.to_owned();
    Ok(s)
}

/// Reads every `*.toml` directly in `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, LoadError> {
    let shown = dir.display().to_string();
    let entries =
        std::fs::read_dir(dir).map_err(|e| LoadError::File { file: shown.clone(), message: e.to_string() })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LoadError::Empty { dir: shown });
    }
    files.iter().map(|f| load_file(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(), String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        check(&s)
    }

    #[test]
    fn strict_shapes() {
        let ok = "[[step]]\nname = \"a\"\nrequest = { path = \"/x\" }\nexpect = { status = 200 }\n";
        assert_eq!(parse(ok), Ok(()));
        let typo = "[[step]]\nname = \"a\"\nrequest = { path = \"/x\" }\nexpect = { stauts = 200 }\n";
        assert!(parse(typo).unwrap_err().contains("unknown field"));
        let both =
            "[[step]]\nname = \"a\"\noutbox = \"a@b.c\"\nrequest = { path = \"/x\" }\nexpect = { status = 200 }\n";
        assert!(parse(both).unwrap_err().contains("exactly one of request and outbox"));
        let two_bodies =
            "[[step]]\nname = \"a\"\nrequest = { path = \"/x\", json = {}, raw = \"\" }\nexpect = { status = 200 }\n";
        assert!(parse(two_bodies).unwrap_err().contains("at most one of json"));
        let no_status = "[[step]]\nname = \"a\"\nrequest = { path = \"/x\" }\n";
        assert!(parse(no_status).unwrap_err().contains("expect.status is required"));
        let outbox_status = "[[step]]\nname = \"a\"\noutbox = \"a@b.c\"\nexpect = { status = 200 }\n";
        assert!(parse(outbox_status).unwrap_err().contains("checks only expect.mail"));
        assert!(parse("[[step]]\nname = \"a\"\nrequest = { path = \"x\" }\nexpect = { status = 1 }\n")
            .unwrap_err()
            .contains("must start with '/'"));
        assert!(parse("step = []\n").unwrap_err().contains("at least one"));
    }
}
