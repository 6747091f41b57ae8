//! A bounded, thread-safe memo of values that are costly to compute and never change for a
//! given key (decoded public keys, by their bytes or their `did:key` text).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

/// At most `capacity` keys and their values. When full, inserting evicts an arbitrary entry:
/// keys sent by anyone can push others out, which costs a recomputation, never a wrong answer,
/// because a memoised value is exactly what computing it again gives. Only values that were
/// computed are kept (a refusal is computed again, and refused again, each time).
#[derive(Debug)]
pub(crate) struct BoundedMemo<K, V> {
    map: RwLock<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Hash + Eq, V: Copy> BoundedMemo<K, V> {
    /// An empty memo of at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The value of `key`: from the memo, else from `compute` (kept when it succeeds).
    pub(crate) fn get_or_try_insert<Q, E>(
        &self,
        key: &Q,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E>
    where
        Q: ?Sized + Hash + Eq + ToOwned,
        K: Borrow<Q> + From<Q::Owned>,
    {
        if let Some(value) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok(*value);
        }
        let value = compute()?;
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.capacity && !map.contains_key(key) {
            // The first key the map's order gives: arbitrary, and O(1) on average.
            let evicted = map.keys().next().map(|first| first.borrow().to_owned());
            if let Some(evicted) = evicted {
                map.remove(evicted.borrow());
            }
        }
        map.insert(K::from(key.to_owned()), value);
        Ok(value)
    }

    /// How many entries the memo holds.
    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_was_computed_within_its_capacity() {
        let memo: BoundedMemo<Box<str>, u32> = BoundedMemo::new(3);
        let mut computed = 0;
        let mut get = |key: &str| {
            memo.get_or_try_insert(key, || {
                computed += 1;
                key.parse::<u32>().map_err(|_| "not a number")
            })
        };
        assert_eq!(get("1"), Ok(1));
        assert_eq!(get("1"), Ok(1));
        assert_eq!(get("x"), Err("not a number"));
        assert_eq!(get("x"), Err("not a number"));
        for key in ["2", "3", "4", "5"] {
            assert_eq!(get(key), key.parse::<u32>().map_err(|_| "not a number"));
        }
        // "1" once, "x" twice (refusals are not kept), four others once each.
        assert_eq!(computed, 7);
        assert_eq!(memo.len(), 3, "never past its capacity");
        assert_eq!(
            memo.get_or_try_insert("5", || Err::<u32, &str>("computed again")),
            Ok(5),
            "the last inserted is kept"
        );
        let bytes: BoundedMemo<[u8; 2], u8> = BoundedMemo::new(0);
        assert_eq!(bytes.get_or_try_insert(&[1, 2], || Ok::<u8, ()>(3)), Ok(3));
        assert_eq!(bytes.get_or_try_insert(&[1, 3], || Ok::<u8, ()>(4)), Ok(4));
        assert_eq!(bytes.len(), 1, "a capacity of zero holds one");
    }
}
