//! JWTs as SimpleJWT makes them: HS256 (pinned: a token claiming any other
//! algorithm is invalid), claims `token_type, exp, iat, jti, user_id` with
//! `user_id` a string, access and refresh lifetimes from config.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

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
    /// No `user_id` claim.
    NoUser,
    /// No `exp` claim.
    NoExp,
}

/// Claims in SimpleJWT's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Defaulted only so a token without it reaches the required-claim check
    /// ("Token has no 'exp' claim") instead of failing as malformed.
    #[serde(default)]
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "string_or_number")]
    pub user_id: Option<String>,
}

/// Older SimpleJWT versions wrote `user_id` as a number; accept both.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

impl Claims {
    pub fn user_id(&self) -> Result<u64, TokenError> {
        self.user_id.as_deref().and_then(|s| s.parse().ok()).ok_or(TokenError::NoUser)
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

pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
}

impl JwtCodec {
    pub fn new(key: &Secret, access_lifetime: i64, refresh_lifetime: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(key.expose().as_bytes()),
            decoding: DecodingKey::from_secret(key.expose().as_bytes()),
            validation,
            access_lifetime,
            refresh_lifetime,
        }
    }

    pub fn issue(&self, user_id: u64, kind: TokenType, now: i64) -> Result<String, TokenError> {
        let lifetime = match kind {
            TokenType::Access => self.access_lifetime,
            TokenType::Refresh => self.refresh_lifetime,
        };
        let claims = Claims {
            token_type: Some(kind.as_str().to_owned()),
            exp: now + lifetime,
            iat: now,
            jti: Some(super::crypto::random_hex(16)),
            user_id: Some(user_id.to_string()),
        };
        // Built by hand so the header is byte-for-byte PyJWT's (`alg` before `typ`).
        let payload = serde_json::to_vec(&claims).map_err(|_| TokenError::Invalid)?;
        let message = format!("{HEADER_B64}.{}", b64(&payload));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, Algorithm::HS256)
            .map_err(|_| TokenError::Invalid)?;
        Ok(format!("{message}.{signature}"))
    }

    /// Verifies signature and expiry, then the claims SimpleJWT checks, in its order.
    /// `expected: None` is SimpleJWT's `UntypedToken` (any type).
    pub fn decode(&self, token: &str, expected: Option<TokenType>) -> Result<Claims, TokenError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::MissingRequiredClaim(c) if c == "exp" => TokenError::NoExp,
                _ => TokenError::Invalid,
            })?;
        let claims = data.claims;
        if let Some(expected) = expected {
            match claims.token_type.as_deref() {
                None => return Err(TokenError::NoType),
                Some(t) if t != expected.as_str() => return Err(TokenError::WrongType),
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
mod tests {
    use super::*;

    fn codec() -> JwtCodec {
        JwtCodec::new(&Secret::new("k".repeat(40)), 300, 86_400)
    }

    #[test]
    fn header_is_pyjwt_s() {
        assert_eq!(b64(br#"{"alg":"HS256","typ":"JWT"}"#), HEADER_B64);
    }

    #[test]
    fn round_trip_and_type_checks() {
        let c = codec();
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let t = c.issue(7, TokenType::Refresh, now).unwrap();
        let claims = c.decode(&t, Some(TokenType::Refresh)).unwrap();
        assert_eq!(claims.user_id.as_deref(), Some("7"));
        assert_eq!(claims.exp - claims.iat, 86_400);
        assert_eq!(c.decode(&t, Some(TokenType::Access)).unwrap_err(), TokenError::WrongType);
        assert!(c.decode(&t, None).is_ok());
    }

    #[test]
    fn a_token_without_exp_says_so() {
        let c = codec();
        let key = jsonwebtoken::EncodingKey::from_secret("k".repeat(40).as_bytes());
        let claims = serde_json::json!({"token_type": "access", "jti": "x", "user_id": "1"});
        let t = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
        assert_eq!(c.decode(&t, None).unwrap_err(), TokenError::NoExp);
    }

    #[test]
    fn expired_forged_and_other_algorithms_are_refused() {
        let c = codec();
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let old = c.issue(1, TokenType::Access, now - 1000).unwrap();
        assert_eq!(c.decode(&old, None).unwrap_err(), TokenError::Expired);
        let other = JwtCodec::new(&Secret::new("z".repeat(40)), 300, 300);
        let forged = other.issue(1, TokenType::Access, now).unwrap();
        assert_eq!(c.decode(&forged, None).unwrap_err(), TokenError::Invalid);
        // alg=none with the same claims must not pass.
        let parts: Vec<&str> = forged.split('.').collect();
        let none_header =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(c.decode(&unsigned, None).unwrap_err(), TokenError::Invalid);
        assert_eq!(c.decode("garbage", None).unwrap_err(), TokenError::Invalid);
    }
}
