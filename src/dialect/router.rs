//! Route matching as data: a path pattern is literal segments and `<param>`
//! segments. Among the patterns that match, more literal segments win (exact
//! beats template); the method is chosen last, so a known path with a wrong
//! method is a 405, not a 404.

use std::cell::OnceCell;

use smallvec::SmallVec;

use super::spec::{SlashMatch, TrailingSlash};
use super::{Dialect, Route};

mod index;
pub use index::RouteIndex;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Param(String),
}

/// A request path split into segments, once per request (on the stack up to
/// eight segments: every documented path is shorter).
pub struct Split<'p> {
    /// Cut on first use: a path found among the literal routes needs no cutting.
    parts: OnceCell<SmallVec<[&'p str; 8]>>,
    segments: usize,
    trailing: bool,
    /// The segments as one text (`a/b` for `/a/b/`): a literal route's key.
    joined: &'p str,
}

impl<'p> Split<'p> {
    pub fn new(path: &'p str) -> Self {
        let body = path.strip_prefix('/').unwrap_or(path);
        let trailing = body.ends_with('/');
        let joined = if trailing { &body[..body.len() - 1] } else { body };
        // As `split` counts them: the root has none, any other path one more than its inner slashes.
        let segments = if body.is_empty() { 0 } else { 1 + joined.bytes().filter(|&b| b == b'/').count() };
        Self { parts: OnceCell::new(), segments, trailing, joined }
    }

    /// The segments (`["a", "b"]` for `/a/b/`; none for the root `/`).
    fn parts(&self) -> &[&'p str] {
        self.parts.get_or_init(|| {
            let mut parts = SmallVec::new();
            if self.segments == 0 {
                return parts;
            }
            // By bytes: `/` is ASCII, so every cut falls on a character boundary; a
            // path is a few dozen bytes, too short for `str::split`'s searcher to pay.
            let (text, mut from) = (self.joined, 0);
            for (i, b) in text.bytes().enumerate() {
                if b == b'/' {
                    parts.push(&text[from..i]);
                    from = i + 1;
                }
            }
            parts.push(&text[from..]);
            parts
        })
    }
}

#[derive(Debug, Clone)]
pub struct Pattern {
    segs: Vec<Seg>,
    trailing: bool,
    mode: SlashMatch,
    /// Literal segments count: the higher, the more specific.
    specificity: usize,
}

impl Pattern {
    pub fn parse(path: &str, mode: SlashMatch) -> Result<Self, String> {
        if !path.starts_with('/') {
            return Err(format!("path {path:?} must start with '/'"));
        }
        let split = Split::new(path);
        let (parts, trailing) = (split.parts(), split.trailing);
        let mut segs = Vec::new();
        for &p in parts {
            if p.is_empty() {
                return Err(format!("path {path:?} has an empty segment"));
            }
            if let Some(name) = p.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!("path {path:?}: bad parameter name {name:?}"));
                }
                segs.push(Seg::Param(name.to_owned()));
            } else if p.contains(['<', '>', '?', '#']) {
                return Err(format!("path {path:?}: bad segment {p:?}"));
            } else {
                segs.push(Seg::Lit(p.to_owned()));
            }
        }
        let specificity = segs.iter().filter(|s| matches!(s, Seg::Lit(_))).count();
        Ok(Self { segs, trailing, mode, specificity })
    }

    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segs.iter().filter_map(|s| match s {
            Seg::Param(p) => Some(p.as_str()),
            Seg::Lit(_) => None,
        })
    }

    /// Literal segments count: the higher, the more specific.
    pub fn specificity(&self) -> usize {
        self.specificity
    }

    /// Whether a path of `n` segments can match (before its segments are compared).
    fn fits(&self, n: usize) -> bool {
        match self.mode {
            SlashMatch::AnySuffix => self.segs.len() <= n,
            _ => self.segs.len() == n,
        }
    }

    /// A key equal for patterns that match the same paths (parameter names aside).
    pub fn shape(&self) -> String {
        let mut s: String = self
            .segs
            .iter()
            .map(|g| match g {
                Seg::Lit(l) => format!("/{l}"),
                Seg::Param(_) => "/<>".to_owned(),
            })
            .collect();
        if self.trailing {
            s.push('/');
        }
        s
    }

    /// Parameters (raw, still percent-encoded) when `path` matches.
    pub fn matches(&self, path: &str) -> Option<Params> {
        self.matches_split(&Split::new(path))
    }

    /// `matches` on a path split once for every pattern tried.
    pub fn matches_split(&self, path: &Split<'_>) -> Option<Params> {
        let (parts, trailing) = (path.parts(), path.trailing);
        let prefix_only = self.mode == SlashMatch::AnySuffix;
        if parts.len() < self.segs.len() || (!prefix_only && parts.len() != self.segs.len()) {
            return None;
        }
        // Last segment first: a dialect's paths share their first segments
        // (`api/auth/…`), so most patterns that do not match fail at once.
        let last = self.segs.len().saturating_sub(1);
        for (i, (seg, part)) in self.segs.iter().zip(parts).enumerate().rev() {
            let ok = match seg {
                Seg::Lit(l) => l == part || (prefix_only && i == last && part.starts_with(l.as_str())),
                Seg::Param(_) => !part.is_empty(),
            };
            if !ok {
                return None;
            }
        }
        // Django's `^jwt/create/?` (no `$`) also matches `jwt/createjunk` (the prefix case above).
        let params = self
            .segs
            .iter()
            .zip(parts)
            .filter_map(|(seg, part)| match seg {
                Seg::Param(name) => Some((name.clone(), (*part).to_owned())),
                Seg::Lit(_) => None,
            })
            .collect();
        self.slash_ok(trailing).then_some(params)
    }

    /// Whether a path that matches segment by segment also matches its trailing slash.
    fn slash_ok(&self, trailing: bool) -> bool {
        match self.mode {
            SlashMatch::Optional | SlashMatch::AnySuffix => true,
            SlashMatch::Default => trailing == self.trailing,
        }
    }

    /// For a pattern of literal segments only, matched whole (not as a prefix):
    /// the segments joined, which a matching path's `Split::joined` equals.
    fn literal_key(&self) -> Option<String> {
        let lits: Option<Vec<&str>> = self
            .segs
            .iter()
            .map(|s| match s {
                Seg::Lit(l) => Some(l.as_str()),
                Seg::Param(_) => None,
            })
            .collect();
        lits.filter(|_| self.mode != SlashMatch::AnySuffix).map(|l| l.join("/"))
    }
}

