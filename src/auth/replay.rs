//! Refusing a replayed PoP nonce, while letting LCW's own retry through as a duplicate.
//!
//! A signed request is valid for ±5 minutes, so within that window a captured request could be
//! sent again. Each nonce is remembered with the callout it came with: the same nonce with the
//! same `taskProcessingResult.id` is LCW retrying (or a network duplicate) and is acknowledged
//! without new work; the same nonce with another callout is a replay and is refused.

use std::sync::Mutex;

use crate::bounded::BoundedMap;

/// Nonces remembered; far more than the callouts of a 10-minute window at any real rate.
pub const NONCE_CAPACITY: usize = 100_000;

/// What a nonce's history says about this delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceUse {
    /// First seen.
    Fresh,
    /// Seen before with this very callout.
    SameCallout,
    /// Seen before with another callout.
    Replayed,
}

/// The nonce memory. Shared by all requests.
#[derive(Debug)]
pub struct NonceCache {
    seen: Mutex<BoundedMap<String, String>>,
}

impl Default for NonceCache {
    fn default() -> Self {
        NonceCache {
            seen: Mutex::new(BoundedMap::new(NONCE_CAPACITY)),
        }
    }
}

impl NonceCache {
    /// Records `nonce` as used by `task_processing_result_id` and says how it was used before.
    pub fn observe(&self, nonce: &str, task_processing_result_id: &str) -> NonceUse {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&nonce.to_owned()) {
            Some(previous) if previous == task_processing_result_id => NonceUse::SameCallout,
            Some(_) => NonceUse::Replayed,
            None => {
                seen.insert_new(nonce.to_owned(), task_processing_result_id.to_owned());
                NonceUse::Fresh
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_a_retry_from_a_replay() {
        let cache = NonceCache::default();
        assert_eq!(cache.observe("n1", "result-a"), NonceUse::Fresh);
        assert_eq!(cache.observe("n1", "result-a"), NonceUse::SameCallout);
        assert_eq!(cache.observe("n1", "result-b"), NonceUse::Replayed);
        assert_eq!(cache.observe("n2", "result-b"), NonceUse::Fresh);
    }
}
