//! The Djoser dialect over HTTP, on both stores: registration, token login and
//! logout, users/me. Expected answers are those of the reference server
//! (Djoser 2.3.5, DRF 3.18; see scripts/reference-recordings/djoser.json).

mod account;
mod activation;
mod jwt;
mod reset;
mod routing;
mod users;

use crate::support::djoser::*;
use crate::support::StoreKind;
use serde_json::json;

async fn register_login_logout(kind: StoreKind) {
    let g = gw(kind).await;
    let r = post(
        &g,
        "/auth/users/",
        json!({"username": "alice", "password": PW, "re_password": PW, "email": "a@example.com"}),
    )
    .await;
    r.expect(201, json!({"email": "a@example.com", "username": "alice", "id": 1}));
    assert_keys(&r, &["email", "username", "id"]);
    assert_eq!(r.header("allow"), Some(ALLOW_USERS));
    assert_eq!(r.header("content-type"), Some("application/json"));

    // DRF authtoken: one token per user, handed out again while it lives.
    let t = login(&g, "alice", PW).await;
    assert_eq!(login(&g, "alice", PW).await, t);
    let me = me_body(1, "alice", "a@example.com");
    for auth in [token(&t), bearer(&t), format!("token {t}"), format!("bearer {t}")] {
        let r = call(&g, "GET", "/auth/users/me/", &auth, None).await;
        r.expect(200, me.clone());
        assert_keys(&r, &["email", "id", "username"]);
        assert_eq!(r.header("allow"), Some(ALLOW_ME));
    }

    let r = call(&g, "POST", "/auth/token/logout/", &token(&t), None).await;
    assert_eq!((r.status, r.text.as_str(), r.header("content-type")), (204, "", None));
    assert_eq!(r.header("allow"), Some(ALLOW_POST));
    let r = call(&g, "GET", "/auth/users/me/", &token(&t), None).await;
    r.expect(401, invalid_token());
    assert_eq!(r.header("www-authenticate"), Some("Token"));
    call(&g, "POST", "/auth/token/logout/", &token(&t), None).await.expect(401, invalid_token());
    call(&g, "POST", "/auth/token/logout/", "", None).await.expect(401, not_provided());

    // A new login after logout gives a new token; logout takes Bearer and ignores a body.
    let t2 = login(&g, "alice", PW).await;
    assert_ne!(t2, t);
    let r = call(&g, "GET", "/auth/token/logout/", &token(&t2), None).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
    let r = call(&g, "POST", "/auth/token/logout/", &bearer(&t2), Some(json!({"x": 1}))).await;
    assert_eq!(r.status, 204);
    call(&g, "GET", "/auth/users/me/", &bearer(&t2), None).await.expect(401, invalid_token());
}

async fn register_field_errors(kind: StoreKind) {
    let g = gw(kind).await;
    let reg = |body| post(&g, "/auth/users/", body);
    let required = json!(["This field is required."]);
    let r = reg(json!({})).await;
    r.expect(400, json!({"username": required, "password": required, "re_password": required}));
    assert_keys(&r, &["username", "password", "re_password"]);
    reg(json!({"username": "u1", "password": PW})).await.expect(400, json!({"re_password": required}));
    reg(json!({"username": "u1", "password": PW, "re_password": PW2}))
        .await
        .expect(400, json!({"non_field_errors": ["The two password fields didn't match."]}));
    let blank = json!(["This field may not be blank."]);
    let r = reg(json!({"username": "", "password": "", "re_password": "", "email": ""})).await;
    r.expect(400, json!({"username": blank, "password": blank, "re_password": blank}));
    let no_null = json!(["This field may not be null."]);
    let r = reg(json!({"username": null, "password": null, "re_password": null, "email": null})).await;
    r.expect(400, json!({"email": no_null, "username": no_null, "password": no_null, "re_password": no_null}));
    assert_keys(&r, &["email", "username", "password", "re_password"]);

    let bad_name =
        json!(["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]);
    reg(json!({"username": "bad name!", "password": PW, "re_password": PW}))
        .await
        .expect(400, json!({"username": bad_name}));
    reg(json!({"username": format!("L{}", "x".repeat(150)), "password": PW, "re_password": PW}))
        .await
        .expect(400, json!({"username": ["Ensure this field has no more than 150 characters."]}));
    // Every failing validator of a field speaks, in Django's order.
    reg(json!({"username": format!("{}!", "b".repeat(150)), "password": PW, "re_password": PW}))
        .await
        .expect(400, json!({"username": [bad_name[0], "Ensure this field has no more than 150 characters."]}));
    reg(json!({"username": "u1", "password": PW, "re_password": PW, "email": format!("{}@x", "a".repeat(254))}))
        .await
        .expect(
            400,
            json!({"email": ["Ensure this field has no more than 254 characters.", "Enter a valid email address."]}),
        );
    let bad_email = json!({"email": ["Enter a valid email address."]});
    for email in [json!(["a@b.co"]), json!("ü_x@example.com"), json!("x@example")] {
        reg(json!({"username": "u1", "password": PW, "re_password": PW, "email": email}))
            .await
            .expect(400, bad_email.clone());
    }
    reg(json!({"username": "u1", "password": PW, "re_password": PW, "email": "nope"}))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));
    // Field errors in serializer order; the mismatch (a cross-field check) is not reached.
    let r = reg(json!({"username": "a b", "password": PW, "re_password": "x", "email": "nope"})).await;
    r.expect(400, json!({"email": ["Enter a valid email address."], "username": bad_name}));
    assert_keys(&r, &["email", "username"]);
    reg(json!({"username": "   ", "password": PW, "re_password": PW})).await.expect(400, json!({"username": blank}));
    let not_string = json!(["Not a valid string."]);
    reg(json!({"username": "u1", "password": true, "re_password": true}))
        .await
        .expect(400, json!({"password": not_string, "re_password": not_string}));
}

