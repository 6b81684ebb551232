//! Dialects as data: `dialects/<name>.toml` is read, merged with the base it
//! `extends`, validated and compiled into a `Dialect` once at start-up. Any
//! fault names the file and the route and exits with code 64.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::actions::{self, Action, BindContext, Wire};
use crate::engine::{JwtPolicy, Rotation};
use crate::failure::ErrorKey;
use crate::template::{self, vars, MailOverride};

mod checks;
pub mod cors;
mod mail;
mod merge;
pub mod router;
pub mod settings;
pub mod spec;
pub mod throttle;

use checks::{check_error, check_view, jwt_policy};
use merge::merge;

pub use router::Match;
use router::Pattern;
pub use settings::Settings;
pub use spec::*;

#[derive(Debug, thiserror::Error)]
pub enum DialectError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{file}: route {route:?}: {message}")]
    Route { file: String, route: String, message: String },
    /// A mount's `[mount.settings]` names a setting the dialect does not honour, or mistypes one.
    #[error("setting {key}: {message}")]
    Setting { key: String, message: String },
    /// A mount's `[mount.mail.<kind>]` names a mail the dialect does not send, or a bad template.
    #[error("mail {kind}: {message}")]
    Mail { kind: String, message: String },
}

/// A compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    pub spec: RouteSpec,
    pub action: Arc<dyn Action>,
    /// The route's inputs by logical name → wire name.
    pub wire: Wire,
    pub pattern: Pattern,
    /// `pattern.shape()`, kept: routes sharing it share a path (and `Allow`).
    pub shape: String,
    pub method: hyper::Method,
    pub body: Option<Value>,
    /// `body`, compiled: what each answer renders.
    pub compiled: Option<template::Compiled>,
    /// Every variable the answer's templates use (None: not known, e.g. a list answer).
    pub used_vars: Option<Vec<String>>,
    /// Route errors merged over the dialect's.
    pub errors: BTreeMap<ErrorKey, ErrorSpec>,
    /// The authenticators that run for this route, in order, as their places in
    /// the dialect's `authenticators` (looked up by name once, at load).
    pub auth_slots: Vec<usize>,
    /// The body members it reads (its body inputs' wire names, an
    /// authenticator's body credential); empty: the body is never read.
    pub body_fields: Vec<String>,
    /// One of its authenticators reads the body (it is parsed before authentication).
    pub body_auth: bool,
}

impl Dialect {
    /// A route's authenticators, in order, with their names.
    pub fn authenticators_of<'a>(&'a self, r: &'a Route) -> impl Iterator<Item = (&'a String, &'a AuthenticatorSpec)> {
        r.auth_slots.iter().filter_map(|&i| self.authenticators.get_index(i))
    }
}

impl Route {
    /// Whether the answer's templates may use variable `name` (the request's
    /// links, for one, are made only then).
    pub fn uses(&self, name: &str) -> bool {
        self.used_vars.as_ref().is_none_or(|u| u.iter().any(|n| n == name))
    }
}

#[derive(Debug, Clone)]
pub struct Dialect {
    pub name: String,
    pub file: PathBuf,
    pub description: Option<String>,
    pub style: ErrorStyle,
    pub trailing_slash: TrailingSlash,
    pub www_authenticate: Option<String>,
    /// Routes behave as DRF's APIViews (see `DialectSettings::drf_views`).
    pub drf_views: bool,
    pub headers: IndexMap<String, String>,
    pub authenticators: IndexMap<String, AuthenticatorSpec>,
    pub errors: BTreeMap<ErrorKey, ErrorSpec>,
    pub messages: BTreeMap<String, String>,
    /// The mount's settings, resolved (declared defaults under its overrides).
    pub settings: Settings,
    /// DRF throttles from `REST_FRAMEWORK` settings (empty: none).
    pub throttles: throttle::Throttles,
    /// How this mount signs, checks and dates JWTs (its `SIMPLE_JWT` settings).
    pub jwt: JwtPolicy,
    /// DRF's `OPTIONS` answer: renderers, parsers, serializers.
    pub metadata: MetadataSpec,
    /// Path shape → the DRF view declared on one of its routes.
    pub views: BTreeMap<String, ViewSpec>,
    /// The mount's CORS policy (django-cors-headers' settings), when it lets some origin in.
    pub cors: Option<cors::Cors>,
    pub redirect_omits_headers: Vec<String>,
    pub routes: Vec<Route>,
    /// `routes` by the number of path segments they can match (see `router`).
    pub route_index: router::RouteIndex,
}

