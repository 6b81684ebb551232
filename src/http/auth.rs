//! Finding the caller, DRF's way: authenticators run in order; one whose
//! keyword does not match passes, one that matches but fails refuses at once.

use std::borrow::Cow;

use base64::Engine as _;
use hyper::header::{HeaderMap, AUTHORIZATION};

use super::body::{FieldValue, Fields};
use crate::actions::{engine_failure, token_key, Principal};
use crate::audit::Origin;
use crate::dialect::{AuthenticatorSpec, Credential, Dialect};
use crate::engine::{crypto, Engine, EngineError, IdentifyBy, TokenError};
use crate::failure::{ErrorKey, Failure};
use crate::secret::Secret;
use crate::store::TokenKind;
use crate::template::vars;

/// Runs a route's authenticators (`Route::auth_slots`). `Ok(None)`: nobody claimed the request.
pub async fn authenticate(
    engine: &Engine,
    dialect: &Dialect,
    slots: &[usize],
    headers: &HeaderMap,
    body: Option<&Fields<'_>>,
    // Where the request came from: a Basic password counts toward its lockout.
    origin: &Origin,
) -> Result<Option<Principal>, Failure> {
    // A credential is read where it lies (a JWT is checked without a copy).
    let header = headers.get(AUTHORIZATION).map(|raw| header_text(raw.as_bytes()));
    for &slot in slots {
        let Some((_, spec)) = dialect.authenticators.get_index(slot) else {
            continue;
        };
        let credential = match (&spec.scheme, &spec.body_field) {
            (Some(schemes), _) => {
                let Some(text) = header.as_deref() else {
                    continue;
                };
                match header_credential(spec, schemes, text)? {
                    Some(c) => c,
                    None => continue,
                }
            }
            (None, Some(field)) => match body.and_then(|b| b.get(field)) {
                Some(FieldValue::Text(t)) if !t.is_empty() => Cow::Borrowed(t.as_str()),
                _ => continue,
            },
            (None, None) => continue,
        };
        return resolve(engine, dialect, spec, &credential, origin).await.map(Some);
    }
    Ok(None)
}

/// The `Authorization` value as text: DRF splits the raw bytes on whitespace,
/// so bytes that are not UTF-8 become replacement characters (never a credential).
fn header_text(raw: &[u8]) -> Cow<'_, str> {
    // The usual (ASCII) value passes the fast check; only another is decoded lossily.
    match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

/// The credential in an `Authorization` value, when its keyword is one of `schemes`.
fn header_credential<'t>(
    spec: &AuthenticatorSpec,
    schemes: &[String],
    text: &'t str,
) -> Result<Option<Cow<'t, str>>, Failure> {
    // The usual (ASCII) value is split on the ASCII whitespace that
    // `split_whitespace` knows, without decoding it character by character.
    if text.is_ascii() {
        from_parts(spec, schemes, ascii_words(text))
    } else {
        from_parts(spec, schemes, text.split_whitespace())
    }
}

/// What `str.split()` counts as whitespace among ASCII bytes: space, \t, \n, \x0b, \x0c, \r.
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// An ASCII value's words, split on `is_space` byte by byte, without decoding
/// characters: a JWT is a few hundred bytes.
fn ascii_words(s: &str) -> impl Iterator<Item = &str> {
    let bytes = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return None;
        }
        let start = i;
        i = next_space(bytes, i);
        // Split at ASCII bytes only: always on a character boundary.
        s.get(start..i)
    })
}

/// Where the next `is_space` byte of an ASCII value is, at or after `from`
/// (the length if none). Eight bytes are tested at once for one below `!`,
/// where every space is; only a word holding one is looked at byte by byte.
fn next_space(bytes: &[u8], from: usize) -> usize {
    const BANG: u64 = u64::from_le_bytes([b'!'; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        // Non-zero when some byte is below `!` (exact for ASCII bytes, all below 0x80).
        if w.wrapping_sub(BANG) & !w & HIGH != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| is_space(b)).map_or(bytes.len(), |p| i + p)
}

/// DRF's `authenticate`, on the header's whitespace-separated parts.
fn from_parts<'a>(
    spec: &AuthenticatorSpec,
    schemes: &[String],
    mut parts: impl Iterator<Item = &'a str>,
) -> Result<Option<Cow<'a, str>>, Failure> {
    let Some(keyword) = parts.next() else {
        return Ok(None);
    };
    let same = schemes.iter().any(|scheme| {
        if spec.case_insensitive {
            keyword.eq_ignore_ascii_case(scheme)
        } else {
            keyword == scheme
        }
    });
    if !same {
        return Ok(None);
    }
    let malformed =
        |key: Option<ErrorKey>| Failure::new(key.or(spec.malformed_error).unwrap_or(ErrorKey::AuthHeaderMalformed));
    match (parts.next(), parts.next()) {
        (None, _) => Err(malformed(spec.malformed_error)),
        (Some(credential), None) => {
            // Counted by bytes (a `.` is ASCII), not with a char searcher: every opaque check runs this.
            if spec.skip_jwt_like && credential.bytes().filter(|&b| b == b'.').count() == 2 {
                return Ok(None);
            }
            Ok(Some(Cow::Borrowed(credential)))
        }
        (Some(first), Some(next)) if spec.credential == Credential::Basic => {
            let rest: Vec<&str> = [first, next].into_iter().chain(parts).collect();
            Ok(Some(Cow::Owned(rest.join(" "))))
        }
        _ => Err(malformed(spec.spaces_error)),
    }
}

