//! Django's four default password validators, in Django's order. The engine
//! reports which rules failed; the dialect file holds the message texts.
//! The common-password list is the 2,000 most common entries of the list
//! Django ships (BSD licence), not all 20,000: a documented difference.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

pub const MIN_LENGTH: usize = 8;
const MAX_SIMILARITY: f64 = 0.7;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Too similar to a user attribute: `username` or `email address` (Django's verbose names).
    TooSimilar(&'static str),
    TooShort,
    TooCommon,
    EntirelyNumeric,
}

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| include_str!("data/common-passwords.txt").lines().collect())
}

/// difflib's `SequenceMatcher.quick_ratio`: shared characters (as multisets)
/// over total length. Django 4.2+ compares with exactly this.
fn quick_ratio(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut avail: HashMap<char, i64> = HashMap::new();
    for c in b {
        *avail.entry(*c).or_default() += 1;
    }
    let mut matches = 0;
    for c in a {
        let n = avail.entry(*c).or_default();
        if *n > 0 {
            matches += 1;
        }
        *n -= 1;
    }
    2.0 * matches as f64 / (a.len() + b.len()) as f64
}

fn too_similar(password: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let pw: Vec<char> = password.to_lowercase().chars().collect();
    let value = value.to_lowercase();
    let mut parts: Vec<String> = value.split(|c: char| !(c.is_alphanumeric() || c == '_')).map(String::from).collect();
    parts.push(value.clone());
    parts.into_iter().any(|part| {
        let part: Vec<char> = part.chars().collect();
        // Django skips values far shorter than the password (exceeds_maximum_length_ratio).
        let bound = MAX_SIMILARITY / 2.0 * pw.len() as f64;
        if pw.len() >= 10 * part.len() && (part.len() as f64) < bound {
            return false;
        }
        quick_ratio(&pw, &part) >= MAX_SIMILARITY
    })
}

/// Every rule the password breaks, in Django's order.
pub fn check(password: &str, username: &str, email: &str) -> Vec<PasswordProblem> {
    let mut out = Vec::new();
    if let Some(attr) = [("username", username), ("email address", email)]
        .into_iter()
        .find(|(_, v)| too_similar(password, v))
        .map(|(a, _)| a)
    {
        out.push(PasswordProblem::TooSimilar(attr));
    }
    if password.chars().count() < MIN_LENGTH {
        out.push(PasswordProblem::TooShort);
    }
    if common().contains(password.trim().to_lowercase().as_str()) {
        out.push(PasswordProblem::TooCommon);
    }
    if !password.is_empty() && password.chars().all(|c| c.is_numeric()) {
        out.push(PasswordProblem::EntirelyNumeric);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordProblem::*;

    #[test]
    fn django_rules() {
        assert_eq!(check("123", "bob", ""), vec![TooShort, TooCommon, EntirelyNumeric]);
        assert_eq!(check("password", "bob", ""), vec![TooCommon]);
        assert_eq!(check("alice-in-chains", "alicechains", ""), vec![TooSimilar("username")]);
        assert_eq!(check("Tr0ub4dor&3-long", "bob", "bob@example.com"), vec![]);
        assert_eq!(check("examplecom1", "zed", "u@example.com"), vec![TooSimilar("email address")]);
    }
}
