//! CSV records read into fixed buffers, so memory does not grow with what a file puts in
//! one record.
//!
//! The csv crate's reader grows its record buffer to fit any record: one 64 MiB field
//! is 64 MiB held. Here csv-core (the parser under the csv crate, with the same
//! defaults) writes each record into buffers of [`MAX_RECORD_BYTES`] and [`MAX_FIELDS`];
//! a record past either is read on to its end without being kept, and comes out as
//! [`Record::TooLarge`] with its line, for the import to report like any bad row.

use std::io::{BufRead, BufReader, Read};

use csv::ByteRecord;
use csv_core::ReadRecordResult;

use super::lines::LineCounter;

/// Largest record kept, counting its fields' bytes (without quotes and commas). The
/// longest row the platform writes is a link's: a URL of at most 2048 characters and a
/// title of at most 255, at most 4 bytes each in UTF-8, with ids and timestamps, under
/// 11 KiB. An event's `details` beyond this much are refused too.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Most fields a record may have: every format has at most 8 columns, and columns the
/// importer does not know are allowed and ignored.
pub const MAX_FIELDS: usize = 256;
/// Bytes read from the upload at a time.
const READ_BUFFER_BYTES: usize = 64 * 1024;

/// One record of the file.
#[derive(Debug)]
pub enum Record {
    /// A record within the limits, and the line it starts on.
    Fields { line: u64, fields: ByteRecord },
    /// A record past a limit: skipped to its end, not kept.
    TooLarge { line: u64, limit: Limit },
}

/// The limit a record went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_RECORD_BYTES`]
    Bytes,
    /// [`MAX_FIELDS`]
    Fields,
}

impl Limit {
    /// The problem, said of `what` ("row", "the header").
    pub fn describe(self, what: &str) -> String {
        match self {
            Self::Bytes => format!("{what} is larger than {MAX_RECORD_BYTES} bytes"),
            Self::Fields => format!("{what} has more than {MAX_FIELDS} fields"),
        }
    }
}

/// Reads CSV records from a byte stream, each into the same bounded buffers.
pub struct Records<R> {
    input: BufReader<R>,
    parser: csv_core::Reader,
    lines: LineCounter,
    output: Box<[u8]>,
    ends: Box<[usize]>,
}

impl<R: Read> Records<R> {
    pub fn new(reader: R) -> Self {
        Self {
            input: BufReader::with_capacity(READ_BUFFER_BYTES, reader),
            parser: csv_core::Reader::new(),
            lines: LineCounter::default(),
            // One spare place each: csv-core says a buffer is full as soon as it is, before
            // it knows whether the record ends there, so a record exactly at a limit
            // needs it. A record that fills the spare place is past the limit.
            output: vec![0; MAX_RECORD_BYTES + 1].into_boxed_slice(),
            ends: vec![0; MAX_FIELDS + 1].into_boxed_slice(),
        }
    }

