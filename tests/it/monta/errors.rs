//! Monta's refusals on the token endpoints, on both stores: DRF's authtoken
//! login errors and TokenAuthentication's 401s, in DRF's wording.

use crate::support::monta::*;
use crate::support::StoreKind;
use polyauth::engine::IdentifyBy;
use serde_json::json;

const BOB: SeedUser<'static> = ("bob", "bob@example.com", "bob-pass-1");

fn bad_login() -> serde_json::Value {
    json!({"non_field_errors": ["Unable to log in with provided credentials."]})
}

async fn login_errors(kind: StoreKind) {
    let g = gw(kind, &[BOB]).await;
    g.post_json(D, LOGIN, json!({"username": "bob", "password": "wrong"})).await.expect(400, bad_login());
    g.post_json(D, LOGIN, json!({"username": "ghost", "password": "bob-pass-1"})).await.expect(400, bad_login());
    g.post_form(D, LOGIN, &[("username", "bob"), ("password", "wrong")]).await.expect(400, bad_login());
    // The username is exact (Django's ModelBackend).
    g.post_json(D, LOGIN, json!({"username": "BOB", "password": "bob-pass-1"})).await.expect(400, bad_login());
    // AuthTokenSerializer keeps the password's spaces (trim_whitespace=False) and trims the username.
    g.post_json(D, LOGIN, json!({"username": "bob", "password": " bob-pass-1 "})).await.expect(400, bad_login());
    login(&g, " bob ", "bob-pass-1").await;

    let required = json!({"username": ["This field is required."], "password": ["This field is required."]});
    g.post_json(D, LOGIN, json!({})).await.expect(400, required.clone());
    // An empty POST is `{}` to DRF, with or without a content type.
    g.send(D, "POST", LOGIN, &[], None).await.expect(400, required.clone());
    g.post_form(D, LOGIN, &[("username", "bob")]).await.expect(400, json!({"password": ["This field is required."]}));
    g.post_multipart(D, LOGIN, &[("password", "x")])
        .await
        .expect(400, json!({"username": ["This field is required."]}));
    g.post_json(D, LOGIN, json!({"username": " ", "password": ""})).await.expect(
        400,
        json!({"username": ["This field may not be blank."], "password": ["This field may not be blank."]}),
    );
    g.post_json(D, LOGIN, json!({"username": null, "password": true}))
        .await
        .expect(400, json!({"username": ["This field may not be null."], "password": ["Not a valid string."]}));
}

