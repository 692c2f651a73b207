//! Document ids in input order, packed into one buffer.
//!
//! A run over 100 million documents holds every id until it writes the
//! groups. As a `Vec<String>`, a ten-character id costs 24 bytes of string
//! header plus a 16- or 32-byte allocation; packed here it costs its bytes
//! plus an 8-byte end offset, and one allocation for all of them.

use std::ops::Index;

/// Ids in the order they were pushed; `ids[i]` is the `i`-th as a `&str`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    text: String,
    /// Where each id ends in `text` (it starts where the previous one ends).
    ends: Vec<u64>,
}

impl Ids {
    /// No ids.
    pub fn new() -> Ids {
        Ids::default()
    }

    /// Append one id.
    pub fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len() as u64);
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th id, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        // Every boundary is the end of a pushed `&str`, so a char boundary.
        self.text.get(start..end)
    }

    /// All ids in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|i| &self[i])
    }
}

impl Index<usize> for Ids {
    type Output = str;

    /// The `i`-th id; panics past the end, like a slice.
    fn index(&self, i: usize) -> &str {
        match self.get(i) {
            Some(id) => id,
            None => panic!("id {i} of {}", self.len()),
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Ids {
    fn from_iter<T: IntoIterator<Item = S>>(iter: T) -> Ids {
        let mut ids = Ids::new();
        for id in iter {
            ids.push(id.as_ref());
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn packed_ids_read_back_as_pushed(v in proptest::collection::vec("\\PC{0,12}", 0..40)) {
            let ids: Ids = v.iter().collect();
            prop_assert_eq!(ids.len(), v.len());
            prop_assert_eq!(ids.iter().collect::<Vec<_>>(), v.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(ids.get(v.len()), None);
        }
    }
}
