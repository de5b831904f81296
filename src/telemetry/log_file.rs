//! `LOG_FILE`: log lines appended to a file the process writes itself, rotated by size
//! (`path` → `path.1` → … → `path.3`, the oldest dropped), so no supervisor has to relay
//! them and the disk they take is bounded.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Rotated past this many bytes.
const MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Rotated files kept.
const KEPT: u32 = 3;

/// An appending, rotating log file.
pub struct LogFile {
    path: PathBuf,
    file: File,
    written: u64,
    max_bytes: u64,
}

impl LogFile {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::with_limit(path, MAX_BYTES)
    }

    fn with_limit(path: &Path, max_bytes: u64) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path: path.to_owned(),
            file,
            written,
            max_bytes,
        })
    }

    /// `path.N` → `path.N+1` (the last one dropped), `path` → `path.1`, and a new `path`.
    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..KEPT).rev() {
            let from = numbered(&self.path, n);
            if from.exists() {
                fs::rename(&from, numbered(&self.path, n + 1))?;
            }
        }
        fs::rename(&self.path, numbered(&self.path, 1))?;
        *self = Self::with_limit(&self.path, self.max_bytes)?;
        Ok(())
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl Write for LogFile {
    /// Whole batches of lines come here; a batch that passes the limit is written, then
    /// the file rotated, so no line is split across two files.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        if self.written >= self.max_bytes {
            self.rotate()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_and_rotated_by_size_keeping_three() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "before\n").unwrap();
        let mut log = LogFile::with_limit(&path, 100).unwrap();
        for n in 0..27 {
            log.write_all(format!("line {n:04} of the log\n").as_bytes())
                .unwrap();
        }
        let first = fs::read_to_string(numbered(&path, 3)).unwrap();
        assert!(!first.is_empty());
        for n in 1..=3 {
            let size = fs::metadata(numbered(&path, n)).unwrap().len();
            assert!((100..130).contains(&size), "{n}: {size}");
        }
        assert!(!numbered(&path, 4).exists(), "three are kept");
        let current = fs::read_to_string(&path).unwrap();
        assert!(current.ends_with("line 0026 of the log\n"), "{current}");
        assert!(current.len() < 100);
    }
}