async fn register_accepts_what_django_accepts(kind: StoreKind) {
    let g = gw(kind).await;
    let ok = |user: serde_json::Value, email: &str| {
        post(&g, "/auth/users/", json!({"username": user, "password": PW, "re_password": PW, "email": email}))
    };
    let long = format!("L{}", "x".repeat(149));
    ok(json!(long), "").await.expect(201, json!({"email": "", "username": long, "id": 1}));
    ok(json!(144162273), "").await.expect(201, json!({"email": "", "username": "144162273", "id": 2}));
    ok(json!("Zoë_x"), "").await.expect(201, json!({"email": "", "username": "Zoë_x", "id": 3}));
    ok(json!(" pad_x "), "").await.expect(201, json!({"email": "", "username": "pad_x", "id": 4}));
    // Usernames are case-sensitive, as Django's.
    ok(json!("dj_x"), "dj@example.com")
        .await
        .expect(201, json!({"email": "dj@example.com", "username": "dj_x", "id": 5}));
    ok(json!("DJ_x"), "").await.expect(201, json!({"email": "", "username": "DJ_x", "id": 6}));
    // A duplicate reports the username only, even though the email is taken too.
    ok(json!("dj_x"), "dj@example.com")
        .await
        .expect(400, json!({"username": ["A user with that username already exists."]}));
    // Documented difference: the shared engine keeps emails unique (Djoser does not).
    ok(json!("e_x"), "DJ@example.com")
        .await
        .expect(400, json!({"email": ["user with this email address already exists."]}));
    // Django's create_user lower-cases the domain.
    ok(json!("n_x"), "Mixed.Case@EXAMPLE.COM")
        .await
        .expect(201, json!({"email": "Mixed.Case@example.com", "username": "n_x", "id": 7}));
    let r = post(
        &g,
        "/auth/users/",
        json!({"username": "x_x", "password": PW, "re_password": PW, "is_staff": true, "id": 1}),
    )
    .await;
    r.expect(201, json!({"email": "", "username": "x_x", "id": 8}));
    let r = g
        .post_form(
            D,
            &p("/auth/users/"),
            &[("username", "f_x"), ("password", PW), ("re_password", PW), ("email", "f@example.com")],
        )
        .await;
    r.expect(201, json!({"email": "f@example.com", "username": "f_x", "id": 9}));
    let r =
        g.post_multipart(D, &p("/auth/users/"), &[("username", "m_x"), ("password", PW), ("re_password", PW)]).await;
    r.expect(201, json!({"email": "", "username": "m_x", "id": 10}));
    ok(json!("ip_x"), "ip@[127.0.0.1]")
        .await
        .expect(201, json!({"email": "ip@[127.0.0.1]", "username": "ip_x", "id": 11}));
    // Every one of them can log in.
    for user in ["144162273", "Zoë_x", "pad_x", "DJ_x", "f_x", "m_x"] {
        login(&g, user, PW).await;
    }
}

async fn password_validators(kind: StoreKind) {
    let g = gw(kind).await;
    let reg = |user: &str, pw: &str, again: &str, email: &str| {
        post(&g, "/auth/users/", json!({"username": user, "password": pw, "re_password": again, "email": email}))
    };
    let similar = "The password is too similar to the username.";
    let short = "This password is too short. It must contain at least 8 characters.";
    let common = "This password is too common.";
    let numeric = "This password is entirely numeric.";
    reg("1234567", "1234567", "1234567", "").await.expect(400, json!({"password": [similar, short, common, numeric]}));
    reg("dj_abc12345", "dj_abc12345", "dj_abc12345", "").await.expect(400, json!({"password": [similar]}));
    reg("u1", "Xy7#", "Xy7#", "").await.expect(400, json!({"password": [short]}));
    reg("u1", "password", "password", "").await.expect(400, json!({"password": [common]}));
    reg("u1", "12345678", "12345678", "").await.expect(400, json!({"password": [common, numeric]}));
    reg("u1", "80417293561", "80417293561", "").await.expect(400, json!({"password": [numeric]}));
    reg("zz1", "dj_abc@example", "dj_abc@example", "dj_abc@example.com")
        .await
        .expect(400, json!({"password": ["The password is too similar to the email address."]}));
    // The validators' errors win over a mismatch.
    reg("u1", "123", "456", "").await.expect(400, json!({"password": [short, common, numeric]}));
    // None of these created a user.
    register(&g, "u1", "").await;
}

