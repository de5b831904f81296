//! What an import did: rows imported, rows skipped as already present, and rows rejected.

use serde::Serialize;

/// Rejected rows listed in full before the list is cut (the count stays exact).
pub const MAX_LISTED_ERRORS: usize = 1000;

/// A rejected row: its line in the file (the header is line 1) and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

/// The outcome of one import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Rows inserted.
    pub count: u64,
    /// Rows not inserted because their id (or another unique key) already exists.
    pub skipped: u64,
    /// Rejected rows, at most 1000 listed.
    pub errors: Vec<RowError>,
    /// How many rows were rejected in all.
    pub error_count: u64,
}

impl ImportReport {
    /// Records a rejected row.
    pub fn reject(&mut self, error: RowError) {
        self.error_count += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(error);
        }
    }

    /// Adds another report's figures to this one.
    pub fn absorb(&mut self, other: ImportReport) {
        self.count += other.count;
        self.skipped += other.skipped;
        let unlisted = other.error_count - other.errors.len() as u64;
        for error in other.errors {
            self.reject(error);
        }
        self.error_count += unlisted;
    }
}
