//! Key names, one function per kind of key: the layout the README's "Redis
//! key layout" table describes, spelled in one place for both layouts.

use super::RedisStore;
use crate::store::{Purpose, UniqueField};

impl RedisStore {
    pub(super) fn user_key(&self, id: u64, what: &str) -> String {
        format!("{}:{{u:{id}}}:{what}", self.prefix)
    }

    pub(super) fn username_key(&self, username: &str) -> String {
        format!("{}:username:{username}", self.prefix)
    }

    pub(super) fn email_claim(&self, key: &str) -> String {
        format!("{}:email:{key}", self.prefix)
    }

    pub(super) fn token_key(&self, digest: &str) -> String {
        format!("{}:tok:{digest}", self.prefix)
    }

    pub(super) fn one_time_key(&self, purpose: Purpose, digest: &str) -> String {
        format!("{}:ot:{}:{digest}", self.prefix, purpose.as_str())
    }

    pub(super) fn claim_key(&self, field: UniqueField, value: &str) -> String {
        match field {
            UniqueField::Username => self.username_key(value),
            UniqueField::Email => self.email_claim(value),
        }
    }
}
