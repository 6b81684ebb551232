//! Replays scenarios against a target: builds each request from the step and
//! the values captured so far, sends it, and checks the answer.

use std::time::Instant;

use base64::Engine as _;
use serde_json::Value;

use super::client::{Answer, Http};
use super::matchers::{json_of, request_value, show, substitute, substitute_str, Outcome, Vars};
use super::outbox::OutboxAccess;
use super::scenario::{Expect, Request, Scenario, Step};

/// What to run against.
#[derive(Clone)]
pub struct Target {
    /// Base URL; each step's path is appended (`http://127.0.0.1:8000/djoser`).
    pub base: String,
    pub outbox: Option<OutboxAccess>,
    /// Values that replace the scenarios' own `vars` (e.g. an existing account on a legacy backend).
    pub vars: Vars,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// One line per difference, each naming the field.
    Fail(Vec<String>),
    /// Not run, with the reason in plain words.
    Skip(String),
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub scenario: String,
    /// 1-based position in the scenario.
    pub index: usize,
    pub step: String,
    pub verdict: Verdict,
    pub seconds: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub dialect: String,
    pub steps: Vec<StepReport>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.steps.iter().filter(|s| s.verdict == Verdict::Pass).count()
    }

    pub fn failed(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s.verdict, Verdict::Fail(_))).count()
    }

    pub fn skipped(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s.verdict, Verdict::Skip(_))).count()
    }
}

pub const NO_OUTBOX: &str = "needs the mail outbox, and the target has none configured: pass --admin-url URL \
     (polyauth's admin listener, with --admin-token or POLYAUTH_ADMIN__TOKEN) or --outbox-url URL; \
     a backend without an outbox cannot run this step";

/// Runs every scenario in order; `on_step` sees each result as it is decided.
pub async fn run(
    target: &Target,
    dialect: &str,
    scenarios: &[Scenario],
    mut on_step: impl FnMut(&StepReport),
) -> Report {
    let http = Http::new();
    let mut report = Report { dialect: dialect.to_owned(), steps: Vec::new() };
    for scenario in scenarios {
        let mut vars = Vars::new();
        vars.insert("run".into(), Value::from(format!("{:08x}", rand::random::<u32>())));
        for (k, v) in &scenario.vars {
            vars.insert(k.clone(), json_of(v));
        }
        vars.extend(target.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut blocked: Option<String> = None;
        for (i, step) in scenario.steps.iter().enumerate() {
            let start = Instant::now();
            let verdict = match &blocked {
                Some(why) => Verdict::Skip(why.clone()),
                None => run_step(&http, target, step, &mut vars).await,
            };
            if matches!(verdict, Verdict::Skip(_)) && blocked.is_none() {
                blocked = Some(format!("not run: step {} ({:?}) needed the mail outbox", i + 1, step.name));
            }
            let r = StepReport {
                scenario: scenario.name.clone(),
                index: i + 1,
                step: step.name.clone(),
                verdict,
                seconds: start.elapsed().as_secs_f64(),
            };
            on_step(&r);
            report.steps.push(r);
        }
    }
    report
}

async fn run_step(http: &Http, target: &Target, step: &Step, vars: &mut Vars) -> Verdict {
    let outcome = match (&step.request, &step.outbox) {
        (Some(req), _) => request_step(http, target, req, &step.expect, vars).await,
        (None, Some(to)) => {
            let Some(outbox) = &target.outbox else {
                return Verdict::Skip(NO_OUTBOX.into());
            };
            outbox_step(http, outbox, to, &step.expect, vars).await
        }
        (None, None) => Err("the step has neither a request nor an outbox".into()),
    };
    match outcome {
        Ok(o) => {
            for (k, v) in o.captures {
                vars.insert(k, v);
            }
            if o.diffs.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail(o.diffs)
            }
        }
        Err(e) => Verdict::Fail(vec![e]),
    }
}

