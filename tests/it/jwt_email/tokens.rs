//! jwt-email token endpoints over HTTP, on both stores: `POST /auth/token/`
//! (email login) and `POST /auth/token/refresh/` (no rotation), against the
//! answers of the real SimpleJWT 5.5.1 with an email user model.

use crate::support::jwt::*;
use crate::support::jwt_email::*;
use crate::support::StoreKind;
use serde_json::json;

async fn login_issues_a_pair(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "ann@example.com", "Secr3t-pass!").await;
    let (access, refresh) = login(&g, "ann@example.com", "Secr3t-pass!").await;
    for (jwt, kind, life) in [(&access, "access", 300), (&refresh, "refresh", 86_400)] {
        let c = claims(jwt);
        assert_eq!(c.as_object().unwrap().keys().collect::<Vec<_>>(), ["token_type", "exp", "iat", "jti", "user_id"]);
        assert_eq!(c["token_type"], kind);
        assert_eq!(c["user_id"], id.to_string(), "user_id is a string, as SimpleJWT writes it");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), life);
    }
    // Form and multipart bodies log in too; the password is trimmed like any DRF CharField.
    let r = g.post_form(D, TOKEN, &[("email", "ann@example.com"), ("password", "Secr3t-pass!")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = g.post_multipart(D, TOKEN, &[("email", "ann@example.com"), ("password", " Secr3t-pass! ")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    // The token view ignores Authorization, even a broken one.
    let body = br#"{"email":"ann@example.com","password":"Secr3t-pass!"}"#;
    let r = g
        .send(
            D,
            "POST",
            TOKEN,
            &[("Authorization", "Bearer garbage"), ("Content-Type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn login_errors(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "bo@example.com", "Secr3t-pass!").await;
    for (email, password) in [("bo@example.com", "nope"), ("ghost@example.com", "Secr3t-pass!"), ("nope", "x")] {
        let r = g.post_json(D, TOKEN, json!({"email": email, "password": password})).await;
        r.expect(401, json!({"detail": NO_ACCOUNT}));
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    // The login field is `email`; `username` is not read.
    g.post_json(D, TOKEN, json!({"username": "bo@example.com", "password": "Secr3t-pass!"}))
        .await
        .expect(400, json!({"email": [REQUIRED]}));
    g.post_json(D, TOKEN, json!({})).await.expect(400, json!({"email": [REQUIRED], "password": [REQUIRED]}));
    g.post_json(D, TOKEN, json!({"email": "bo@example.com"})).await.expect(400, json!({"password": [REQUIRED]}));
    g.post_json(D, TOKEN, json!({"email": " ", "password": ""}))
        .await
        .expect(400, json!({"email": ["This field may not be blank."], "password": ["This field may not be blank."]}));
    g.post_json(D, TOKEN, json!({"email": null, "password": "x"}))
        .await
        .expect(400, json!({"email": ["This field may not be null."]}));
    // No body at all is an empty form.
    let r = g.send(D, "POST", TOKEN, &[], None).await;
    r.expect(400, json!({"email": [REQUIRED], "password": [REQUIRED]}));
    let r = g.send(D, "POST", TOKEN, &[("Content-Type", "text/plain")], Some(b"x")).await;
    r.expect(415, json!({"detail": "Unsupported media type \"text/plain\" in request."}));
    let r = g.send(D, "POST", TOKEN, &[("Content-Type", "application/json")], Some(b"[]")).await;
    r.expect(400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));
    let r = g
        .send(D, "POST", TOKEN, &[("Content-Type", "application/json")], Some(br#"{"email": "x", "password": "#))
        .await;
    r.expect(400, json!({"detail": "JSON parse error - Expecting value: line 1 column 28 (char 27)"}));
}

async fn refresh_does_not_rotate(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "cy@example.com", "Secr3t-pass!").await;
    let (_, refresh) = login(&g, "cy@example.com", "Secr3t-pass!").await;
    for _ in 0..2 {
        // The same refresh token works again: no rotation, no blacklist.
        let r = g.post_json(D, REFRESH, json!({"refresh": refresh})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["access"]);
        let c = claims(v["access"].as_str().unwrap());
        assert_eq!((c["token_type"].as_str(), c["user_id"].as_str()), (Some("access"), Some(&*id.to_string())));
    }
    // A refresh token is read from forms too, and trimmed.
    let r = g.post_form(D, REFRESH, &[("refresh", &format!(" {refresh} "))]).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn refresh_errors(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "di@example.com", "Secr3t-pass!").await.to_string();
    let (access, _) = login(&g, "di@example.com", "Secr3t-pass!").await;
    let cases = [
        ("garbage".to_owned(), "Token is invalid"),
        ("a.b.c".to_owned(), "Token is invalid"),
        (forge("refresh", &id, 60), "Token is expired"),
        (access, "Token has wrong type"),
        (
            forge_with("not-the-gateway-key-0123456789-0123456789", &claims(&forge("refresh", &id, -600))),
            "Token is invalid",
        ),
    ];
    for (token, detail) in cases {
        let r = g.post_json(D, REFRESH, json!({"refresh": token})).await;
        r.expect(401, token_error(detail));
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    // A valid refresh token of a user that does not exist (the real SimpleJWT crashes with a 500 here).
    g.post_json(D, REFRESH, json!({"refresh": forge("refresh", "987654321", -600)}))
        .await
        .expect(401, json!({"detail": "No active account found for the given token.", "code": "no_active_account"}));
    g.post_json(D, REFRESH, json!({})).await.expect(400, json!({"refresh": [REQUIRED]}));
    g.post_json(D, REFRESH, json!({"refresh": ""}))
        .await
        .expect(400, json!({"refresh": ["This field may not be blank."]}));
    let r = g.send(D, "GET", REFRESH, &[], None).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
}

both_stores!(login_issues_a_pair, login_errors, refresh_does_not_rotate, refresh_errors);
