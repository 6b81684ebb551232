//! How the Redis store writes and reads its values: the user hash's fields,
//! one-time token records, and the error codes its scripts answer with.

use std::collections::HashMap;

use crate::store::{OneTimeRecord, StoreError, UniqueField, UserRecord};

pub(super) fn user_fields(u: &UserRecord) -> Vec<String> {
    vec![
        "username".into(),
        u.username.clone(),
        "email".into(),
        u.email.clone(),
        "password_hash".into(),
        u.password_hash.clone(),
        "is_active".into(),
        (u.is_active as u8).to_string(),
        "email_verified".into(),
        (u.email_verified as u8).to_string(),
        "is_staff".into(),
        (u.is_staff as u8).to_string(),
        "date_joined".into(),
        u.date_joined.to_string(),
        "last_login".into(),
        u.last_login.map(|t| t.to_string()).unwrap_or_default(),
        "tokens_revoked_at".into(),
        u.tokens_revoked_at.map(|t| t.to_string()).unwrap_or_default(),
    ]
}

pub(super) fn parse_user(id: u64, mut h: HashMap<String, String>) -> Result<UserRecord, StoreError> {
    let h_is_staff = h.remove("is_staff").unwrap_or_default();
    // Optional: records written before the field existed lack it.
    let revoked = h.remove("tokens_revoked_at").filter(|s| !s.is_empty());
    let mut take = |k: &str| h.remove(k).ok_or_else(|| StoreError::Corrupt(format!("user {id}: no {k}")));
    let num = |s: String| s.parse::<i64>().map_err(|_| StoreError::Corrupt(format!("user {id}: bad number")));
    Ok(UserRecord {
        id,
        username: take("username")?,
        email: take("email")?,
        password_hash: take("password_hash")?,
        is_active: take("is_active")? == "1",
        email_verified: take("email_verified")? == "1",
        // Records written before the field existed are not staff.
        is_staff: h_is_staff == "1",
        date_joined: num(take("date_joined")?)?,
        last_login: match take("last_login")? {
            s if s.is_empty() => None,
            s => Some(num(s)?),
        },
        tokens_revoked_at: revoked.map(num).transpose()?,
    })
}

pub(super) fn parse_one_time(v: Option<String>) -> Result<Option<OneTimeRecord>, StoreError> {
    let Some(v) = v else { return Ok(None) };
    let (uid, stamp) = v.split_once(':').ok_or_else(|| StoreError::Corrupt("one-time record".into()))?;
    let user_id = uid.parse().map_err(|_| StoreError::Corrupt("one-time user id".into()))?;
    Ok(Some(OneTimeRecord { user_id, stamp: stamp.to_owned() }))
}

pub(super) fn conflict(code: i64) -> StoreError {
    match code {
        -1 => StoreError::Conflict(UniqueField::Username),
        _ => StoreError::Conflict(UniqueField::Email),
    }
}
