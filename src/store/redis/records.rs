//! How the Redis store writes and reads its values: the user hash's fields,
//! one-time token records, and the error codes its scripts answer with.

use redis::Value;

use crate::store::{OneTimeRecord, StoreError, UniqueField, UserRecord};

/// A user as its hash's field/value pairs (`HSET`'s arguments).
pub(super) fn user_fields(u: &UserRecord) -> Vec<String> {
    let flag = |b: bool| u8::from(b).to_string();
    let values = [
        u.username.clone(),
        u.email.clone(),
        u.password_hash.clone(),
        flag(u.is_active),
        flag(u.email_verified),
        flag(u.is_staff),
        u.date_joined.to_string(),
        u.last_login.map(|t| t.to_string()).unwrap_or_default(),
        u.tokens_revoked_at.map(|t| t.to_string()).unwrap_or_default(),
    ];
    FIELDS.iter().zip(values).flat_map(|(name, value)| [(*name).to_owned(), value]).collect()
}

/// The user hash's fields, in slot order (`Slots`, `user_fields`).
const FIELDS: [&str; 9] = [
    "username",
    "email",
    "password_hash",
    "is_active",
    "email_verified",
    "is_staff",
    "date_joined",
    "last_login",
    "tokens_revoked_at",
];

/// A user hash's values, by `FIELDS` slot, as they are read.
#[derive(Default)]
struct Slots([Option<String>; 9]);

impl Slots {
    /// Keeps `value` if `field` is one of the hash's (others are ignored).
    fn set(&mut self, field: &str, value: String) {
        if let Some(i) = FIELDS.iter().position(|f| *f == field) {
            self.0[i] = Some(value);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    fn into_user(self, id: u64) -> Result<UserRecord, StoreError> {
        let [username, email, password_hash, is_active, email_verified, is_staff, date_joined, last_login, revoked] =
            self.0;
        let need = |v: Option<String>, k: &str| v.ok_or_else(|| StoreError::Corrupt(format!("user {id}: no {k}")));
        let num = |s: String| s.parse::<i64>().map_err(|_| StoreError::Corrupt(format!("user {id}: bad number")));
        Ok(UserRecord {
            id,
            username: need(username, "username")?,
            email: need(email, "email")?,
            password_hash: need(password_hash, "password_hash")?,
            is_active: need(is_active, "is_active")? == "1",
            email_verified: need(email_verified, "email_verified")? == "1",
            // Records written before the field existed are not staff.
            is_staff: is_staff.is_some_and(|v| v == "1"),
            date_joined: num(need(date_joined, "date_joined")?)?,
            last_login: match need(last_login, "last_login")? {
                s if s.is_empty() => None,
                s => Some(num(s)?),
            },
            // Optional: records written before the field existed lack it.
            tokens_revoked_at: revoked.filter(|s| !s.is_empty()).map(num).transpose()?,
        })
    }
}

/// A user record straight from `HGETALL`'s answer (flat pairs on RESP2, a map
/// on RESP3), with no map in between; `None` for an empty (absent) hash.
pub(super) fn user_from_reply(id: u64, reply: Value) -> Result<Option<UserRecord>, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("user {id}: not a hash of text"));
    let text = |v: Value| match v {
        Value::BulkString(b) => String::from_utf8(b).map_err(|_| corrupt()),
        Value::SimpleString(s) => Ok(s),
        _ => Err(corrupt()),
    };
    let mut slots = Slots::default();
    let mut set = |k: Value, v: Value| -> Result<(), StoreError> {
        slots.set(&text(k)?, text(v)?);
        Ok(())
    };
    match reply {
        Value::Array(items) if items.len() % 2 == 0 => {
            let mut items = items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                set(k, v)?;
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                set(k, v)?;
            }
        }
        Value::Nil => {}
        _ => return Err(corrupt()),
    }
    if slots.is_empty() {
        return Ok(None);
    }
    slots.into_user(id).map(Some)
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

#[cfg(test)]
mod tests {
    use redis::Value;

    use super::{user_fields, user_from_reply};
    use crate::store::{StoreError, UserRecord};

    fn user() -> UserRecord {
        UserRecord {
            id: 7,
            username: "ann".into(),
            email: "ann@example.com".into(),
            password_hash: "bcrypt$x".into(),
            is_active: true,
            email_verified: false,
            is_staff: true,
            date_joined: 1_700_000_000,
            last_login: None,
            tokens_revoked_at: Some(1_700_000_100),
        }
    }

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn hgetall_replies_read_back_what_was_written() {
        let u = user();
        let flat: Vec<Value> = user_fields(&u).iter().map(|s| bulk(s)).collect();
        let read = user_from_reply(7, Value::Array(flat.clone())).unwrap().unwrap();
        assert!(read == u, "every field read back");
        // RESP3 answers HGETALL with a map.
        let pairs = flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
        let read = user_from_reply(7, Value::Map(pairs)).unwrap().unwrap();
        assert_eq!(read.email, u.email);
        assert!(user_from_reply(7, Value::Array(Vec::new())).unwrap().is_none(), "no hash: no user");
    }

    #[test]
    fn old_records_and_damaged_ones() {
        // Written before is_staff and tokens_revoked_at existed; an unknown field is ignored.
        let old = ["username", "a", "email", "", "password_hash", "h", "is_active", "1", "email_verified", "1"]
            .into_iter()
            .chain(["date_joined", "5", "last_login", "6", "theme", "dark"]);
        let read = user_from_reply(1, Value::Array(old.map(bulk).collect())).unwrap().unwrap();
        assert!(!read.is_staff && read.tokens_revoked_at.is_none() && read.last_login == Some(6));
        let corrupt = |v: Value| matches!(user_from_reply(1, v), Err(StoreError::Corrupt(_)));
        assert!(corrupt(Value::Array(vec![bulk("username"), bulk("a")])), "fields missing");
        assert!(corrupt(Value::Array(vec![bulk("username")])), "odd length");
        assert!(corrupt(Value::Array(vec![bulk("username"), Value::BulkString(vec![0xff])])), "not UTF-8");
        assert!(corrupt(Value::Int(3)), "not a hash");
        let bad_number = ["date_joined", "x"].into_iter().chain(["username", "a", "email", "", "password_hash", "h"]);
        let bad_number = bad_number.chain(["is_active", "1", "email_verified", "1", "last_login", ""]);
        assert!(corrupt(Value::Array(bad_number.map(bulk).collect())));
    }
}
