//! Importing another backend's users and tokens, on every store: records
//! under their own ids with their claims, never overwriting; imported
//! auth-token keys that authenticate and come back from login; the dump
//! reader's report.

use super::{engine, origin, pw};
use crate::support::StoreKind;
use polyauth::engine::import::ImportOptions;
use polyauth::engine::{EngineError, IdentifyBy, TokenImport};
use polyauth::store::{ImportOutcome, StoreError, TokenKind, UniqueField, UserRecord};

fn record(id: u64, username: &str, email: &str) -> UserRecord {
    UserRecord {
        id,
        username: username.into(),
        email: email.into(),
        // bcrypt of "old-password" at cost 4.
        password_hash: bcrypt::hash("old-password", 4).unwrap(),
        is_active: true,
        email_verified: false,
        is_staff: false,
        date_joined: 1_600_000_000,
        last_login: Some(1_650_000_000),
        tokens_revoked_at: None,
    }
}

async fn import_user_keeps_ids_and_claims(kind: StoreKind) {
    let f = engine(kind).await;
    let (e, s) = (&f.engine, f.engine.store());
    let alice = record(7, "alice", "Alice@example.com");
    assert_eq!(s.import_user(&alice).await.unwrap(), ImportOutcome::Created);
    assert_eq!(s.import_user(&alice).await.unwrap(), ImportOutcome::Unchanged, "a re-import writes nothing");
    assert_eq!(e.find_user(7).await.unwrap().as_ref(), Some(&alice));
    assert_eq!(s.find_user_id_by_username("alice").await.unwrap(), Some(7));
    assert_eq!(s.find_user_id_by_email("alice@example.com").await.unwrap(), Some(7));
    // The counter moved past the imported id: a registration never takes it.
    assert_eq!(e.create_user("bob", "bob@example.com", &pw("p")).await.unwrap().id, 8);
    // A lower id imports too, and leaves the counter where it is.
    assert_eq!(s.import_user(&record(3, "carol", "")).await.unwrap(), ImportOutcome::Created);
    assert_eq!(e.create_user("dave", "", &pw("p")).await.unwrap().id, 9);

    // Never overwritten, never merged.
    let later = UserRecord { last_login: Some(1_700_000_000), ..alice.clone() };
    assert_eq!(s.import_user(&later).await.unwrap(), ImportOutcome::Differs);
    assert_eq!(s.import_user(&record(7, "mallory", "")).await.unwrap(), ImportOutcome::IdTaken);
    assert_eq!(e.find_user(7).await.unwrap().as_ref(), Some(&alice), "the stored record stays");
    // Claims as at registration: the username exactly, the email case aside.
    assert!(matches!(s.import_user(&record(20, "alice", "")).await, Err(StoreError::Conflict(UniqueField::Username))));
    assert!(matches!(
        s.import_user(&record(21, "alice2", "ALICE@EXAMPLE.COM")).await,
        Err(StoreError::Conflict(UniqueField::Email))
    ));
    assert!(e.find_user(20).await.unwrap().is_none() && e.find_user(21).await.unwrap().is_none());
    assert!(!e.username_taken("alice2").await.unwrap(), "a refused import holds no claim");

    // The imported hash verifies; the user logs in and is listed.
    let u = e.authenticate(IdentifyBy::Email, "alice@example.com", &pw("old-password"), &origin()).await.unwrap();
    assert_eq!(u.id, 7);
    let ids: Vec<u64> = s.list_users().await.unwrap().iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![3, 7, 8, 9]);
    // Pages of the same list, as an export reads it.
    let page = |after, limit| async move {
        s.list_users_after(after, limit).await.unwrap().iter().map(|u| u.id).collect::<Vec<u64>>()
    };
    assert_eq!(page(0, 2).await, vec![3, 7]);
    assert_eq!(page(7, 10).await, vec![8, 9]);
    assert_eq!(page(9, 10).await, Vec::<u64>::new());
}

async fn imported_auth_token_comes_back(kind: StoreKind) {
    let f = engine(kind).await;
    let (e, s) = (&f.engine, f.engine.store());
    s.import_user(&record(5, "erin", "erin@example.com")).await.unwrap();
    let key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b";
    assert_eq!(e.import_auth_token(5, key).await.unwrap(), TokenImport::Created);
    assert_eq!(e.import_auth_token(5, key).await.unwrap(), TokenImport::Unchanged);
    assert_eq!(e.user_for_opaque_token(key, Some(TokenKind::AuthToken)).await.unwrap().id, 5);
    let user = e.find_user(5).await.unwrap().unwrap();
    assert_eq!(e.login_auth_token(&user).await.unwrap(), key, "login returns the imported key, as DRF does");
    // Another key for a user who holds one: kept as it is.
    let other = "0000000000000000000000000000000000000001";
    assert_eq!(e.import_auth_token(5, other).await.unwrap(), TokenImport::OtherToken);
    assert!(e.user_for_opaque_token(other, None).await.is_err());
    // Logout ends it; the next login derives a new one.
    assert!(e.revoke_opaque_token(key, &user).await.unwrap());
    assert!(matches!(e.user_for_opaque_token(key, None).await, Err(EngineError::OpaqueTokenInvalid)));
    let fresh = e.login_auth_token(&user).await.unwrap();
    assert_ne!(fresh, key);
    assert_eq!(e.login_auth_token(&user).await.unwrap(), fresh);
}