fn read(dir: &Path, name: &str) -> Result<(PathBuf, toml::Table), DialectError> {
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let path = dir.join(format!("{name}.toml"));
    let file = path.display().to_string();
    if !valid {
        return Err(DialectError::File { file, message: format!("bad dialect name {name:?}") });
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| DialectError::File { file: file.clone(), message: format!("cannot read: {e}") })?;
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| DialectError::File { file: file.clone(), message: e.to_string() })?;
    Ok((path, table))
}

fn extends(table: &toml::Table) -> Option<String> {
    table.get("dialect")?.get("extends")?.as_str().map(str::to_owned)
}

/// Loads `dir/<name>.toml` and the chain of bases it extends, with the declared settings' defaults.
pub fn load(dir: &Path, name: &str) -> Result<Dialect, DialectError> {
    load_with(dir, name, None)
}

/// `load`, with a mount's `[mount.settings]` over the declared defaults.
pub fn load_with(dir: &Path, name: &str, overrides: Option<&toml::Table>) -> Result<Dialect, DialectError> {
    load_mount(dir, name, overrides, &BTreeMap::new())
}

/// `load_with`, plus a mount's `[mount.mail.<kind>]` over the dialect's mail templates.
pub fn load_mount(
    dir: &Path,
    name: &str,
    overrides: Option<&toml::Table>,
    mail: &BTreeMap<String, MailOverride>,
) -> Result<Dialect, DialectError> {
    let (path, top) = read(dir, name)?;
    let file = path.display().to_string();
    let mut chain = vec![(path.clone(), top)];
    let mut seen = vec![name.to_owned()];
    while let Some(b) = extends(&chain[chain.len() - 1].1) {
        if seen.contains(&b) {
            return Err(DialectError::File { file, message: format!("extends cycle through {b:?}") });
        }
        chain.push(read(dir, &b)?);
        seen.push(b);
    }
    // Settings: bases first, so a dialect's own declarations win; then the mount's values.
    let mut declared = settings::Declared::default();
    for (p, t) in chain.iter_mut().rev() {
        if let Some(decl) = t.remove("settings") {
            let ferr = |message: String| DialectError::File { file: p.display().to_string(), message };
            let decl = decl.as_table().ok_or_else(|| ferr("settings must be a table".into()))?;
            declared.add(decl).map_err(ferr)?;
        }
    }
    let setting_error = |e: settings::SettingError| DialectError::Setting { key: e.key, message: e.message };
    let resolved = declared.resolve(overrides).map_err(setting_error)?;
    let cors = cors::Cors::from_settings(&resolved).map_err(setting_error)?;
    let mut files = Vec::new();
    for (p, t) in chain {
        let pfile = p.display().to_string();
        let mut v = toml::Value::Table(t);
        resolved.substitute(&mut v).map_err(|message| DialectError::File { file: pfile.clone(), message })?;
        let parsed: DialectFile =
            v.try_into().map_err(|e: toml::de::Error| DialectError::File { file: pfile, message: e.to_string() })?;
        files.push(parsed);
    }
    let mut files = files.into_iter();
    let mut top = files.next().ok_or_else(|| DialectError::File { file: file.clone(), message: "empty".into() })?;
    for base in files {
        merge(&mut top, &base);
    }
    mail::override_mail(&mut top, mail, &resolved)?;
    compile(path, top, resolved, cors)
}

