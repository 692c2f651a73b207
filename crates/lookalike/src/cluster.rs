//! Grouping: union-find over verified pairs, and which member of a group is kept.

use serde::{Deserialize, Serialize};

/// Disjoint sets over `0..n` with path halving and union by size:
/// near-constant time per operation.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] as usize != x {
            let grand = self.parent[self.parent[x] as usize];
            self.parent[x] = grand;
            x = grand as usize;
        }
        x
    }

    /// Merge the sets of `a` and `b`; returns false when they were one set.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra as u32;
        self.size[ra] += self.size[rb];
        true
    }

    /// Every set of two or more elements, each sorted ascending, ordered by
    /// their smallest element: the same answer whatever order unions came in.
    pub fn groups(&mut self) -> Vec<Vec<usize>> {
        // One pass in element order: a group is opened at its smallest
        // element, so groups come out in the required order, and members
        // arrive ascending. Memory beyond the groups themselves is one
        // u32 a element (where each root's group is), not a list per
        // element: 100 million singletons must cost nothing.
        const NONE: u32 = u32::MAX;
        let n = self.parent.len();
        let mut slot = vec![NONE; n];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for x in 0..n {
            let r = self.find(x);
            if self.size[r] < 2 {
                continue;
            }
            if slot[r] == NONE {
                slot[r] = groups.len() as u32;
                groups.push(Vec::with_capacity(self.size[r] as usize));
            }
            groups[slot[r] as usize].push(x);
        }
        groups
    }
}

/// Which document of a group is kept; the others are removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepPolicy {
    /// The one that came first in the input (the default): the original
    /// usually arrives before its reposts, and the choice is stable when
    /// more input is appended.
    #[default]
    First,
    /// The longest (in bytes of original text): keeps the fullest edition.
    Longest,
    /// The shortest (in bytes of original text): keeps the leanest edition.
    Shortest,
}

impl KeepPolicy {
    /// Pick the kept member of `members` (input positions, ascending), given
    /// each document's length. Ties go to the earliest member.
    pub fn choose(&self, members: &[usize], len: impl Fn(usize) -> u64) -> usize {
        let first = members[0];
        match self {
            KeepPolicy::First => first,
            KeepPolicy::Longest => members
                .iter()
                .copied()
                .fold(first, |best, m| if len(m) > len(best) { m } else { best }),
            KeepPolicy::Shortest => members
                .iter()
                .copied()
                .fold(first, |best, m| if len(m) < len(best) { m } else { best }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_groups() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(4, 1));
        assert!(uf.union(1, 3));
        assert!(!uf.union(3, 4));
        assert!(uf.union(5, 0));
        assert_eq!(uf.groups(), vec![vec![0, 5], vec![1, 3, 4]]);
    }

    proptest::proptest! {
        #[test]
        fn groups_match_the_obvious_definition(
            n in 1usize..60,
            pairs in proptest::collection::vec((0usize..60, 0usize..60), 0..80),
        ) {
            let mut uf = UnionFind::new(n);
            for &(a, b) in &pairs {
                uf.union(a % n, b % n);
            }
            // Elements grouped by representative, the sets of two or more,
            // ordered by their smallest element.
            let mut by_root = std::collections::BTreeMap::<usize, Vec<usize>>::new();
            for x in 0..n {
                by_root.entry(uf.find(x)).or_default().push(x);
            }
            let mut expected: Vec<Vec<usize>> =
                by_root.into_values().filter(|g| g.len() > 1).collect();
            expected.sort();
            proptest::prop_assert_eq!(uf.groups(), expected);
        }
    }

    #[test]
    fn keep_policies_break_ties_by_position() {
        let lens = [10u64, 30, 30, 5, 5];
        let m = [0, 1, 2, 3, 4];
        assert_eq!(KeepPolicy::First.choose(&m, |i| lens[i]), 0);
        assert_eq!(KeepPolicy::Longest.choose(&m, |i| lens[i]), 1);
        assert_eq!(KeepPolicy::Shortest.choose(&m, |i| lens[i]), 3);
    }
}