async fn resolve(
    engine: &Engine,
    dialect: &Dialect,
    spec: &AuthenticatorSpec,
    // A secret: never logged, kept only as a `Secret`.
    credential: &str,
    origin: &Origin,
) -> Result<Principal, Failure> {
    let invalid = |default: ErrorKey| Failure::new(spec.invalid_error.unwrap_or(default));
    match spec.credential {
        Credential::Jwt => match engine.user_for_access_token_with(credential, &dialect.jwt).await {
            Ok(user) => Ok(Principal { user, opaque_key: None }),
            // SimpleJWT's get_user raises this one bare, outside "not valid for any token type".
            Err(EngineError::Token(TokenError::NoUser)) => Err(Failure::new(ErrorKey::TokenNoUser)),
            Err(EngineError::Token(t)) => {
                Err(invalid(ErrorKey::JwtAuthInvalid).with(vars::TOKEN_REASON, token_key(t).as_str()))
            }
            Err(e) => Err(engine_failure(e)),
        },
        Credential::AuthToken | Credential::Session => {
            let kind = if spec.credential == Credential::AuthToken { TokenKind::AuthToken } else { TokenKind::Session };
            let key = crypto::digest(credential);
            match engine.user_for_token_key(&key, Some(kind)).await {
                Ok(user) => Ok(Principal { user, opaque_key: Some(key) }),
                Err(EngineError::OpaqueTokenInvalid) => Err(invalid(ErrorKey::OpaqueTokenInvalid)),
                Err(EngineError::UserInactive) => Err(Failure::new(ErrorKey::TokenUserInactive)),
                Err(e) => Err(engine_failure(e)),
            }
        }
        Credential::Basic => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credential.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid(ErrorKey::BasicInvalid))?;
            let (login, password) = decoded.split_once(':').ok_or_else(|| invalid(ErrorKey::BasicInvalid))?;
            let by = spec.identify_by.unwrap_or(IdentifyBy::Email);
            // Boxed: the password check's future is the largest of the three, and
            // inline it would grow every request's future (moved whole into its box).
            match Box::pin(engine.authenticate(by, login, &Secret::new(password), origin)).await {
                Ok(user) => Ok(Principal { user, opaque_key: None }),
                Err(EngineError::InvalidCredentials) => Err(invalid(ErrorKey::BasicInvalid)),
                Err(e) => Err(engine_failure(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_words;

    #[test]
    fn ascii_words_split_as_python_does() {
        let words: Vec<&str> = ascii_words(" \tBearer \x0b\x0c abc.def\r\n x ").collect();
        assert_eq!(words, ["Bearer", "abc.def", "x"]);
        // Long words, a space at every offset of an 8-byte word, control bytes that are not spaces.
        for cut in 0..24 {
            for space in [" ", "\t", "\n", "\x0b", "\x0c", "\r"] {
                let (a, b) = ("a\x01b".repeat(9), "c".repeat(cut));
                let text = format!("{a}{b}{space}{b}{a}");
                let words: Vec<&str> = ascii_words(&text).collect();
                // Python's `str.split()` on ASCII text.
                let python: Vec<&str> =
                    text.split(|c: char| c.is_ascii_whitespace() || c == '\x0b').filter(|w| !w.is_empty()).collect();
                assert_eq!(words, python, "{text:?}");
            }
        }
        assert_eq!(ascii_words("").count(), 0);
        assert_eq!(ascii_words(" \t ").count(), 0);
        assert_eq!(ascii_words("Token").collect::<Vec<_>>(), ["Token"]);
    }
}
