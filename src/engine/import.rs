//! Taking over a Django backend's accounts: `manage.py dumpdata` output (see
//! `dump`) imported into the store. Users keep their ids, hashes and dates
//! (`Store::import_user`, never overwriting), DRF auth-token keys become the
//! users' auth tokens (`import_auth_token`), and SimpleJWT's blacklisted
//! refresh tokens stay refused until they would have expired.
//!
//! Records are read one at a time; user and token writes run with up to
//! `window` in flight (pipelined on the store's one connection), and all of
//! them finish before a record of another model is handled, so a token never
//! races the import of its user. Each bad record is reported with its index,
//! model and pk; the others are imported.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::BufRead;
use std::pin::Pin;

use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::opaque::TokenImport;
use super::*;
use crate::store::{normalize_email, ImportOutcome, UserRecord};

pub mod dump;

/// How to read the dump.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The user model's label (`auth.user`, or a custom one such as `emailauth.user`).
    pub user_model: String,
    /// Validate every record, write nothing.
    pub dry_run: bool,
    /// Writes in flight at once.
    pub window: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { user_model: "auth.user".into(), dry_run: false, window: 256 }
    }
}

/// A record that was not imported as it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 0-based position in the dump.
    pub index: u64,
    pub model: String,
    pub pk: String,
    pub reason: String,
    /// A bad record (the import fails) rather than one kept as stored.
    pub bad: bool,
}

/// What an import did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportReport {
    pub records: u64,
    pub users_created: u64,
    pub users_unchanged: u64,
    /// The id holds this user with other fields (e.g. a login since): kept as stored.
    pub users_differ: u64,
    pub tokens_created: u64,
    pub tokens_unchanged: u64,
    pub blacklisted: u64,
    /// Blacklisted tokens already expired: nothing to refuse.
    pub blacklisted_expired: u64,
    /// Records of other models, by model.
    pub skipped: BTreeMap<String, u64>,
    pub problems: Vec<Problem>,
}

impl ImportReport {
    pub fn bad_records(&self) -> usize {
        self.problems.iter().filter(|p| p.bad).count()
    }
}

/// Why an import stopped before the end of the dump.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The dump cannot be read on (not JSON, or a read error).
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// One write in flight and what it is about: index, model, pk, the claims it
/// makes (see `Inflight`), and how it ended.
type Done = (u64, String, String, Vec<String>, Result<Step, String>);

/// The writes in flight, and the ids, usernames and email keys they claim:
/// a record claiming one of those waits for them, so that of two records of
/// the file claiming the same name the first wins, on every store.
#[derive(Default)]
struct Inflight {
    tasks: JoinSet<Done>,
    claims: HashMap<String, usize>,
}

/// A write to run with others in flight.
type Write = Pin<Box<dyn Future<Output = Result<Step, String>> + Send>>;

enum Step {
    User(ImportOutcome),
    Token(TokenImport),
}

fn pk_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn text<'a>(f: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    f.get(name).and_then(Value::as_str).ok_or_else(|| format!("field {name:?} missing or not a string"))
}

fn flag(f: &Map<String, Value>, name: &str, default: bool) -> Result<bool, String> {
    match f.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("field {name:?} is not a boolean")),
    }
}

fn date(f: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match f.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            dump::parse_datetime(s).map(Some).ok_or_else(|| format!("field {name:?}: bad datetime {s:?}"))
        }
        Some(_) => Err(format!("field {name:?} is not a datetime")),
    }
}

/// A user record of the dump as polyauth stores it. The username is the
/// `username` field, or `email` for a model without one (`USERNAME_FIELD = "email"`).
fn user_record(pk: &Value, f: &Map<String, Value>) -> Result<UserRecord, String> {
    let id = pk.as_u64().filter(|id| *id > 0).ok_or("the pk is not a positive integer id")?;
    let email = normalize_email(f.get("email").and_then(Value::as_str).unwrap_or_default());
    let username = match f.get("username") {
        Some(_) => text(f, "username")?.to_owned(),
        None => email.clone(),
    };
    if username.is_empty() {
        return Err("empty username".into());
    }
    if !email.is_empty() && !email.contains('@') {
        return Err(format!("email {email:?} has no '@'"));
    }
    Ok(UserRecord {
        id,
        username,
        email,
        password_hash: passwords::from_django(text(f, "password")?)
            .ok_or("the password is no hash format Django ever wrote")?,
        is_active: flag(f, "is_active", true)?,
        email_verified: false,
        is_staff: flag(f, "is_staff", false)?,
        date_joined: date(f, "date_joined")?.unwrap_or_else(now),
        last_login: date(f, "last_login")?,
        tokens_revoked_at: None,
    })
}

