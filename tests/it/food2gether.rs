//! The food2gether dialect over HTTP, on both stores: register (PUT), login
//! with HTTP Basic (POST) and logout (DELETE) at /api/v1/authentication/.
//! Every answer is the JSON envelope of document 004.

mod cross;
mod reset;
mod wire;

use crate::support::food2gether::*;
use crate::support::StoreKind;
use serde_json::json;

async fn register_with_every_body(kind: StoreKind) {
    let g = gw(kind).await;
    let r = put_json(&g, AUTH, json!({"password": "password", "email": "user@example.com"})).await;
    let json_token = token_of(&r, 201);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Form and multipart, with and without the trailing slash.
    let r = g
        .send(
            D,
            "PUT",
            "/api/v1/authentication",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            Some(b"email=form%40example.com&password=pw+form"),
        )
        .await;
    let form_token = token_of(&r, 201);
    let mp = reqwest::multipart::Form::new().text("email", "multi@example.com").text("password", "pw multi");
    let r = crate::support::read(g.http.put(g.url(D, AUTH)).multipart(mp).send().await.unwrap()).await;
    let multi_token = token_of(&r, 201);
    assert!(json_token != form_token && form_token != multi_token);

    // Each can log in with what it registered (the form's `+` is a space).
    token_of(&login(&g, "user@example.com", "password").await, 200);
    token_of(&login(&g, "form@example.com", "pw form").await, 200);
    token_of(&login(&g, "multi@example.com", "pw multi").await, 200);
    // The registration token is a live session: it logs out.
    ok_null(&logout(&g, Some(&bearer(&json_token))).await);
}

async fn register_refusals(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "taken@example.com", "pw").await;
    fails(
        &put_json(&g, AUTH, json!({"email": "taken@example.com", "password": "other"})).await,
        409,
        "registration.failed",
    );
    // Emails are unique regardless of case and surrounding spaces.
    fails(
        &put_json(&g, AUTH, json!({"email": " TAKEN@example.com ", "password": "x"})).await,
        409,
        "registration.failed",
    );
    // POST is the login: a registration body sent with it does not register.
    let r = g.post_form(D, AUTH, &[("email", "new@example.com"), ("password", "pw")]).await;
    fails(&r, 401, "authentication.failed");
    fails(&login(&g, "new@example.com", "pw").await, 401, "authentication.failed");

    for (body, key) in [
        (json!({}), "email.required"),
        (json!({"password": "pw"}), "email.required"),
        (json!({"email": "a@example.com"}), "password.required"),
        (json!({"email": "", "password": "pw"}), "email.required"),
        (json!({"email": "   ", "password": "pw"}), "email.required"),
        (json!({"email": null, "password": "pw"}), "email.required"),
        (json!({"email": "a@example.com", "password": ""}), "password.required"),
        (json!({"email": "a@example.com", "password": null}), "password.required"),
        (json!({"email": "not-an-email", "password": "pw"}), "email.invalid"),
        (json!({"email": 12345, "password": "pw"}), "email.invalid"),
        (json!({"email": true, "password": "pw"}), "email.invalid"),
        (json!({"email": ["a@example.com"], "password": "pw"}), "email.invalid"),
        (json!({"email": format!("{}@example.com", "a".repeat(250)), "password": "pw"}), "email.invalid"),
        (json!({"email": "a@example.com", "password": {"x": 1}}), "password.invalid"),
        (json!({"email": "a@example.com", "password": false}), "password.invalid"),
    ] {
        let r = put_json(&g, AUTH, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        fails(&r, 400, key);
    }
    // The same validation for form and multipart bodies.
    let r = g
        .send(D, "PUT", AUTH, &[("Content-Type", "application/x-www-form-urlencoded")], Some(b"email=a%40example.com"))
        .await;
    fails(&r, 400, "password.required");
    let mp = reqwest::multipart::Form::new().text("email", "nope").text("password", "pw");
    let r = crate::support::read(g.http.put(g.url(D, AUTH)).multipart(mp).send().await.unwrap()).await;
    fails(&r, 400, "email.invalid");
    // An empty body is an empty form.
    fails(&g.send(D, "PUT", AUTH, &[], None).await, 400, "email.required");
    // Nothing was created by the refusals.
    fails(&login(&g, "a@example.com", "pw").await, 401, "authentication.failed");
}

