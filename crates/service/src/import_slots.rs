//! How many CSV imports a replica runs at once: [`MAX_IMPORTS_PER_KEY`] per API key and
//! [`MAX_IMPORTS_PER_REPLICA`] in all. Each import bounds its own memory (see
//! `shortener_import`); these bound how many of them there are, whatever arrives, and
//! keep one key from taking every slot.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Imports one API key may run at once on a replica.
pub const MAX_IMPORTS_PER_KEY: usize = 1;
/// Imports a replica runs at once, whatever their keys (the only bound when the API is
/// open). Each holds a few MiB at most and one database connection per batch.
pub const MAX_IMPORTS_PER_REPLICA: usize = 2;
/// What a refused import is told to wait (`Retry-After`): about what 250,000 rows take
/// (50,000 rows/s, docs/performance.md), so a client does not ask again at once.
pub const IMPORT_RETRY_AFTER_SECS: u64 = 5;

/// The imports running on this replica, in all and per key.
#[derive(Debug, Default)]
pub struct ImportSlots {
    running: Mutex<Running>,
}

#[derive(Debug, Default)]
struct Running {
    total: usize,
    /// Only keys with an import running: at most [`MAX_IMPORTS_PER_REPLICA`] entries.
    by_key: HashMap<String, usize>,
}

/// Which limit refused an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImportsFull {
    /// The key already runs [`MAX_IMPORTS_PER_KEY`] imports.
    #[error(
        "this API key already has {MAX_IMPORTS_PER_KEY} import running; retry in {IMPORT_RETRY_AFTER_SECS} s"
    )]
    Key,
    /// The replica already runs [`MAX_IMPORTS_PER_REPLICA`] imports.
    #[error(
        "this replica already runs {MAX_IMPORTS_PER_REPLICA} imports; retry in {IMPORT_RETRY_AFTER_SECS} s"
    )]
    Replica,
}

/// One running import's place; given back when dropped (also when the client goes away
/// and the handler is dropped mid-import).
#[derive(Debug)]
pub struct ImportSlot<'a> {
    slots: &'a ImportSlots,
    key: Option<String>,
}

impl ImportSlots {
    /// Takes a slot for an import by `key` (`None`: the API is open), if both limits
    /// allow it.
    pub fn take(&self, key: Option<&str>) -> Result<ImportSlot<'_>, ImportsFull> {
        let mut running = self.lock();
        if let Some(key) = key
            && running
                .by_key
                .get(key)
                .is_some_and(|n| *n >= MAX_IMPORTS_PER_KEY)
        {
            return Err(ImportsFull::Key);
        }
        if running.total >= MAX_IMPORTS_PER_REPLICA {
            return Err(ImportsFull::Replica);
        }
        running.total += 1;
        if let Some(key) = key {
            *running.by_key.entry(key.to_owned()).or_default() += 1;
        }
        Ok(ImportSlot {
            slots: self,
            key: key.map(str::to_owned),
        })
    }

    /// How many imports are running now.
    pub fn running(&self) -> usize {
        self.lock().total
    }

    /// The counts stay right even if a holder panicked: each change is one statement.
    fn lock(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ImportSlot<'_> {
    fn drop(&mut self) {
        let mut running = self.slots.lock();
        running.total -= 1;
        if let Some(key) = &self.key
            && let Some(count) = running.by_key.get_mut(key)
        {
            *count -= 1;
            if *count == 0 {
                running.by_key.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_runs_one_import_at_a_time_and_gets_its_slot_back_when_it_ends() {
        let slots = ImportSlots::default();
        let first = slots.take(Some("ci-bot")).unwrap();
        assert_eq!(slots.take(Some("ci-bot")).unwrap_err(), ImportsFull::Key);
        drop(first);
        assert_eq!(slots.running(), 0);
        let again = slots.take(Some("ci-bot"));
        assert!(again.is_ok());
    }

    #[test]
    fn a_replica_runs_at_most_its_share_of_imports_with_or_without_keys() {
        let slots = ImportSlots::default();
        let held: Vec<_> = (0..MAX_IMPORTS_PER_REPLICA)
            .map(|n| slots.take(Some(&format!("key-{n}"))).unwrap())
            .collect();
        assert_eq!(
            slots.take(Some("another")).unwrap_err(),
            ImportsFull::Replica
        );
        assert_eq!(slots.take(None).unwrap_err(), ImportsFull::Replica);
        drop(held);
        let open: Vec<_> = (0..MAX_IMPORTS_PER_REPLICA)
            .map(|_| slots.take(None).unwrap())
            .collect();
        assert_eq!(slots.take(None).unwrap_err(), ImportsFull::Replica);
        drop(open);
        assert_eq!(slots.running(), 0);
        assert!(
            slots.lock().by_key.is_empty(),
            "no key is remembered after its import"
        );
    }
}
