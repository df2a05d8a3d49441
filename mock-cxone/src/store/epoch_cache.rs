//! Values read from the store for the S3 hot path (who signed a request, who owns a bucket, a
//! tenant's KMS key), kept in memory while the store's access epoch is unchanged. The epoch moves
//! on any change to the tables they come from (an update hook, `Store::open`), so a cached value
//! is never older than the store: a regenerated key or a bucket changing hands counts at once.

use std::collections::HashMap;
use std::sync::RwLock;

use rusqlite::Connection;

use super::{Store, StoreResult};

/// Entries kept at most; past it the cache starts over (tenants and buckets are few in practice).
const LIMIT: usize = 10_000;

/// A cache of `V` by string key.
#[derive(Debug)]
pub struct EpochCache<V> {
    map: RwLock<HashMap<String, (u64, V)>>,
}

impl<V> Default for EpochCache<V> {
    fn default() -> Self {
        EpochCache {
            map: RwLock::new(HashMap::new()),
        }
    }
}

impl<V: Clone> EpochCache<V> {
    /// The value for `key`: cached, or `load`ed from the store and kept.
    pub fn get(&self, store: &Store, key: &str, load: impl FnOnce(&Connection) -> StoreResult<V>) -> StoreResult<V> {
        // The epoch is read before the store: a value read from a store that changed meanwhile is
        // tagged with the older epoch and never served.
        let epoch = store.access_epoch();
        if let Some((e, v)) = self
            .map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
        {
            if *e == epoch {
                return Ok(v.clone());
            }
        }
        let v = store.with(load)?;
        let mut map = self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= LIMIT {
            map.clear();
        }
        map.insert(key.to_string(), (epoch, v.clone()));
        Ok(v)
    }
}
