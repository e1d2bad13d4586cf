//! A bounded least-recently-used map from a message's platform id to the language model's
//! answer, so that the same message delivered again (a gateway replay, a retried intake) costs no
//! second call. In memory only: after a restart a message is asked about once more.

use std::collections::{HashMap, VecDeque};

/// Holds at most `capacity` entries; inserting past that drops the least recently used one.
#[derive(Debug)]
pub struct Lru<V> {
    capacity: usize,
    /// The value and the tick it was last touched at.
    entries: HashMap<String, (V, u64)>,
    /// Keys in the order they were touched, with the tick of that touch; an entry whose tick no
    /// longer matches was touched again later and is skipped when evicting.
    order: VecDeque<(String, u64)>,
    tick: u64,
}

impl<V: Clone> Lru<V> {
    pub fn new(capacity: usize) -> Lru<V> {
        Lru {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
            tick: 0,
        }
    }

    pub fn get(&mut self, key: &str) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        let (value, touched) = self.entries.get_mut(key)?;
        *touched = tick;
        let value = value.clone();
        self.order.push_back((key.to_owned(), tick));
        self.compact();
        Some(value)
    }

    pub fn insert(&mut self, key: &str, value: V) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        self.entries.insert(key.to_owned(), (value, self.tick));
        self.order.push_back((key.to_owned(), self.tick));
        while self.entries.len() > self.capacity {
            let Some((oldest, tick)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&oldest).is_some_and(|(_, t)| *t == tick) {
                self.entries.remove(&oldest);
            }
        }
        self.compact();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops stale order records once they outnumber the entries, so that a few hot keys read
    /// over and over cannot grow the queue without bound.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.capacity.max(16) {
            let entries = &self.entries;
            self.order
                .retain(|(k, t)| entries.get(k).is_some_and(|(_, touched)| touched == t));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2);
        lru.insert("a", 1);
        lru.insert("b", 2);
        assert_eq!(lru.get("a"), Some(1));
        lru.insert("c", 3);
        assert_eq!(lru.get("b"), None, "b was used least recently");
        assert_eq!(lru.get("a"), Some(1));
        assert_eq!(lru.get("c"), Some(3));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn reading_one_key_often_keeps_the_bookkeeping_bounded() {
        let mut lru = Lru::new(4);
        lru.insert("hot", 0);
        for _ in 0..10_000 {
            lru.get("hot");
        }
        assert!(lru.order.len() <= 2 * 16 + 1, "{}", lru.order.len());
    }

    #[test]
    fn a_cache_of_no_entries_keeps_nothing() {
        let mut lru = Lru::new(0);
        lru.insert("a", 1);
        assert!(lru.is_empty());
    }
}