/// A matched path's parameters, by name, in pattern order.
pub type Params = Vec<(String, String)>;

/// Result of matching a request path within a dialect.
pub enum Match<'a> {
    Found(&'a Route, Params),
    /// The path exists, not with this method: the routes that share it.
    WrongMethod(Vec<&'a Route>),
    NotFound,
}

impl Dialect {
    pub fn find(&self, method: &hyper::Method, path: &str) -> Match<'_> {
        let mut best: Option<usize> = None;
        // The routes of the most specific matching pattern: one per method at most.
        let mut hits: SmallVec<[(&Route, Params); 4]> = SmallVec::new();
        let split = Split::new(path);
        for &(i, literal) in self.route_index.candidates(&split) {
            let r = &self.routes[i];
            // A literal candidate's segments are known equal: only its slash is left.
            let matched = if literal {
                r.pattern.slash_ok(split.trailing).then(Params::new)
            } else {
                r.pattern.matches_split(&split)
            };
            if let Some(params) = matched {
                let s = r.pattern.specificity();
                match best {
                    Some(b) if s < b => continue,
                    Some(b) if s > b => hits.clear(),
                    _ => {}
                }
                best = Some(s);
                hits.push((r, params));
            }
        }
        if hits.is_empty() {
            return Match::NotFound;
        }
        let want = if method == hyper::Method::HEAD { hyper::Method::GET } else { method.clone() };
        if let Some(i) = hits
            .iter()
            .position(|(r, _)| r.method == *method)
            .or_else(|| hits.iter().position(|(r, _)| r.method == want))
        {
            let (r, p) = hits.swap_remove(i);
            return Match::Found(r, p);
        }
        Match::WrongMethod(hits.into_iter().map(|(r, _)| r).collect())
    }

    /// Whether Django's APPEND_SLASH would redirect this path.
    pub fn slash_redirect(&self, path: &str) -> bool {
        self.trailing_slash == TrailingSlash::AppendSlash
            && !path.ends_with('/')
            && !matches!(self.find(&hyper::Method::GET, &format!("{path}/")), Match::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_params_and_slashes() {
        let p = Pattern::parse("/auth/reset-password/<token>/", SlashMatch::Default).unwrap();
        assert_eq!(p.matches("/auth/reset-password/abc/"), Some(vec![("token".into(), "abc".into())]));
        assert_eq!(p.matches("/auth/reset-password/abc"), None);
        assert_eq!(p.matches("/auth/reset-password//"), None);
        let strict = Pattern::parse("/auth/token", SlashMatch::Default).unwrap();
        assert!(strict.matches("/auth/token").is_some());
        assert!(strict.matches("/auth/token/").is_none());
        let opt = Pattern::parse("/auth/token/login/", SlashMatch::Optional).unwrap();
        assert!(opt.matches("/auth/token/login").is_some());
        let any = Pattern::parse("/auth/jwt/create/", SlashMatch::AnySuffix).unwrap();
        assert!(any.matches("/auth/jwt/create/junk").is_some());
        assert!(any.matches("/auth/jwt/create").is_some());
        assert!(any.matches("/auth/jwt/creat").is_none());
        assert!(any.matches("/auth/jwt/createjunk").is_some());
        assert!(any.matches("/auth/jwt/create/x/y").is_some());
        assert!(any.matches("/auth/jwtx/create").is_none());
        assert!(Pattern::parse("auth", SlashMatch::Default).is_err());
        assert!(Pattern::parse("/a//b", SlashMatch::Default).is_err());
        assert_eq!(p.shape(), "/auth/reset-password/<>/");
    }

    #[test]
    fn split_by_bytes_is_str_split() {
        for path in ["/", "//", "/a", "/a/", "/a//b", "/é/ü/", "/a/b/c/d/e/f/g/h/i/j/", "///x//"] {
            let body = path.strip_prefix('/').unwrap();
            let body = body.strip_suffix('/').unwrap_or(body);
            let want: Vec<&str> = if path == "/" { vec![] } else { body.split('/').collect() };
            assert_eq!(Split::new(path).parts().to_vec(), want, "{path}");
            assert_eq!(Split::new(path).segments, want.len(), "{path}");
        }
    }

    /// The index picks the same route a scan of the whole table would, for every
    /// shipped dialect and every path built from its own segments.
    #[test]
    fn indexed_find_is_a_full_scan() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialects");
        for name in ["djoser", "food2gether", "jwt-email", "monta", "simplejwt"] {
            let d = crate::dialect::load(&dir, name).unwrap();
            let words: Vec<String> = d
                .routes
                .iter()
                .flat_map(|r| r.spec.path.split('/').map(str::to_owned).collect::<Vec<_>>())
                .chain(["x".to_owned(), "createjunk".to_owned()])
                .collect();
            let mut paths: Vec<String> = vec!["/".into(), "//".into(), String::new()];
            for p in d.routes.iter().map(|r| &r.spec.path) {
                let bare = p.trim_end_matches('/');
                paths.extend([p.clone(), bare.to_owned(), format!("{bare}//"), p.replace('/', "//")]);
            }
            for (i, w) in words.iter().enumerate() {
                let prefix = d.routes[i % d.routes.len()].spec.path.trim_end_matches('/').to_owned();
                paths.extend([format!("{prefix}/{w}"), format!("{prefix}/{w}/"), format!("{prefix}/{w}/x/y/z/")]);
                paths.push(prefix.rsplit_once('/').map_or(String::new(), |(p, _)| p.to_owned()) + "/");
            }
            for path in &paths {
                for m in [hyper::Method::GET, hyper::Method::POST, hyper::Method::HEAD] {
                    assert_eq!(summary(&d.find(&m, path)), summary(&scan(&d, &m, path)), "{name} {m} {path}");
                }
            }
        }
    }

    fn summary(m: &Match<'_>) -> String {
        match m {
            Match::Found(r, p) => format!("found {} {p:?}", r.spec.name),
            Match::WrongMethod(rs) => format!("405 {:?}", rs.iter().map(|r| &r.spec.name).collect::<Vec<_>>()),
            Match::NotFound => "404".into(),
        }
    }

    /// `Dialect::find` as it was before the index: every route tried.
    fn scan<'a>(d: &'a Dialect, method: &hyper::Method, path: &str) -> Match<'a> {
        let split = Split::new(path);
        let hits: Vec<(&Route, Params)> =
            d.routes.iter().filter_map(|r| r.pattern.matches_split(&split).map(|p| (r, p))).collect();
        let Some(best) = hits.iter().map(|(r, _)| r.pattern.specificity()).max() else { return Match::NotFound };
        let mut hits: Vec<_> = hits.into_iter().filter(|(r, _)| r.pattern.specificity() == best).collect();
        let want = if method == hyper::Method::HEAD { hyper::Method::GET } else { method.clone() };
        match hits
            .iter()
            .position(|(r, _)| r.method == *method)
            .or_else(|| hits.iter().position(|(r, _)| r.method == want))
        {
            Some(i) => {
                let (r, p) = hits.swap_remove(i);
                Match::Found(r, p)
            }
            None => Match::WrongMethod(hits.into_iter().map(|(r, _)| r).collect()),
        }
    }
}