fn user_id_field(f: &Map<String, Value>) -> Result<u64, String> {
    f.get("user").and_then(Value::as_u64).ok_or_else(|| "field \"user\" is not a user id".into())
}

impl Engine {
    /// Imports a dump; `progress` is called with the records read so far
    /// every 1000 records. Bad records are in the report; an error is
    /// returned only when the dump cannot be read on or the store fails.
    pub async fn import_dump(
        &self,
        input: Box<dyn BufRead + Send>,
        options: &ImportOptions,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportReport, ImportError> {
        let user_model = options.user_model.to_ascii_lowercase();
        let (mut records, reader) = dump::stream(input, options.window);
        let mut report = ImportReport::default();
        let mut inflight = Inflight::default();
        // SimpleJWT's outstanding tokens, by pk: (jti, expires at) while live,
        // None once expired; the blacklist names them by pk.
        let mut outstanding: HashMap<u64, Option<(String, i64)>> = HashMap::new();
        let mut last_model = String::new();
        while let Some(dump::Raw { index, value }) = records.recv().await {
            report.records += 1;
            if report.records % 1000 == 0 {
                progress(report.records);
            }
            let model = value.get("model").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            let pk = value.get("pk").cloned().unwrap_or(Value::Null);
            let Some(fields) = value.get("fields").and_then(Value::as_object) else {
                report.problems.push(Problem {
                    index,
                    model,
                    pk: pk_text(&pk),
                    reason: "not a dumpdata record (no \"model\"/\"fields\")".into(),
                    bad: true,
                });
                continue;
            };
            if model != last_model {
                // Everything of the previous model is stored before this one starts.
                self.settle(&mut inflight, &mut report, 0).await?;
                last_model = model.clone();
            }
            let bad = |reason: String| Problem { index, model: model.clone(), pk: pk_text(&pk), reason, bad: true };
            let mut claims = Vec::new();
            let step: Option<Write> = if model == user_model {
                match user_record(&pk, fields) {
                    Err(reason) => {
                        report.problems.push(bad(reason));
                        None
                    }
                    Ok(_) if options.dry_run => None,
                    Ok(user) => {
                        claims = vec![format!("i:{}", user.id), format!("u:{}", user.username)];
                        if !user.email.is_empty() {
                            claims.push(format!("e:{}", crate::store::email_key(&user.email)));
                        }
                        let store = self.inner.store.clone();
                        Some(Box::pin(
                            async move { store.import_user(&user).await.map(Step::User).map_err(store_reason) },
                        ))
                    }
                }
            } else {
                match model.as_str() {
                    "authtoken.token" => match (pk.as_str(), user_id_field(fields)) {
                        (Some(key), Ok(user_id)) if !key.is_empty() => {
                            claims = vec![format!("i:{user_id}")];
                            let (engine, key) = (self.clone(), key.to_owned());
                            (!options.dry_run)
                                .then(|| Box::pin(async move { engine.import_token(user_id, &key).await }) as Write)
                        }
                        (_, Err(reason)) => {
                            report.problems.push(bad(reason));
                            None
                        }
                        _ => {
                            report.problems.push(bad("the pk is not a token key".into()));
                            None
                        }
                    },
                    "token_blacklist.outstandingtoken" => {
                        match (pk.as_u64(), text(fields, "jti"), date(fields, "expires_at")) {
                            (Some(id), Ok(jti), Ok(Some(exp))) => {
                                outstanding.insert(id, (exp > now()).then(|| (jti.to_owned(), exp)));
                            }
                            (_, Err(reason), _) | (_, _, Err(reason)) => report.problems.push(bad(reason)),
                            _ => report.problems.push(bad("no integer pk or no expires_at".into())),
                        }
                        None
                    }
                    "token_blacklist.blacklistedtoken" => {
                        match fields.get("token").and_then(Value::as_u64).map(|t| outstanding.get(&t)) {
                            None => report.problems.push(bad("field \"token\" is not an outstanding token id".into())),
                            Some(None) => report.problems.push(bad("names an outstanding token the dump does not hold (dump token_blacklist.outstandingtoken with it, before it)".into())),
                            Some(Some(None)) => report.blacklisted_expired += 1,
                            Some(Some(Some((jti, exp)))) => {
                                if !options.dry_run {
                                    let ttl = Duration::from_secs((exp - now()).max(1) as u64);
                                    self.inner.store.blacklist_jti(jti, ttl).await.map_err(EngineError::from)?;
                                }
                                report.blacklisted += 1;
                            }
                        }
                        None
                    }
                    _ => {
                        *report
                            .skipped
                            .entry(if model.is_empty() { "(none)".into() } else { model.clone() })
                            .or_default() += 1;
                        None
                    }
                }
            };
            if let Some(step) = step {
                if claims.iter().any(|c| inflight.claims.contains_key(c)) {
                    self.settle(&mut inflight, &mut report, 0).await?;
                }
                for c in &claims {
                    *inflight.claims.entry(c.clone()).or_default() += 1;
                }
                let (model, pk) = (model.clone(), pk_text(&pk));
                inflight.tasks.spawn(async move { (index, model, pk, claims, step.await) });
                self.settle(&mut inflight, &mut report, options.window.max(1)).await?;
            }
        }
        self.settle(&mut inflight, &mut report, 0).await?;
        match reader.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(ImportError::Unreadable(e)),
            Err(e) => return Err(ImportError::Unreadable(format!("the reader stopped: {e}"))),
        }
        report.problems.sort_by_key(|p| p.index);
        Ok(report)
    }

