//! food2gether password reset over HTTP, on both stores: PUT reset/ mails a
//! token, POST reset/ with `Authorization: Bearer <reset token>` sets the
//! password. JSON, form and multipart bodies (the document uses curl --form).

use std::time::Duration;

use crate::support::food2gether::*;
use crate::support::{gateway, Gw, Res, StoreKind};
use serde_json::json;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Json,
    Form,
    Multipart,
}

const KINDS: [Kind; 3] = [Kind::Json, Kind::Form, Kind::Multipart];

/// Sends `fields` in the given encoding.
async fn send(g: &Gw, method: &str, path: &str, auth: Option<&str>, kind: Kind, fields: &[(&str, &str)]) -> Res {
    let mut rb = g.http.request(method.parse().unwrap(), g.url(D, path));
    if let Some(a) = auth {
        rb = rb.header("Authorization", a);
    }
    rb = match kind {
        Kind::Json => {
            let map: serde_json::Map<_, _> = fields.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
            rb.json(&map)
        }
        Kind::Form => rb.form(fields),
        Kind::Multipart => rb.multipart(
            fields.iter().fold(reqwest::multipart::Form::new(), |f, (k, v)| f.text(k.to_string(), v.to_string())),
        ),
    };
    crate::support::read(rb.send().await.unwrap()).await
}

async fn request_reset(g: &Gw, email: &str) -> String {
    ok_null(&send(g, "PUT", RESET, None, Kind::Json, &[("email", email)]).await);
    g.last_mail_token(email).await
}

