//! Django's stored password formats, every hasher Django has shipped, so a
//! user table imported from Django logs in unchanged. Each format is parsed
//! strictly; anything that does not parse is "not a Django hash" (`None`),
//! never a panic. Work parameters are capped: a stored string is data, and
//! one with a billion iterations must not pin a hashing slot for minutes.
//!
//! Formats, as Django's `hashers.py` writes them:
//! - `pbkdf2_sha256$<iterations>$<salt>$<b64 hash>`, `pbkdf2_sha1$…` alike
//! - `argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<b64 salt>$<b64 hash>`,
//!   and the older `argon2$argon2i$…`, also without `v=` (then version 0x10)
//! - `bcrypt$<bcrypt hash>` and `bcrypt_sha256$<bcrypt hash>` (in `passwords.rs`)
//! - `scrypt$<N>$<salt>$<r>$<p>$<b64 hash>` (N before the salt)
//! - `md5$<salt>$<hex>`, `sha1$<salt>$<hex>` (digest of salt + password)
//! - unsalted: 32 hex digits or `md5$$<hex>`, and `sha1$$<hex>`

use base64::engine::general_purpose::GeneralPurposeConfig;
use base64::engine::{DecodePaddingMode, GeneralPurpose};
use base64::Engine as _;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Django writes padded base64 (PBKDF2, scrypt), argon2 unpadded: accept both.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Above these a stored hash is treated as garbage. Django's own defaults
/// (PBKDF2 1,000,000; argon2 m=102400 t=2 p=8; scrypt N=2^14 r=8 p=5) are far below.
const MAX_PBKDF2_ITERATIONS: u32 = 20_000_000;
const MAX_ARGON2_KIB: u32 = 1 << 20;
const MAX_ARGON2_PASSES: u32 = 64;
const MAX_ARGON2_LANES: u32 = 64;
const MAX_SCRYPT_BYTES: u64 = 1 << 30;
const MAX_SCRYPT_P: u32 = 64;

/// The Django algorithm name of a stored hash in one of the formats this
/// module verifies (not the bcrypt family: see `passwords::algorithm`).
pub(super) fn algorithm(stored: &str) -> Option<&'static str> {
    if is_unsalted_md5(stored) {
        return Some("unsalted_md5");
    }
    if stored.len() == 46 && stored.starts_with("sha1$$") {
        return Some("unsalted_sha1");
    }
    match stored.split_once('$')?.0 {
        "pbkdf2_sha256" => Some("pbkdf2_sha256"),
        "pbkdf2_sha1" => Some("pbkdf2_sha1"),
        "argon2" => Some("argon2"),
        "scrypt" => Some("scrypt"),
        "md5" => Some("md5"),
        "sha1" => Some("sha1"),
        _ => None,
    }
}

fn is_unsalted_md5(stored: &str) -> bool {
    (stored.len() == 32 && !stored.contains('$')) || (stored.len() == 37 && stored.starts_with("md5$$"))
}

