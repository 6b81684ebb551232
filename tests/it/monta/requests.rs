//! Monta's refusals on the reset and verification endpoints, and the
//! Django/DRF shell around every route (405 + Allow, APPEND_SLASH 301, 404),
//! on both stores.

use crate::support::monta::*;
use crate::support::{gateway, StoreKind};
use serde_json::json;

const CAROL: SeedUser<'static> = ("carol", "carol@example.com", "carol-pass-1");

fn required(fields: &[&str]) -> serde_json::Value {
    fields.iter().map(|f| (f.to_string(), json!(["This field is required."]))).collect()
}

async fn email_requests_refuse_bad_addresses(kind: StoreKind) {
    let g = gw(kind, &[CAROL]).await;
    for path in [RESET, EMAIL_VERIFY] {
        g.post_json(D, path, json!({})).await.expect(400, required(&["email"]));
        g.post_json(D, path, json!({"email": "  "}))
            .await
            .expect(400, json!({"email": ["This field may not be blank."]}));
        for bad in ["nope", "carol@", "carol@example", "a b@example.com"] {
            g.post_json(D, path, json!({ "email": bad }))
                .await
                .expect(400, json!({"email": ["Enter a valid email address."]}));
        }
        // An address nobody has is refused (see dialects/monta.toml for why), and nothing is mailed.
        g.post_json(D, path, json!({"email": "nobody@example.com"}))
            .await
            .expect(400, json!({"email": ["User with given email does not exist."]}));
        g.post_form(D, path, &[("email", "nobody@example.com")])
            .await
            .expect(400, json!({"email": ["User with given email does not exist."]}));
    }
    assert!(g.outbox("nobody@example.com").await.is_empty());
    assert!(g.outbox("carol@example.com").await.is_empty());
}

