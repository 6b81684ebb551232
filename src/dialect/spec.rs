//! The dialect file format, as serde reads it. Every table denies unknown
//! keys: a misspelt setting in a dialect file stops the gateway at start-up.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::engine::IdentifyBy;
use crate::failure::ErrorKey;
use crate::secret::Secret;
use crate::template::MailTemplate;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectFile {
    pub dialect: DialectSettings,
    /// Named ways to find the caller, tried in `default_authenticators` order (DRF's model).
    #[serde(default)]
    pub authenticators: IndexMap<String, AuthenticatorSpec>,
    /// Error key → how this dialect renders it.
    #[serde(default)]
    pub errors: BTreeMap<ErrorKey, ErrorSpec>,
    /// Texts used inside other templates (e.g. a token error's wording nested in an auth error).
    #[serde(default)]
    pub messages: BTreeMap<String, String>,
    /// Mail templates by purpose (`password_reset`, `email_verification`).
    #[serde(default)]
    pub mail: BTreeMap<String, MailTemplate>,
    /// DRF's SimpleMetadata (the `OPTIONS` answer): media types and serializer field descriptions.
    pub metadata: Option<MetadataSpec>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteSpec>,
}

/// What DRF's `OPTIONS` answer says besides the view's name: the renderers and
/// parsers, and each serializer's fields as `SimpleMetadata.get_field_info`
/// describes them (`type`, `required`, `read_only`, `label`, `max_length`, …,
/// in that order), named so views can list them under `actions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataSpec {
    #[serde(default)]
    pub renders: Option<Vec<String>>,
    #[serde(default)]
    pub parses: Option<Vec<String>>,
    /// Serializer name → field name → field description (a JSON object, kept in order).
    #[serde(default)]
    pub serializers: IndexMap<String, IndexMap<String, toml::Value>>,
}

/// A path's DRF view, as its `OPTIONS` answer describes it. Declared on one of
/// the routes that share the path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    /// DRF's `get_view_name()`.
    pub name: String,
    /// DRF's `get_view_description()` (the view's docstring, dedented).
    #[serde(default)]
    pub description: String,
    /// Who may ask `OPTIONS` (DRF checks the view's permissions first: Djoser's
    /// viewset wants a user even where its `POST` does not). Default: the
    /// declaring route's.
    pub permission: Option<Permission>,
    /// Method (`POST`, `PUT`) → serializer name in `[metadata.serializers]`.
    #[serde(default)]
    pub actions: IndexMap<String, String>,
    /// The path parameter naming the object a `PUT` changes: its action is
    /// listed only when the caller may change that object (itself, or staff),
    /// as DRF's `determine_actions` checks object permissions.
    pub object_param: Option<String>,
}