fn text(s: &str, vars: &Vars) -> Result<String, String> {
    Ok(match substitute_str(s, vars)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// A request ready to send: URL, headers, body.
struct Built {
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// URL, headers and body of a step's request.
fn build(target: &Target, req: &Request, vars: &Vars) -> Result<Built, String> {
    let url = format!("{}{}", target.base.trim_end_matches('/'), text(&req.path, vars)?);
    let mut headers = Vec::new();
    for (k, v) in &req.headers {
        headers.push((k.clone(), text(v, vars)?));
    }
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if let Some([login, password]) = &req.basic {
        let pair = format!("{}:{}", text(login, vars)?, text(password, vars)?);
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        headers.push(("Authorization".into(), format!("Basic {encoded}")));
    }
    let (body, content_type) = if let Some(j) = &req.json {
        let v = request_value(substitute(&json_of(j), vars)?);
        (serde_json::to_vec(&v).unwrap_or_default(), Some("application/json".to_owned()))
    } else if let Some(form) = &req.form {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            ser.append_pair(k, &text(v, vars)?);
        }
        (ser.finish().into_bytes(), Some("application/x-www-form-urlencoded".to_owned()))
    } else if let Some(fields) = &req.multipart {
        let boundary = "polyauth-contract-boundary";
        let mut out = String::new();
        for (k, v) in fields {
            out.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{}\r\n",
                text(v, vars)?
            ));
        }
        out.push_str(&format!("--{boundary}--\r\n"));
        (out.into_bytes(), Some(format!("multipart/form-data; boundary={boundary}")))
    } else if let Some(raw) = &req.raw {
        (text(raw, vars)?.into_bytes(), None)
    } else {
        (Vec::new(), None)
    };
    if let Some(ct) = content_type.filter(|_| !has(&headers, "content-type")) {
        headers.push(("Content-Type".into(), ct));
    }
    Ok(Built { url, headers, body })
}

async fn request_step(
    http: &Http,
    target: &Target,
    req: &Request,
    expect: &Expect,
    vars: &Vars,
) -> Result<Outcome, String> {
    let b = build(target, req, vars).map_err(|e| format!("request: {e}"))?;
    let answer = http.send(&req.method.to_uppercase(), &b.url, &b.headers, b.body).await?;
    let mut o = Outcome::new(vars);
    if let Some(status) = expect.status.filter(|s| *s != answer.status) {
        o.diffs.push(format!("status: expected {status}, got {}{}", answer.status, brief_body(&answer)));
    }
    check_body(&mut o, expect, &answer);
    // Checked after the body, so header patterns may use what the body captured.
    for (name, pattern) in &expect.headers {
        o.text(&format!("header {name}"), pattern, answer.header(name).as_deref());
    }
    for name in &expect.absent_headers {
        if let Some(v) = answer.header(name) {
            o.diffs.push(format!("header {name}: expected absent, got {}", show(&Value::from(v))));
        }
    }
    Ok(o)
}

/// A short view of the body, so a status diff says what came back.
fn brief_body(a: &Answer) -> String {
    if a.body.is_empty() {
        return String::new();
    }
    let t = String::from_utf8_lossy(&a.body);
    format!(" (body {})", show(&Value::from(t.trim())))
}

fn check_body(o: &mut Outcome, expect: &Expect, a: &Answer) {
    let body = String::from_utf8_lossy(&a.body);
    if let Some(j) = &expect.json {
        let expected = json_of(j);
        match serde_json::from_slice::<Value>(&a.body) {
            Ok(actual) => o.json("body", &expected, &actual, false),
            Err(_) => o.diffs.push(format!(
                "body: expected JSON {}, got {} {}",
                show(&expected),
                if a.content_type().is_empty() { "no Content-Type".to_owned() } else { a.content_type() },
                show(&Value::from(body.as_ref()))
            )),
        }
    }
    if let Some(b) = &expect.body {
        o.text("body", b, Some(&body));
    }
    if let Some(c) = &expect.body_contains {
        if let Some(c) = o.expand("body", c) {
            let c = if let Value::String(s) = c { s } else { c.to_string() };
            if !body.contains(&c) {
                o.diffs.push(format!(
                    "body: expected to contain {}, got {}",
                    show(&Value::from(c)),
                    show(&Value::from(body.as_ref()))
                ));
            }
        }
    }
    if expect.empty_body && !a.body.is_empty() {
        o.diffs.push(format!("body: expected none, got {}", show(&Value::from(body.as_ref()))));
    }
}

async fn outbox_step(
    http: &Http,
    outbox: &OutboxAccess,
    to: &str,
    expect: &Expect,
    vars: &Vars,
) -> Result<Outcome, String> {
    let to = text(to, vars).map_err(|e| format!("outbox: {e}"))?;
    let mails = outbox.list(http, &to).await?;
    let mut o = Outcome::new(vars);
    if let Some(n) = expect.mails.filter(|n| *n != mails.len()) {
        o.diffs.push(format!("mails: expected {n} mail(s) to {to}, got {}", mails.len()));
    }
    if let Some(m) = &expect.mail {
        let expected = json_of(m);
        match mails.last() {
            Some(newest) => o.json("mail", &expected, newest, true),
            None => o.diffs.push(format!("mail: no mail to {to} in the outbox")),
        }
    }
    Ok(o)
}
