//! Load-time checks of a dialect file's parts that are not routes: error
//! renderings (placeholders a template may use), views (serializers that
//! exist, object parameters in the path), and the JWT settings as the engine
//! takes them. Each returns the message; the loader names the file and route.

use crate::engine::{JwtOptions, JwtPolicy};
use crate::failure::ErrorKey;
use crate::template::{self, vars};

use super::spec::*;

/// The shortest `SIGNING_KEY` accepted (the gateway's `MIN_SECRET_BYTES`).
const MIN_KEY_BYTES: usize = crate::config::MIN_SECRET_BYTES;

pub(super) fn check_error(key: ErrorKey, spec: &ErrorSpec) -> Result<(), String> {
    if let Some(s) = spec.status {
        if !(100..=599).contains(&s) {
            return Err(format!("error {key}: status {s} out of range"));
        }
    }
    let mut names = Vec::new();
    for text in [&spec.detail, &spec.message, &spec.code, &spec.message_key, &spec.raw].into_iter().flatten() {
        names.extend(template::placeholders(text).map_err(|e| format!("error {key}: {e}"))?);
    }
    if let Some(body) = &spec.body {
        template::value_placeholders(&template::from_toml(body), &mut names)
            .map_err(|e| format!("error {key}: {e}"))?;
    }
    for v in spec.headers.values() {
        names.extend(template::placeholders(v).map_err(|e| format!("error {key}: {e}"))?);
    }
    if let Some(bad) =
        names.iter().find(|n| !vars::ERRORS.contains(&n.as_str()) && !n.starts_with(vars::MESSAGE_PREFIX))
    {
        return Err(format!("error {key}: unknown placeholder {{{bad}}}"));
    }
    Ok(())
}

/// The dialect's `[dialect.jwt]` as the engine takes it. An empty signing key
/// means the gateway's `[jwt]` key.
pub(super) fn jwt_policy(spec: JwtSpec) -> Result<JwtPolicy, String> {
    let seconds = |name: &str, v: Option<i64>, min: i64| match v {
        Some(n) if n < min => Err(format!("jwt {name} must be at least {min} seconds")),
        other => Ok(other),
    };
    let key = spec.signing_key.filter(|k| !k.expose().is_empty());
    match key.as_ref().map(|k| k.expose().len()) {
        // As every secret of the gateway: a guessable key would let anyone forge tokens.
        Some(n) if n < MIN_KEY_BYTES => {
            return Err(format!("SIMPLE_JWT.SIGNING_KEY is {n} bytes; it must be at least {MIN_KEY_BYTES}"))
        }
        // A legacy project's key is honoured as SimpleJWT takes it, with a warning.
        Some(n) if n < 32 => {
            tracing::warn!("SIMPLE_JWT.SIGNING_KEY is shorter than 32 bytes: HS256 with a short key is weak")
        }
        _ => {}
    }
    let claim = |name: &str, v: Option<String>| match v {
        Some(c) if c.is_empty() => Err(format!("jwt {name} must not be empty")),
        other => Ok(other),
    };
    Ok(JwtPolicy::new(JwtOptions {
        signing_key: key,
        access_lifetime: seconds("access_lifetime", spec.access_lifetime, 1)?,
        refresh_lifetime: seconds("refresh_lifetime", spec.refresh_lifetime, 1)?,
        leeway: seconds("leeway", spec.leeway, 0)?.unwrap_or(0) as u64,
        user_id_claim: claim("user_id_claim", spec.user_id_claim)?,
        revoke_claim: if spec.check_revoke.unwrap_or(false) {
            Some(claim("revoke_claim", spec.revoke_claim)?.unwrap_or_else(|| "hash_password".into()))
        } else {
            None
        },
    }))
}

/// A view's serializers exist and its object parameter is in the path.
pub(super) fn check_view(view: &ViewSpec, metadata: &MetadataSpec, params: &[&str]) -> Result<(), String> {
    for (method, serializer) in &view.actions {
        if !["POST", "PUT"].contains(&method.as_str()) {
            return Err(format!("view actions: DRF lists only POST and PUT, not {method:?}"));
        }
        if !metadata.serializers.contains_key(serializer) {
            return Err(format!("view actions: no serializer {serializer:?} in [metadata.serializers]"));
        }
    }
    if let Some(p) = &view.object_param {
        if !params.contains(&p.as_str()) {
            return Err(format!("view object_param {p:?} is not a parameter of the path"));
        }
    }
    Ok(())
}
