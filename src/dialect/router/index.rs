//! Which routes a request path can match, resolved at load so a request
//! compares few patterns: a route of literal segments only (most of them) is
//! found by its path in a hash map; the others (with parameters, or matched as
//! a prefix) by the number of segments they can match.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use smallvec::SmallVec;

use super::{Route, Split};

/// A route's place in its dialect's table, and whether it was found by its
/// literal path (its segments then need no comparing).
pub type Candidate = (usize, bool);

#[derive(Debug, Clone, Default)]
pub struct RouteIndex {
    /// Literal routes by their segments joined (`api/auth/token/verify`), with
    /// their segment count (`/` and `//` both join to the empty text).
    literal: HashMap<Box<str>, (usize, Vec<usize>), BuildHasherDefault<Fnv>>,
    /// Index n: the other routes a path of n segments can match.
    by_len: Vec<Vec<usize>>,
    /// Paths longer than every pattern: only prefix (`AnySuffix`) routes.
    longer: Vec<usize>,
}

impl RouteIndex {
    pub fn new(routes: &[Route]) -> Self {
        let mut literal: HashMap<Box<str>, (usize, Vec<usize>), _> = HashMap::default();
        let mut others = Vec::new();
        for (i, r) in routes.iter().enumerate() {
            match r.pattern.literal_key() {
                Some(key) => literal.entry(key.into()).or_insert_with(|| (r.pattern.segs.len(), Vec::new())).1.push(i),
                None => others.push(i),
            }
        }
        let max = routes.iter().map(|r| r.pattern.segs.len()).max().unwrap_or(0);
        let fitting = |n: usize| others.iter().copied().filter(|&i| routes[i].pattern.fits(n)).collect();
        Self { literal, by_len: (0..=max).map(fitting).collect(), longer: fitting(usize::MAX) }
    }

    /// The routes `path` may match, in table order (so ties resolve as a scan
    /// of the whole table would).
    pub fn candidates(&self, path: &Split<'_>) -> SmallVec<[Candidate; 8]> {
        let literal = match self.literal.get(path.joined) {
            Some((segments, routes)) if *segments == path.segments => routes.as_slice(),
            _ => &[],
        };
        let others = self.by_len.get(path.segments).unwrap_or(&self.longer);
        let mut out: SmallVec<[Candidate; 8]> = literal.iter().map(|&i| (i, true)).collect();
        out.extend(others.iter().map(|&i| (i, false)));
        if !literal.is_empty() && !others.is_empty() {
            out.sort_unstable_by_key(|&(i, _)| i);
        }
        out
    }
}

/// FNV-1a: the keys are the dialect's own paths, fixed at load, so a request
/// cannot grow a bucket; a few dozen bytes hash in a fraction of SipHash's time.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