async fn reset_confirm_refusals(kind: StoreKind) {
    let g = gw(kind, &[CAROL]).await;
    let invalid = json!({"token": ["Invalid or expired token."]});
    g.post_json(D, RESET_CONFIRM, json!({})).await.expect(400, required(&["token", "new_password"]));
    g.post_json(D, RESET_CONFIRM, json!({"token": "made-up", "new_password": "carol-pass-2"}))
        .await
        .expect(400, invalid.clone());

    let r = g.post_json(D, RESET, json!({"email": "carol@example.com"})).await;
    assert_eq!(r.status, 204);
    let first = g.last_mail_token("carol@example.com").await;
    // A refused request does not spend the token.
    g.post_json(D, RESET_CONFIRM, json!({"token": first, "new_password": " "}))
        .await
        .expect(400, json!({"new_password": ["This field may not be blank."]}));
    g.post_json(D, RESET_CONFIRM, json!({ "token": first })).await.expect(400, required(&["new_password"]));
    let r = g.post_json(D, RESET, json!({"email": "carol@example.com"})).await;
    assert_eq!(r.status, 204);
    let second = g.last_mail_token("carol@example.com").await;
    assert_ne!(first, second);
    let r = g.post_json(D, RESET_CONFIRM, json!({"token": second, "new_password": "carol-pass-2"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    // Using one token ends the others; a used token stays used.
    g.post_json(D, RESET_CONFIRM, json!({"token": first, "new_password": "carol-pass-3"}))
        .await
        .expect(400, invalid.clone());
    g.post_json(D, RESET_CONFIRM, json!({"token": second, "new_password": "carol-pass-3"})).await.expect(400, invalid);
    login(&g, "carol", "carol-pass-2").await;
}

async fn email_confirm_refusals(kind: StoreKind) {
    let g = gw(kind, &[CAROL]).await;
    let invalid = json!({"token": ["Invalid or expired token."]});
    g.post_json(D, EMAIL_CONFIRM, json!({})).await.expect(400, required(&["token"]));
    g.post_json(D, EMAIL_CONFIRM, json!({"token": ""}))
        .await
        .expect(400, json!({"token": ["This field may not be blank."]}));
    g.post_json(D, EMAIL_CONFIRM, json!({"token": "made-up"})).await.expect(400, invalid.clone());
    // A reset token does not verify an email.
    let r = g.post_json(D, RESET, json!({"email": "carol@example.com"})).await;
    assert_eq!(r.status, 204);
    let reset = g.last_mail_token("carol@example.com").await;
    g.post_json(D, EMAIL_CONFIRM, json!({ "token": reset })).await.expect(400, invalid);
    // The reset token is still good for its own purpose.
    let r = g.post_json(D, RESET_CONFIRM, json!({"token": reset, "new_password": "carol-pass-2"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

async fn wrong_methods(kind: StoreKind) {
    let g = gw(kind, &[CAROL]).await;
    let token = login(&g, "carol", "carol-pass-1").await;
    let not_allowed = |m: &str| json!({ "detail": format!("Method \"{m}\" not allowed.") });
    // Anonymous views: 405 with DRF's Allow, whatever Authorization says (they ignore it).
    for path in [LOGIN, RESET, RESET_CONFIRM, EMAIL_VERIFY, EMAIL_CONFIRM] {
        let r = g.send(D, "GET", path, &[], None).await;
        r.expect(405, not_allowed("GET"));
        assert_eq!(r.header("allow"), Some("POST, OPTIONS"), "{path}");
        let r = g.send(D, "PUT", path, &[("Authorization", "Token bogus")], None).await;
        r.expect(405, not_allowed("PUT"));
    }
    let r = g.send(D, "HEAD", LOGIN, &[], None).await;
    assert_eq!((r.status, r.text.as_str()), (405, ""));
    g.send(D, "FOO", LOGIN, &[], None).await.expect(405, not_allowed("FOO"));
    // IsAuthenticated views: 401 before 405 for an anonymous caller, 405 for an authenticated one.
    for (path, allow) in [(VERIFY, "GET, POST, HEAD, OPTIONS"), (REFRESH, "POST, OPTIONS"), (REVOKE, "POST, OPTIONS")] {
        let r = g.send(D, "DELETE", path, &[], None).await;
        r.expect(401, not_provided());
        assert_eq!(r.header("www-authenticate"), Some("Token"));
        assert_eq!(r.header("allow"), Some(allow));
        g.send(D, "DELETE", path, &[("Authorization", "Token bogus")], None).await.expect(401, invalid_token());
        let r = g.send(D, "DELETE", path, &[("Authorization", &crate::support::token(&token))], None).await;
        r.expect(405, not_allowed("DELETE"));
        assert_eq!(r.header("allow"), Some(allow));
    }
    // GET on refresh and revoke neither refreshes nor revokes.
    g.send(D, "GET", REVOKE, &[("Authorization", &crate::support::token(&token))], None)
        .await
        .expect(405, not_allowed("GET"));
    verify(&g, &token).await.expect(200, json!({}));
}

async fn slashes_and_unknown_paths(kind: StoreKind) {
    let g = gw(kind, &[CAROL]).await;
    // Django's APPEND_SLASH: 301 to the slash URL, query kept, for any method.
    for (method, path) in
        [("POST", LOGIN), ("GET", VERIFY), ("POST", REFRESH), ("POST", RESET_CONFIRM), ("POST", EMAIL_CONFIRM)]
    {
        let bare = path.trim_end_matches('/');
        let r = g.send(D, method, bare, &[], None).await;
        assert_eq!(r.status, 301, "{method} {bare}");
        assert_eq!(r.header("location"), Some(path));
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.text, "");
    }
    let r = g.send(D, "GET", "/api/auth/token/verify?next=%2Fhome", &[], None).await;
    assert_eq!(r.header("location"), Some("/api/auth/token/verify/?next=%2Fhome"));
    for path in ["/api/auth/nope/", "/api/auth/token/x/", "/api/auth/", "/", "/api/auth/token//", "/api/auth/nope"] {
        let r = g.send(D, "POST", path, &[], None).await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.text.contains("<h1>Not Found</h1>"), "{path}");
        assert_eq!(r.header("allow"), None);
    }
}

async fn mounted_under_a_prefix(kind: StoreKind) {
    let (dir, path) = seed_file(&[CAROL]);
    let g = gateway(kind).mount(D, "/monta").extra(&format!("[users]\nseed_file = {path:?}")).start().await;
    drop(dir);
    let r = g.post_json(D, "/monta/api/auth/token/", json!({"username": "carol", "password": "carol-pass-1"})).await;
    let token = token_of(&r);
    let r = g
        .send(D, "GET", "/monta/api/auth/token/verify/", &[("Authorization", &crate::support::token(&token))], None)
        .await;
    r.expect(200, json!({}));
    let r = g.send(D, "POST", "/monta/api/auth/token", &[], None).await;
    assert_eq!((r.status, r.header("location")), (301, Some("/monta/api/auth/token/")));
    let r = g.post_json(D, "/monta/api/auth/password/reset/", json!({"email": "carol@example.com"})).await;
    assert_eq!(r.status, 204);
    let mail = g.outbox("carol@example.com").await.pop().unwrap();
    let link = format!("http://{}/monta/api/auth/password/reset/confirm/", g.addr(D));
    assert!(mail["body"].as_str().unwrap().contains(&link), "{}", mail["body"]);
    assert_eq!(g.send(D, "POST", LOGIN, &[], None).await.status, 404);
}

both_stores!(
    email_requests_refuse_bad_addresses,
    reset_confirm_refusals,
    email_confirm_refusals,
    wrong_methods,
    slashes_and_unknown_paths,
    mounted_under_a_prefix,
);
