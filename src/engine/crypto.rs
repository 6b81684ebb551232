//! Token material and comparisons: random values from the OS-seeded CSPRNG,
//! SHA-256 digests (the only form the store ever sees), the keyed derivation
//! that lets a DRF-style auth token be handed out again without storing it, and constant-time equality.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// `n` random bytes as hex (2n characters).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Sixteen random bytes as 32 hex digits, from the thread's generator (ChaCha,
/// seeded from the OS): for identifiers that must not repeat but guard nothing
/// (request ids), where a system call per request would be the dearest thing in it.
pub fn random_hex_fast() -> [u8; 32] {
    let mut buf = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut buf);
    let mut out = [0u8; 32];
    hex_into(buf, &mut out);
    out
}

/// 32 random bytes, URL-safe base64 without padding (like Python's `secrets.token_urlsafe(32)`).
pub fn random_urlsafe() -> String {
    let mut buf = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, buf)
}

/// The store key of a token: its SHA-256 in lowercase hex.
pub fn digest(token: &str) -> TokenDigest {
    let mut hex = [0u8; 64];
    hex_into(Sha256::digest(token.as_bytes()), &mut hex);
    TokenDigest(hex)
}

/// `bytes` in lowercase hex into `out` (two digits a byte), a byte's two digits
/// at once by table, not `hex::encode`'s per-character iterator: request ids
/// and opaque-token checks run this on every request.
fn hex_into(bytes: impl IntoIterator<Item = u8>, out: &mut [u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
    }
}

/// Each byte's two lowercase hex digits.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 0xf]];
        i += 1;
    }
    table
};

/// A token's digest, kept on the stack (a token check makes one per request).
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 64]);

impl std::ops::Deref for TokenDigest {
    type Target = str;

    fn deref(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// DRF's auth token is 40 hex characters (160 bits). Ours is
/// HMAC-SHA256(server key, user id, seed), truncated to that shape: the store
/// keeps only the random seed and the token's digest, so a copy of the store
/// alone does not yield a usable token, yet a second login can return the same one.
pub fn derive_auth_token(key: &[u8], user_id: u64, seed: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("authtoken:{user_id}:{seed}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..20])
}

/// ChaCha20-Poly1305 under `key`, bound to `aad`: a random nonce, then the
/// ciphertext, base64. For secrets the server must give back later (an
/// imported auth token) that a copy of the store must not yield.
pub fn seal(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> String {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key));
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    // Encryption with a 12-byte nonce and a valid key cannot fail.
    let sealed =
        cipher.encrypt(chacha20poly1305::Nonce::from_slice(&nonce), Payload { msg: plain, aad }).unwrap_or_default();
    let mut out = nonce.to_vec();
    out.extend(sealed);
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, out)
}

/// Opens what `seal` wrote under the same key and `aad`; None otherwise.
pub fn unseal(key: &[u8; 32], aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD_NO_PAD, sealed).ok()?;
    if raw.len() < 12 {
        return None;
    }
    let cipher = chacha20poly1305::ChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(key));
    cipher.decrypt(chacha20poly1305::Nonce::from_slice(&raw[..12]), Payload { msg: &raw[12..], aad }).ok()
}

/// SimpleJWT's `get_md5_hash_password`: upper-case hex MD5 of the stored
/// password hash (the `CHECK_REVOKE_TOKEN` claim; not a password digest, only a
/// change detector, and the same string Django computes from the same hash).
pub fn md5_upper_hex(s: &str) -> String {
    use md5::Digest as _;
    hex::encode_upper(md5::Md5::digest(s.as_bytes()))
}

/// Constant-time equality for secrets compared outside the store.
pub fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(random_hex(20).len(), 40);
        assert_ne!(random_hex(20), random_hex(20));
        let fast = random_hex_fast();
        assert!(fast.iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(fast, random_hex_fast());
        assert_eq!(random_urlsafe().len(), 43);
        // The store keys of tokens made before this digest was kept on the stack.
        assert_eq!(&*digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let t = derive_auth_token(b"key", 1, "seed");
        assert_eq!(t.len(), 40);
        assert_eq!(t, derive_auth_token(b"key", 1, "seed"));
        assert_ne!(t, derive_auth_token(b"key", 2, "seed"));
        let sealed = seal(&[7; 32], b"1", b"key");
        assert_eq!(unseal(&[7; 32], b"1", &sealed).as_deref(), Some(&b"key"[..]));
        assert_eq!(unseal(&[7; 32], b"2", &sealed), None);
        assert_eq!(unseal(&[8; 32], b"1", &sealed), None);
        assert!(ct_eq("abc", "abc") && !ct_eq("abc", "abd") && !ct_eq("abc", "ab"));
        // hashlib.md5(b"md5$salt$hash").hexdigest().upper()
        assert_eq!(md5_upper_hex("md5$salt$hash"), "6CB8FEA8712AC65D22EC1C68BAA248BF");
    }
}
