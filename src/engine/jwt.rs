//! JWTs as SimpleJWT makes them: HS256 (pinned: a token claiming any other
//! algorithm is invalid), claims `token_type, exp, iat, jti, user_id` with
//! `user_id` a string. The engine's `JwtCodec` holds the `[jwt]` key and
//! lifetimes; a `JwtPolicy` (one per mount, built when its dialect loads from
//! the legacy project's `SIMPLE_JWT` settings) may override them and names the
//! claims, the leeway and the revocation check.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::{Map, Value};

use crate::secret::Secret;

mod claims;

use claims::DefaultNames;
pub use claims::TypeClaim;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    Access,
    Refresh,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

/// Why a JWT was refused; each maps to one of SimpleJWT's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Bad signature, bad shape, wrong algorithm: "Token is invalid".
    Invalid,
    Expired,
    WrongType,
    NoType,
    NoId,
    Blacklisted,
    /// No user id claim.
    NoUser,
    /// No `exp` claim.
    NoExp,
}

/// The claims SimpleJWT reads, taken from a verified token.
#[derive(Debug, Clone)]
pub struct Claims {
    /// None: absent, or not a string.
    pub token_type: Option<TypeClaim>,
    pub exp: i64,
    pub iat: i64,
    pub jti: Option<String>,
    /// The `USER_ID_CLAIM` (a string; older SimpleJWT versions wrote a
    /// number); None: absent, or not a user id.
    pub user_id: Option<u64>,
    /// The `REVOKE_TOKEN_CLAIM`, when the policy checks it.
    pub revoke: Option<String>,
}

impl Claims {
    pub fn user_id(&self) -> Result<u64, TokenError> {
        self.user_id.ok_or(TokenError::NoUser)
    }

    /// Seconds left before expiry (at least 1), for blacklist entries.
    pub fn remaining(&self, now: i64) -> Duration {
        Duration::from_secs((self.exp - now).max(1) as u64)
    }
}

/// base64url of `{"alg":"HS256","typ":"JWT"}`.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// An HS256 key, both ways.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    pub fn new(key: &Secret) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key.expose().as_bytes()),
            decoding: DecodingKey::from_secret(key.expose().as_bytes()),
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

/// What a mount's `SIMPLE_JWT` settings say, as the dialect file maps them.
/// `None` leaves the engine's `[jwt]` value in force.
#[derive(Debug, Clone, Default)]
pub struct JwtOptions {
    /// `SIGNING_KEY`.
    pub signing_key: Option<Secret>,
    /// `ACCESS_TOKEN_LIFETIME`, seconds.
    pub access_lifetime: Option<i64>,
    /// `REFRESH_TOKEN_LIFETIME`, seconds.
    pub refresh_lifetime: Option<i64>,
    /// `LEEWAY`, seconds.
    pub leeway: u64,
    /// `USER_ID_CLAIM`; default `user_id`.
    pub user_id_claim: Option<String>,
    /// `REVOKE_TOKEN_CLAIM` when `CHECK_REVOKE_TOKEN` is on.
    pub revoke_claim: Option<String>,
}

/// One mount's way with JWTs, compiled once when its dialect loads.
#[derive(Debug, Clone)]
pub struct JwtPolicy {
    keys: Option<Arc<Keys>>,
    access_lifetime: Option<i64>,
    refresh_lifetime: Option<i64>,
    validation: Validation,
    user_id_claim: String,
    revoke_claim: Option<String>,
    /// The claims carry SimpleJWT's default names (see `DefaultNames`).
    default_names: bool,
}

impl Default for JwtPolicy {
    /// The engine's key and lifetimes, SimpleJWT's defaults otherwise.
    fn default() -> Self {
        JwtPolicy::new(JwtOptions::default())
    }
}

impl JwtPolicy {
    pub fn new(o: JwtOptions) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = o.leeway;
        validation.set_required_spec_claims(&["exp"]);
        let user_id_claim = o.user_id_claim.unwrap_or_else(|| "user_id".to_owned());
        let default_names =
            user_id_claim == "user_id" && o.revoke_claim.as_deref().is_none_or(|n| n == "hash_password");
        Self {
            keys: o.signing_key.as_ref().map(|k| Arc::new(Keys::new(k))),
            access_lifetime: o.access_lifetime,
            refresh_lifetime: o.refresh_lifetime,
            validation,
            user_id_claim,
            revoke_claim: o.revoke_claim,
            default_names,
        }
    }

    /// Whether tokens carry (and authentication checks) the password-hash claim.
    pub fn checks_revocation(&self) -> bool {
        self.revoke_claim.is_some()
    }
}

