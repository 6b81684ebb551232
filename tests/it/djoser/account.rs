//! Djoser's account actions over HTTP, on both stores: set_password and
//! set_username (with and without their retype settings, the change mails,
//! LOGOUT_ON_PASSWORD_CHANGE) and the username reset by mail.

use crate::support::djoser::*;
use crate::support::StoreKind;
use serde_json::json;

async fn set_password(kind: StoreKind) {
    // Stock settings: no retype, no mail, the auth token survives.
    let g = gw(kind).await;
    register(&g, "eve", "eve@example.com").await;
    let t = login(&g, "eve", PW).await;
    let auth = token(&t);
    call(&g, "POST", "/auth/users/set_password/", "", Some(json!({}))).await.expect(401, not_provided());
    call(&g, "POST", "/auth/users/set_password/", &auth, Some(json!({}))).await.expect(
        400,
        json!({"new_password": ["This field is required."], "current_password": ["This field is required."]}),
    );
    call(&g, "POST", "/auth/users/set_password/", &auth, Some(json!({"current_password": "x", "new_password": PW2})))
        .await
        .expect(400, json!({"current_password": ["Invalid password."]}));
    call(&g, "POST", "/auth/users/set_password/", &auth, Some(json!({"current_password": PW, "new_password": "123"})))
        .await
        .expect(
            400,
            json!({"new_password": ["This password is too short. It must contain at least 8 characters.",
                                    "This password is too common.", "This password is entirely numeric."]}),
        );
    let r = call(
        &g,
        "POST",
        "/auth/users/set_password/",
        &auth,
        Some(json!({"current_password": PW, "new_password": PW2})),
    )
    .await;
    assert_eq!((r.status, r.text.as_str()), (204, ""), "{}", r.text);
    post(&g, "/auth/token/login/", json!({"username": "eve", "password": PW})).await.expect(400, bad_credentials());
    assert_eq!(login(&g, "eve", PW2).await, t, "the auth token survives");
    assert!(g.outbox("eve@example.com").await.is_empty());

    // SET_PASSWORD_RETYPE, the mail and LOGOUT_ON_PASSWORD_CHANGE.
    let g = gw_with(kind, "[DJOSER]\nSET_PASSWORD_RETYPE = true\nPASSWORD_CHANGED_EMAIL_CONFIRMATION = true\nLOGOUT_ON_PASSWORD_CHANGE = true\n").await;
    register(&g, "eve", "eve@example.com").await;
    let auth = token(&login(&g, "eve", PW).await);
    call(&g, "POST", "/auth/users/set_password/", &auth, Some(json!({}))).await.expect(
        400,
        json!({"new_password": ["This field is required."], "re_new_password": ["This field is required."],
                   "current_password": ["This field is required."]}),
    );
    let body = json!({"current_password": PW, "new_password": PW2, "re_new_password": "Other-Pass-77"});
    call(&g, "POST", "/auth/users/set_password/", &auth, Some(body))
        .await
        .expect(400, json!({"non_field_errors": ["The two password fields didn't match."]}));
    let body = json!({"current_password": PW, "new_password": PW2, "re_new_password": PW2});
    assert_eq!(call(&g, "POST", "/auth/users/set_password/", &auth, Some(body)).await.status, 204);
    let m = last_mail(&g, "eve@example.com").await;
    assert_eq!(m["purpose"], "password_changed_confirmation");
    assert_eq!(m["subject"], format!("{} - Your password has been successfully changed!", g.addr(D)));
    call(&g, "GET", "/auth/users/me/", &auth, None).await.expect(401, invalid_token());
    login(&g, "eve", PW2).await;
}

