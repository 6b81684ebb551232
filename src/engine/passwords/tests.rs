use super::*;

/// Hashes written by the real Django (5.2, and 4.2 for the hashers 5.x
/// removed): see `django_vectors.json`'s `django` field.
const VECTORS: &str = include_str!("django_vectors.json");

#[derive(serde::Deserialize)]
struct Vector {
    note: String,
    password: String,
    encoded: String,
}

fn all_vectors() -> Vec<Vector> {
    serde_json::from_str(VECTORS).unwrap()
}

/// Every vector but the one at a realistic work factor (PBKDF2 260,000:
/// ~1 s a verification in a debug build), checked once on its own below.
fn vectors() -> Vec<Vector> {
    all_vectors().into_iter().filter(|v| !v.note.contains("260000")).collect()
}

#[test]
fn realistic_pbkdf2_verifies() {
    let dummy = dummy();
    let slow: Vec<Vector> = all_vectors().into_iter().filter(|v| v.note.contains("260000")).collect();
    assert_eq!(slow.len(), 1);
    assert!(verify_now(&slow[0].password, &slow[0].encoded, &dummy));
    assert!(!verify_now("Correct horse battery staple", &slow[0].encoded, &dummy));
}

fn dummy() -> String {
    hash_now("polyauth-dummy-password-for-timing", 4).unwrap()
}

