use super::*;

fn codec() -> JwtCodec {
    JwtCodec::new(&Secret::new("k".repeat(40)), 300, 86_400)
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn header_is_pyjwt_s() {
    assert_eq!(b64(br#"{"alg":"HS256","typ":"JWT"}"#), HEADER_B64);
}

#[test]
fn round_trip_and_type_checks() {
    let (c, p) = (codec(), JwtPolicy::default());
    let t = c.issue(&p, 7, TokenType::Refresh, now(), None).unwrap();
    let claims = c.decode(&p, &t, Some(TokenType::Refresh)).unwrap();
    assert_eq!(claims.user_id, Some(7));
    assert_eq!(claims.exp - claims.iat, 86_400);
    assert_eq!(c.decode(&p, &t, Some(TokenType::Access)).unwrap_err(), TokenError::WrongType);
    assert!(c.decode(&p, &t, None).is_ok());
    let keys: Vec<String> = payload(&t).as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["token_type", "exp", "iat", "jti", "user_id"]);
}

#[test]
fn a_token_without_exp_says_so() {
    let c = codec();
    let key = jsonwebtoken::EncodingKey::from_secret("k".repeat(40).as_bytes());
    let claims = serde_json::json!({"token_type": "access", "jti": "x", "user_id": "1"});
    let t = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
    assert_eq!(c.decode(&JwtPolicy::default(), &t, None).unwrap_err(), TokenError::NoExp);
}

#[test]
fn expired_forged_and_other_algorithms_are_refused() {
    let (c, p) = (codec(), JwtPolicy::default());
    let old = c.issue(&p, 1, TokenType::Access, now() - 1000, None).unwrap();
    assert_eq!(c.decode(&p, &old, None).unwrap_err(), TokenError::Expired);
    let other = JwtCodec::new(&Secret::new("z".repeat(40)), 300, 300);
    let forged = other.issue(&p, 1, TokenType::Access, now(), None).unwrap();
    assert_eq!(c.decode(&p, &forged, None).unwrap_err(), TokenError::Invalid);
    // alg=none with the same claims must not pass.
    let parts: Vec<&str> = forged.split('.').collect();
    let none_header =
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_eq!(c.decode(&p, &unsigned, None).unwrap_err(), TokenError::Invalid);
    assert_eq!(c.decode(&p, "garbage", None).unwrap_err(), TokenError::Invalid);
}

#[test]
fn a_policy_overrides_key_lifetimes_claim_names_and_leeway() {
    let c = codec();
    let p = JwtPolicy::new(JwtOptions {
        signing_key: Some(Secret::new("m".repeat(40))),
        access_lifetime: Some(60),
        refresh_lifetime: Some(3_600),
        leeway: 120,
        user_id_claim: Some("uid".into()),
        revoke_claim: Some("hash_password".into()),
    });
    let t = c.issue(&p, 9, TokenType::Access, now(), Some("ABC")).unwrap();
    let v = payload(&t);
    assert_eq!(v["exp"].as_i64().unwrap() - v["iat"].as_i64().unwrap(), 60);
    assert_eq!(v["uid"], "9");
    assert_eq!(v["hash_password"], "ABC");
    assert!(v.get("user_id").is_none());
    let claims = c.decode(&p, &t, Some(TokenType::Access)).unwrap();
    assert_eq!((claims.user_id, claims.revoke.as_deref()), (Some(9), Some("ABC")));
    // Another key: the engine's default policy cannot read it, and the reverse.
    assert_eq!(c.decode(&JwtPolicy::default(), &t, None).unwrap_err(), TokenError::Invalid);
    let plain = c.issue(&JwtPolicy::default(), 9, TokenType::Access, now(), None).unwrap();
    assert_eq!(c.decode(&p, &plain, None).unwrap_err(), TokenError::Invalid);
    // Expired 90 s ago, within a 120 s leeway: accepted; not without it.
    let late = c.issue(&p, 9, TokenType::Refresh, now() - 3_690, None).unwrap();
    assert!(c.decode(&p, &late, None).is_ok());
    let strict = JwtPolicy::new(JwtOptions { signing_key: Some(Secret::new("m".repeat(40))), ..JwtOptions::default() });
    assert_eq!(c.decode(&strict, &late, None).unwrap_err(), TokenError::Expired);
}
