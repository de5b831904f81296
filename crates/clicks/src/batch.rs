//! A batch of clicks and its identity. The id is drawn once, when the intake cuts the
//! batch, and kept through retries, the spill and replays; the parts a refused batch is
//! split into get ids derived from it, so a replay splits the same way into the same ids.

use shortener_domain::Click;

use crate::spill::Position;

/// Where a batch came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Cut from this process's queue, and only in memory.
    Fresh,
    /// Read from the spill at this position; `inherited` when a previous process
    /// spilled it.
    Spilled { position: Position, inherited: bool },
}

/// Clicks written together.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub id: i64,
    pub clicks: Vec<Click>,
    pub origin: Origin,
}

impl Batch {
    /// A new batch with a random id.
    pub fn fresh(clicks: Vec<Click>) -> Self {
        Self {
            id: random_id(),
            clicks,
            origin: Origin::Fresh,
        }
    }

    /// Whether its clicks are this process's (counted when they settle).
    pub fn is_own(&self) -> bool {
        !matches!(
            self.origin,
            Origin::Spilled {
                inherited: true,
                ..
            }
        )
    }
}

/// A part of a batch: the clicks `start..start + len`, and the id they are written under
/// (the batch's own for the whole, derived for a part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub id: i64,
    pub start: usize,
    pub len: usize,
}

impl Part {
    /// The whole batch.
    pub fn whole(batch: &Batch) -> Self {
        Self {
            id: batch.id,
            start: 0,
            len: batch.clicks.len(),
        }
    }

    /// Its two halves, with ids derived from the batch's: the same split of the same
    /// batch always gets the same ids.
    pub fn halves(self, batch_id: i64) -> [Self; 2] {
        let first = self.len / 2;
        [
            Self::derived(batch_id, self.start, first),
            Self::derived(batch_id, self.start + first, self.len - first),
        ]
    }

    fn derived(batch_id: i64, start: usize, len: usize) -> Self {
        let key = ((start as u64) << 32) ^ (len as u64);
        Self {
            id: mix(batch_id as u64 ^ mix(key)) as i64,
            start,
            len,
        }
    }
}

/// A random non-zero id.
fn random_id() -> i64 {
    loop {
        let id = i64::from_str_radix(&shortener_domain::random::text(15, b"0123456789abcdef"), 16)
            .expect("15 hex digits fit an i64");
        if id != 0 {
            return id;
        }
    }
}

/// SplitMix64's finaliser: a bijection that spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_derives_the_same_ids_every_time_and_covers_the_batch() {
        let whole = Part {
            id: 42,
            start: 0,
            len: 7,
        };
        let [a, b] = whole.halves(42);
        assert_eq!([a, b], whole.halves(42));
        assert_eq!((a.start, a.len, b.start, b.len), (0, 3, 3, 4));
        let [c, d] = b.halves(42);
        assert_eq!((c.start, c.len, d.start, d.len), (3, 2, 5, 2));
        let ids = [whole.id, a.id, b.id, c.id, d.id];
        for (i, x) in ids.iter().enumerate() {
            assert!(ids[i + 1..].iter().all(|y| y != x), "{ids:?}");
        }
        assert_ne!(whole.halves(43)[0].id, a.id, "another batch, other ids");
    }

    #[test]
    fn fresh_batches_get_distinct_ids() {
        let a = Batch::fresh(Vec::new());
        let b = Batch::fresh(Vec::new());
        assert_ne!(a.id, b.id);
        assert!(a.id > 0 && b.id > 0);
    }
}
