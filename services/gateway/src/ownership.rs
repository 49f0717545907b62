//! Remembers for a few seconds that a user owns a link, so that paging through a link's data
//! does not ask link-service before every page. Being stale is safe: data-service checks the
//! owner on every read itself (a deleted link's data is purged there), so a stale entry can
//! cost a wasted read that ends in 404, never show another user's data. Only confirmations
//! are kept: a refusal is asked again next time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a confirmation is trusted.
const TTL: Duration = Duration::from_secs(10);

/// How many (user, link) pairs are kept; when full, expired ones go, and if none had
/// expired, all do.
const CAPACITY: usize = 50_000;

/// Recently confirmed (user, link) ownerships.
#[derive(Debug, Default)]
pub struct OwnershipCache {
    confirmed: Mutex<HashMap<(String, String), Instant>>,
}

impl OwnershipCache {
    /// Whether `user` was confirmed as the owner of `link_id` within the last [`TTL`].
    pub fn owns(&self, user: &str, link_id: &str) -> bool {
        let confirmed = self.lock();
        confirmed
            .get(&(user.to_owned(), link_id.to_owned()))
            .is_some_and(|at| at.elapsed() < TTL)
    }

    /// Records that link-service confirmed `user` as the owner of `link_id`.
    pub fn confirm(&self, user: &str, link_id: &str) {
        let mut confirmed = self.lock();
        if confirmed.len() >= CAPACITY {
            confirmed.retain(|_, at| at.elapsed() < TTL);
            if confirmed.len() >= CAPACITY {
                confirmed.clear();
            }
        }
        confirmed.insert((user.to_owned(), link_id.to_owned()), Instant::now());
    }

    /// Forgets every confirmation for `link_id` (it was deleted through this gateway).
    pub fn forget(&self, link_id: &str) {
        self.lock().retain(|(_, link), _| link != link_id);
    }

    /// Forgets every confirmation for `user` (they were erased through this gateway).
    pub fn forget_user(&self, user: &str) {
        self.lock().retain(|(owner, _), _| owner != user);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Instant>> {
        self.confirmed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirms_per_user_and_link_and_forgets_deleted_links() {
        let cache = OwnershipCache::default();
        assert!(!cache.owns("alice", "link-1"));
        cache.confirm("alice", "link-1");
        cache.confirm("alice", "link-2");
        assert!(cache.owns("alice", "link-1"));
        assert!(!cache.owns("bob", "link-1"), "per user");
        cache.forget("link-1");
        assert!(!cache.owns("alice", "link-1"));
        assert!(cache.owns("alice", "link-2"));
    }

    #[test]
    fn confirmations_expire() {
        let cache = OwnershipCache::default();
        cache.confirm("alice", "link-1");
        let old = Instant::now().checked_sub(TTL).unwrap_or_else(Instant::now);
        cache.lock().insert(("alice".into(), "link-1".into()), old);
        assert!(!cache.owns("alice", "link-1"));
    }

    #[test]
    fn stays_bounded() {
        let cache = OwnershipCache::default();
        for n in 0..=CAPACITY {
            cache.confirm("alice", &n.to_string());
        }
        assert!(cache.lock().len() <= CAPACITY);
        assert!(
            cache.owns("alice", &CAPACITY.to_string()),
            "the newest is kept"
        );
    }
}