/// The SimpleJWT settings of a dialect (typically `${SIMPLE_JWT.…}` references);
/// what is left out keeps the gateway's `[jwt]` key and lifetimes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSpec {
    /// HS256 key; absent or empty: `[jwt] signing_key`.
    pub signing_key: Option<Secret>,
    /// Seconds.
    pub access_lifetime: Option<i64>,
    /// Seconds.
    pub refresh_lifetime: Option<i64>,
    /// Seconds of clock skew allowed on `exp`.
    pub leeway: Option<i64>,
    pub user_id_claim: Option<String>,
    /// Tokens carry a digest of the password hash; authentication refuses them after a password change.
    pub check_revoke: Option<bool>,
    pub revoke_claim: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialectSettings {
    pub name: String,
    pub description: Option<String>,
    /// A base file (`dialects/<extends>.toml`) whose errors, messages, headers and
    /// authenticators this dialect inherits and may override.
    pub extends: Option<String>,
    pub error_style: Option<ErrorStyle>,
    pub trailing_slash: Option<TrailingSlash>,
    /// Sent with every 401 (DRF takes it from the first authenticator).
    pub www_authenticate: Option<String>,
    /// Routes behave as DRF's APIViews: every response carries `Allow` (with HEAD
    /// for GET, and OPTIONS) and `Vary: Accept`; the `Accept` header is negotiated
    /// first (406); an anonymous wrong method on a route that needs a user is 401
    /// before 405 (DRF checks permissions before it looks for the handler).
    pub drf_views: Option<bool>,
    /// Headers on every response (Django's security middleware adds several).
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    #[serde(default)]
    pub default_authenticators: Option<Vec<String>>,
    /// SimpleJWT `ROTATE_REFRESH_TOKENS`.
    pub rotate_refresh: Option<bool>,
    /// SimpleJWT `BLACKLIST_AFTER_ROTATION` (with rotation: the used refresh token is blacklisted).
    pub blacklist_after_rotation: Option<bool>,
    /// How JWTs are signed, how long they live and which claims they carry.
    pub jwt: Option<JwtSpec>,
    /// Dialect headers left off APPEND_SLASH redirects and CORS preflights (Django's
    /// CommonMiddleware and django-cors-headers answer them before
    /// XFrameOptionsMiddleware runs).
    pub redirect_omits_headers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// `{"detail": …}`, `{"field": ["…"]}`, `{"non_field_errors": ["…"]}`, merged as DRF does.
    Drf,
    /// `{"success": false, "error": {"code": <status>, "message_key": "…"}}`; first error wins.
    Envelope,
    /// Status only.
    Empty,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TrailingSlash {
    /// The path must match exactly; anything else is 404.
    Strict,
    /// Django `APPEND_SLASH`: a path that matches only with a `/` added answers 301 there.
    AppendSlash,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SlashMatch {
    /// The dialect's rule.
    Default,
    /// With or without the trailing slash.
    Optional,
    /// Any continuation matches (a Django regex route without `$`).
    AnySuffix,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// An access JWT.
    Jwt,
    /// A DRF-style auth token.
    AuthToken,
    /// A session token.
    Session,
    /// `Basic base64(login:password)`.
    Basic,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticatorSpec {
    /// Authorization header keyword (`Bearer`, `Token`, `Basic`), or a list of
    /// them (SimpleJWT's `AUTH_HEADER_TYPES`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub scheme: Option<Vec<String>>,
    /// Read the credential from this body field instead of the header.
    pub body_field: Option<String>,
    pub credential: Credential,
    /// DRF's TokenAuthentication compares the keyword case-insensitively; SimpleJWT does not.
    #[serde(default)]
    pub case_insensitive: bool,
    /// Leave values that look like a JWT (two dots) to the next authenticator.
    #[serde(default)]
    pub skip_jwt_like: bool,
    /// For `basic`: what the login part names.
    pub identify_by: Option<IdentifyBy>,
    /// Error key for a malformed header (keyword with no value, or extra spaces).
    pub malformed_error: Option<ErrorKey>,
    /// Error key for a header with spaces in the value (DRF TokenAuthentication).
    pub spaces_error: Option<ErrorKey>,
    /// Error key for a credential that does not resolve.
    pub invalid_error: Option<ErrorKey>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    pub status: Option<u16>,
    /// drf: `{"detail": …}` (with `"code"` when set).
    pub detail: Option<String>,
    pub code: Option<String>,
    /// drf: a message under a field (`field`), or under `non_field_errors` when `field` is absent.
    pub message: Option<String>,
    pub field: Option<String>,
    /// envelope: the `message_key`.
    pub message_key: Option<String>,
    /// Any JSON body, as a template.
    pub body: Option<toml::Value>,
    /// A literal non-JSON body (e.g. Django's HTML 404 page).
    pub raw: Option<String>,
    /// Status and headers only, no body (DRF's `Response(status=400)`).
    #[serde(default)]
    pub empty: bool,
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Body,
    Path,
    Query,
    /// The value of `Authorization: Bearer <value>` (keyword case-insensitive,
    /// RFC 7235): for APIs that send a one-time token, not a session, that way.
    /// Absent when the header is missing or names another scheme.
    Bearer,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    #[default]
    String,
    Email,
    /// Django's `UnicodeUsernameValidator`: letters, digits and `@.+-_` only.
    Username,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// False leaves the input out (typically `when = "${LIB.SETTING}"`).
    #[serde(default = "yes")]
    pub when: bool,
    pub from: Source,
    /// Name on the wire; defaults to the input's key.
    pub field: Option<String>,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub allow_blank: bool,
    /// DRF CharField strips surrounding whitespace by default.
    #[serde(default = "yes")]
    pub trim: bool,
    #[serde(default)]
    pub kind: InputKind,
    pub max_length: Option<usize>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Anyone (but a bad credential that is sent is still refused, as DRF).
    Any,
    Authenticated,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    /// False leaves the route out (typically `when = "${LIB.SETTING}"`).
    #[serde(default = "yes")]
    pub when: bool,
    pub method: String,
    pub path: String,
    pub action: String,
    pub summary: Option<String>,
    #[serde(default = "default_slash")]
    pub slash: SlashMatch,
    /// Which authenticators run; absent: the dialect's default list; `[]`: none.
    pub authenticators: Option<Vec<String>>,
    #[serde(default = "default_permission")]
    pub permission: Permission,
    /// An unauthenticated request with a method this path lacks gets 401 before 405 (DRF viewsets).
    #[serde(default)]
    pub auth_before_method: bool,
    /// `WWW-Authenticate` on this route's 401s, instead of the dialect's (DRF takes it
    /// from the view: SimpleJWT's token views say `Bearer realm="api"` inside Djoser).
    pub www_authenticate: Option<String>,
    /// Body encodings accepted; others get 415.
    #[serde(default = "all_bodies")]
    pub body: Vec<BodyKind>,
    #[serde(default)]
    pub input: IndexMap<String, InputSpec>,
    /// Action settings (see the action's documentation), e.g. `identify_by`, `issue`.
    #[serde(default)]
    pub options: BTreeMap<String, toml::Value>,
    pub response: ResponseSpec,
    /// Per-route overrides of the dialect's error renderings.
    #[serde(default)]
    pub errors: BTreeMap<ErrorKey, ErrorSpec>,
    /// DRF's view `throttle_scope`: the route's scope for `ScopedRateThrottle`
    /// (its rate comes from the mount's `DEFAULT_THROTTLE_RATES`).
    pub throttle_scope: Option<String>,
    /// The DRF view behind the route's path, for `OPTIONS`.
    pub view: Option<ViewSpec>,
}

fn default_slash() -> SlashMatch {
    SlashMatch::Default
}

fn default_permission() -> Permission {
    Permission::Any
}

fn all_bodies() -> Vec<BodyKind> {
    vec![BodyKind::Json, BodyKind::Form, BodyKind::Multipart]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    pub status: u16,
    /// JSON body template; absent: no body.
    pub body: Option<toml::Value>,
    /// A list variable of the action (`users`): the body is an array, the
    /// template rendered once per item with the item's variables.
    pub each: Option<String>,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
}