async fn dump_reports_per_record(kind: StoreKind) {
    let f = engine(kind).await;
    let e = &f.engine;
    let hash = bcrypt::hash("pw", 4).unwrap();
    let array = format!(
        r#"[
 {{"model": "auth.user", "pk": 1, "fields": {{"password": "bcrypt${hash}", "last_login": null, "username": "ann",
   "email": "Ann@Example.COM", "is_staff": true, "is_active": true, "date_joined": "2020-01-02T03:04:05.678Z"}}}},
 {{"model": "auth.user", "pk": "x", "fields": {{"password": "", "username": "bad"}}}},
 {{"model": "auth.user", "pk": 2, "fields": {{"password": "{hash}", "username": "ann", "email": ""}}}},
 {{"model": "contenttypes.contenttype", "pk": 1, "fields": {{"app_label": "auth", "model": "user"}}}},
 {{"model": "authtoken.token", "pk": "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", "fields": {{"user": 1, "created": "2020-01-02T03:04:05Z"}}}},
 {{"model": "authtoken.token", "pk": "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0", "fields": {{"user": 99, "created": "2020-01-02T03:04:05Z"}}}},
 {{"model": "token_blacklist.outstandingtoken", "pk": 1, "fields": {{"user": 1, "jti": "live-jti", "token": "t", "created_at": "2020-01-01T00:00:00Z", "expires_at": "2999-01-01T00:00:00Z"}}}},
 {{"model": "token_blacklist.outstandingtoken", "pk": 2, "fields": {{"user": 1, "jti": "old-jti", "token": "t", "created_at": "2020-01-01T00:00:00Z", "expires_at": "2020-01-02T00:00:00Z"}}}},
 {{"model": "token_blacklist.blacklistedtoken", "pk": 1, "fields": {{"token": 1, "blacklisted_at": "2020-01-01T00:00:00Z"}}}},
 {{"model": "token_blacklist.blacklistedtoken", "pk": 2, "fields": {{"token": 2, "blacklisted_at": "2020-01-01T00:00:00Z"}}}}
]"#
    );
    let run = |text: String, dry_run: bool| {
        let options = ImportOptions { dry_run, ..ImportOptions::default() };
        let e = e.clone();
        async move { e.import_dump(Box::new(std::io::Cursor::new(text.into_bytes())), &options, |_| {}).await.unwrap() }
    };
    let dry = run(array.clone(), true).await;
    assert_eq!((dry.records, dry.users_created), (10, 0));
    assert!(e.find_user(1).await.unwrap().is_none(), "a dry run writes nothing");

    let r = run(array.clone(), false).await;
    assert_eq!((r.records, r.users_created, r.tokens_created), (10, 1, 1), "{:?}", r.problems);
    assert_eq!((r.blacklisted, r.blacklisted_expired), (1, 1));
    assert_eq!(r.skipped.get("contenttypes.contenttype"), Some(&1));
    let bad: Vec<(u64, &str, &str)> =
        r.problems.iter().filter(|p| p.bad).map(|p| (p.index, p.model.as_str(), p.pk.as_str())).collect();
    assert_eq!(
        bad,
        vec![
            (1, "auth.user", "x"),
            (2, "auth.user", "2"),
            (5, "authtoken.token", "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0")
        ]
    );
    assert!(r.problems[1].reason.contains("username"), "{:?}", r.problems[1]);
    let ann = e.find_user(1).await.unwrap().unwrap();
    assert_eq!((ann.email.as_str(), ann.is_staff, ann.date_joined), ("Ann@example.com", true, 1_577_934_245));
    assert!(e.authenticate(IdentifyBy::Username, "ann", &pw("pw"), &origin()).await.is_ok(), "bcrypt$ imported");
    assert_eq!(e.user_for_opaque_token("a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", None).await.unwrap().id, 1);
    assert!(e.store().is_jti_blacklisted("live-jti").await.unwrap());
    assert!(!e.store().is_jti_blacklisted("old-jti").await.unwrap());

    // Idempotent: the same file again changes nothing (the login above did
    // change last_login, which is reported and kept).
    let again = run(array, false).await;
    assert_eq!((again.users_created, again.users_differ, again.tokens_unchanged), (0, 1, 1));
    assert_eq!(e.find_user(1).await.unwrap().unwrap().last_login, e.find_user(1).await.unwrap().unwrap().last_login);

    // JSON Lines, and a file that is not JSON at all.
    let lines = format!(
        "{{\"model\": \"auth.user\", \"pk\": 40, \"fields\": {{\"password\": \"{hash}\", \"username\": \"lines\", \"email\": \"\"}}}}\n\
         {{\"model\": \"auth.user\", \"pk\": 41, \"fields\": {{\"password\": \"{hash}\", \"username\": \"lines2\", \"email\": \"\"}}}}\n"
    );
    let r = run(lines.clone(), false).await;
    assert_eq!((r.records, r.users_created, r.bad_records()), (2, 2, 0));
    assert_eq!(run(lines, false).await.users_unchanged, 2);
    let broken = e
        .import_dump(Box::new(std::io::Cursor::new(b"[{\"model\": ".to_vec())), &ImportOptions::default(), |_| {})
        .await;
    assert!(broken.is_err());
}

both_stores!(import_user_keeps_ids_and_claims, imported_auth_token_comes_back, dump_reports_per_record);
