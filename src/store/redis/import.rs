//! Imports and exports in both key layouts: a user imported under its own id
//! (`Store::import_user`), and users read in id order, page by page, for an
//! export (`Store::list_users_after`).
//!
//! Import: One server: one script checks the id, the claims and writes all.
//! Cluster: the counter is moved first, the id checked in the user's slot,
//! then the claims taken as a registration takes them (`claims`), the record
//! written only if the id is still free, and the claims committed.

use redis::AsyncCommands;

use super::link::Conn;
use super::scripts::Lua;
use super::{call, conflict, user_fields, user_from_reply, RedisStore};
use crate::store::{email_key, ImportOutcome, StoreError, UserRecord};

/// The comparison of an existing record with the imported one, shared by both
/// layouts' scripts: 1 unchanged, 2 same username with other fields, 3 another
/// user. `ARGV[first]` onwards are the field pairs, the username first.
macro_rules! compare_lua {
    ($first:literal) => {
        concat!(
            "if redis.call('HGET', KEYS[1], 'username') ~= ARGV[",
            $first,
            " + 1] then return 3 end\n",
            "for i = ",
            $first,
            ", #ARGV, 2 do\n",
            "  if (redis.call('HGET', KEYS[1], ARGV[i]) or '') ~= ARGV[i + 1] then return 2 end\n",
            "end\nreturn 1\n"
        )
    };
}

static IMPORT_USER: Lua = Lua::new(concat!(
    r#"
-- KEYS: user hash, username claim, email claim, id counter. ARGV: id, has_email,
-- field pairs (username first). 0 created; -1/-2 a claim is another user's;
-- else the comparison with the record the id holds.
if tonumber(redis.call('GET', KEYS[4]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[4], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
  if ARGV[2] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
  redis.call('SET', KEYS[2], ARGV[1])
  if ARGV[2] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
  redis.call('HSET', KEYS[1], unpack(ARGV, 3))
  return 0
end
"#,
    compare_lua!(3)
));

static RAISE_COUNTER: Lua = Lua::new(
    r#"
-- KEYS: the id counter. ARGV: an id it must not be below.
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"#,
);

static CLUSTER_IMPORT_CHECK: Lua = Lua::new(concat!(
    r#"
-- KEYS: user hash. ARGV: field pairs (username first). 0 when the id is free,
-- else the comparison with the record it holds.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
"#,
    compare_lua!(1)
));

fn outcome(code: i64) -> Result<ImportOutcome, StoreError> {
    match code {
        0 => Ok(ImportOutcome::Created),
        1 => Ok(ImportOutcome::Unchanged),
        2 => Ok(ImportOutcome::Differs),
        3 => Ok(ImportOutcome::IdTaken),
        c if c < 0 => Err(conflict(c)),
        c => Err(StoreError::Corrupt(format!("import answered {c}"))),
    }
}

impl RedisStore {
    pub(super) async fn single_import_user(
        &self,
        c: &mut Conn,
        user: &UserRecord,
    ) -> Result<ImportOutcome, StoreError> {
        let email = email_key(&user.email);
        let code: i64 = call(&IMPORT_USER)
            .key(self.user_key(user.id, "user"))
            .key(self.username_key(&user.username))
            .key(self.email_claim(&email))
            .key(format!("{}:next_user_id", self.prefix))
            .arg(user.id)
            .arg(if email.is_empty() { "0" } else { "1" })
            .args(user_fields(user))
            .run(c)
            .await?;
        outcome(code)
    }

    pub(super) async fn cluster_import_user(
        &self,
        c: &mut Conn,
        user: &UserRecord,
    ) -> Result<ImportOutcome, StoreError> {
        call(&RAISE_COUNTER).key(format!("{}:next_user_id", self.prefix)).arg(user.id).run::<i64>(c).await?;
        let check = call(&CLUSTER_IMPORT_CHECK).key(self.user_key(user.id, "user")).args(user_fields(user));
        let code: i64 = check.run(c).await?;
        if code != 0 {
            return outcome(code);
        }
        let email = email_key(&user.email);
        let mut held = Vec::new();
        let written = async {
            held.push(self.claim(c, crate::store::UniqueField::Username, &user.username, user.id).await?);
            if !email.is_empty() {
                held.push(self.claim(c, crate::store::UniqueField::Email, &email, user.id).await?);
            }
            let created: i64 = call(&super::scripts::CLUSTER_CREATE_USER)
                .key(self.user_key(user.id, "user"))
                .args(user_fields(user))
                .run(c)
                .await?;
            Ok::<_, StoreError>(created == 1)
        }
        .await;
        match written {
            Ok(true) => {
                self.commit(c, &held, user.id).await;
                Ok(ImportOutcome::Created)
            }
            Ok(false) => {
                // Another import of the same id won meanwhile: compare with it.
                self.release(c, &held).await;
                outcome(check.run(c).await?)
            }
            Err(e) => {
                self.release(c, &held).await;
                Err(e)
            }
        }
    }

    /// Users after `after` in id order, at most `limit` (an export's pages).
    pub(super) async fn list_users_after_impl(&self, after: u64, limit: usize) -> Result<Vec<UserRecord>, StoreError> {
        let counter = format!("{}:next_user_id", self.prefix);
        let last: Option<u64> = self.op(async { Ok(self.conn().await?.get(counter).await?) }).await?;
        let mut users = Vec::new();
        // Ids are never reused: read them in order, in batches (each one store
        // operation under the deadline); deleted ones are empty hashes.
        let mut next = after + 1;
        let last = last.unwrap_or(0);
        while next <= last && users.len() < limit {
            let batch: Vec<u64> = (next..=last).take(500).collect();
            next += batch.len() as u64;
            let hashes: Vec<redis::Value> = self
                .op(async {
                    let mut c = self.conn().await?;
                    if self.cluster {
                        // One slot per user: no pipeline spans them.
                        let mut out = Vec::with_capacity(batch.len());
                        for id in &batch {
                            out.push(c.hgetall(self.user_key(*id, "user")).await?);
                        }
                        return Ok(out);
                    }
                    let mut pipe = redis::pipe();
                    for id in &batch {
                        pipe.hgetall(self.user_key(*id, "user"));
                    }
                    Ok(pipe.query_async(&mut c).await?)
                })
                .await?;
            for (id, h) in batch.iter().zip(hashes) {
                if users.len() < limit {
                    users.extend(user_from_reply(*id, h)?);
                }
            }
        }
        Ok(users)
    }
}
