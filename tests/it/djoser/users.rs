//! Djoser's users/ and users/<id>/ over HTTP, on both stores: a user sees and
//! changes itself; another user's id is 404 under HIDE_USERS (403 without it,
//! and for DELETE); staff (Django's is_staff, from the seed file) see and
//! change everyone; the API root links the viewset.

use crate::support::djoser::*;
use crate::support::{gateway, StoreKind};
use serde_json::json;

const NOT_FOUND: &str = "Not found.";

fn detail(d: &str) -> serde_json::Value {
    json!({ "detail": d })
}

async fn users_by_id(kind: StoreKind) {
    let g = gw(kind).await;
    let a = register(&g, "ann", "ann@example.com").await;
    let b = register(&g, "ben", "").await;
    let auth = token(&login(&g, "ann", PW).await);
    let path = |id: u64| format!("/auth/users/{id}/");

    let r = call(&g, "GET", &path(a), &auth, None).await;
    r.expect(200, me_body(a, "ann", "ann@example.com"));
    assert_eq!(r.header("allow"), Some(ALLOW_ME));
    call(&g, "GET", &path(a), "", None).await.expect(401, not_provided());
    // The username is read-only; the email changes.
    call(&g, "PUT", &path(a), &auth, Some(json!({"email": "ann2@example.com", "username": "x"})))
        .await
        .expect(200, me_body(a, "ann", "ann2@example.com"));
    call(&g, "PATCH", &path(a), &auth, Some(json!({"email": "nope"})))
        .await
        .expect(400, json!({"email": ["Enter a valid email address."]}));

    // HIDE_USERS: another user is "not found", except for DELETE, which is forbidden.
    for method in ["GET", "PUT", "PATCH"] {
        call(&g, method, &path(b), &auth, Some(json!({}))).await.expect(404, detail(NOT_FOUND));
    }
    call(&g, "DELETE", &path(b), &auth, Some(json!({"current_password": PW})))
        .await
        .expect(403, detail("You do not have permission to perform this action."));
    // An unknown id, found before the body is read; an id that is no number.
    call(&g, "DELETE", "/auth/users/987654321/", &auth, None)
        .await
        .expect(404, detail("No User matches the given query."));
    call(&g, "GET", "/auth/users/987654321/", &auth, None)
        .await
        .expect(404, detail("No User matches the given query."));
    call(&g, "GET", "/auth/users/abc/", &auth, None).await.expect(404, detail(NOT_FOUND));
    call(&g, "GET", "/auth/users/", &auth, None).await.expect(200, json!([me_body(a, "ann", "ann2@example.com")]));

    // DELETE itself by id: the body is checked after the user is found.
    call(&g, "DELETE", &path(a), &auth, None)
        .await
        .expect(400, json!({"current_password": ["This field is required."]}));
    call(&g, "DELETE", &path(a), &auth, Some(json!({"current_password": "x"})))
        .await
        .expect(400, json!({"current_password": ["Invalid password."]}));
    let r = call(&g, "DELETE", &path(a), &auth, Some(json!({"current_password": PW}))).await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    call(&g, "GET", "/auth/users/me/", &auth, None).await.expect(401, invalid_token());
}

async fn hide_users_off(kind: StoreKind) {
    let g = gw_with(kind, "[DJOSER]\nHIDE_USERS = false\n").await;
    let a = register(&g, "cat", "cat@example.com").await;
    let b = register(&g, "dan", "dan@example.com").await;
    let auth = token(&login(&g, "cat", PW).await);
    // Everyone listed, by id; another user is visible in the list but forbidden by id.
    call(&g, "GET", "/auth/users/", &auth, None)
        .await
        .expect(200, json!([me_body(a, "cat", "cat@example.com"), me_body(b, "dan", "dan@example.com")]));
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        call(&g, method, &format!("/auth/users/{b}/"), &auth, Some(json!({"current_password": PW})))
            .await
            .expect(403, detail("You do not have permission to perform this action."));
    }
}

async fn staff_see_and_change_everyone(kind: StoreKind) {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("users.toml");
    std::fs::write(&seed, format!("[[user]]\nusername = \"root\"\npassword = {PW:?}\nis_staff = true\n")).unwrap();
    let g = gateway(kind)
        .mount(D, "/djoser/")
        .extra(&format!("[users]\nseed_file = {:?}\n", seed.display().to_string()))
        .start()
        .await;
    let e = register(&g, "eli", "eli@example.com").await;
    let root = token(&login(&g, "root", PW).await);
    let users = call(&g, "GET", "/auth/users/", &root, None).await;
    assert_eq!(users.status, 200);
    let names: Vec<String> =
        users.json().as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["root", "eli"]);
    call(&g, "GET", &format!("/auth/users/{e}/"), &root, None).await.expect(200, me_body(e, "eli", "eli@example.com"));
    call(&g, "PATCH", &format!("/auth/users/{e}/"), &root, Some(json!({"email": "e@example.com"})))
        .await
        .expect(200, me_body(e, "eli", "e@example.com"));
    // Staff delete with their own password.
    let r = call(&g, "DELETE", &format!("/auth/users/{e}/"), &root, Some(json!({"current_password": PW}))).await;
    assert_eq!(r.status, 204, "{}", r.text);
    post(&g, "/auth/token/login/", json!({"username": "eli", "password": PW})).await.expect(400, bad_credentials());
}

async fn api_root(kind: StoreKind) {
    let g = gw(kind).await;
    let r = call(&g, "GET", "/auth/", "", None).await;
    r.expect(200, json!({"users": format!("http://{}/djoser/auth/users/", g.addr(D))}));
    assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"));
    let r = call(&g, "POST", "/auth/", "", None).await;
    r.expect(405, detail("Method \"POST\" not allowed."));
    // Without the slash: APPEND_SLASH.
    assert_eq!(call(&g, "GET", "/auth", "", None).await.header("location"), Some("/djoser/auth/"));
}

both_stores!(users_by_id, hide_users_off, staff_see_and_change_everyone, api_root);
