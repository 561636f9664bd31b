//! Small numeric helpers for the hot loops: a fast hasher for integer keys,
//! exact percentiles by selection, and [`KeyGroups`], which finds the rows
//! sharing a 64-bit key among tens of millions without a hash map entry per
//! row and without random memory access per row.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for integer keys (symbols, row hashes): one multiply per word
/// and a final avalanche, so both the low and the high bits are usable.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.hash = (self.hash.rotate_left(5) ^ i).wrapping_mul(SEED);
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        mix64(self.hash)
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A new, empty [`FastMap`].
pub fn fast_map<K, V>() -> FastMap<K, V> {
    HashMap::with_hasher(BuildHasherDefault::default())
}

/// The MurmurHash3 64-bit finaliser: spreads every input bit over the output.
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Combines a small id (a model slot) with a 64-bit hash into one key.
pub fn combine(id: u32, hash: u64) -> u64 {
    mix64(hash ^ u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Latency percentiles in milliseconds, by the nearest-rank method.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50_ms: u32,
    pub p95_ms: u32,
    pub p99_ms: u32,
    /// How many calls had a latency.
    pub samples: u64,
}

/// Nearest-rank percentiles of `values` (reordered in place); `None` when empty.
pub fn percentiles(values: &mut [u32]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    // Each selection leaves the larger values after its index: the next one searches only those.
    let i50 = rank_index(values.len(), 50.0);
    let i95 = rank_index(values.len(), 95.0);
    let i99 = rank_index(values.len(), 99.0);
    let p50 = *values.select_nth_unstable(i50).1;
    let p95 = *values[i50..].select_nth_unstable(i95 - i50).1;
    let p99 = *values[i95..].select_nth_unstable(i99 - i95).1;
    Some(Percentiles {
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p99,
        samples: values.len() as u64,
    })
}

fn rank_index(n: usize, p: f64) -> usize {
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    rank.clamp(1, n) - 1
}

/// The `p`-th percentile by nearest rank: the smallest value with at least
/// `p`% of the values at or below it. `values` must not be empty.
pub fn nearest_rank(values: &mut [u32], p: f64) -> u32 {
    let index = rank_index(values.len(), p);
    *values.select_nth_unstable(index).1
}

/// The lower median (nearest-rank 50th percentile); 0 when empty.
pub fn median(values: &mut [u32]) -> u32 {
    if values.is_empty() {
        0
    } else {
        nearest_rank(values, 50.0)
    }
}

/// Partitions of [`KeyGroups`] are chosen by this many top bits of the key.
const PARTITION_BITS: u32 = 10;

/// Groups rows by a 64-bit key: the caller [`push`](KeyGroups::push)es
/// (key, row) pairs, then visits the groups ([`KeyGroups::for_each_group`]).
/// The pairs are partitioned in place by the top bits of their key and each
/// partition (a few hundred KiB) is sorted in cache: no hash map entry per
/// row and no random access per row, 12 bytes per pushed row. Keys should be
/// well mixed (see [`combine`]).
#[derive(Debug, Clone, Default)]
pub struct KeyGroups {
    /// `[key high half, key low half, row]`: sorts like (key, row), packed.
    entries: Vec<[u32; 3]>,
}

fn key_of(e: &[u32; 3]) -> u64 {
    (u64::from(e[0]) << 32) | u64::from(e[1])
}

impl KeyGroups {
    /// Room for `rows` pairs (allocated once: pushing more reallocates).
    pub fn with_capacity(rows: usize) -> Self {
        KeyGroups {
            entries: Vec::with_capacity(rows),
        }
    }

    /// Adds row `row` with its key. Rows past `u32::MAX` are ignored.
    pub fn push(&mut self, key: u64, row: usize) {
        if let Ok(row) = u32::try_from(row) {
            self.entries.push([(key >> 32) as u32, key as u32, row]);
        }
    }

    /// How many rows were pushed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn partition(e: &[u32; 3]) -> usize {
        (e[0] >> (32 - PARTITION_BITS)) as usize
    }

    /// Calls `group(key, rows)` for each key pushed at least `min_rows`
    /// times, its rows in increasing order; `check` runs between partitions
    /// (cancellation).
    pub fn for_each_group<E>(
        &mut self,
        min_rows: usize,
        check: impl Fn() -> Result<(), E>,
        mut group: impl FnMut(u64, &[u32]) -> Result<(), E>,
    ) -> Result<(), E> {
        let parts = 1usize << PARTITION_BITS;
        let mut starts = vec![0usize; parts + 1];
        for e in &self.entries {
            starts[Self::partition(e) + 1] += 1;
        }
        for p in 1..=parts {
            starts[p] += starts[p - 1];
        }
        // In-place permutation into partitions (American flag sort, one level).
        let mut next = starts.clone();
        for p in 0..parts {
            while next[p] < starts[p + 1] {
                let mut e = self.entries[next[p]];
                let mut q = Self::partition(&e);
                while q != p {
                    std::mem::swap(&mut e, &mut self.entries[next[q]]);
                    next[q] += 1;
                    q = Self::partition(&e);
                }
                self.entries[next[p]] = e;
                next[p] += 1;
            }
        }
        check()?;
        let mut rows: Vec<u32> = Vec::new();
        for p in 0..parts {
            if p % 64 == 0 {
                check()?;
            }
            let part = &mut self.entries[starts[p]..starts[p + 1]];
            part.sort_unstable();
            let mut i = 0;
            while i < part.len() {
                let key = key_of(&part[i]);
                let mut j = i + 1;
                while j < part.len() && key_of(&part[j]) == key {
                    j += 1;
                }
                if j - i >= min_rows.max(1) {
                    rows.clear();
                    rows.extend(part[i..j].iter().map(|e| e[2]));
                    group(key, &rows)?;
                }
                i = j;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_hundred() {
        let mut v: Vec<u32> = (1..=100).rev().collect();
        let p = percentiles(&mut v).unwrap();
        assert_eq!((p.p50_ms, p.p95_ms, p.p99_ms, p.samples), (50, 95, 99, 100));
        let mut one = vec![7];
        assert_eq!(percentiles(&mut one).unwrap().p99_ms, 7);
        assert!(percentiles(&mut []).is_none());
        let mut four = vec![40, 10, 30, 20];
        assert_eq!(median(&mut four), 20);
        // Against a sorted copy, on an unordered set with repeats.
        let mut v: Vec<u32> = (0..1_000u32).map(|i| (i * 7_919) % 613).collect();
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let p = percentiles(&mut v).unwrap();
        assert_eq!(
            (p.p50_ms, p.p95_ms, p.p99_ms),
            (sorted[499], sorted[949], sorted[989])
        );
    }

    #[test]
    fn key_groups_find_every_repeat_in_row_order() {
        let key_of = |i: usize| {
            if i.is_multiple_of(7) {
                None
            } else {
                Some(combine(1, (i % 1_000) as u64))
            }
        };
        let mut g = KeyGroups::with_capacity(10_000);
        // Pushed in reverse: the groups still list their rows in increasing order.
        for i in (0..10_000).rev() {
            if let Some(k) = key_of(i) {
                g.push(k, i);
            }
        }
        assert_eq!(g.len(), 10_000 - 10_000usize.div_ceil(7));
        let mut groups = 0;
        let mut rows_seen = 0;
        g.for_each_group(
            2,
            || Ok::<(), ()>(()),
            |key, rows| {
                groups += 1;
                rows_seen += rows.len();
                assert!(rows.windows(2).all(|w| w[0] < w[1]));
                assert!(rows.iter().all(|&r| key_of(r as usize) == Some(key)));
                Ok(())
            },
        )
        .unwrap();
        // Keys i % 1000 for the multiples of 7 among them still repeat through other rows.
        assert_eq!(groups, 1_000);
        assert_eq!(rows_seen, g.len());
        let stopped = g.for_each_group(2, || Err("cancelled"), |_, _| Ok(()));
        assert_eq!(stopped, Err("cancelled"));
    }

    #[test]
    fn fast_map_works_with_integer_keys() {
        let mut m: FastMap<u64, u32> = fast_map();
        for i in 0..1000u64 {
            *m.entry(i << 32).or_default() += 1;
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m[&(5u64 << 32)], 1);
    }
}