    /// Waits until at most `keep` writes are in flight, counting those done.
    /// A store that is unavailable ends the import (every later write would fail too).
    async fn settle(&self, inflight: &mut Inflight, report: &mut ImportReport, keep: usize) -> Result<(), ImportError> {
        while inflight.tasks.len() > keep {
            let Some(done) = inflight.tasks.join_next().await else { break };
            let (index, model, pk, claims, result) =
                done.map_err(|e| ImportError::Unreadable(format!("an import task failed: {e}")))?;
            for c in claims {
                if let std::collections::hash_map::Entry::Occupied(mut n) = inflight.claims.entry(c) {
                    *n.get_mut() -= 1;
                    if *n.get() == 0 {
                        n.remove();
                    }
                }
            }
            let note = |reason: &str, bad: bool| Problem {
                index,
                model: model.clone(),
                pk: pk.clone(),
                reason: reason.into(),
                bad,
            };
            match result {
                Ok(Step::User(ImportOutcome::Created)) => report.users_created += 1,
                Ok(Step::User(ImportOutcome::Unchanged)) => report.users_unchanged += 1,
                Ok(Step::User(ImportOutcome::Differs)) => {
                    report.users_differ += 1;
                    report.problems.push(note(
                        "this id holds this user with other fields (a login or change since?): kept as stored",
                        false,
                    ));
                }
                Ok(Step::User(ImportOutcome::IdTaken)) => {
                    report.problems.push(note("this id holds another user", true))
                }
                Ok(Step::Token(TokenImport::Created)) => report.tokens_created += 1,
                Ok(Step::Token(TokenImport::Unchanged)) => report.tokens_unchanged += 1,
                Ok(Step::Token(TokenImport::OtherToken)) => {
                    report.problems.push(note("the user holds another live auth token: kept", false))
                }
                Err(reason) if reason.starts_with(UNAVAILABLE) => {
                    return Err(EngineError::Store(StoreError::Unavailable(reason)).into());
                }
                Err(reason) => report.problems.push(note(&reason, true)),
            }
        }
        Ok(())
    }

    async fn import_token(&self, user_id: u64, key: &str) -> Result<Step, String> {
        match self.find_user(user_id).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(format!("no user {user_id} (import the user model first)")),
            Err(e) => return Err(engine_reason(e)),
        }
        self.import_auth_token(user_id, key).await.map(Step::Token).map_err(engine_reason)
    }
}

const UNAVAILABLE: &str = "store unavailable";

fn store_reason(e: StoreError) -> String {
    match e {
        StoreError::Conflict(UniqueField::Username) => "the username belongs to another user".into(),
        StoreError::Conflict(UniqueField::Email) => "the email (case aside) belongs to another user".into(),
        StoreError::Unavailable(m) => format!("{UNAVAILABLE}: {m}"),
        other => other.to_string(),
    }
}

fn engine_reason(e: EngineError) -> String {
    match e {
        EngineError::Store(s) => store_reason(s),
        other => other.to_string(),
    }
}