fn compile(
    path: PathBuf,
    f: DialectFile,
    settings: Settings,
    cors: Option<cors::Cors>,
) -> Result<Dialect, DialectError> {
    let file = path.display().to_string();
    let ferr = |message: String| DialectError::File { file: file.clone(), message };
    let style = f.dialect.error_style.unwrap_or(ErrorStyle::Drf);
    for (k, spec) in &f.errors {
        check_error(*k, spec).map_err(ferr)?;
    }
    if style == ErrorStyle::Drf {
        // A DRF dialect must word every error; the `_drf` base provides them.
        let missing: Vec<&str> = ErrorKey::ALL
            .iter()
            .filter(|k| {
                f.errors.get(*k).is_none_or(|e| {
                    e.detail.is_none() && e.message.is_none() && e.body.is_none() && e.raw.is_none() && !e.empty
                })
            })
            .map(|k| k.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(ferr(format!("error_style drf needs wording for: {}", missing.join(", "))));
        }
    }
    for (name, a) in &f.authenticators {
        if a.scheme.is_none() == a.body_field.is_none() {
            return Err(ferr(format!("authenticator {name}: set exactly one of scheme and body_field")));
        }
        if a.scheme.as_ref().is_some_and(|s| s.is_empty() || s.iter().any(|k| k.is_empty() || k.contains(' '))) {
            return Err(ferr(format!("authenticator {name}: scheme must name one or more keywords without spaces")));
        }
    }
    let jwt = jwt_policy(f.dialect.jwt.clone().unwrap_or_default()).map_err(&ferr)?;
    let metadata = f.metadata.clone().unwrap_or_default();
    let default_auth = f.dialect.default_authenticators.clone().unwrap_or_default();
    for a in &default_auth {
        if !f.authenticators.contains_key(a) {
            return Err(ferr(format!("default_authenticators names unknown authenticator {a:?}")));
        }
    }
    for (k, m) in &f.mail {
        mail::check_mail(k, m).map_err(ferr)?;
    }

    let rotation = Rotation {
        rotate: f.dialect.rotate_refresh.unwrap_or(false),
        blacklist: f.dialect.blacklist_after_rotation.unwrap_or(true),
    };
    let bind = BindContext { mail: &f.mail, rotation };
    let mut views: BTreeMap<String, ViewSpec> = BTreeMap::new();
    let mut routes = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut names: HashSet<String> = HashSet::new();
    for mut spec in f.routes.into_iter().filter(|r| r.when) {
        spec.input.retain(|_, i| i.when);
        let rerr = |message: String| DialectError::Route { file: file.clone(), route: spec.name.clone(), message };
        if !names.insert(spec.name.clone()) {
            return Err(rerr("duplicate route name".into()));
        }
        let method: hyper::Method =
            spec.method.to_uppercase().parse().map_err(|_| rerr(format!("bad method {:?}", spec.method)))?;
        let pattern = Pattern::parse(&spec.path, spec.slash).map_err(rerr)?;
        let shape = pattern.shape();
        if !seen.insert((method.to_string(), shape.clone())) {
            return Err(rerr(format!("duplicate or ambiguous route: {method} {} matches another route", spec.path)));
        }
        let action = actions::parse(&spec.action, &spec.options, &bind).map_err(rerr)?;
        // Inputs: known sources, path parameters that exist, and the action's required ones present.
        let params: Vec<&str> = pattern.params().collect();
        let logical: Vec<&str> = action.inputs().iter().map(|i| i.name).collect();
        for (name, input) in &spec.input {
            if !logical.contains(&name.as_str()) {
                return Err(rerr(format!(
                    "input {name:?} is not read by action {} (it reads: {})",
                    spec.action,
                    logical.join(", ")
                )));
            }
            if input.from == Source::Path {
                let wire = input.field.as_deref().unwrap_or(name);
                if !params.contains(&wire) {
                    return Err(rerr(format!("input {name:?} reads path parameter <{wire}>, which the path lacks")));
                }
            }
        }
        for i in action.inputs().iter().filter(|i| i.required) {
            if !spec.input.contains_key(i.name) {
                return Err(rerr(format!("action {} needs input {:?}", spec.action, i.name)));
            }
        }
        let one_of = action.one_of();
        if !one_of.is_empty() && !one_of.iter().any(|k| spec.input.contains_key(*k)) {
            return Err(rerr(format!("action {} needs one of the inputs {}", spec.action, one_of.join(", "))));
        }
        let wire = Wire::new(
            spec.input.iter().map(|(n, i)| (n.clone(), i.field.clone().unwrap_or_else(|| n.clone()))).collect(),
        );
        let authenticators = spec.authenticators.clone().unwrap_or_else(|| default_auth.clone());
        for a in &authenticators {
            if !f.authenticators.contains_key(a) {
                return Err(rerr(format!("unknown authenticator {a:?}")));
            }
        }
        let auth_slots: Vec<usize> = authenticators.iter().filter_map(|a| f.authenticators.get_index_of(a)).collect();
        let auth_fields: Vec<&String> =
            auth_slots.iter().filter_map(|&i| f.authenticators[i].body_field.as_ref()).collect();
        let mut body_fields: Vec<String> = spec
            .input
            .iter()
            .filter(|(_, i)| i.from == Source::Body)
            .map(|(n, i)| i.field.clone().unwrap_or_else(|| n.clone()))
            .chain(auth_fields.iter().map(|n| (*n).clone()))
            .collect();
        body_fields.sort();
        body_fields.dedup();
        if action.needs_principal() && (authenticators.is_empty() || spec.permission != Permission::Authenticated) {
            return Err(rerr(format!(
                "action {} needs permission = \"authenticated\" and an authenticator",
                spec.action
            )));
        }
        // Response templates may only use what the action provides (with
        // `each`, what each item of its list provides).
        let mut allowed: Vec<&str> = action.outputs();
        if let Some(list) = &spec.response.each {
            if !allowed.contains(&list.as_str()) || !vars::LISTS.contains(&list.as_str()) {
                return Err(rerr(format!("response each = {list:?}: action {} provides no such list", spec.action)));
            }
            allowed = vars::USER.to_vec();
        }
        allowed.extend(vars::ALWAYS);
        let body = spec.response.body.as_ref().map(template::from_toml);
        let mut used = Vec::new();
        if let Some(b) = &body {
            template::value_placeholders(b, &mut used).map_err(rerr)?;
        }
        for (h, v) in &spec.response.headers {
            used.extend(template::placeholders(v).map_err(|e| rerr(format!("header {h}: {e}")))?);
        }
        if let Some(bad) = used.iter().find(|u| !allowed.contains(&u.as_str())) {
            return Err(rerr(format!(
                "bad template placeholder {{{bad}}}: action {} provides {}",
                spec.action,
                allowed.join(", ")
            )));
        }
        if !(100..=599).contains(&spec.response.status) {
            return Err(rerr(format!("response status {} out of range", spec.response.status)));
        }
        for (k, e) in &spec.errors {
            check_error(*k, e).map_err(rerr)?;
        }
        let mut errors = f.errors.clone();
        errors.extend(spec.errors.clone());
        if let Some(www) = &spec.www_authenticate {
            if !template::placeholders(www).map_err(rerr)?.is_empty() {
                return Err(rerr("www_authenticate takes no placeholders".into()));
            }
            route_www_authenticate(&mut errors, www);
        }
        if let Some(view) = &spec.view {
            check_view(view, &metadata, &params).map_err(rerr)?;
            let mut view = view.clone();
            view.permission = Some(view.permission.unwrap_or(spec.permission));
            if views.insert(shape.clone(), view).is_some() {
                return Err(rerr(format!("another route at {} already declares its view", spec.path)));
            }
        }
        let compiled = body.as_ref().map(template::Compiled::new);
        let used_vars = match (&body, &spec.response.each) {
            (Some(_), Some(_)) => None,
            _ => {
                let mut names = Vec::new();
                let body_ok = body.as_ref().is_none_or(|b| template::value_placeholders(b, &mut names).is_ok());
                let headers_ok = spec.response.headers.values().all(|h| match template::placeholders(h) {
                    Ok(p) => {
                        names.extend(p);
                        true
                    }
                    Err(_) => false,
                });
                (body_ok && headers_ok).then_some(names)
            }
        };
        routes.push(Route {
            action,
            wire,
            pattern,
            shape,
            method,
            body,
            compiled,
            used_vars,
            errors,
            auth_slots,
            body_auth: !auth_fields.is_empty(),
            body_fields,
            spec,
        });
    }
    if routes.is_empty() {
        return Err(ferr("a dialect needs at least one route".into()));
    }
    let scopes = routes.iter().filter_map(|r| r.spec.throttle_scope.as_deref());
    let throttles =
        throttle::compile(&settings, scopes).map_err(|(key, message)| DialectError::Setting { key, message })?;
    Ok(Dialect {
        name: f.dialect.name,
        file: path,
        description: f.dialect.description,
        style,
        trailing_slash: f.dialect.trailing_slash.unwrap_or(TrailingSlash::Strict),
        www_authenticate: f.dialect.www_authenticate,
        drf_views: f.dialect.drf_views.unwrap_or(false),
        headers: f.dialect.headers,
        authenticators: f.authenticators,
        errors: f.errors,
        messages: f.messages,
        settings,
        throttles,
        jwt,
        metadata,
        views,
        cors,
        redirect_omits_headers: f.dialect.redirect_omits_headers.unwrap_or_default(),
        route_index: router::RouteIndex::new(&routes),
        routes,
    })
}

/// Puts a route's own `WWW-Authenticate` on each of its 401 errors; an error's
/// headers win over the dialect's (see `render`). An error that sets the header
/// itself keeps it.
fn route_www_authenticate(errors: &mut BTreeMap<ErrorKey, ErrorSpec>, www: &str) {
    for key in ErrorKey::ALL {
        let spec = errors.entry(*key).or_default();
        let has_own = spec.headers.keys().any(|h| h.eq_ignore_ascii_case("WWW-Authenticate"));
        if spec.status.unwrap_or(key.default_status()) == 401 && !has_own {
            spec.headers.insert("WWW-Authenticate".into(), www.to_owned());
        }
    }
}
