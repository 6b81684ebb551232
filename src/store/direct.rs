//! A token check's three reads (`find_user`, `find_token`,
//! `is_jti_blacklisted`) called on the store's own type. Through
//! `Arc<dyn Store>` each is an indirect call that returns a boxed future
//! (`async_trait`): on Redis a ~0.9 KiB allocation, past the allocator's
//! per-thread cache, and a copy of the future into it, on every token check.
//! `Direct` matches on the kind of store instead, and the read's future lives
//! inside the request's own. Any other store (a test's wrapper) is called
//! through the trait as before.

use std::sync::Arc;

use super::memory::MemoryStore;
use super::redis::RedisStore;
use super::{SharedStore, StoreError, TokenRecord, UserRecord};

#[derive(Clone)]
pub enum Direct {
    Redis(Arc<RedisStore>),
    Memory(Arc<MemoryStore>),
    Other(SharedStore),
}

impl Direct {
    pub fn of(store: SharedStore) -> Self {
        store.clone().direct().unwrap_or(Direct::Other(store))
    }

    pub async fn find_user(&self, id: u64) -> Result<Option<UserRecord>, StoreError> {
        match self {
            Direct::Redis(s) => s.read_user(id).await,
            Direct::Memory(s) => Ok(s.read_user(id)),
            Direct::Other(s) => s.find_user(id).await,
        }
    }

    pub async fn find_token(&self, digest: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self {
            Direct::Redis(s) => s.read_token(digest).await,
            Direct::Memory(s) => Ok(s.read_token(digest)),
            Direct::Other(s) => s.find_token(digest).await,
        }
    }

    pub async fn is_jti_blacklisted(&self, jti: &str) -> Result<bool, StoreError> {
        match self {
            Direct::Redis(s) => s.read_blacklisted(jti).await,
            Direct::Memory(s) => Ok(s.read_blacklisted(jti)),
            Direct::Other(s) => s.is_jti_blacklisted(jti).await,
        }
    }
}