/// Whether `password` matches; `None` when `stored` is not a well-formed hash
/// in one of these formats (the caller then spends dummy work).
pub(super) fn verify(password: &str, stored: &str) -> Option<bool> {
    let pw = password.as_bytes();
    match algorithm(stored)? {
        "unsalted_md5" => hex_eq(&Md5::digest(pw), stored.trim_start_matches("md5$$")),
        "unsalted_sha1" => hex_eq(&Sha1::digest(pw), &stored["sha1$$".len()..]),
        "md5" | "sha1" => {
            let [alg, salt, hex] = fields::<3>(stored)?;
            let mut material = salt.as_bytes().to_vec();
            material.extend_from_slice(pw);
            if alg == "md5" {
                hex_eq(&Md5::digest(&material), hex)
            } else {
                hex_eq(&Sha1::digest(&material), hex)
            }
        }
        "pbkdf2_sha256" | "pbkdf2_sha1" => {
            let [alg, iterations, salt, hash] = fields::<4>(stored)?;
            let iterations = number(iterations).filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))?;
            let expected = B64.decode(hash).ok()?;
            let mut out = vec![0u8; expected.len()];
            if alg == "pbkdf2_sha256" {
                (expected.len() == 32).then_some(())?;
                pbkdf2::pbkdf2_hmac::<Sha256>(pw, salt.as_bytes(), iterations, &mut out);
            } else {
                (expected.len() == 20).then_some(())?;
                pbkdf2::pbkdf2_hmac::<Sha1>(pw, salt.as_bytes(), iterations, &mut out);
            }
            Some(out.ct_eq(&expected).into())
        }
        "argon2" => verify_argon2(pw, stored),
        "scrypt" => {
            let [_, n, salt, r, p, hash] = fields::<6>(stored)?;
            let (n, r, p) = (number(n)?, number(r)?, number(p)?);
            let fits = n > 1 && n.is_power_of_two() && r > 0 && (1..=MAX_SCRYPT_P).contains(&p);
            (fits && 128 * u64::from(n) * u64::from(r) <= MAX_SCRYPT_BYTES).then_some(())?;
            let expected = B64.decode(hash).ok().filter(|h| (10..=128).contains(&h.len()))?;
            let params = scrypt::Params::new(n.trailing_zeros() as u8, r, p, expected.len()).ok()?;
            let mut out = vec![0u8; expected.len()];
            scrypt::scrypt(pw, salt.as_bytes(), &params, &mut out).ok()?;
            Some(out.ct_eq(&expected).into())
        }
        _ => None,
    }
}

/// `argon2$<variant>[$v=<n>]$m=…,t=…,p=…$<salt>$<hash>`.
fn verify_argon2(pw: &[u8], stored: &str) -> Option<bool> {
    let parts: Vec<&str> = stored.split('$').collect();
    let (variant, version, params, salt, hash) = match parts[..] {
        ["argon2", variant, version, params, salt, hash] => (variant, Some(version), params, salt, hash),
        // The oldest form (argon2-cffi before 16.0) names no version: 0x10.
        ["argon2", variant, params, salt, hash] => (variant, None, params, salt, hash),
        _ => return None,
    };
    let algorithm = match variant {
        "argon2id" => argon2::Algorithm::Argon2id,
        "argon2i" => argon2::Algorithm::Argon2i,
        "argon2d" => argon2::Algorithm::Argon2d,
        _ => return None,
    };
    let version = match version {
        None | Some("v=16") => argon2::Version::V0x10,
        Some("v=19") => argon2::Version::V0x13,
        Some(_) => return None,
    };
    let mut kv = params.split(',').map(|f| f.split_once('='));
    let (m, t, p) = match (kv.next()?, kv.next()?, kv.next()?, kv.next()) {
        (Some(("m", m)), Some(("t", t)), Some(("p", p)), None) => (number(m)?, number(t)?, number(p)?),
        _ => return None,
    };
    (m <= MAX_ARGON2_KIB && t <= MAX_ARGON2_PASSES && p <= MAX_ARGON2_LANES).then_some(())?;
    let salt = B64.decode(salt).ok()?;
    let expected = B64.decode(hash).ok().filter(|h| h.len() <= 128)?;
    let params = argon2::Params::new(m, t, p, Some(expected.len())).ok()?;
    let mut out = vec![0u8; expected.len()];
    argon2::Argon2::new(algorithm, version, params).hash_password_into(pw, &salt, &mut out).ok()?;
    Some(out.ct_eq(&expected).into())
}

/// Exactly `N` `$`-separated fields.
fn fields<const N: usize>(stored: &str) -> Option<[&str; N]> {
    let parts: Vec<&str> = stored.split('$').collect();
    parts.try_into().ok()
}

/// Digits only (no sign, no spaces), as Django's `int()` of its own output.
fn number(s: &str) -> Option<u32> {
    s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse().ok()).flatten()
}

/// Django compares lower-case hex digests as strings; this compares bytes.
fn hex_eq(digest: &[u8], stored_hex: &str) -> Option<bool> {
    let stored = hex::decode(stored_hex).ok().filter(|s| s.len() == digest.len())?;
    Some(digest.ct_eq(&stored).into())
}
