//! Which routes a request path can match, resolved at load so a request
//! compares few patterns: a route of literal segments only (most of them) is
//! found by its path in a hash map; the others (with parameters, or matched as
//! a prefix) by the number of segments they can match.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Route, Split};

/// A route's place in its dialect's table, and whether it was found by its
/// literal path (its segments then need no comparing).
pub type Candidate = (usize, bool);

#[derive(Debug, Clone, Default)]
pub struct RouteIndex {
    /// Literal routes by their segments joined (`api/auth/token/verify`), with
    /// their segment count (`/` and `//` both join to the empty text) and every
    /// candidate for such a path: these and the others of that count, merged.
    literal: HashMap<Box<str>, (usize, Vec<Candidate>), BuildHasherDefault<WordHasher>>,
    /// Index n: the other routes a path of n segments can match.
    by_len: Vec<Vec<Candidate>>,
    /// Paths longer than every pattern: only prefix (`AnySuffix`) routes.
    longer: Vec<Candidate>,
}

impl RouteIndex {
    pub fn new(routes: &[Route]) -> Self {
        let mut literal: HashMap<Box<str>, (usize, Vec<Candidate>), _> = HashMap::default();
        let mut others = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            match r.pattern.literal_key() {
                Some(key) => {
                    literal.entry(key.into()).or_insert_with(|| (r.pattern.segs.len(), Vec::new())).1.push((i, true))
                }
                None => others.push(i),
            }
        }
        let max = routes.iter().map(|r| r.pattern.segs.len()).max().unwrap_or(0);
        let fitting = |n: usize| -> Vec<Candidate> {
            others.iter().filter(|&&i| routes[i].pattern.fits(n)).map(|&i| (i, false)).collect()
        };
        let by_len: Vec<Vec<Candidate>> = (0..=max).map(fitting).collect();
        for (segments, candidates) in literal.values_mut() {
            candidates.extend_from_slice(&by_len[*segments]);
            candidates.sort_unstable_by_key(|&(i, _)| i);
        }
        Self { literal, by_len, longer: fitting(usize::MAX) }
    }

    /// The routes `path` may match, in table order (so ties resolve as a scan
    /// of the whole table would).
    pub fn candidates(&self, path: &Split<'_>) -> &[Candidate] {
        match self.literal.get(path.joined) {
            Some((segments, all)) if *segments == path.segments => all,
            _ => self.by_len.get(path.segments).unwrap_or(&self.longer),
        }
    }
}

/// A hash of eight bytes a step (the multiply-rotate of rustc's own FxHash):
/// the keys are the dialect's own paths, fixed at load, so a request cannot
/// grow a bucket, and a path hashes in a few steps instead of SipHash's rounds.
#[derive(Default)]
pub struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(word) ^ (rest.len() as u64) << 56);
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
