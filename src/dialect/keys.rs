//! Every error key a route can produce, with its default HTTP status. A
//! dialect file may override status and wording per key; nothing else in the
//! code base picks a status for an error.

pub const ERROR_KEYS: &[(&str, u16)] = &[
    // request shape
    ("not_found", 404),
    ("method_not_allowed", 405),
    ("unsupported_media_type", 415),
    ("not_acceptable", 406),
    ("parse_error", 400),
    ("body_too_large", 413),
    ("invalid_body", 400),
    ("no_data", 400),
    // field validation
    ("field_required", 400),
    ("field_blank", 400),
    ("field_null", 400),
    ("field_invalid", 400),
    ("field_email", 400),
    ("field_max_length", 400),
    ("field_username", 400),
    // authentication
    ("not_authenticated", 401),
    ("auth_header_malformed", 401),
    ("auth_header_empty", 401),
    ("auth_header_spaces", 401),
    ("jwt_auth_invalid", 401),
    ("opaque_token_invalid", 401),
    ("basic_invalid", 401),
    ("user_inactive", 401),
    ("user_not_found", 401),
    // engine refusals
    ("invalid_credentials", 401),
    ("username_taken", 400),
    ("email_taken", 400),
    ("token_invalid", 401),
    ("token_expired", 401),
    ("token_wrong_type", 401),
    ("token_no_type", 401),
    ("token_no_id", 401),
    ("token_blacklisted", 401),
    ("token_no_user", 401),
    ("token_no_exp", 401),
    ("password_mismatch", 400),
    ("password_too_similar", 400),
    ("password_too_short", 400),
    ("password_too_common", 400),
    ("password_entirely_numeric", 400),
    ("current_password_invalid", 400),
    ("unknown_email", 400),
    ("uid_invalid", 400),
    ("one_time_invalid", 400),
    // infrastructure
    ("unavailable", 503),
    ("internal", 500),
];

pub fn default_status(key: &str) -> u16 {
    ERROR_KEYS.iter().find(|(k, _)| *k == key).map(|(_, s)| *s).unwrap_or(500)
}

pub fn is_known(key: &str) -> bool {
    ERROR_KEYS.iter().any(|(k, _)| *k == key)
}