/// A claim read as text: a string, or a number as written (older SimpleJWT versions).
fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The claims of a token whose signature and expiry hold.
fn verified<T: serde::de::DeserializeOwned>(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<T, TokenError> {
    jsonwebtoken::decode::<T>(token, key, validation).map(|d| d.claims).map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::MissingRequiredClaim(c) if c == "exp" => TokenError::NoExp,
        _ => TokenError::Invalid,
    })
}

/// The engine's `[jwt]` key and lifetimes.
pub struct JwtCodec {
    keys: Keys,
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
}

impl JwtCodec {
    pub fn new(key: &Secret, access_lifetime: i64, refresh_lifetime: i64) -> Self {
        Self { keys: Keys::new(key), access_lifetime, refresh_lifetime }
    }

    fn keys<'a>(&'a self, p: &'a JwtPolicy) -> &'a Keys {
        p.keys.as_deref().unwrap_or(&self.keys)
    }

    /// A token for a user; `revoke` is the password-hash claim (policies that check it).
    pub fn issue(
        &self,
        p: &JwtPolicy,
        user_id: u64,
        kind: TokenType,
        now: i64,
        revoke: Option<&str>,
    ) -> Result<String, TokenError> {
        let lifetime = match kind {
            TokenType::Access => p.access_lifetime.unwrap_or(self.access_lifetime),
            TokenType::Refresh => p.refresh_lifetime.unwrap_or(self.refresh_lifetime),
        };
        // SimpleJWT's claim order: the token's own claims, then the user's.
        let mut claims = Map::new();
        claims.insert("token_type".into(), kind.as_str().into());
        claims.insert("exp".into(), (now + lifetime).into());
        claims.insert("iat".into(), now.into());
        claims.insert("jti".into(), super::crypto::random_hex(16).into());
        claims.insert(p.user_id_claim.clone(), user_id.to_string().into());
        if let (Some(name), Some(value)) = (&p.revoke_claim, revoke) {
            claims.insert(name.clone(), value.into());
        }
        // Built by hand so the header is byte-for-byte PyJWT's (`alg` before `typ`).
        let payload = serde_json::to_vec(&claims).map_err(|_| TokenError::Invalid)?;
        let message = format!("{HEADER_B64}.{}", b64(&payload));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.keys(p).encoding, Algorithm::HS256)
            .map_err(|_| TokenError::Invalid)?;
        Ok(format!("{message}.{signature}"))
    }

    /// Verifies signature and expiry (with the policy's leeway), then the claims
    /// SimpleJWT checks, in its order. `expected: None` is SimpleJWT's `UntypedToken` (any type).
    pub fn decode(&self, p: &JwtPolicy, token: &str, expected: Option<TokenType>) -> Result<Claims, TokenError> {
        let claims = if p.default_names {
            let c = verified::<DefaultNames>(token, &self.keys(p).decoding, &p.validation)?;
            Claims {
                token_type: c.token_type,
                exp: c.exp.unwrap_or_default(),
                iat: c.iat.unwrap_or_default(),
                jti: c.jti,
                user_id: c.user_id,
                revoke: p.revoke_claim.as_ref().and(c.hash_password),
            }
        } else {
            let c = verified::<Map<String, Value>>(token, &self.keys(p).decoding, &p.validation)?;
            Claims {
                token_type: c.get("token_type").and_then(Value::as_str).map(TypeClaim::of),
                exp: c.get("exp").and_then(Value::as_i64).unwrap_or_default(),
                iat: c.get("iat").and_then(Value::as_i64).unwrap_or_default(),
                jti: c.get("jti").and_then(Value::as_str).map(str::to_owned),
                user_id: text(c.get(&p.user_id_claim)).and_then(|t| claims::user_id(&t)),
                revoke: p.revoke_claim.as_ref().and_then(|n| text(c.get(n))),
            }
        };
        if let Some(expected) = expected {
            match claims.token_type {
                None => return Err(TokenError::NoType),
                Some(t) if t != TypeClaim::Is(expected) => return Err(TokenError::WrongType),
                _ => {}
            }
        }
        if claims.jti.is_none() {
            return Err(TokenError::NoId);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests;
