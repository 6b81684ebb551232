//! The single-server key layout's user and token-index operations: each one
//! Lua script, which may compute and touch claim keys of any slot (one
//! server has no slots), so each is atomic.

use super::link::Conn;
use super::{call, conflict, scripts, user_fields, user_from_reply, RedisStore};
use crate::store::{email_key, Purpose, StoreError, TokenKind, UserRecord, UserUpdate};

impl RedisStore {
    pub(super) async fn single_create_user(
        &self,
        c: &mut Conn,
        mut user: UserRecord,
    ) -> Result<UserRecord, StoreError> {
        let email = email_key(&user.email);
        let id: i64 = call(&scripts::CREATE_USER)
            .key(self.username_key(&user.username))
            .key(self.email_claim(&email))
            .key(format!("{}:next_user_id", self.prefix))
            .arg(&self.prefix)
            .arg(if email.is_empty() { "0" } else { "1" })
            .args(user_fields(&user))
            .run(c)
            .await?;
        if id < 0 {
            return Err(conflict(id));
        }
        user.id = id as u64;
        Ok(user)
    }

    pub(super) async fn single_update_user(
        &self,
        c: &mut Conn,
        id: u64,
        update: &UserUpdate,
    ) -> Result<Option<UserRecord>, StoreError> {
        let mut script = call(&scripts::UPDATE_USER).key(self.user_key(id, "user")).arg(&self.prefix).arg(id);
        for (f, v) in update.fields() {
            script = script.arg(f).arg(v);
        }
        if let Some(h) = &update.if_password_hash {
            script = script.arg("if_password_hash").arg(h);
        }
        user_or_code(id, script.run(c).await?)
    }

    pub(super) async fn single_delete_user(
        &self,
        c: &mut Conn,
        id: u64,
        if_password_hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut script = call(&scripts::DELETE_USER)
            .key(self.user_key(id, "user"))
            .key(self.user_key(id, "tokens"))
            .key(self.user_key(id, "slots"))
            .arg(&self.prefix)
            .arg(id)
            // ARGV[3]: the compare-and-set hash ('' for none); then one purpose per one-time set.
            .arg(if_password_hash.unwrap_or_default());
        for p in Purpose::ALL {
            script = script.key(self.user_key(id, &format!("ot:{}", p.as_str()))).arg(p.as_str());
        }
        let n: i64 = script.run(c).await?;
        match n {
            -4 => Err(StoreError::Changed),
            n => Ok(n == 1),
        }
    }

    pub(super) async fn single_delete_user_tokens(
        &self,
        c: &mut Conn,
        user_id: u64,
        kind: Option<TokenKind>,
    ) -> Result<u64, StoreError> {
        Ok(call(&scripts::DELETE_USER_TOKENS)
            .key(self.user_key(user_id, "tokens"))
            .arg(&self.prefix)
            .arg(kind.map(|k| format!(":{}", k.as_str())).unwrap_or_default())
            .run(c)
            .await?)
    }
}

/// An update script's answer: the record as stored, or a code (-3 no user,
/// -4 the password compare-and-set failed, -1/-2 a claim is taken).
pub(super) fn user_or_code(id: u64, v: redis::Value) -> Result<Option<UserRecord>, StoreError> {
    match v {
        redis::Value::Int(-3) => Ok(None),
        redis::Value::Int(-4) => Err(StoreError::Changed),
        redis::Value::Int(code) => Err(conflict(code)),
        v => user_from_reply(id, v),
    }
}