async fn reset_request_with_every_body(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "ida@example.com", "pw").await;
    for (i, k) in KINDS.into_iter().enumerate() {
        // The document's example: no trailing slash, a (needless) Basic header, a form body.
        let auth = basic("ida@example.com", "pw");
        let r = send(&g, "PUT", "/api/v1/authentication/reset", Some(&auth), k, &[("email", "ida@example.com")]).await;
        ok_null(&r);
        let mails = g.outbox("ida@example.com").await;
        assert_eq!(mails.len(), i + 1, "{k:?}");
        let mail = mails.last().unwrap();
        assert_eq!(mail["purpose"], "password_reset");
        assert_eq!(mail["dialect"], D);
        let token = mail["token"].as_str().unwrap();
        assert!(mail["body"].as_str().unwrap().contains(&format!("Authorization: Bearer {token}")));
    }
    // Any case of the email finds the account.
    ok_null(&send(&g, "PUT", RESET, None, Kind::Json, &[("email", " IDA@example.COM ")]).await);
    assert_eq!(g.outbox("ida@example.com").await.len(), 4);

    for k in KINDS {
        let r = send(&g, "PUT", RESET, None, k, &[("email", "ghost@example.com")]).await;
        fails(&r, 404, "account.notfound");
        fails(&send(&g, "PUT", RESET, None, k, &[]).await, 400, "email.required");
        fails(&send(&g, "PUT", RESET, None, k, &[("email", " ")]).await, 400, "email.required");
    }
    assert!(g.outbox("ghost@example.com").await.is_empty());
    let r = g.send(D, "PUT", RESET, &[("Content-Type", "application/json")], Some(br#"{"email": 7}"#)).await;
    fails(&r, 404, "account.notfound");
    let r = g.send(D, "PUT", RESET, &[("Content-Type", "application/json")], Some(br#"{"email": false}"#)).await;
    fails(&r, 400, "email.invalid");
}

async fn reset_confirm_with_every_body(kind: StoreKind) {
    let g = gw(kind).await;
    let email = "jo@example.com";
    let mut old = "pw-0".to_owned();
    let session = register(&g, email, &old).await;
    for (i, k) in KINDS.into_iter().enumerate() {
        let token = request_reset(&g, email).await;
        let new = format!("pw-{} with space ", i + 1);
        let r = send(&g, "POST", "/api/v1/authentication/reset", Some(&bearer(&token)), k, &[("password", &new)]).await;
        ok_null(&r);
        fails(&login(&g, email, &old).await, 401, "authentication.failed");
        token_of(&login(&g, email, &new).await, 200);
        // Spent.
        let r = send(&g, "POST", RESET, Some(&bearer(&token)), k, &[("password", "again")]).await;
        fails(&r, 400, "token.invalid");
        old = new;
    }
    // A reset ends the sessions that existed before it.
    fails(&logout(&g, Some(&bearer(&session))).await, 401, "authentication.failed");
    // The keyword is case-insensitive.
    let token = request_reset(&g, email).await;
    let r = send(&g, "POST", RESET, Some(&format!("bearer {token}")), Kind::Json, &[("password", "final")]).await;
    ok_null(&r);
    token_of(&login(&g, email, "final").await, 200);
}

async fn reset_confirm_refusals(kind: StoreKind) {
    let g = gw(kind).await;
    let email = "kim@example.com";
    register(&g, email, "pw").await;
    let token = request_reset(&g, email).await;

    for k in KINDS {
        let pw = [("password", "new-pw")];
        fails(&send(&g, "POST", RESET, None, k, &pw).await, 400, "token.invalid");
        fails(&send(&g, "POST", RESET, Some("Bearer"), k, &pw).await, 400, "token.invalid");
        fails(&send(&g, "POST", RESET, Some("Bearer not-a-token"), k, &pw).await, 400, "token.invalid");
        fails(&send(&g, "POST", RESET, Some(&format!("Bearer {token}x")), k, &pw).await, 400, "token.invalid");
        fails(&send(&g, "POST", RESET, Some(&format!("Token {token}")), k, &pw).await, 400, "token.invalid");
        fails(&send(&g, "POST", RESET, Some(&basic(email, "pw")), k, &pw).await, 400, "token.invalid");
        // A session token is not a reset token.
        let session = token_of(&login(&g, email, "pw").await, 200);
        fails(&send(&g, "POST", RESET, Some(&bearer(&session)), k, &pw).await, 400, "token.invalid");
        // The password is checked before the token, and a refusal does not spend the token.
        fails(&send(&g, "POST", RESET, Some(&bearer(&token)), k, &[]).await, 400, "password.required");
        fails(&send(&g, "POST", RESET, Some(&bearer(&token)), k, &[("password", "")]).await, 400, "password.required");
        fails(&send(&g, "POST", RESET, Some("Bearer bad"), k, &[]).await, 400, "password.required");
    }
    let r = g
        .send(
            D,
            "POST",
            RESET,
            &[("Authorization", &bearer(&token)), ("Content-Type", "application/json")],
            Some(br#"{"password": ["x"]}"#),
        )
        .await;
    fails(&r, 400, "password.invalid");
    // Nothing changed so far; the token still works once.
    token_of(&login(&g, email, "pw").await, 200);

    // Two outstanding tokens: using one kills the other.
    let second = request_reset(&g, email).await;
    ok_null(&send(&g, "POST", RESET, Some(&bearer(&token)), Kind::Form, &[("password", "pw2")]).await);
    let r = send(&g, "POST", RESET, Some(&bearer(&second)), Kind::Form, &[("password", "pw3")]).await;
    fails(&r, 400, "token.invalid");
    token_of(&login(&g, email, "pw2").await, 200);
}

async fn reset_token_expires(kind: StoreKind) {
    let g = gateway(kind).mount(D, "/").extra("[tokens]\none_time_ttl_secs = 1\n").start().await;
    register(&g, "lou@example.com", "pw").await;
    let token = request_reset(&g, "lou@example.com").await;
    // The lifetime is the condition under test: let it pass.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = send(&g, "POST", RESET, Some(&bearer(&token)), Kind::Json, &[("password", "new")]).await;
    fails(&r, 400, "token.invalid");
    token_of(&login(&g, "lou@example.com", "pw").await, 200);
    // A fresh token within its lifetime works.
    let token = request_reset(&g, "lou@example.com").await;
    ok_null(&send(&g, "POST", RESET, Some(&bearer(&token)), Kind::Json, &[("password", "new")]).await);
}

both_stores!(reset_request_with_every_body, reset_confirm_with_every_body, reset_confirm_refusals, reset_token_expires);
