//! Refusals, named by a typed error key. Every key a route can produce is a
//! variant of `ErrorKey`, with its default HTTP status beside it; dialect files
//! name keys by their snake_case names, which serde checks at load (an unknown
//! key stops the gateway with exit 64, never a 500 at run time). A dialect may
//! override status and wording per key; `http::render` is the one place that
//! turns a `Failure` into an answer.
//!
//! A leaf module: it imports nothing of the crate.

use serde::Deserialize;

macro_rules! error_keys {
    ($($(#[$doc:meta])* $variant:ident = ($name:literal, $status:literal),)*) => {
        /// Every error key, with its wire name and default status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        pub enum ErrorKey {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl ErrorKey {
            /// Every key, in declaration order.
            pub const ALL: &'static [ErrorKey] = &[$(ErrorKey::$variant,)*];

            /// The name dialect files use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKey::$variant => $name,)*
                }
            }

            /// The status when the dialect does not set one.
            pub fn default_status(self) -> u16 {
                match self {
                    $(ErrorKey::$variant => $status,)*
                }
            }
        }
    };
}

error_keys! {
    // request shape
    NotFound = ("not_found", 404),
    MethodNotAllowed = ("method_not_allowed", 405),
    UnsupportedMediaType = ("unsupported_media_type", 415),
    NotAcceptable = ("not_acceptable", 406),
    ParseError = ("parse_error", 400),
    MultipartParseError = ("multipart_parse_error", 400),
    BodyTooLarge = ("body_too_large", 413),
    InvalidBody = ("invalid_body", 400),
    NoData = ("no_data", 400),
    /// The `Host` header is not in the mount's `ALLOWED_HOSTS` (Django's DisallowedHost).
    DisallowedHost = ("disallowed_host", 400),
    /// The request head has more or larger header fields than the gateway reads.
    HeadersTooLarge = ("headers_too_large", 431),
    UriTooLong = ("uri_too_long", 414),
    /// The request body did not arrive whole within `server.body_read_timeout_secs`.
    RequestTimeout = ("request_timeout", 408),
    // field validation
    FieldRequired = ("field_required", 400),
    FieldBlank = ("field_blank", 400),
    FieldNull = ("field_null", 400),
    FieldInvalid = ("field_invalid", 400),
    FieldEmail = ("field_email", 400),
    FieldMaxLength = ("field_max_length", 400),
    FieldUsername = ("field_username", 400),
    // authentication
    NotAuthenticated = ("not_authenticated", 401),
    AuthHeaderMalformed = ("auth_header_malformed", 401),
    AuthHeaderEmpty = ("auth_header_empty", 401),
    AuthHeaderSpaces = ("auth_header_spaces", 401),
    JwtAuthInvalid = ("jwt_auth_invalid", 401),
    OpaqueTokenInvalid = ("opaque_token_invalid", 401),
    BasicInvalid = ("basic_invalid", 401),
    UserInactive = ("user_inactive", 401),
    /// DRF's TokenAuthentication: the token's user is inactive (or gone).
    TokenUserInactive = ("token_user_inactive", 401),
    UserNotFound = ("user_not_found", 401),
    /// SimpleJWT's `CHECK_REVOKE_TOKEN`: the access token predates a password change.
    PasswordChanged = ("password_changed", 401),
    // engine refusals
    InvalidCredentials = ("invalid_credentials", 401),
    UsernameTaken = ("username_taken", 400),
    EmailTaken = ("email_taken", 400),
    TokenInvalid = ("token_invalid", 401),
    TokenExpired = ("token_expired", 401),
    TokenWrongType = ("token_wrong_type", 401),
    TokenNoType = ("token_no_type", 401),
    TokenNoId = ("token_no_id", 401),
    TokenBlacklisted = ("token_blacklisted", 401),
    TokenNoUser = ("token_no_user", 401),
    TokenNoExp = ("token_no_exp", 401),
    PasswordMismatch = ("password_mismatch", 400),
    PasswordTooSimilar = ("password_too_similar", 400),
    PasswordTooShort = ("password_too_short", 400),
    PasswordTooCommon = ("password_too_common", 400),
    PasswordEntirelyNumeric = ("password_entirely_numeric", 400),
    CurrentPasswordInvalid = ("current_password_invalid", 400),
    UnknownEmail = ("unknown_email", 400),
    UidInvalid = ("uid_invalid", 400),
    OneTimeInvalid = ("one_time_invalid", 400),
    // abuse protection
    /// Password logins for this account or client address are locked out for a while.
    LoginLocked = ("login_locked", 429),
    /// A DRF throttle (`DEFAULT_THROTTLE_CLASSES`) refused the request.
    Throttled = ("throttled", 429),
    /// The password-hashing queue is full: refused at once rather than queued.
    Busy = ("busy", 503),
    /// Djoser: an activation link for a user already active.
    StaleToken = ("stale_token", 403),
    UsernameMismatch = ("username_mismatch", 400),
    /// Djoser's `resend_activation` while `SEND_ACTIVATION_EMAIL` is off: a bare 400.
    ActivationDisabled = ("activation_disabled", 400),
    /// An object (a user by id) that does not exist (DRF's `Http404`).
    ObjectNotFound = ("object_not_found", 404),
    /// Another user's object under Djoser's `HIDE_USERS` (a plain `NotFound`).
    ObjectHidden = ("object_hidden", 404),
    /// DRF's `PermissionDenied`.
    PermissionDenied = ("permission_denied", 403),
    // infrastructure
    Unavailable = ("unavailable", 503),
    Internal = ("internal", 500),
}

impl std::fmt::Display for ErrorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal, named by an error key the dialect renders (see `http::render`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub key: ErrorKey,
    /// Wire name of the field it concerns (DRF field errors).
    pub field: Option<String>,
    /// Values for the message template, e.g. `method`, `attribute` (names from `template::vars`).
    pub vars: Vec<(&'static str, String)>,
}

impl Failure {
    pub fn new(key: ErrorKey) -> Self {
        Self { key, field: None, vars: Vec::new() }
    }

    pub fn field(key: ErrorKey, field: impl Into<String>) -> Self {
        Self { key, field: Some(field.into()), vars: Vec::new() }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.vars.push((name, value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKey;

    #[test]
    fn names_round_trip_through_serde() {
        for key in ErrorKey::ALL {
            let parsed: ErrorKey = serde_json::from_value(serde_json::Value::from(key.as_str())).unwrap();
            assert_eq!(parsed, *key);
        }
        assert!(serde_json::from_value::<ErrorKey>(serde_json::Value::from("no_such_key")).is_err());
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = ErrorKey::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKey::ALL.len());
    }
}