async fn malformed_bodies(kind: StoreKind) {
    let g = gw(kind, &[BOB]).await;
    let json_ct = [("Content-Type", "application/json")];
    g.send(D, "POST", LOGIN, &json_ct, Some(br#"{"username": "x", "password": "#))
        .await
        .expect(400, json!({"detail": "JSON parse error - Expecting value: line 1 column 31 (char 30)"}));
    g.send(D, "POST", LOGIN, &json_ct, Some(b"[1]"))
        .await
        .expect(400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));
    g.send(D, "POST", LOGIN, &[("Content-Type", "text/plain")], Some(b"username=bob"))
        .await
        .expect(415, json!({"detail": "Unsupported media type \"text/plain\" in request."}));
    g.send(D, "POST", LOGIN, &[], Some(b"{}"))
        .await
        .expect(415, json!({"detail": "Unsupported media type \"\" in request."}));
    // The same rules on every endpoint that reads a body, the client's POST verify included.
    g.send(D, "POST", VERIFY, &json_ct, Some(br#"{"token": }"#))
        .await
        .expect(400, json!({"detail": "JSON parse error - Expecting value: line 1 column 11 (char 10)"}));
    g.send(D, "POST", RESET, &json_ct, Some(b"\"alice\""))
        .await
        .expect(400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}));
    g.send(D, "POST", RESET_CONFIRM, &[("Content-Type", "application/xml")], Some(b"<a/>"))
        .await
        .expect(415, json!({"detail": "Unsupported media type \"application/xml\" in request."}));
    let big = format!(r#"{{"email":"{}@example.com"}}"#, "a".repeat(70_000));
    let r = g.send(D, "POST", EMAIL_VERIFY, &json_ct, Some(big.as_bytes())).await;
    assert_eq!(r.status, 413, "{}", r.text);
}

async fn credential_errors(kind: StoreKind) {
    let g = gw(kind, &[BOB]).await;
    let token = login(&g, "bob", "bob-pass-1").await;
    // Every authenticated endpoint: missing, malformed, foreign and unknown credentials.
    for (method, path) in [("GET", VERIFY), ("POST", VERIFY), ("POST", REFRESH), ("POST", REVOKE)] {
        let call = |h: &'static str| {
            let g = &g;
            async move {
                let headers: Vec<(&str, &str)> = if h.is_empty() { vec![] } else { vec![("Authorization", h)] };
                g.send(D, method, path, &headers, None).await
            }
        };
        let r = call("").await;
        r.expect(401, not_provided());
        assert_eq!(r.header("www-authenticate"), Some("Token"), "{method} {path}");
        let allow = if path == VERIFY { "GET, POST, HEAD, OPTIONS" } else { "POST, OPTIONS" };
        assert_eq!(r.header("allow"), Some(allow));
        call("Bearer abc").await.expect(401, not_provided());
        call("Basic Ym9iOmJvYi1wYXNzLTE=").await.expect(401, not_provided());
        call("Token").await.expect(401, json!({"detail": "Invalid token header. No credentials provided."}));
        call("Token a b")
            .await
            .expect(401, json!({"detail": "Invalid token header. Token string should not contain spaces."}));
        let r = call("Token 0123456789abcdef0123456789abcdef01234567").await;
        r.expect(401, invalid_token());
        assert_eq!(r.header("www-authenticate"), Some("Token"));
    }
    // The client's POST verify: a bad token in the body refuses even with a good header.
    let r = g
        .send(
            D,
            "POST",
            VERIFY,
            &[("Authorization", &crate::support::token(&token)), ("Content-Type", "application/json")],
            Some(br#"{"token":"not-a-token"}"#),
        )
        .await;
    r.expect(401, invalid_token());
    g.post_json(D, VERIFY, json!({})).await.expect(401, not_provided());
    g.post_json(D, VERIFY, json!({"token": ""})).await.expect(401, not_provided());
    g.post_json(D, VERIFY, json!({"token": "nope"})).await.expect(401, invalid_token());
    // None of that touched the good token.
    verify(&g, &token).await.expect(200, json!({}));
}

async fn inactive_user(kind: StoreKind) {
    let g = gw(kind, &[BOB]).await;
    let token = login(&g, "bob", "bob-pass-1").await;
    let engine = &g.running.engine;
    let user = engine.find_user_by(IdentifyBy::Username, "bob").await.unwrap().unwrap();
    let off = polyauth::engine::UserUpdate { is_active: Some(false), ..Default::default() };
    engine.update_user(user.id, off).await.unwrap();
    // TokenAuthentication's wording; the login refuses like a wrong password (ModelBackend).
    verify(&g, &token).await.expect(401, json!({"detail": "User inactive or deleted."}));
    verify_post(&g, &token).await.expect(401, json!({"detail": "User inactive or deleted."}));
    post_auth(&g, REFRESH, &token).await.expect(401, json!({"detail": "User inactive or deleted."}));
    g.post_json(D, LOGIN, json!({"username": "bob", "password": "bob-pass-1"})).await.expect(400, bad_login());
    // An inactive user gets no reset mail either.
    g.post_json(D, RESET, json!({"email": "bob@example.com"}))
        .await
        .expect(400, json!({"email": ["User with given email does not exist."]}));
    assert!(g.outbox("bob@example.com").await.is_empty());
}

async fn token_lifetime_is_configured(kind: StoreKind) {
    let (_dir, b) = builder(kind, &[BOB]);
    let g = b.extra("[tokens]\nopaque_ttl_secs = 2\none_time_ttl_secs = 2").start().await;
    let token = login(&g, "bob", "bob-pass-1").await;
    verify(&g, &token).await.expect(200, json!({}));
    let r = g.post_json(D, RESET, json!({"email": "bob@example.com"})).await;
    assert_eq!(r.status, 204);
    let reset = g.last_mail_token("bob@example.com").await;
    let r = g.post_json(D, EMAIL_VERIFY, json!({"email": "bob@example.com"})).await;
    assert_eq!(r.status, 204);
    let confirm = g.last_mail_token("bob@example.com").await;
    // Both lifetimes are whole seconds in Redis: wait until both are surely over.
    tokio::time::sleep(std::time::Duration::from_millis(2_300)).await;
    verify(&g, &token).await.expect(401, invalid_token());
    let expired = json!({"token": ["Invalid or expired token."]});
    g.post_json(D, RESET_CONFIRM, json!({"token": reset, "new_password": "bob-pass-2"}))
        .await
        .expect(400, expired.clone());
    g.post_json(D, EMAIL_CONFIRM, json!({ "token": confirm })).await.expect(400, expired);
    // A login after expiry issues a new token.
    let fresh = login(&g, "bob", "bob-pass-1").await;
    assert_ne!(fresh, token);
    verify(&g, &fresh).await.expect(200, json!({}));
}

both_stores!(login_errors, malformed_bodies, credential_errors, inactive_user, token_lifetime_is_configured);
