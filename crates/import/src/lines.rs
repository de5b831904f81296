//! True line numbers for CSV rows. The csv crate's record positions point at the previous
//! terminator after CRLF or blank lines (BurntSushi/rust-csv#208), so the bytes are
//! watched on their way in and each record's start is mapped to the line it begins on.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

/// Where one line starts, and whether it is blank (begins with a line terminator).
#[derive(Debug, Clone, Copy)]
struct LineStart {
    offset: u64,
    line: u64,
    blank: bool,
}

/// Line starts seen by the reader and not yet claimed by a record (bounded by the CSV
/// reader's read-ahead, not by the file).
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Rc<RefCell<VecDeque<LineStart>>>,
}

impl LineIndex {
    /// The line of the record whose bytes start at `offset`: the first non-blank line
    /// starting at or after it. Forgets every line before it.
    pub fn line_of(&self, offset: u64) -> Option<u64> {
        let mut starts = self.starts.borrow_mut();
        while starts.front().is_some_and(|start| start.offset < offset) {
            starts.pop_front();
        }
        starts
            .iter()
            .find(|start| !start.blank)
            .map(|start| start.line)
    }
}

/// A reader that records line starts into a [`LineIndex`] as bytes pass through.
pub struct LineTracking<R> {
    inner: R,
    index: LineIndex,
    offset: u64,
    line: u64,
    at_line_start: bool,
}

impl<R: Read> LineTracking<R> {
    pub fn new(inner: R) -> (Self, LineIndex) {
        let index = LineIndex::default();
        let reader = Self {
            inner,
            index: index.clone(),
            offset: 0,
            line: 1,
            at_line_start: true,
        };
        (reader, index)
    }
}

impl<R: Read> Read for LineTracking<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let mut starts = self.index.starts.borrow_mut();
        for &byte in &buf[..read] {
            if self.at_line_start {
                starts.push_back(LineStart {
                    offset: self.offset,
                    line: self.line,
                    blank: byte == b'\n' || byte == b'\r',
                });
                self.at_line_start = false;
            }
            if byte == b'\n' {
                self.line += 1;
                self.at_line_start = true;
            }
            self.offset += 1;
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_lines(text: &str) -> Vec<u64> {
        let (reader, index) = LineTracking::new(text.as_bytes());
        let mut csv = csv::Reader::from_reader(reader);
        let mut record = csv::StringRecord::new();
        let mut lines = Vec::new();
        while csv.read_record(&mut record).unwrap() {
            lines.push(index.line_of(record.position().unwrap().byte()).unwrap());
        }
        lines
    }

    #[test]
    fn lines_are_right_with_crlf_blank_lines_and_multiline_fields() {
        assert_eq!(record_lines("a,b\r\n1,2\r\n3,4\r\n"), [2, 3]);
        assert_eq!(record_lines("a,b\n1,2\n\n\n3,4\n5,6\n"), [2, 5, 6]);
        assert_eq!(record_lines("a,b\n\"x\ny\",2\n3,4\n"), [2, 4]);
        assert_eq!(record_lines("a,b\r\n\r\n1,2\r\n"), [3]);
    }
}
