//! DRF throttling as the legacy project configured it: `REST_FRAMEWORK`'s
//! `DEFAULT_THROTTLE_CLASSES` and `DEFAULT_THROTTLE_RATES` (declared in
//! `_drf.toml` with DRF's defaults: no classes, no rates), and a route's
//! `throttle_scope` (a DRF view's `throttle_scope`, for `ScopedRateThrottle`).
//! Compiled at load; what DRF would only find at request time (an unknown
//! class, a class whose scope has no rate, a malformed rate) stops the gateway
//! here instead (exit 64, naming the setting). `http::throttle` applies them.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Settings;

pub const CLASSES: &str = "REST_FRAMEWORK.DEFAULT_THROTTLE_CLASSES";
pub const RATES: &str = "REST_FRAMEWORK.DEFAULT_THROTTLE_RATES";

/// DRF's throttle classes (`rest_framework.throttling.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleClass {
    /// `AnonRateThrottle`: anonymous requests, by client address; scope `anon`.
    Anon,
    /// `UserRateThrottle`: by user id, or client address when anonymous; scope `user`.
    User,
    /// `ScopedRateThrottle`: routes with a `throttle_scope`, by user id or client address.
    Scoped,
}

impl ThrottleClass {
    fn parse(path: &str) -> Option<Self> {
        match path {
            "rest_framework.throttling.AnonRateThrottle" => Some(ThrottleClass::Anon),
            "rest_framework.throttling.UserRateThrottle" => Some(ThrottleClass::User),
            "rest_framework.throttling.ScopedRateThrottle" => Some(ThrottleClass::Scoped),
            _ => None,
        }
    }

    /// The scope whose rate a fixed-scope class uses.
    pub fn scope(self) -> Option<&'static str> {
        match self {
            ThrottleClass::Anon => Some("anon"),
            ThrottleClass::User => Some("user"),
            ThrottleClass::Scoped => None,
        }
    }
}

/// `num_requests` per `duration`, as DRF's `parse_rate` reads `"20/min"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub num_requests: u32,
    pub duration: Duration,
}

impl Rate {
    /// DRF: `num, period = rate.split('/')`; the period's first letter is
    /// s, m, h or d (so `min`, `minute`, `hour`, `day` all work).
    pub fn parse(rate: &str) -> Option<Rate> {
        let (num, period) = rate.split_once('/')?;
        if period.contains('/') {
            return None;
        }
        let num_requests = num.trim().parse().ok()?;
        let secs = match period.chars().next()? {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            _ => return None,
        };
        Some(Rate { num_requests, duration: Duration::from_secs(secs) })
    }
}

/// A mount's throttles: classes in their configured order, and rates by scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Throttles {
    pub classes: Vec<ThrottleClass>,
    pub rates: BTreeMap<String, Rate>,
}

impl Throttles {
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// The rate of a scope; every scope in use was checked at load.
    pub fn rate(&self, scope: &str) -> Option<Rate> {
        self.rates.get(scope).copied()
    }
}

/// Reads the settings; `scopes` are the `throttle_scope`s the routes name.
/// Errors are (setting, message).
pub fn compile<'a>(settings: &Settings, scopes: impl Iterator<Item = &'a str>) -> Result<Throttles, (String, String)> {
    let err = |key: &str, message: String| (key.to_owned(), message);
    let mut rates = BTreeMap::new();
    if let Some(table) = settings.get(RATES).and_then(toml::Value::as_table) {
        for (scope, v) in table {
            let text = v.as_str().ok_or_else(|| err(RATES, format!("{scope}: a rate is a string like \"20/min\"")))?;
            let rate = Rate::parse(text).ok_or_else(|| {
                err(RATES, format!("{scope}: {text:?} is not a rate (number/period, period s, m, h or d: \"20/min\")"))
            })?;
            rates.insert(scope.clone(), rate);
        }
    }
    let mut classes = Vec::new();
    for path in settings.strings(CLASSES).unwrap_or_default() {
        let class = ThrottleClass::parse(&path).ok_or_else(|| {
            err(
                CLASSES,
                format!(
                    "unknown throttle class {path:?} (known: rest_framework.throttling.AnonRateThrottle, \
                     UserRateThrottle, ScopedRateThrottle)"
                ),
            )
        })?;
        if let Some(scope) = class.scope().filter(|s| !rates.contains_key(*s)) {
            return Err(err(RATES, format!("{path} needs a rate for scope {scope:?} (DRF: ImproperlyConfigured)")));
        }
        classes.push(class);
    }
    if classes.contains(&ThrottleClass::Scoped) {
        for scope in scopes {
            if !rates.contains_key(scope) {
                return Err(err(
                    RATES,
                    format!(
                        "a route has throttle_scope {scope:?} but no rate is set for it (DRF: ImproperlyConfigured)"
                    ),
                ));
            }
        }
    }
    Ok(Throttles { classes, rates })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_as_drf_parses_them() {
        let r = |s| Rate::parse(s).map(|r| (r.num_requests, r.duration.as_secs()));
        assert_eq!(r("20/min"), Some((20, 60)));
        assert_eq!(r("5/m"), Some((5, 60)));
        assert_eq!(r("100/day"), Some((100, 86_400)));
        assert_eq!(r("1/second"), Some((1, 1)));
        assert_eq!(r("3/hour"), Some((3, 3_600)));
        for bad in ["20", "x/min", "20/", "20/week", "1/m/s", "-1/m"] {
            assert_eq!(Rate::parse(bad), None, "{bad}");
        }
    }
}
