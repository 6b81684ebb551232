//! Djoser's activation flow over HTTP, on both stores: with
//! SEND_ACTIVATION_EMAIL new users are inactive (logins refused) until they
//! post the mailed uid and token; a used link is "stale"; resend_activation
//! mails it again; SEND_CONFIRMATION_EMAIL sends Djoser's notices. Without
//! the setting (the default) everything is as before and resend is a bare 400.

use crate::support::djoser::*;
use crate::support::StoreKind;
use serde_json::json;

async fn activation_on(kind: StoreKind) {
    let g = gw_with(kind, ACTIVATION).await;
    let id = register(&g, "ada", "ada@example.com").await;
    let mail = last_mail(&g, "ada@example.com").await;
    assert_eq!(mail["purpose"], "activation");
    let host = g.addr(D).to_string();
    assert_eq!(mail["subject"], format!("Account activation on {host}"));
    let (uid, link_token) = mailed_link(&g, "ada@example.com").await;
    assert_eq!(uid, "MQ");
    let body = mail["body"].as_str().unwrap();
    assert_eq!(
        body,
        format!(
            "You're receiving this email because you need to finish activation process on {host}.\n\n\
             Please go to the following page to activate account:\nhttp://{host}/activate/{uid}/{link_token}\n\n\
             Thanks for using our site!\n\nThe {host} team"
        )
    );

    // Inactive: every login refuses, in each view's own words.
    post(&g, "/auth/token/login/", json!({"username": "ada", "password": PW})).await.expect(400, bad_credentials());
    post(&g, "/auth/jwt/create/", json!({"username": "ada", "password": PW}))
        .await
        .expect(401, json!({"detail": "No active account found with the given credentials"}));

    // resend_activation: a new link for the inactive user, nothing for strangers.
    let r = post(&g, "/auth/users/resend_activation/", json!({"email": "ada@example.com"})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(g.outbox("ada@example.com").await.len(), 2);
    let r = post(&g, "/auth/users/resend_activation/", json!({"email": "ghost@example.com"})).await;
    assert_eq!(r.status, 204);
    post(&g, "/auth/users/resend_activation/", json!({"email": "nope"}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));

    // Errors in Djoser's order: fields, uid, token.
    post(&g, "/auth/users/activation/", json!({}))
        .await
        .expect(400, json!({"uid": ["This field is required."], "token": ["This field is required."]}));
    post(&g, "/auth/users/activation/", json!({"uid": "zzz", "token": link_token}))
        .await
        .expect(400, json!({"uid": ["Invalid user id or user doesn't exist."]}));
    post(&g, "/auth/users/activation/", json!({"uid": uid, "token": "abc-123"}))
        .await
        .expect(400, json!({"token": ["Invalid token for given user."]}));

    // Both links work (the older one too); then the user is active and confirmed.
    let r = post(&g, "/auth/users/activation/", json!({"uid": uid, "token": link_token})).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "{}", r.text);
    let confirmation = last_mail(&g, "ada@example.com").await;
    assert_eq!(confirmation["purpose"], "confirmation");
    assert_eq!(confirmation["subject"], format!("{host} - Your account has been successfully created and activated!"));
    assert!(confirmation.get("token").is_none(), "a notice carries no token: {confirmation}");
    // A used link of an active user is stale (403), until the user logs in.
    post(&g, "/auth/users/activation/", json!({"uid": uid, "token": link_token}))
        .await
        .expect(403, json!({"detail": "Stale token for given user."}));
    let t = login(&g, "ada", PW).await;
    post(&g, "/auth/users/activation/", json!({"uid": uid, "token": link_token}))
        .await
        .expect(400, json!({"token": ["Invalid token for given user."]}));
    call(&g, "GET", "/auth/users/me/", &token(&t), None).await.expect(200, me_body(id, "ada", "ada@example.com"));
    // An active user is not sent the activation mail again.
    let before = g.outbox("ada@example.com").await.len();
    assert_eq!(post(&g, "/auth/users/resend_activation/", json!({"email": "ada@example.com"})).await.status, 204);
    assert_eq!(g.outbox("ada@example.com").await.len(), before);

    // A new email under activation: the account waits for it, the token is refused meanwhile.
    let r = call(&g, "PATCH", "/auth/users/me/", &token(&t), Some(json!({"email": "ada2@example.com"}))).await;
    r.expect(200, me_body(id, "ada", "ada2@example.com"));
    assert_eq!(last_mail(&g, "ada2@example.com").await["purpose"], "activation");
    call(&g, "GET", "/auth/users/me/", &token(&t), None)
        .await
        .expect(401, json!({"detail": "User inactive or deleted."}));
    let (uid, token2) = mailed_link(&g, "ada2@example.com").await;
    assert_eq!(post(&g, "/auth/users/activation/", json!({"uid": uid, "token": token2})).await.status, 204);
    assert_eq!(call(&g, "GET", "/auth/users/me/", &token(&t), None).await.status, 200);
}

async fn activation_off_is_the_default(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "bob", "bob@example.com").await;
    assert!(g.outbox("bob@example.com").await.is_empty(), "no mail without SEND_ACTIVATION_EMAIL");
    login(&g, "bob", PW).await;
    // Djoser's own answer: a bare 400, after the address was validated.
    let r = post(&g, "/auth/users/resend_activation/", json!({"email": "bob@example.com"})).await;
    assert_eq!((r.status, r.text.as_str(), r.header("content-type")), (400, "", None));
    assert_eq!(r.header("allow"), Some(ALLOW_POST));
    post(&g, "/auth/users/resend_activation/", json!({"email": "x"}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));
    // An active user's activation is refused by its token first.
    post(&g, "/auth/users/activation/", json!({"uid": "MQ", "token": "abc"}))
        .await
        .expect(400, json!({"token": ["Invalid token for given user."]}));

    // SEND_CONFIRMATION_EMAIL alone: a welcome notice at registration.
    let g = gw_with(kind, "[DJOSER]\nSEND_CONFIRMATION_EMAIL = true\n").await;
    register(&g, "cy", "cy@example.com").await;
    let m = last_mail(&g, "cy@example.com").await;
    assert_eq!(m["purpose"], "confirmation");
    assert_eq!(
        m["body"],
        format!(
            "Your account has been created and is ready to use!\n\nThanks for using our site!\n\nThe {} team",
            g.addr(D)
        )
    );
    login(&g, "cy", PW).await;
}

async fn show_email_not_found(kind: StoreKind) {
    let g = gw_with(kind, "[DJOSER]\nSEND_ACTIVATION_EMAIL = true\nPASSWORD_RESET_SHOW_EMAIL_NOT_FOUND = true\n").await;
    register(&g, "dee", "dee@example.com").await;
    let unknown = json!(["User with given email does not exist."]);
    for path in ["/auth/users/reset_password/", "/auth/users/reset_username/", "/auth/users/resend_activation/"] {
        post(&g, path, json!({"email": "ghost@example.com"})).await.expect(400, unknown.clone());
    }
    // dee is inactive: unknown to the resets (active users only), known to resend.
    post(&g, "/auth/users/reset_password/", json!({"email": "dee@example.com"})).await.expect(400, unknown);
    assert_eq!(post(&g, "/auth/users/resend_activation/", json!({"email": "dee@example.com"})).await.status, 204);
}

both_stores!(activation_on, activation_off_is_the_default, show_email_not_found);