async fn set_username(kind: StoreKind) {
    let g = gw_with(kind, "[DJOSER]\nSET_USERNAME_RETYPE = true\nUSERNAME_CHANGED_EMAIL_CONFIRMATION = true\n").await;
    let id = register(&g, "finn", "finn@example.com").await;
    register(&g, "gus", "").await;
    let auth = token(&login(&g, "finn", PW).await);
    let set = |body| call(&g, "POST", "/auth/users/set_username/", &auth, Some(body));
    set(json!({})).await.expect(
        400,
        json!({"current_password": ["This field is required."], "new_username": ["This field is required."],
               "re_new_username": ["This field is required."]}),
    );
    // Field validators together: the password, then the name's uniqueness.
    set(json!({"current_password": "x", "new_username": "gus", "re_new_username": "gus"})).await.expect(
        400,
        json!({"current_password": ["Invalid password."], "new_username": ["A user with that username already exists."]}),
    );
    set(json!({"current_password": PW, "new_username": "bad name!", "re_new_username": "bad name!"})).await.expect(
        400,
        json!({"new_username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}),
    );
    set(json!({"current_password": PW, "new_username": "fin", "re_new_username": "fim"}))
        .await
        .expect(400, json!({"non_field_errors": ["The two username fields didn't match."]}));
    // Its own name is not "taken".
    assert_eq!(
        set(json!({"current_password": PW, "new_username": "finn", "re_new_username": "finn"})).await.status,
        204
    );
    assert_eq!(set(json!({"current_password": PW, "new_username": "fin", "re_new_username": "fin"})).await.status, 204);
    call(&g, "GET", "/auth/users/me/", &auth, None).await.expect(200, me_body(id, "fin", "finn@example.com"));
    login(&g, "fin", PW).await;
    post(&g, "/auth/token/login/", json!({"username": "finn", "password": PW})).await.expect(400, bad_credentials());
    let m = last_mail(&g, "finn@example.com").await;
    assert_eq!(m["purpose"], "username_changed_confirmation");
    assert_eq!(g.outbox("finn@example.com").await.len(), 2);

    // Without the retype the field does not exist.
    let g = gw(kind).await;
    register(&g, "finn", "").await;
    let auth = token(&login(&g, "finn", PW).await);
    call(&g, "POST", "/auth/users/set_username/", &auth, Some(json!({}))).await.expect(
        400,
        json!({"current_password": ["This field is required."], "new_username": ["This field is required."]}),
    );
}

async fn username_reset(kind: StoreKind) {
    let g = gw_with(kind, "[DJOSER]\nUSERNAME_RESET_CONFIRM_RETYPE = true\nUSERNAME_CHANGED_EMAIL_CONFIRMATION = true\nUSERNAME_RESET_CONFIRM_URL = \"#/u/{uid}/{token}\"\n").await;
    register(&g, "hal", "hal@example.com").await;
    register(&g, "ida", "").await;
    let r = post(&g, "/auth/users/reset_username/", json!({"email": "ghost@example.com"})).await;
    assert_eq!(r.status, 204);
    assert_eq!(post(&g, "/auth/users/reset_username/", json!({"email": "hal@example.com"})).await.status, 204);
    let m = last_mail(&g, "hal@example.com").await;
    assert_eq!(m["purpose"], "username_reset");
    let (uid, tok) = mailed_link(&g, "hal@example.com").await;
    let host = g.addr(D);
    assert_eq!(m["subject"], format!("Username reset on {host}"));
    assert!(m["body"]
        .as_str()
        .unwrap()
        .contains(&format!("http://{host}/#/u/{uid}/{tok}\nYour username, in case you've forgotten: hal")));

    let confirm = |body| post(&g, "/auth/users/reset_username_confirm/", body);
    // uid and token are not fields of Djoser's serializer: only the names are required.
    confirm(json!({})).await.expect(
        400,
        json!({"new_username": ["This field is required."], "re_new_username": ["This field is required."]}),
    );
    confirm(json!({"new_username": "hank", "re_new_username": "hank"}))
        .await
        .expect(400, json!({"uid": ["Invalid user id or user doesn't exist."]}));
    confirm(json!({"uid": uid, "token": tok, "new_username": "ida", "re_new_username": "ida"}))
        .await
        .expect(400, json!({"new_username": ["A user with that username already exists."]}));
    confirm(json!({"uid": uid, "token": "nope", "new_username": "hank", "re_new_username": "hank"}))
        .await
        .expect(400, json!({"token": ["Invalid token for given user."]}));
    confirm(json!({"uid": uid, "token": tok, "new_username": "hank", "re_new_username": "hans"}))
        .await
        .expect(400, json!({"non_field_errors": ["The two username fields didn't match."]}));
    let r = confirm(json!({"uid": uid, "token": tok, "new_username": "hank", "re_new_username": "hank"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(last_mail(&g, "hal@example.com").await["purpose"], "username_changed_confirmation");
    login(&g, "hank", PW).await;
    // Single use.
    confirm(json!({"uid": uid, "token": tok, "new_username": "hugo", "re_new_username": "hugo"}))
        .await
        .expect(400, json!({"token": ["Invalid token for given user."]}));
}

async fn retype_and_login_field_settings(kind: StoreKind) {
    // Djoser's own default: no re_password (an unknown field is ignored, as DRF does).
    let g = gw_with(kind, "[DJOSER]\nUSER_CREATE_PASSWORD_RETYPE = false\nPASSWORD_RESET_CONFIRM_RETYPE = true\nLOGIN_FIELD = \"email\"\n").await;
    let body = json!({"username": "jo", "password": PW, "re_password": "anything", "email": "jo@example.com"});
    post(&g, "/auth/users/", body).await.expect(201, json!({"email": "jo@example.com", "username": "jo", "id": 1}));
    // LOGIN_FIELD: token/login/ reads `email`.
    post(&g, "/auth/token/login/", json!({"username": "jo", "password": PW})).await.expect(400, bad_credentials());
    let r = post(&g, "/auth/token/login/", json!({"email": "jo@example.com", "password": PW})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // PASSWORD_RESET_CONFIRM_RETYPE: re_new_password required, compared before uid and token.
    assert_eq!(post(&g, "/auth/users/reset_password/", json!({"email": "jo@example.com"})).await.status, 204);
    let (uid, tok) = mailed_link(&g, "jo@example.com").await;
    let confirm = |body| post(&g, "/auth/users/reset_password_confirm/", body);
    confirm(json!({"uid": uid, "token": tok, "new_password": PW2}))
        .await
        .expect(400, json!({"re_new_password": ["This field is required."]}));
    confirm(json!({"uid": "zzz", "token": "x", "new_password": PW2, "re_new_password": "Other-Pass-77"}))
        .await
        .expect(400, json!({"non_field_errors": ["The two password fields didn't match."]}));
    let r = confirm(json!({"uid": uid, "token": tok, "new_password": PW2, "re_new_password": PW2})).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

both_stores!(set_password, set_username, username_reset, retype_and_login_field_settings);