async fn login_errors(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "bob", "bob@example.com").await;
    let r = post(&g, "/auth/token/login/", json!({"username": "bob", "password": "nope"})).await;
    r.expect(400, bad_credentials());
    assert_eq!(r.header("www-authenticate"), None);
    // Both fields are optional: anything short of a match is the same error.
    for body in [
        json!({"username": "ghost", "password": "nope"}),
        json!({"username": "bob"}),
        json!({"password": PW}),
        json!({}),
        json!({"email": "bob@example.com", "password": PW}),
        json!({"username": "BOB", "password": PW}),
    ] {
        post(&g, "/auth/token/login/", body).await.expect(400, bad_credentials());
    }
    let r = g.send(D, "POST", &p("/auth/token/login/"), &[], None).await;
    r.expect(400, bad_credentials());
    post(&g, "/auth/token/login/", json!({"username": "bob", "password": ""}))
        .await
        .expect(400, json!({"password": ["This field may not be blank."]}));
    post(&g, "/auth/token/login/", json!({"username": "bob", "password": null}))
        .await
        .expect(400, json!({"password": ["This field may not be null."]}));

    // Without the slash, as form and multipart, and padded: all the same token.
    let t = login(&g, "bob", PW).await;
    let r = post(&g, "/auth/token/login", json!({"username": "bob", "password": format!(" {PW} ")})).await;
    r.expect(200, json!({"auth_token": t}));
    let r = g.post_form(D, &p("/auth/token/login/"), &[("username", "bob"), ("password", PW)]).await;
    r.expect(200, json!({"auth_token": t}));
    let r = g.post_multipart(D, &p("/auth/token/login/"), &[("username", "bob"), ("password", PW)]).await;
    r.expect(200, json!({"auth_token": t}));
    let r = g.send(D, "GET", &p("/auth/token/login/"), &[], None).await;
    r.expect(405, json!({"detail": "Method \"GET\" not allowed."}));
    assert_eq!(r.header("allow"), Some(ALLOW_POST));
    let r = g.send(D, "POST", &p("/auth/token/login/"), &[("Content-Type", "text/plain")], Some(b"x")).await;
    r.expect(415, json!({"detail": "Unsupported media type \"text/plain\" in request."}));
    let r = g.send(D, "POST", &p("/auth/token/login/"), &[], Some(br#"{"username":"bob"}"#)).await;
    r.expect(415, json!({"detail": "Unsupported media type \"\" in request."}));
    let r = g.send(D, "POST", &p("/auth/token/login/"), &[("Content-Type", "application/json")], Some(b"[]")).await;
    r.expect(400, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));
}

