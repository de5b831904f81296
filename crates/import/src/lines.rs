//! True line numbers for CSV records, in constant memory whatever the file holds.
//!
//! The csv crate's record positions point at the previous terminator after CRLF or blank
//! lines (BurntSushi/rust-csv#208), so the reader instead shows this counter every byte
//! the parser consumes. A record's line is the line of its first byte that is not a line
//! terminator: the parser skips blank lines before a record, and a record never starts
//! with `\r` or `\n`. Nothing is kept per line, so a file of millions of blank lines
//! costs two integers.

/// Counts `\n` in the bytes consumed and notes where the record being read began.
#[derive(Debug, Clone)]
pub struct LineCounter {
    /// The line the next consumed byte is on (the header is line 1).
    line: u64,
    /// The line of the current record's first byte, once it has been consumed.
    record_line: Option<u64>,
}

impl Default for LineCounter {
    fn default() -> Self {
        Self {
            line: 1,
            record_line: None,
        }
    }
}

impl LineCounter {
    /// Notes `bytes`, the next bytes the parser consumed.
    pub fn consume(&mut self, bytes: &[u8]) {
        if self.record_line.is_none()
            && let Some(first) = bytes.iter().position(|&b| b != b'\n' && b != b'\r')
        {
            self.record_line = Some(self.line + newlines(&bytes[..first]));
        }
        self.line += newlines(bytes);
    }

    /// The line the record just read began on; the next record starts from here.
    pub fn finish_record(&mut self) -> u64 {
        self.record_line.take().unwrap_or(self.line)
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line of each record of `text`, fed to the parser `chunk` bytes at a time.
    fn record_lines(text: &str, chunk: usize) -> Vec<u64> {
        let mut parser = csv_core::Reader::new();
        let mut lines = LineCounter::default();
        let (mut output, mut ends) = ([0; 1024], [0; 16]);
        let mut found = Vec::new();
        let mut input = text.as_bytes();
        loop {
            let piece = &input[..chunk.min(input.len())];
            let (result, read, ..) = parser.read_record(piece, &mut output, &mut ends);
            lines.consume(&piece[..read]);
            input = &input[read..];
            match result {
                csv_core::ReadRecordResult::Record => found.push(lines.finish_record()),
                csv_core::ReadRecordResult::End => return found,
                _ => {}
            }
        }
    }

    #[test]
    fn lines_are_right_with_crlf_blank_lines_and_multiline_fields() {
        for chunk in [1, 3, 4096] {
            assert_eq!(record_lines("a,b\r\n1,2\r\n3,4\r\n", chunk), [1, 2, 3]);
            assert_eq!(
                record_lines("a,b\n1,2\n\n\n3,4\n5,6\n", chunk),
                [1, 2, 5, 6]
            );
            assert_eq!(record_lines("a,b\n\"x\ny\",2\n3,4\n", chunk), [1, 2, 4]);
            assert_eq!(record_lines("a,b\r\n\r\n1,2\r\n", chunk), [1, 3]);
            assert_eq!(record_lines("\n\na,b\n1,2", chunk), [3, 4]);
        }
    }

    #[test]
    fn a_million_blank_lines_are_counted_in_constant_memory() {
        let text = format!("a,b\n{}1,2\n", "\n".repeat(1_000_000));
        assert_eq!(record_lines(&text, 8192), [1, 1_000_002]);
        let crlf = format!("a,b\r\n{}1,2\r\n", "\r\n".repeat(1_000_000));
        assert_eq!(record_lines(&crlf, 8192), [1, 1_000_002]);
        // All the counter keeps, whatever it has seen.
        assert!(std::mem::size_of::<LineCounter>() <= 32);
    }
}
