//! Route matching as data: a path pattern is literal segments and `<param>`
//! segments. Among the patterns that match, more literal segments win (exact
//! beats template); the method is chosen last, so a known path with a wrong
//! method is a 405, not a 404.

use smallvec::SmallVec;

use super::spec::{SlashMatch, TrailingSlash};
use super::{Dialect, Route};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Param(String),
}

/// A request path split into segments, once per request (on the stack up to
/// eight segments: every documented path is shorter).
pub struct Split<'p> {
    parts: SmallVec<[&'p str; 8]>,
    trailing: bool,
}

impl<'p> Split<'p> {
    pub fn new(path: &'p str) -> Self {
        let (parts, trailing) = split(path);
        Self { parts, trailing }
    }
}

#[derive(Debug, Clone)]
pub struct Pattern {
    segs: Vec<Seg>,
    trailing: bool,
    mode: SlashMatch,
}

/// Splits `/a/b/` into (["a","b"]). The root `/` is ([], false).
fn split(path: &str) -> (SmallVec<[&str; 8]>, bool) {
    let body = path.strip_prefix('/').unwrap_or(path);
    if body.is_empty() {
        return (SmallVec::new(), false);
    }
    let trailing = body.ends_with('/');
    let body = body.strip_suffix('/').unwrap_or(body);
    (body.split('/').collect(), trailing)
}

impl Pattern {
    pub fn parse(path: &str, mode: SlashMatch) -> Result<Self, String> {
        if !path.starts_with('/') {
            return Err(format!("path {path:?} must start with '/'"));
        }
        let (parts, trailing) = split(path);
        let mut segs = Vec::new();
        for p in parts {
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
        Ok(Self { segs, trailing, mode })
    }

    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segs.iter().filter_map(|s| match s {
            Seg::Param(p) => Some(p.as_str()),
            Seg::Lit(_) => None,
        })
    }

    /// Literal segments count: the higher, the more specific.
    pub fn specificity(&self) -> usize {
        self.segs.iter().filter(|s| matches!(s, Seg::Lit(_))).count()
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
        let (parts, trailing) = (&path.parts, path.trailing);
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
        let slash_ok = match self.mode {
            SlashMatch::Optional => true,
            SlashMatch::AnySuffix => true,
            SlashMatch::Default => trailing == self.trailing,
        };
        slash_ok.then_some(params)
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
        for r in &self.routes {
            if let Some(params) = r.pattern.matches_split(&split) {
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
}
