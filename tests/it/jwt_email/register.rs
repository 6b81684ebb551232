//! jwt-email registration, trailing slashes and the global JWT authenticator,
//! over HTTP on both stores, against the real system's answers.

use crate::support::jwt::*;
use crate::support::jwt_email::*;
use crate::support::StoreKind;
use serde_json::json;

async fn register_answers_id_then_email(kind: StoreKind) {
    let g = gw(kind).await;
    let r = g.post_json(D, REGISTER, json!({"email": "eve@example.com", "password": "Secr3t-pass!"})).await;
    r.expect(201, json!({"id": 1, "email": "eve@example.com"}));
    assert_eq!(r.text, r#"{"id":1,"email":"eve@example.com"}"#, "id first, compact");
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    // Trimmed; the domain is lower-cased on save (Django's normalize_email), the local part kept.
    g.post_json(D, REGISTER, json!({"email": "  Fay.Q@EXAMPLE.Com ", "password": "1"}))
        .await
        .expect(201, json!({"id": 2, "email": "Fay.Q@example.com"}));
    login(&g, "Fay.Q@example.com", "1").await;
    // No password validators; numbers are strings; unknown fields are ignored; forms and multipart work.
    g.post_json(D, REGISTER, json!({"email": "n@example.com", "password": 12345, "id": 99, "is_staff": true}))
        .await
        .expect(201, json!({"id": 3, "email": "n@example.com"}));
    login(&g, "n@example.com", "12345").await;
    let r = g.post_form(D, REGISTER, &[("email", "f@example.com"), ("password", "p")]).await;
    r.expect(201, json!({"id": 4, "email": "f@example.com"}));
    let r = g.post_multipart(D, REGISTER, &[("email", "m@example.com"), ("password", "p")]).await;
    r.expect(201, json!({"id": 5, "email": "m@example.com"}));
    // Django's validator allows @localhost and Unicode domains.
    register(&g, "x@localhost", "p").await;
    g.post_json(D, REGISTER, json!({"email": "u@exämple.com", "password": "p"}))
        .await
        .expect(201, json!({"id": 7, "email": "u@exämple.com"}));
}

async fn register_errors(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "gil@example.com", "Secr3t-pass!").await;
    let taken = json!({"email": ["user with this email address already exists."]});
    // Taken, whatever the case: one mailbox is one account here (the reference would create
    // `GIL@…` as a second account, and answer 500 for `…@EXAMPLE.COM`).
    for email in ["gil@example.com", " gil@example.com", "gil@EXAMPLE.COM", "GIL@example.com"] {
        g.post_json(D, REGISTER, json!({"email": email, "password": "x"})).await.expect(400, taken.clone());
    }
    let invalid = json!({"email": ["Enter a valid email address."]});
    for email in ["nope", "x@example", "zoë@example.com", "a@b..com", "@example.com"] {
        g.post_json(D, REGISTER, json!({"email": email, "password": "x"})).await.expect(400, invalid.clone());
    }
    // A well-formed address, only too long (Django would add the format error for a bad one).
    let long = format!("{}@example.com", "a".repeat(243));
    assert_eq!(long.len(), 255);
    g.post_json(D, REGISTER, json!({"email": long, "password": "x"}))
        .await
        .expect(400, json!({"email": ["Ensure this field has no more than 254 characters."]}));
    g.post_json(D, REGISTER, json!({})).await.expect(400, json!({"email": [REQUIRED], "password": [REQUIRED]}));
    g.post_json(D, REGISTER, json!({"email": "", "password": ""}))
        .await
        .expect(400, json!({"email": ["This field may not be blank."], "password": ["This field may not be blank."]}));
    g.post_json(D, REGISTER, json!({"email": null, "password": "x"}))
        .await
        .expect(400, json!({"email": ["This field may not be null."]}));
    g.post_json(D, REGISTER, json!({"email": "h@example.com"})).await.expect(400, json!({"password": [REQUIRED]}));
    g.post_json(D, REGISTER, json!({"email": "h@example.com", "password": "   "}))
        .await
        .expect(400, json!({"password": ["This field may not be blank."]}));
    // EmailField words a non-string as an invalid address; the password CharField does not.
    g.post_json(D, REGISTER, json!({"email": true, "password": ["x"]}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."], "password": ["Not a valid string."]}));
    // None of the refused requests created a user.
    g.post_json(D, TOKEN, json!({"email": "h@example.com", "password": "x"}))
        .await
        .expect(401, json!({"detail": NO_ACCOUNT}));
    register(&g, "h@example.com", "x").await;
}

async fn bearer_is_checked_on_open_views(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "ida@example.com", "Secr3t-pass!").await.to_string();
    let (access, _) = login(&g, "ida@example.com", "Secr3t-pass!").await;
    let body = br#"{"email":"jo@example.com","password":"p"}"#;
    let send = |auth: String, path: &'static str| {
        let g = &g;
        async move {
            g.send(D, "POST", path, &[("Authorization", &auth), ("Content-Type", "application/json")], Some(body)).await
        }
    };
    // DRF runs the global JWTAuthentication before AllowAny views: a bad Bearer is refused.
    for path in [REGISTER, RESET] {
        let r = send("Bearer garbage".into(), path).await;
        r.expect(401, bearer_error("Token is invalid"));
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"api\""));
    }
    send(format!("Bearer {}", forge("access", &id, 60)), REGISTER).await.expect(401, bearer_error("Token is expired"));
    send(format!("Bearer {}", forge("refresh", &id, -600)), REGISTER)
        .await
        .expect(401, bearer_error("Token has wrong type"));
    send(format!("Bearer {}", forge("access", "987654321", -60)), REGISTER)
        .await
        .expect(401, json!({"detail": "User not found", "code": "user_not_found"}));
    send("Bearer".into(), REGISTER).await.expect(
        401,
        json!({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
    );
    let r = g.send(D, "POST", &confirm_path("sometoken"), &[("Authorization", "Bearer garbage")], None).await;
    r.expect(401, bearer_error("Token is invalid"));
    // Another scheme is not JWTAuthentication's business; a valid Bearer is fine.
    send("Token abc".into(), REGISTER).await.expect(201, json!({"id": 2, "email": "jo@example.com"}));
    let body = br#"{"email":"kim@example.com","password":"p"}"#;
    let r = g
        .send(
            D,
            "POST",
            REGISTER,
            &[("Authorization", &format!("Bearer {access}")), ("Content-Type", "application/json")],
            Some(body),
        )
        .await;
    r.expect(201, json!({"id": 3, "email": "kim@example.com"}));
    // A wrong method with a bad Bearer: 401 before 405, as DRF authenticates first.
    g.send(D, "GET", REGISTER, &[("Authorization", "Bearer garbage")], None)
        .await
        .expect(401, bearer_error("Token is invalid"));
}

async fn slashes_methods_and_unknown_paths(kind: StoreKind) {
    let g = gw(kind).await;
    // APPEND_SLASH: 301 to the slashed URL (query kept), whatever the method; the body is not used.
    for (method, path, to) in [
        ("POST", "/jwtemail/auth/token", "/jwtemail/auth/token/"),
        ("POST", "/jwtemail/auth/token/refresh", "/jwtemail/auth/token/refresh/"),
        ("POST", "/jwtemail/auth/register", "/jwtemail/auth/register/"),
        ("GET", "/jwtemail/auth/reset-password", "/jwtemail/auth/reset-password/"),
        ("POST", "/jwtemail/auth/reset-password/abc", "/jwtemail/auth/reset-password/abc/"),
        ("POST", "/jwtemail/auth/register?next=1", "/jwtemail/auth/register/?next=1"),
    ] {
        let body = br#"{"email":"q@example.com","password":"p"}"#;
        let r = g.send(D, method, path, &[("Content-Type", "application/json")], Some(body)).await;
        assert_eq!(r.status, 301, "{method} {path}: {}", r.text);
        assert_eq!(r.header("location"), Some(to));
        assert_eq!(r.text, "");
    }
    g.post_json(D, TOKEN, json!({"email": "q@example.com", "password": "p"}))
        .await
        .expect(401, json!({"detail": NO_ACCOUNT}));
    for path in ["/jwtemail/auth/nope/", "/jwtemail/auth/nope", "/jwtemail/", "/jwtemail/auth/token/verify/"] {
        let r = g.send(D, "POST", path, &[], None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.text.contains("<h1>Not Found</h1>"));
    }
    for (method, path) in [("GET", TOKEN), ("PUT", TOKEN), ("GET", REGISTER), ("DELETE", RESET)] {
        let r = g.send(D, method, path, &[], None).await;
        r.expect(405, json!({"detail": format!("Method \"{method}\" not allowed.")}));
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    }
    let r = g.send(D, "GET", &confirm_path("abc"), &[], None).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
}

both_stores!(
    register_answers_id_then_email,
    register_errors,
    bearer_is_checked_on_open_views,
    slashes_methods_and_unknown_paths
);