async fn me_update_and_delete(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "carol", "c@example.com").await;
    let t = token(&login(&g, "carol", PW).await);
    let (access, _) = jwt_pair(&g, "carol", PW).await;
    let me = |email: &str| me_body(id, "carol", email);
    call(&g, "PUT", "/auth/users/me/", &t, Some(json!({"email": "new_c@example.com"})))
        .await
        .expect(200, me("new_c@example.com"));
    // The username is read-only: ignored.
    call(&g, "PUT", "/auth/users/me/", &t, Some(json!({"username": "other", "email": "c@example.com"})))
        .await
        .expect(200, me("c@example.com"));
    call(&g, "PATCH", "/auth/users/me/", &t, Some(json!({"email": "not-an-email"})))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));
    call(&g, "PATCH", "/auth/users/me/", &t, Some(json!({"email": format!("{}@b.cd", "a".repeat(250))})))
        .await
        .expect(400, json!({"email": ["Ensure this field has no more than 254 characters."]}));
    call(&g, "PATCH", "/auth/users/me/", &t, Some(json!({}))).await.expect(200, me("c@example.com"));
    call(&g, "PUT", "/auth/users/me/", &t, Some(json!({}))).await.expect(200, me("c@example.com"));
    call(&g, "PATCH", "/auth/users/me/", &t, Some(json!({"email": ""}))).await.expect(200, me(""));
    call(&g, "PATCH", "/auth/users/me/", &t, Some(json!({"email": null})))
        .await
        .expect(400, json!({"email": ["This field may not be null."]}));
    let r = g.send(D, "PATCH", &p("/auth/users/me/"), &[("Authorization", &t)], None).await;
    r.expect(200, me(""));
    let form =
        g.http.patch(g.url(D, &p("/auth/users/me/"))).header("Authorization", &t).form(&[("email", "c@example.com")]);
    crate::support::read(form.send().await.unwrap()).await.expect(200, me("c@example.com"));
    call(&g, "GET", "/auth/users/me/", &t, None).await.expect(200, me("c@example.com"));
    let r = g
        .send(D, "PUT", &p("/auth/users/me/"), &[("Authorization", &t), ("Content-Type", "text/plain")], Some(b"x"))
        .await;
    r.expect(415, json!({"detail": "Unsupported media type \"text/plain\" in request."}));

    // DELETE needs the current password.
    call(&g, "DELETE", "/auth/users/me/", &t, None)
        .await
        .expect(400, json!({"current_password": ["This field is required."]}));
    call(&g, "DELETE", "/auth/users/me/", &t, Some(json!({"current_password": "nope"})))
        .await
        .expect(400, json!({"current_password": ["Invalid password."]}));
    call(&g, "DELETE", "/auth/users/me/", &t, Some(json!({"current_password": ""})))
        .await
        .expect(400, json!({"current_password": ["This field may not be blank."]}));
    let r = call(&g, "DELETE", "/auth/users/me/", "", Some(json!({"current_password": PW}))).await;
    r.expect(401, not_provided());
    assert_eq!(r.header("www-authenticate"), Some("Token"));
    let r = call(&g, "DELETE", "/auth/users/me/", &t, Some(json!({"current_password": PW}))).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    assert_eq!(r.header("allow"), Some(ALLOW_ME));

    // Gone: its token, its JWT, its login; the username is free again.
    call(&g, "GET", "/auth/users/me/", &t, None).await.expect(401, invalid_token());
    call(&g, "GET", "/auth/users/me/", &bearer(&access), None)
        .await
        .expect(401, json!({"detail": "User not found", "code": "user_not_found"}));
    post(&g, "/auth/token/login/", json!({"username": "carol", "password": PW})).await.expect(400, bad_credentials());
    assert_ne!(register(&g, "carol", "c@example.com").await, id);
}

async fn authorization_header_errors(kind: StoreKind) {
    let g = gw(kind).await;
    register(&g, "dave", "").await;
    let t = login(&g, "dave", PW).await;
    let no_credentials = json!({"detail": "Invalid token header. No credentials provided."});
    let cases = [
        (String::new(), not_provided()),
        ("Token".to_owned(), no_credentials.clone()),
        ("Bearer".to_owned(), no_credentials),
        ("Token a b".to_owned(), json!({"detail": "Invalid token header. Token string should not contain spaces."})),
        ("Token 0123456789abcdef0123456789abcdef01234567".to_owned(), invalid_token()),
        ("Bearer nope".to_owned(), invalid_token()),
        (
            "Bearer a.b.c".to_owned(),
            json!({"detail": "Given token not valid for any token type", "code": "token_not_valid",
                   "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"}]}),
        ),
        ("Basic eDp5".to_owned(), not_provided()),
        (format!("JWT {t}"), not_provided()),
    ];
    for (auth, body) in cases {
        let r = call(&g, "GET", "/auth/users/me/", &auth, None).await;
        assert_eq!(r.status, 401, "{auth}: {}", r.text);
        assert_eq!(r.json(), body, "{auth}");
        assert_eq!(r.header("www-authenticate"), Some("Token"), "{auth}");
        assert_eq!(r.header("allow"), Some(ALLOW_ME), "{auth}");
    }
    // Authentication comes before the body is parsed: no 415 or 400 for an anonymous caller.
    let r = g.send(D, "PUT", &p("/auth/users/me/"), &[("Content-Type", "text/plain")], Some(b"x")).await;
    r.expect(401, not_provided());
    let r = g.send(D, "PATCH", &p("/auth/users/me/"), &[("Content-Type", "application/json")], Some(b"{")).await;
    r.expect(401, not_provided());
    let headers = [("Authorization", "Token nope"), ("Content-Type", "application/json")];
    g.send(D, "POST", &p("/auth/users/"), &headers, Some(b"{")).await.expect(401, invalid_token());
    // A bad credential is refused even on routes open to anyone (DRF authenticates first).
    let r =
        call(&g, "POST", "/auth/token/login/", "Token nope", Some(json!({"username": "dave", "password": PW}))).await;
    r.expect(401, invalid_token());
}

both_stores!(
    register_login_logout,
    register_field_errors,
    register_accepts_what_django_accepts,
    password_validators,
    login_errors,
    me_update_and_delete,
    authorization_header_errors,
);
