//! One at a time per key, within the process: concurrent adoptions of one link (each of its
//! first webhooks asks) wait for the first, which finds it at Belvo; the others then find it
//! stored, and spend no Belvo call of their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

/// A lock per key, kept only while someone holds or waits for it.
#[derive(Debug, Default)]
pub(crate) struct Turns(Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>);

/// A key's turn, until dropped.
pub(crate) struct Turn<'a> {
    turns: &'a Turns,
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    /// Waits for `key`'s turn.
    pub(crate) async fn take(&self, key: &str) -> Turn<'_> {
        let lock = Arc::clone(
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default(),
        );
        Turn {
            turns: self,
            key: key.to_owned(),
            guard: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut locks = self.turns.0.lock().unwrap_or_else(PoisonError::into_inner);
        self.guard.take();
        // Waiters clone the lock under the map's lock: with none, only the map holds it.
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_per_key_and_nothing_kept_after() {
        let turns = Turns::default();
        let first = turns.take("a").await;
        let other = turns.take("b").await;
        // "a" is taken: a second taker waits until the first is dropped.
        let second = turns.take("a");
        tokio::pin!(second);
        assert!(futures::poll!(second.as_mut()).is_pending());
        drop(first);
        let second = second.await;
        drop((second, other));
        assert!(turns.0.lock().unwrap().is_empty());
    }
}