    /// The next record, or `None` at the end of the file. Blank lines are skipped (but
    /// counted in the lines); only a failure to read the stream itself is an error.
    pub fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        let (mut written, mut ended) = (0, 0);
        let mut too_large = None;
        loop {
            let input = self.input.fill_buf()?;
            let (result, read, wrote, ends) = self.parser.read_record(
                input,
                &mut self.output[written..],
                &mut self.ends[ended..],
            );
            self.lines.consume(&input[..read]);
            self.input.consume(read);
            written += wrote;
            ended += ends;
            match result {
                ReadRecordResult::InputEmpty => {}
                // The record is dropped: the buffers are reused for the rest of it, which
                // is parsed (to find where it ends) and thrown away.
                ReadRecordResult::OutputFull => {
                    too_large.get_or_insert(Limit::Bytes);
                    (written, ended) = (0, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    too_large.get_or_insert(Limit::Fields);
                    (written, ended) = (0, 0);
                }
                ReadRecordResult::Record => {
                    let line = self.lines.finish_record();
                    // A record that filled the spare place just as the input ran out
                    // (the last one, without a final line end) never saw OutputFull.
                    if written > MAX_RECORD_BYTES {
                        too_large.get_or_insert(Limit::Bytes);
                    } else if ended > MAX_FIELDS {
                        too_large.get_or_insert(Limit::Fields);
                    }
                    return Ok(Some(match too_large {
                        Some(limit) => Record::TooLarge { line, limit },
                        None => Record::Fields {
                            line,
                            fields: self.fields(written, ended),
                        },
                    }));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// The record in the buffers: `written` bytes cut at the first `ended` field ends.
    fn fields(&self, written: usize, ended: usize) -> ByteRecord {
        let mut record = ByteRecord::with_capacity(written, ended);
        let mut start = 0;
        for &end in &self.ends[..ended] {
            record.push_field(&self.output[start..end]);
            start = end;
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the tests compare it: its line and fields, or its line and the limit
    /// it broke.
    type Read = Result<(u64, Vec<String>), (u64, Limit)>;

    /// Every record of `bytes`.
    fn read_all(bytes: &[u8]) -> Vec<Read> {
        let mut records = Records::new(bytes);
        let mut found = Vec::new();
        while let Some(record) = records.next_record().unwrap() {
            found.push(match record {
                Record::Fields { line, fields } => Ok((
                    line,
                    fields
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect(),
                )),
                Record::TooLarge { line, limit } => Err((line, limit)),
            });
        }
        found
    }

    fn row(line: u64, fields: &[&str]) -> Read {
        Ok((line, fields.iter().map(|f| (*f).to_owned()).collect()))
    }

    #[test]
    fn records_are_parsed_as_the_csv_crate_does() {
        let text = "\u{feff}a,b\r\n\"x, \"\"y\"\"\nz\",2\n\n3,\n";
        assert_eq!(
            read_all(text.as_bytes()),
            [
                row(1, &["a", "b"]),
                row(2, &["x, \"y\"\nz", "2"]),
                row(5, &["3", ""]),
            ]
        );
    }

    #[test]
    fn a_64_mib_field_is_refused_by_its_line_and_the_next_row_still_read() {
        let mut file = b"a,b\n1,2\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 64 * 1024 * 1024));
        file.extend(b",y\n3,4\n");
        assert_eq!(
            read_all(&file),
            [
                row(1, &["a", "b"]),
                row(2, &["1", "2"]),
                Err((3, Limit::Bytes)),
                row(4, &["3", "4"]),
            ]
        );
    }

    #[test]
    fn a_quoted_field_of_newlines_past_the_limit_is_refused_at_its_first_line() {
        let mut file = b"a,b\n\"".to_vec();
        file.extend(std::iter::repeat_n(b'\n', MAX_RECORD_BYTES + 1));
        file.extend(b"\",y\n3,4\n");
        let last = MAX_RECORD_BYTES as u64 + 4;
        assert_eq!(
            read_all(&file),
            [
                row(1, &["a", "b"]),
                Err((2, Limit::Bytes)),
                row(last, &["3", "4"])
            ]
        );
    }

    #[test]
    fn a_record_at_the_byte_limit_is_kept_and_one_byte_more_is_not() {
        let at_limit = "x".repeat(MAX_RECORD_BYTES - 1);
        for end in ["\n", ""] {
            let file = format!("a,b\n{at_limit},y\n{at_limit},yy{end}");
            let found = read_all(file.as_bytes());
            assert_eq!(found[1], row(2, &[&at_limit, "y"]));
            assert_eq!(found[2], Err((3, Limit::Bytes)), "file ending in {end:?}");
        }
    }

    #[test]
    fn a_record_at_the_field_limit_is_kept_and_one_field_more_is_not() {
        let at_limit = ",".repeat(MAX_FIELDS - 1);
        let past = ",".repeat(MAX_FIELDS);
        for end in ["\n", ""] {
            let file = format!("a,b\n{at_limit}\n{past}{end}");
            let found = read_all(file.as_bytes());
            assert_eq!(found[1], row(2, &vec![""; MAX_FIELDS]));
            assert_eq!(found[2], Err((3, Limit::Fields)), "file ending in {end:?}");
        }
    }
}
