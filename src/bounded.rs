//! A map that forgets its oldest entries past a fixed size.
//!
//! Replay and duplicate detection must remember recent callouts, but a handler that runs for
//! weeks must not grow without bound; first-in first-out eviction is enough because entries
//! only matter for minutes.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A FIFO-bounded map.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    capacity: usize,
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// A map holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        BoundedMap {
            capacity: capacity.max(1),
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The value for `key`, if remembered.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// Remembers `key` → `value` unless `key` is already known; returns whether it was new.
    pub fn insert_new(&mut self, key: K, value: V) -> bool {
        if self.map.contains_key(&key) {
            return false;
        }
        if self.map.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.map.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
        true
    }

    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_full_then_forgets_the_oldest() {
        let mut map = BoundedMap::new(2);
        assert!(map.insert_new("a", 1));
        assert!(!map.insert_new("a", 9), "a known key is not replaced");
        assert_eq!(map.get(&"a"), Some(&1));
        assert!(map.insert_new("b", 2));
        assert!(map.insert_new("c", 3));
        assert_eq!(map.len(), 2);
        assert_eq!(map.get(&"a"), None, "the oldest was forgotten");
        assert_eq!(map.get(&"c"), Some(&3));
    }
}
