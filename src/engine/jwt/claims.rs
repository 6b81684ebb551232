//! SimpleJWT's claims read straight from the token's JSON, each the way the
//! engine uses it: `token_type` as what it names and `user_id` as a number
//! (compared and parsed where the parser holds them, no copy), `exp`/`iat`
//! as integers, `jti` and the revocation claim as text. A claim of another
//! JSON type reads as absent, never as an error, as a `serde_json::Value`
//! looked at with `as_str`/`as_i64` did before.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::TokenType;

/// A `token_type` claim: a type SimpleJWT issues, or another string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClaim {
    Is(TokenType),
    Other,
}

impl TypeClaim {
    pub fn of(s: &str) -> Self {
        match s {
            "access" => TypeClaim::Is(TokenType::Access),
            "refresh" => TypeClaim::Is(TokenType::Refresh),
            _ => TypeClaim::Other,
        }
    }
}

/// A user id claim's text as an id (what SimpleJWT's `get_user` would look up).
pub fn user_id(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// The claims under SimpleJWT's default names (`USER_ID_CLAIM` `user_id`,
/// `REVOKE_TOKEN_CLAIM` `hash_password`): read into fields, the others
/// skipped, instead of a map of every claim (the per-request path). A key
/// twice is refused, where a map keeps the last: only a token signed with
/// our key gets here, and none is signed so.
#[derive(Deserialize)]
pub(super) struct DefaultNames {
    #[serde(default, deserialize_with = "type_claim")]
    pub token_type: Option<TypeClaim>,
    #[serde(default, deserialize_with = "int_claim")]
    pub exp: Option<i64>,
    #[serde(default, deserialize_with = "int_claim")]
    pub iat: Option<i64>,
    #[serde(default, deserialize_with = "string_claim")]
    pub jti: Option<String>,
    #[serde(default, deserialize_with = "user_id_claim")]
    pub user_id: Option<u64>,
    #[serde(default, deserialize_with = "text_claim")]
    pub hash_password: Option<String>,
}

/// A claim's JSON value as the parser hands it over.
enum Seen<'s> {
    Str(&'s str),
    U64(u64),
    I64(i64),
    F64(f64),
    /// null, a boolean, an array or an object.
    Other,
}

/// Reads one claim through `read`.
struct Scalar<T>(fn(Seen<'_>) -> Option<T>);

impl<'de, T> Visitor<'de> for Scalar<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a claim")
    }

    fn visit_str<E>(self, s: &str) -> Result<Option<T>, E> {
        Ok((self.0)(Seen::Str(s)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Option<T>, E> {
        Ok((self.0)(Seen::U64(n)))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Option<T>, E> {
        Ok((self.0)(Seen::I64(n)))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Option<T>, E> {
        Ok((self.0)(Seen::F64(n)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Option<T>, E> {
        Ok((self.0)(Seen::Other))
    }

    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok((self.0)(Seen::Other))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((self.0)(Seen::Other))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok((self.0)(Seen::Other))
    }
}

fn type_claim<'de, D: Deserializer<'de>>(d: D) -> Result<Option<TypeClaim>, D::Error> {
    d.deserialize_any(Scalar(|v| match v {
        Seen::Str(s) => Some(TypeClaim::of(s)),
        _ => None,
    }))
}

/// `Value::as_i64`: an integer that fits.
fn int_claim<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(Scalar(|v| match v {
        Seen::I64(n) => Some(n),
        Seen::U64(n) => i64::try_from(n).ok(),
        _ => None,
    }))
}

/// A string claim (`jti`).
fn string_claim<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Scalar(|v| match v {
        Seen::Str(s) => Some(s.to_owned()),
        _ => None,
    }))
}

/// The user id: a string of digits, or a number (older SimpleJWT versions);
/// a number is read as it is written, so `7.0` is no id, as its text is not.
fn user_id_claim<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_any(Scalar(|v| match v {
        Seen::Str(s) => user_id(s),
        Seen::U64(n) => Some(n),
        Seen::I64(_) | Seen::F64(_) | Seen::Other => None,
    }))
}

/// A claim as text: a string, or a number as written.
fn text_claim<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(Scalar(|v| match v {
        Seen::Str(s) => Some(s.to_owned()),
        Seen::U64(n) => Some(n.to_string()),
        Seen::I64(n) => Some(n.to_string()),
        Seen::F64(n) => serde_json::Number::from_f64(n).map(|n| n.to_string()),
        Seen::Other => None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> DefaultNames {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn claims_read_as_a_value_tree_did() {
        let c = read(
            r#"{"token_type":"access","exp":1700000000,"iat":-5,"jti":"ab","user_id":"7",
                "hash_password":12,"extra":{"x":[1,2]}}"#,
        );
        assert_eq!(c.token_type, Some(TypeClaim::Is(TokenType::Access)));
        assert_eq!((c.exp, c.iat), (Some(1_700_000_000), Some(-5)));
        assert_eq!(c.jti.as_deref(), Some("ab"));
        assert_eq!(c.user_id, Some(7));
        assert_eq!(c.hash_password.as_deref(), Some("12"));
        // Another type reads as absent, not as a refusal.
        let c = read(r#"{"token_type":5,"exp":1.5,"jti":7,"user_id":"x7","hash_password":null}"#);
        assert_eq!((c.token_type, c.exp, c.jti, c.user_id, c.hash_password), (None, None, None, None, None));
        assert_eq!(read(r#"{"token_type":"sliding"}"#).token_type, Some(TypeClaim::Other));
        // Older SimpleJWT: a numeric id; one written as a float is not an id.
        assert_eq!(read(r#"{"user_id":9}"#).user_id, Some(9));
        assert_eq!(read(r#"{"user_id":9.0}"#).user_id, None);
        assert_eq!(read(r#"{"user_id":-9}"#).user_id, None);
        assert_eq!(read(r#"{"user_id":"caf\u00e9"}"#).user_id, None);
        assert_eq!(read(r#"{"hash_password":1.5}"#).hash_password.as_deref(), Some("1.5"));
        assert_eq!(read("{}").exp, None);
        // A key twice is refused.
        assert!(serde_json::from_str::<DefaultNames>(r#"{"jti":"a","jti":"b"}"#).is_err());
    }
}