async fn login_with_basic(kind: StoreKind) {
    let g = gw(kind).await;
    let first = register(&g, "eve@example.com", "p:ss w0rd").await;
    // A password may hold colons and spaces: only the first colon separates.
    let r = login(&g, "eve@example.com", "p:ss w0rd").await;
    let second = token_of(&r, 200);
    assert_ne!(first, second, "every login is a new session");
    // The keyword is case-insensitive; the email is matched regardless of case; no slash works too.
    let r = g
        .send(D, "POST", "/api/v1/authentication", &[("Authorization", &basic("EVE@Example.com", "p:ss w0rd"))], None)
        .await;
    let third = token_of(&r, 200);
    let lower = basic("eve@example.com", "p:ss w0rd").replacen("Basic", "basic", 1);
    token_of(&g.send(D, "POST", AUTH, &[("Authorization", &lower)], None).await, 200);
    // Each session is its own: ending one leaves the others.
    ok_null(&logout(&g, Some(&bearer(&second))).await);
    ok_null(&logout(&g, Some(&bearer(&third))).await);
    ok_null(&logout(&g, Some(&bearer(&first))).await);
}

async fn login_refusals(kind: StoreKind) {
    let g = gw(kind).await;
    let session = register(&g, "finn@example.com", "right").await;
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let cases = [
        basic("finn@example.com", "wrong"),
        basic("finn@example.com", "right "),
        basic("ghost@example.com", "right"),
        basic("finn@example.com", ""),
        basic("", "right"),
        format!("Basic {}", b64("finn@example.com")),
        "Basic !!!not-base64!!!".into(),
        format!("Basic {}", b64("finn@example.com:right").trim_end_matches('=')).replace('m', "%"),
        format!("Basic {} extra", b64("finn@example.com:right")),
        "Basic".into(),
        "Basic ".into(),
        format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"\xff:\xfe")),
        bearer(&session),
        format!("Token {session}"),
        "garbage".into(),
    ];
    for auth in &cases {
        let r = g.send(D, "POST", AUTH, &[("Authorization", auth)], None).await;
        assert_eq!(r.status, 401, "{auth:?}: {}", r.text);
        fails(&r, 401, "authentication.failed");
        assert_eq!(r.header("www-authenticate"), None);
    }
    fails(&g.send(D, "POST", AUTH, &[], None).await, 401, "authentication.failed");
    // A body does not stand in for the header.
    let r = g.post_json(D, AUTH, json!({"email": "finn@example.com", "password": "right"})).await;
    fails(&r, 401, "authentication.failed");
    token_of(&login(&g, "finn@example.com", "right").await, 200);
}

async fn logout_ends_sessions(kind: StoreKind) {
    let g = gw(kind).await;
    let a = register(&g, "gil@example.com", "pw").await;
    let b = token_of(&login(&g, "gil@example.com", "pw").await, 200);
    let c = token_of(&login(&g, "gil@example.com", "pw").await, 200);
    let other = register(&g, "hal@example.com", "pw").await;

    // Bearer ends that one session only; it is then refused.
    ok_null(&logout(&g, Some(&bearer(&a))).await);
    fails(&logout(&g, Some(&bearer(&a))).await, 401, "authentication.failed");

    // Basic (as documented) ends every session of the user, and no one else's.
    let all = basic("gil@example.com", "pw");
    ok_null(&g.send(D, "DELETE", "/api/v1/authentication", &[("Authorization", &all)], None).await);
    fails(&logout(&g, Some(&bearer(&b))).await, 401, "authentication.failed");
    fails(&logout(&g, Some(&bearer(&c))).await, 401, "authentication.failed");
    ok_null(&logout(&g, Some(&bearer(&other))).await);
    // The password still logs in afterwards, and Basic logout with no live session is fine.
    token_of(&login(&g, "gil@example.com", "pw").await, 200);
    ok_null(&logout(&g, Some(&basic("gil@example.com", "pw"))).await);

    // Anything else is 401.
    for auth in [
        None,
        Some(basic("gil@example.com", "wrong")),
        Some(bearer("no-such-session")),
        Some("Bearer".to_owned()),
        Some(format!("Bearer {b} extra")),
        Some(format!("Token {b}")),
        Some("Basic !!!".to_owned()),
    ] {
        let r = logout(&g, auth.as_deref()).await;
        assert_eq!(r.status, 401, "{auth:?}: {}", r.text);
        fails(&r, 401, "authentication.failed");
    }
}

both_stores!(register_with_every_body, register_refusals, login_with_basic, login_refusals, logout_ends_sessions);
