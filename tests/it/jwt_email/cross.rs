//! jwt-email users shared with the other dialects, and how email case is
//! compared, on both stores. A user registered here is named by its email in
//! the username dialects (SimpleJWT here); a user made elsewhere logs in here
//! when it has an email. Email is compared case-insensitively as a whole, so
//! one address is always one user.

use crate::support::jwt::*;
use crate::support::jwt_email::*;
use crate::support::simplejwt::D as SJ;
use crate::support::{Gw, StoreKind};
use serde_json::json;

async fn both(kind: StoreKind, extra: &str) -> Gw {
    builder(kind).mount(SJ, "/").extra(extra).start().await
}

async fn registered_here_logs_in_by_username_elsewhere(kind: StoreKind) {
    let g = both(kind, "").await;
    let id = register(&g, "Quinn@Example.COM", "Secr3t-pass!").await;
    // Its username is its stored email (domain lower-cased).
    let r = g.post_json(SJ, "/auth/token", json!({"username": "Quinn@example.com", "password": "Secr3t-pass!"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let access = r.json()["access"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["user_id"], id.to_string());
    g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None)
        .await
        .expect(200, json!({"username": "Quinn@example.com"}));
    // One engine, one signing key: a pair issued here is good in the other dialect and back.
    let (here, refresh) = login(&g, "quinn@example.com", "Secr3t-pass!").await;
    g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {here}"))], None)
        .await
        .expect(200, json!({"username": "Quinn@example.com"}));
    let r = g.post_json(D, REFRESH, json!({"refresh": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // SimpleJWT cannot take the name again.
    g.post_json(SJ, "/auth/register", json!({"username": "Quinn@example.com", "password": "x"}))
        .await
        .expect(409, json!({"detail": "User already exists"}));
    // A password changed through a reset here holds there.
    g.post_json(D, RESET, json!({"email": "quinn@example.com"})).await;
    let token = g.last_mail_token("Quinn@example.com").await;
    g.post_json(D, &confirm_path(&token), json!({"password": "N3w-pass"}))
        .await
        .expect(200, json!({"message": "Password has been reset"}));
    let r = g.post_json(SJ, "/auth/token", json!({"username": "Quinn@example.com", "password": "N3w-pass"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn users_with_an_email_log_in_here(kind: StoreKind) {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("users.toml");
    std::fs::write(
        &seed,
        "[[user]]\nusername = \"rita\"\nemail = \"Rita.R@Example.org\"\npassword = \"Secr3t-pass!\"\n",
    )
    .unwrap();
    let g = both(kind, &format!("[users]\nseed_file = {:?}", seed.display().to_string())).await;
    // A user made outside this dialect, with an email: it logs in here by email, any case.
    for email in ["Rita.R@example.org", "rita.r@EXAMPLE.ORG"] {
        let (access, _) = login(&g, email, "Secr3t-pass!").await;
        g.send(SJ, "GET", "/auth/getuser", &[("Authorization", &format!("Bearer {access}"))], None)
            .await
            .expect(200, json!({"username": "rita"}));
    }
    g.post_json(D, REGISTER, json!({"email": "rita.r@example.org", "password": "x"}))
        .await
        .expect(400, json!({"email": ["user with this email address already exists."]}));
    // A SimpleJWT user has no email: it cannot log in here, not even by its username.
    let r = g.post_json(SJ, "/auth/register", json!({"username": "sam@example.com", "password": "pw"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    g.post_json(D, TOKEN, json!({"email": "sam@example.com", "password": "pw"}))
        .await
        .expect(401, json!({"detail": NO_ACCOUNT}));
    g.post_json(D, RESET, json!({"email": "sam@example.com"}))
        .await
        .expect(404, json!({"detail": "User with this email does not exist"}));
    // Nor can this dialect register that address: it already names a user.
    g.post_json(D, REGISTER, json!({"email": "sam@example.com", "password": "x"}))
        .await
        .expect(400, json!({"email": ["user with this email address already exists."]}));
}

async fn email_case_is_one_account(kind: StoreKind) {
    let g = gw(kind).await;
    let id = register(&g, "Tess.T@Example.com", "Secr3t-pass!").await;
    // Stored with the local part as typed and the domain lower-cased; found in any case.
    for email in ["Tess.T@example.com", "tess.t@example.com", "TESS.T@EXAMPLE.COM"] {
        let (access, _) = login(&g, email, "Secr3t-pass!").await;
        assert_eq!(claims(&access)["user_id"], id.to_string());
        g.post_json(D, REGISTER, json!({"email": email, "password": "x"}))
            .await
            .expect(400, json!({"email": ["user with this email address already exists."]}));
    }
    g.post_json(D, RESET, json!({"email": "TESS.t@example.COM"}))
        .await
        .expect(200, json!({"message": "Password reset link sent"}));
    let mails = g.outbox("tess.t@example.com").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["to"], json!(["Tess.T@example.com"]));
}

both_stores!(registered_here_logs_in_by_username_elsewhere, users_with_an_email_log_in_here, email_case_is_one_account);