#[test]
fn every_django_hasher_verifies() {
    let dummy = dummy();
    let all = vectors();
    assert!(all.len() >= 26);
    let mut seen = std::collections::BTreeSet::new();
    for v in &all {
        assert!(verify_now(&v.password, &v.encoded, &dummy), "{}: right password refused", v.note);
        assert!(!verify_now(&format!("{}x", v.password), &v.encoded, &dummy), "{}: wrong password accepted", v.note);
        assert!(!verify_now("", &v.encoded, &dummy), "{}: empty password accepted", v.note);
        seen.insert(algorithm(&v.encoded).unwrap_or_else(|| panic!("{}: no algorithm", v.note)));
        assert!(!is_current(&v.encoded, 5), "{}: below the configured cost, or not bcrypt", v.note);
    }
    let expected = [
        "argon2",
        "bcrypt",
        "bcrypt_sha256",
        "md5",
        "pbkdf2_sha1",
        "pbkdf2_sha256",
        "scrypt",
        "sha1",
        "unsalted_md5",
        "unsalted_sha1",
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
}

#[test]
fn tampered_hashes_do_not_verify() {
    let dummy = dummy();
    for v in vectors() {
        // Flip one character of the digest (the last one that is alphanumeric).
        let mut bytes = v.encoded.clone().into_bytes();
        let i = bytes.iter().rposition(|b| b.is_ascii_alphanumeric() && *b != b'0' && *b != b'A').unwrap();
        bytes[i] = if bytes[i].is_ascii_digit() { b'0' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(!verify_now(&v.password, &tampered, &dummy), "{}: tampered {tampered}", v.note);
    }
}

#[test]
fn garbage_and_unusable_never_verify_and_cost_one_bcrypt() {
    let dummy = dummy();
    let unusable = format!("!{}", "a".repeat(40));
    let cases = [
        "",
        "!",
        unusable.as_str(),
        "!5f4dcc3b5aa765d61d8327deb882cf99",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$abc$salt$aGFzaA==",
        "pbkdf2_sha256$-1$salt$aGFzaA==",
        "pbkdf2_sha256$4000000000$salt$aGFzaA==",
        "pbkdf2_sha256$1000$salt$not base64!",
        "argon2$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "argon2$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "argon2$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "argon2$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "scrypt$1000$salt$8$1$aGFzaGhhc2hoYXNo",
        "scrypt$1073741824$salt$8$1$aGFzaGhhc2hoYXNo",
        "md5$salt$zz",
        "sha1$$nothex",
        "bcrypt$$2b$04$short",
        "$2b$04$short",
        "bcrypt_sha256$garbage",
        "crypt$$abcdef",
        "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    ];
    for stored in cases {
        for pw in ["password", "", &"p".repeat(100)] {
            let runs = std::cell::Cell::new(0);
            let ok = verify_with(pw, stored, &dummy, |a, b| {
                runs.set(runs.get() + 1);
                bcrypt::verify(a, b).unwrap_or(false)
            });
            assert!(!ok, "{stored:?} verified");
            assert_eq!(runs.get(), 1, "{stored:?}: one dummy bcrypt");
        }
    }
    assert!(!is_usable(&unusable));
    assert_eq!(algorithm(&unusable), None);
    assert_eq!(from_django(&unusable).as_deref(), Some(unusable.as_str()));
    assert_eq!(from_django("crypt$$abcdef"), None);
}

/// The fast legacy digests are padded with one bcrypt; slow hashers cost their own.
#[test]
fn fast_legacy_digests_are_padded() {
    let dummy = dummy();
    for v in vectors() {
        let runs = std::cell::Cell::new(0);
        let ok = verify_with(&v.password, &v.encoded, &dummy, |a, b| {
            runs.set(runs.get() + 1);
            bcrypt::verify(a, b).unwrap_or(false)
        });
        assert!(ok, "{}", v.note);
        let slow = matches!(algorithm(&v.encoded), Some("pbkdf2_sha256" | "pbkdf2_sha1" | "argon2" | "scrypt"));
        assert_eq!(runs.get(), usize::from(!slow), "{}", v.note);
    }
}

#[test]
fn export_and_import_round_trip() {
    let plain = hash_now("correct horse", 4).unwrap();
    let exported = to_django(&plain);
    assert_eq!(exported, format!("bcrypt${plain}"));
    assert_eq!(from_django(&exported).as_deref(), Some(plain.as_str()));
    for v in vectors() {
        let stored = from_django(&v.encoded).unwrap();
        assert!(verify_now(&v.password, &stored, &dummy()), "{}: imported form verifies", v.note);
        assert_eq!(algorithm(&stored), algorithm(&v.encoded), "{}", v.note);
        let back = to_django(&stored);
        assert_eq!(back, v.encoded, "{}: export gives Django's string back", v.note);
    }
    let long = hash_now(&"y".repeat(100), 4).unwrap();
    assert_eq!(to_django(&long), long, "bcrypt_sha256 is Django's own string");
}

#[test]
fn current_means_polyauth_bcrypt_at_the_configured_cost() {
    let at4 = hash_now("pw", 4).unwrap();
    let long = hash_now(&"y".repeat(100), 5).unwrap();
    assert!(is_current(&at4, 4));
    assert!(!is_current(&at4, 5), "below the configured cost");
    assert!(is_current(&at4, 3), "a higher cost is never lowered");
    assert!(is_current(&long, 5));
    assert!(!is_current(&format!("bcrypt${at4}"), 4), "Django's bcrypt$ is normalised");
    assert!(!is_current("!unusable", 4));
}

#[test]
fn long_passwords_are_not_truncated() {
    let base = "x".repeat(72);
    let h = hash_now(&format!("{base}A"), 4).unwrap();
    let dummy = dummy();
    assert!(h.starts_with(PREHASHED));
    assert!(verify_now(&format!("{base}A"), &h, &dummy));
    assert!(!verify_now(&format!("{base}B"), &h, &dummy), "a different 73rd byte must not verify");
    assert!(!verify_now(&base, &h, &dummy));
    // Django's bcrypt$ is plain bcrypt: a >72-byte password is refused, not truncated.
    let plain = format!("bcrypt${}", hash_now(&base, 4).unwrap());
    assert!(verify_now(&base, &plain, &dummy));
    assert!(!verify_now(&format!("{base}A"), &plain, &dummy));
}

#[test]
fn short_passwords_are_plain_bcrypt() {
    let h = hash_now("correct horse", 4).unwrap();
    let dummy = dummy();
    assert!(h.starts_with("$2"));
    assert!(verify_now("correct horse", &h, &dummy));
    assert!(!verify_now("correct horsE", &h, &dummy));
}

/// One bcrypt run per verification on every bcrypt path: short or long
/// password, plain or pre-hashed stored hash, known user or the dummy.
#[test]
fn every_verification_costs_one_bcrypt() {
    let plain = hash_now("short", 4).unwrap();
    let pre = hash_now(&"y".repeat(100), 4).unwrap();
    let dummy = dummy();
    for stored in [&plain, &pre, &dummy] {
        for pw in ["short".to_string(), "z".repeat(73), "y".repeat(100)] {
            let runs = std::cell::Cell::new(0);
            verify_with(&pw, stored, &dummy, |a, b| {
                runs.set(runs.get() + 1);
                bcrypt::verify(a, b).unwrap_or(false)
            });
            assert_eq!(runs.get(), 1, "{} bytes against {}", pw.len(), &stored[..4]);
        }
    }
    assert!(!verify_now(&"z".repeat(73), &plain, &dummy));
}

/// A hashing thread enters the idle scheduling class (policy 5 in field 41 of
/// its `/proc` stat line), and only that thread: the caller's stays as it was.
#[cfg(target_os = "linux")]
#[test]
fn hashing_threads_run_in_the_idle_class() {
    fn policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(41 - 3).unwrap().parse().unwrap()
    }
    let before = policy();
    let hashed = std::thread::spawn(|| {
        super::lower_priority();
        policy()
    });
    assert_eq!(hashed.join().unwrap(), 5, "SCHED_IDLE");
    assert_eq!(policy(), before);
}
