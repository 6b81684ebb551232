//! Abuse-protection helpers: every dialect mounted at once, the six
//! password-login routes, and the checks of a 429 in each dialect's format.

use serde_json::{json, Value};

use super::{basic, gateway, Gw, GwBuilder, Res, StoreKind};

/// Every dialect, each on its own listener at `/`, with `[login_throttle]` as given.
pub fn all_dialects(kind: StoreKind, login_throttle: &str) -> GwBuilder {
    let mut b = gateway(kind);
    for d in ["simplejwt", "djoser", "monta", "jwt-email", "food2gether"] {
        b = b.mount(d, "/");
    }
    b.extra(&format!("[login_throttle]\n{login_throttle}"))
}

/// The six password-login routes of the five dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRoute {
    SimpleJwt,
    DjoserToken,
    DjoserJwt,
    Monta,
    JwtEmail,
    Food2gether,
}

pub const EVERY_LOGIN: [LoginRoute; 6] = [
    LoginRoute::SimpleJwt,
    LoginRoute::DjoserToken,
    LoginRoute::DjoserJwt,
    LoginRoute::Monta,
    LoginRoute::JwtEmail,
    LoginRoute::Food2gether,
];

impl LoginRoute {
    pub fn dialect(self) -> &'static str {
        match self {
            LoginRoute::SimpleJwt => "simplejwt",
            LoginRoute::DjoserToken | LoginRoute::DjoserJwt => "djoser",
            LoginRoute::Monta => "monta",
            LoginRoute::JwtEmail => "jwt-email",
            LoginRoute::Food2gether => "food2gether",
        }
    }

    /// Logs in; the email dialects take `email`, the others `username`.
    pub async fn login(self, g: &Gw, username: &str, email: &str, password: &str) -> Res {
        self.login_with(g, username, email, password, &[]).await
    }

    /// Logs in with extra request headers (e.g. `X-Forwarded-For`).
    pub async fn login_with(
        self,
        g: &Gw,
        username: &str,
        email: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> Res {
        let json = |v: Value| serde_json::to_vec(&v).unwrap();
        let by_name = json(json!({"username": username, "password": password}));
        let (path, body, auth) = match self {
            LoginRoute::SimpleJwt => ("/auth/token", Some(by_name), None),
            LoginRoute::DjoserToken => ("/auth/token/login/", Some(by_name), None),
            LoginRoute::DjoserJwt => ("/auth/jwt/create/", Some(by_name), None),
            LoginRoute::Monta => ("/api/auth/token/", Some(by_name), None),
            LoginRoute::JwtEmail => ("/auth/token/", Some(json(json!({"email": email, "password": password}))), None),
            LoginRoute::Food2gether => ("/api/v1/authentication/", None, Some(basic(email, password))),
        };
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        if body.is_some() {
            h.push(("Content-Type", "application/json"));
        }
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        g.send(self.dialect(), "POST", path, &h, body.as_deref()).await
    }

    /// The answer to a good login.
    pub fn succeeded(self, r: &Res) -> bool {
        r.status == 200
    }

    /// The answer to a wrong password (401, or DRF authtoken's 400).
    pub fn refused_credentials(self, r: &Res) -> bool {
        match self {
            LoginRoute::DjoserToken | LoginRoute::Monta => r.status == 400,
            _ => r.status == 401,
        }
    }
}

/// A 429 in the route's dialect format with a `Retry-After` of at most
/// `max_secs`; returns the wait.
#[track_caller]
pub fn assert_locked(route: LoginRoute, r: &Res, max_secs: u64) -> u64 {
    assert_eq!(r.status, 429, "{route:?}: {}", r.text);
    let wait: u64 = r.header("retry-after").unwrap_or_else(|| panic!("{route:?}: no Retry-After")).parse().unwrap();
    assert!((1..=max_secs).contains(&wait), "{route:?}: Retry-After {wait}");
    let expected = match route {
        LoginRoute::Food2gether => {
            json!({"success": false, "error": {"code": 429, "message_key": "authentication.locked"}})
        }
        _ => json!({"detail": drf_throttled(wait)}),
    };
    assert_eq!(r.json(), expected, "{route:?}");
    wait
}

/// DRF's Throttled detail, with its singular.
pub fn drf_throttled(wait: u64) -> String {
    let unit = if wait == 1 { "second" } else { "seconds" };
    format!("Request was throttled. Expected available in {wait} {unit}.")
}
