//! A short-lived, bounded cache of `GetLoginDetails` per agent, so a page
//! (or a script) asking for `/api/v1/session` again and again does not turn
//! into CCC calls under the shared AccessKey.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use ccc_model::LoginDetails;

/// Most agents cached at once; past it expired entries go, then all.
const MAX_ENTRIES: usize = 20_000;

/// `GetLoginDetails` answers by CCC `UserId`, each kept for `ttl`.
#[derive(Debug)]
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, LoginDetails)>>,
}

impl SessionCache {
    /// A cache keeping answers for `ttl` (zero: never cached).
    pub fn new(ttl: Duration) -> Self {
        SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached answer for `user_id`, if still fresh.
    pub fn get(&self, user_id: &str) -> Option<LoginDetails> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(user_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, d)| d.clone())
    }

    /// Remembers `details` for `user_id`.
    pub fn insert(&self, user_id: &str, details: LoginDetails) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(user_id.to_owned(), (Instant::now(), details));
    }

    /// Forgets `user_id` (its work mode, and so its login details, changed).
    pub fn invalidate(&self, user_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_fresh_answers_and_forgets_on_demand() {
        let cache = SessionCache::new(Duration::from_secs(60));
        assert!(cache.get("a").is_none());
        cache.insert("a", LoginDetails::default());
        assert!(cache.get("a").is_some());
        assert!(cache.get("b").is_none());
        cache.invalidate("a");
        assert!(cache.get("a").is_none());
        let off = SessionCache::new(Duration::ZERO);
        off.insert("a", LoginDetails::default());
        assert!(off.get("a").is_none(), "a zero TTL never caches");
    }
}
