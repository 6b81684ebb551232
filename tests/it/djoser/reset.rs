//! Djoser password reset over HTTP, on both stores: reset_password answers 204
//! for any address and mails a uid and a token; reset_password_confirm gives
//! the reference's 400 bodies for a bad uid, a bad token and a reused token.

use crate::support::djoser::*;
use crate::support::{Gw, StoreKind};
use serde_json::json;

fn uid_of(id: u64) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id.to_string())
}

/// Asks for a reset of `email` and returns the (uid, token) of the newest mail to it.
async fn request_reset(g: &Gw, email: &str) -> (String, String) {
    let r = post(g, "/auth/users/reset_password/", json!({"email": email})).await;
    assert_eq!((r.status, r.text.as_str(), r.header("content-type")), (204, "", None), "{}", r.text);
    assert_eq!(r.header("allow"), Some(ALLOW_POST));
    let mails = g.outbox(email).await;
    let last = mails.last().expect("a mail");
    (last["uid"].as_str().unwrap().to_owned(), last["token"].as_str().unwrap().to_owned())
}

async fn confirm(g: &Gw, uid: &str, token: &str, new_password: &str) -> crate::support::Res {
    post(g, "/auth/users/reset_password_confirm/", json!({"uid": uid, "token": token, "new_password": new_password}))
        .await
}

async fn reset_flow(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "erin", "erin@example.com").await;
    let t = login(&g, "erin", PW).await;
    let (uid, rtoken) = request_reset(&g, "erin@example.com").await;
    assert_eq!(uid, uid_of(id));

    // The mail is Djoser's: the site is the request's host, the link at the site root.
    let mails = g.outbox("erin@example.com").await;
    assert_eq!(mails.len(), 1);
    let host = g.addr(D).to_string();
    assert_eq!(mails[0]["to"], json!(["erin@example.com"]));
    assert_eq!(mails[0]["subject"], format!("Password reset on {host}"));
    let body = mails[0]["body"].as_str().unwrap();
    assert!(body.contains(&format!("http://{host}/password/reset/confirm/{uid}/{rtoken}\n")), "{body}");
    assert!(body.contains("Your username, in case you've forgotten: erin\n"), "{body}");
    assert!(body.ends_with(&format!("The {host} team")), "{body}");

    // Unknown addresses get the same answer and no mail; authenticated callers too.
    request_reset_unknown(&g, "ghost@example.com", "").await;
    request_reset_unknown(&g, "ghost2@example.com", &token(&t)).await;
    post(&g, "/auth/users/reset_password/", json!({"email": "nope"}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));
    post(&g, "/auth/users/reset_password/", json!({})).await.expect(400, json!({"email": ["This field is required."]}));
    post(&g, "/auth/users/reset_password/", json!({"email": ""}))
        .await
        .expect(400, json!({"email": ["This field may not be blank."]}));

    // Confirm: field errors in serializer order, then uid, then token, then the new password.
    let required = json!(["This field is required."]);
    let r = post(&g, "/auth/users/reset_password_confirm/", json!({})).await;
    r.expect(400, json!({"uid": required, "token": required, "new_password": required}));
    assert_keys(&r, &["uid", "token", "new_password"]);
    let bad_uid = json!({"uid": ["Invalid user id or user doesn't exist."]});
    confirm(&g, "zzz", &rtoken, PW2).await.expect(400, bad_uid.clone());
    confirm(&g, &uid_of(987654321), &rtoken, PW2).await.expect(400, bad_uid);
    let bad_token = json!({"token": ["Invalid token for given user."]});
    confirm(&g, &uid, "abc-123", PW2).await.expect(400, bad_token.clone());
    confirm(&g, &uid, &rtoken, "123").await.expect(
        400,
        json!({"new_password": ["This password is too short. It must contain at least 8 characters.",
                                "This password is too common.", "This password is entirely numeric."]}),
    );
    post(&g, "/auth/users/reset_password_confirm/", json!({"uid": uid, "token": rtoken}))
        .await
        .expect(400, json!({"new_password": required}));

    // The token works once, after the failed attempts above.
    let r = confirm(&g, &uid, &rtoken, PW2).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    confirm(&g, &uid, &rtoken, PW2).await.expect(400, bad_token);
    post(&g, "/auth/token/login/", json!({"username": "erin", "password": PW})).await.expect(400, bad_credentials());
    // The auth token survives the reset, and a login hands out the same one.
    assert_eq!(login(&g, "erin", PW2).await, t);
    call(&g, "GET", "/auth/users/me/", &token(&t), None).await.expect(200, me_body(id, "erin", "erin@example.com"));
}

async fn request_reset_unknown(g: &Gw, email: &str, auth: &str) {
    let r = call(g, "POST", "/auth/users/reset_password/", auth, Some(json!({"email": email}))).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert!(g.outbox(email).await.is_empty());
}

async fn token_dies_with_the_password(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "fred", "fred@example.com").await;
    let (uid, first) = request_reset(&g, "fred@example.com").await;
    let (_, second) = request_reset(&g, "fred@example.com").await;
    assert_ne!(first, second);
    assert_eq!(confirm(&g, &uid, &second, PW2).await.status, 204);
    // The password changed: the other outstanding token is dead too.
    confirm(&g, &uid, &first, "Another-Pass-3").await.expect(400, json!({"token": ["Invalid token for given user."]}));
    login(&g, "fred", PW2).await;

    // A token of one user does not reset another's password.
    let other = register(&g, "gina", "gina@example.com").await;
    let (_, fred_token) = request_reset(&g, "fred@example.com").await;
    let r = confirm(
        &g,
        &base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, other.to_string()),
        &fred_token,
        PW2,
    )
    .await;
    r.expect(400, json!({"token": ["Invalid token for given user."]}));
    login(&g, "gina", PW).await;
}

/// Djoser validates the new password first and without the user: a weak password
/// is reported before a bad uid or token, and the similarity rule does not apply.
async fn confirm_checks_the_password_first(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "quinn_long", "quinn@example.com").await;
    let (uid, rtoken) = request_reset(&g, "quinn@example.com").await;
    let weak = json!({"new_password": ["This password is too short. It must contain at least 8 characters.",
                                       "This password is too common.", "This password is entirely numeric."]});
    confirm(&g, &uid, "bad", "1").await.expect(400, weak.clone());
    confirm(&g, "zzz", "bad", "1").await.expect(400, weak);
    assert_eq!(confirm(&g, &uid, &rtoken, "quinn_long1").await.status, 204);
    login(&g, "quinn_long", "quinn_long1").await;
    // Registration, by contrast, compares with the username.
    post(&g, "/auth/users/", json!({"username": "rita_long", "password": "rita_long1", "re_password": "rita_long1"}))
        .await
        .expect(400, json!({"password": ["The password is too similar to the username."]}));
}

/// Documented difference: the engine looks emails up case-insensitively, so an
/// upper-case address reaches the user (Djoser's exact-case lookup sends nothing).
async fn email_lookup_ignores_case(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "hank", "hank@example.com").await;
    let r = post(&g, "/auth/users/reset_password/", json!({"email": "HANK@EXAMPLE.COM"})).await;
    assert_eq!(r.status, 204);
    let mails = g.outbox("hank@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], json!(["hank@example.com"]));
}

both_stores!(reset_flow, token_dies_with_the_password, confirm_checks_the_password_first, email_lookup_ignores_case);
