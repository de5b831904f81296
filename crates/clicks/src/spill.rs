//! The durable hand-off for clicks Postgres cannot take in time: an append-only spill on
//! local disk, as log shippers keep one. Batches go in whole, one JSON line each, with
//! the batch id they keep for good, and come out in the order they went in. A batch's
//! bytes leave the disk only after its write to Postgres committed, so a crash anywhere
//! replays it, and the batch id makes the replay a no-op when it had committed.
//!
//! Files: each replica keeps `DIR/<replica>/`, with `LOCK` (held by the process that owns
//! it, an advisory `flock` the kernel releases when the process dies) and segments
//! `<sequence>.spill`, rotated at [`SEGMENT_BYTES`]. A replica that finds a sibling
//! directory whose lock is free (its replica is gone: a container replaced under a new
//! name) adopts its segments and replays them after its own, at start and every minute. Durability: every batch is
//! written to the file before `append` returns, so a killed process (SIGKILL, OOM) loses
//! nothing it spilled; the data reaches the disk itself at the next [`Spill::sync`]
//! (the writer calls it every second) or rotation, so a power cut loses at most that
//! last second. A record cut off by a crash is skipped when read, and counted.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use shortener_domain::{Click, Intent};

/// A segment is closed and a new one begun past this size.
pub const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// Where the spill lives and how large it may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpillSettings {
    /// The directory the replicas of a host (or a shared volume) keep their spills in.
    pub dir: PathBuf,
    /// This replica's subdirectory: its name (`REPLICA_NAME`).
    pub replica: String,
    /// Bytes on disk past which a batch is refused (dropped, and counted).
    pub max_bytes: u64,
}

/// Why the spill cannot take a batch or cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("the click spill is full ({max_bytes} bytes, CLICK_SPILL_MAX_MB)")]
    Full { max_bytes: u64 },
    #[error("CLICK_SPILL_DIR {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("CLICK_SPILL_DIR {0} is in use by another process (each replica needs its own)")]
    Locked(PathBuf),
}

/// A batch as the spill keeps it: its id and its clicks.
#[derive(Debug, Clone, PartialEq)]
pub struct SpilledBatch {
    pub id: i64,
    pub clicks: Vec<Click>,
}

/// Where a read batch ends: committing it lets the spill forget everything before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    segment: u64,
    end: u64,
    /// Written by another process (found at start, or adopted).
    pub inherited: bool,
}

/// The on-disk record of a batch: `{"id": .., "clicks": [[url_id, micros, referrer,
/// user_agent, accept_language, intent, country, visitor, variant], ..]}`. The four after
/// the user agent came with click classification, and the variant (`rules.N`, …) with
/// targeting; a record written before them reads as a visit with none of them.
#[derive(Serialize, Deserialize)]
struct Record {
    id: i64,
    clicks: Vec<SpilledClick>,
}

#[derive(Serialize, Deserialize)]
struct SpilledClick(
    i64,
    i64,
    Option<String>,
    Option<String>,
    #[serde(default)] Option<String>,
    #[serde(default)] u8,
    #[serde(default)] Option<String>,
    #[serde(default)] Option<i64>,
    #[serde(default)] Option<String>,
);

/// An [`Intent`] as the spill writes it.
fn intent_code(intent: Intent) -> u8 {
    match intent {
        Intent::Visit => 0,
        Intent::Prefetch => 1,
        Intent::Check => 2,
    }
}

fn intent_of(code: u8) -> Option<Intent> {
    match code {
        0 => Some(Intent::Visit),
        1 => Some(Intent::Prefetch),
        2 => Some(Intent::Check),
        _ => None,
    }
}

impl Record {
    fn of(batch: &SpilledBatch) -> Self {
        Self {
            id: batch.id,
            clicks: batch
                .clicks
                .iter()
                .map(|click| {
                    SpilledClick(
                        click.url_id,
                        click.at.timestamp_micros(),
                        click.referrer.clone(),
                        click.user_agent.clone(),
                        click.accept_language.clone(),
                        intent_code(click.intent),
                        click.country.clone(),
                        click.visitor,
                        click.variant.map(|choice| choice.to_string()),
                    )
                })
                .collect(),
        }
    }

    fn into_batch(self) -> Option<SpilledBatch> {
        let clicks = self
            .clicks
            .into_iter()
            .map(|spilled| {
                let SpilledClick(
                    url_id,
                    micros,
                    referrer,
                    user_agent,
                    accept_language,
                    intent,
                    country,
                    visitor,
                    variant,
                ) = spilled;
                Some(Click {
                    url_id,
                    at: DateTime::<Utc>::from_timestamp_micros(micros)?,
                    referrer,
                    user_agent,
                    accept_language,
                    intent: intent_of(intent)?,
                    country,
                    visitor,
                    variant: match variant {
                        Some(label) => Some(label.parse().ok()?),
                        None => None,
                    },
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(SpilledBatch {
            id: self.id,
            clicks,
        })
    }
}

/// One segment file: its sequence number and size, and whether another process wrote it
/// (found at start, or adopted).
#[derive(Debug)]
struct Segment {
    sequence: u64,
    bytes: u64,
    inherited: bool,
}

/// The segment being read.
struct Reader {
    sequence: u64,
    file: BufReader<File>,
    offset: u64,
}

/// The spill of one process. Its methods do blocking file I/O: call them from
/// `spawn_blocking` (or a thread of its own). Batches are read and committed one at a
/// time, in order.
pub struct Spill {
    /// The shared parent directory.
    parent: PathBuf,
    /// This replica's own directory under it.
    dir: PathBuf,
    max_bytes: u64,
    state: Mutex<State>,
    _lock: File,
}

struct State {
    /// Every segment on disk, oldest first; appends go to the last while `active` is set.
    segments: VecDeque<Segment>,
    active: Option<File>,
    reader: Option<Reader>,
    /// The newest segment read to its end.
    read_through: Option<u64>,
    /// Records appended and not yet read.
    unread: u64,
    /// The batch handed out by [`Spill::next`] and not yet committed.
    outstanding: Option<Position>,
    /// The sequence number of the next segment begun or adopted. It only grows: a
    /// number is never used twice in a process, even once every segment is deleted, as
    /// `read_through` would take a reused one for read.
    next_sequence: u64,
}

impl Spill {
    /// Opens (creating) the directory, takes its lock, and finds the segments a previous
    /// process left, to be replayed first.
    pub fn open(settings: &SpillSettings) -> Result<Self, SpillError> {
        let parent = settings.dir.clone();
        let dir = parent.join(&settings.replica);
        let io_error = |source| SpillError::Io {
            dir: dir.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(io_error)?;
        let lock = match try_lock_dir(&dir).map_err(io_error)? {
            Some(lock) => lock,
            None => return Err(SpillError::Locked(dir)),
        };
        let mut segments = Vec::new();
        let mut unread = 0;
        for (sequence, path) in segment_files(&dir).map_err(io_error)? {
            let bytes = fs::metadata(&path).map_err(io_error)?.len();
            unread += count_records(&path).map_err(io_error)?;
            segments.push(Segment {
                sequence,
                bytes,
                inherited: true,
            });
        }
        let next_sequence = segments.last().map_or(1, |segment| segment.sequence + 1);
        let spill = Self {
            parent,
            dir,
            max_bytes: settings.max_bytes,
            state: Mutex::new(State {
                next_sequence,
                segments: segments.into(),
                active: None,
                reader: None,
                read_through: None,
                unread,
                outstanding: None,
            }),
            _lock: lock,
        };
        spill.adopt_orphans().map_err(|e| match e {
            SpillError::Io { source, .. } => SpillError::Io {
                dir: spill.dir.clone(),
                source,
            },
            other => other,
        })?;
        Ok(spill)
    }

    /// Takes over the segments of every sibling directory whose replica is gone (its lock
    /// is free), to be read after this replica's own; returns how many batches came.
    pub fn adopt_orphans(&self) -> Result<u64, SpillError> {
        let io = |source| SpillError::Io {
            dir: self.parent.clone(),
            source,
        };
        let mut adopted = 0;
        for entry in fs::read_dir(&self.parent).map_err(io)? {
            let orphan = entry.map_err(io)?.path();
            if orphan == self.dir || !orphan.is_dir() || !orphan.join("LOCK").exists() {
                continue;
            }
            let Some(_orphan_lock) = try_lock_dir(&orphan).map_err(io)? else {
                continue; // its replica is alive
            };
            let mut state = self.lock();
            // Appends go on in a new segment after the adopted ones.
            state.active = None;
            for (_, path) in segment_files(&orphan).map_err(io)? {
                let sequence = state.next_sequence;
                state.next_sequence += 1;
                let target = self.segment_path(sequence);
                fs::rename(&path, &target).map_err(io)?;
                let bytes = fs::metadata(&target).map_err(io)?.len();
                let records = count_records(&target).map_err(io)?;
                state.unread += records;
                adopted += records;
                state.segments.push_back(Segment {
                    sequence,
                    bytes,
                    inherited: true,
                });
            }
            drop(state);
            let _ = fs::remove_file(orphan.join("LOCK"));
            let _ = fs::remove_dir(&orphan);
            tracing::info!(
                from = %orphan.display(),
                batches = adopted,
                "adopted the click spill of a replica that is gone"
            );
        }
        Ok(adopted)
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.lock()
            .segments
            .iter()
            .map(|segment| segment.bytes)
            .sum()
    }

    /// Whether batches are waiting to be read (a new batch must queue behind them, so
    /// the order is kept).
    pub fn has_unread(&self) -> bool {
        self.lock().unread > 0
    }

    /// How many batches are waiting to be read.
    pub fn unread_records(&self) -> u64 {
        self.lock().unread
    }

    /// Appends a batch; refuses it (writing nothing) when it would pass the bound.
    pub fn append(&self, batch: &SpilledBatch) -> Result<(), SpillError> {
        let mut line = serde_json::to_vec(&Record::of(batch)).expect("a record serialises");
        line.push(b'\n');
        let mut state = self.lock();
        let on_disk: u64 = state.segments.iter().map(|segment| segment.bytes).sum();
        if on_disk + line.len() as u64 > self.max_bytes {
            return Err(SpillError::Full {
                max_bytes: self.max_bytes,
            });
        }
        let full = state
            .segments
            .back()
            .is_some_and(|segment| segment.bytes >= SEGMENT_BYTES);
        if state.active.is_none() || full {
            self.start_segment(&mut state).map_err(|e| self.io(e))?;
        }
        let active = state.active.as_mut().expect("a segment was started");
        if let Err(error) = active.write_all(&line) {
            // A partial line would run into the next one: cut it off and move on.
            let written = state.segments.back().map_or(0, |segment| segment.bytes);
            if let Some(active) = state.active.take() {
                let _ = active.set_len(written);
            }
            return Err(self.io(error));
        }
        let segment = state
            .segments
            .back_mut()
            .expect("the active segment is listed");
        segment.bytes += line.len() as u64;
        state.unread += 1;
        Ok(())
    }

    /// Forces what was appended onto the disk.
    pub fn sync(&self) -> Result<(), SpillError> {
        let state = self.lock();
        match &state.active {
            Some(active) => active.sync_data().map_err(|e| self.io(e)),
            None => Ok(()),
        }
    }

    /// The next unread batch, in append order, and its position, to commit once the batch
    /// is in Postgres. Records that cannot be read back (cut off by a crash) are skipped:
    /// their number comes beside.
    pub fn next(&self) -> Result<(Option<(SpilledBatch, Position)>, u64), SpillError> {
        let mut state = self.lock();
        let mut skipped = 0;
        while state.unread > 0 {
            if state.reader.is_none() {
                let read_through = state.read_through;
                let Some(sequence) = state
                    .segments
                    .iter()
                    .map(|segment| segment.sequence)
                    .find(|sequence| read_through.is_none_or(|done| *sequence > done))
                else {
                    state.unread = 0;
                    break;
                };
                let file = File::open(self.segment_path(sequence)).map_err(|e| self.io(e))?;
                state.reader = Some(Reader {
                    sequence,
                    file: BufReader::new(file),
                    offset: 0,
                });
            }
            let reader = state.reader.as_mut().expect("opened above");
            let sequence = reader.sequence;
            let mut line = Vec::new();
            let read = reader
                .file
                .read_until(b'\n', &mut line)
                .map_err(|e| self.io(e))?;
            if read > 0 && line.last() == Some(&b'\n') {
                reader.offset += read as u64;
            }
            let offset = reader.offset;
            if read == 0 || line.last() != Some(&b'\n') {
                // The end of the segment, or a record a crash cut off (the rest of the
                // segment with it).
                if read > 0 {
                    skipped += 1;
                    state.unread = state.unread.saturating_sub(1);
                }
                let is_active = state.active.is_some()
                    && state.segments.back().map(|s| s.sequence) == Some(sequence);
                if is_active {
                    // Caught up with the appends inside their segment; wait for more.
                    break;
                }
                state.reader = None;
                state.read_through = Some(sequence);
                self.delete_done(&mut state)?;
                continue;
            }
            let inherited = state
                .segments
                .iter()
                .find(|segment| segment.sequence == sequence)
                .is_some_and(|segment| segment.inherited);
            let position = Position {
                segment: sequence,
                end: offset,
                inherited,
            };
            state.unread = state.unread.saturating_sub(1);
            match serde_json::from_slice::<Record>(&line[..line.len() - 1])
                .ok()
                .and_then(Record::into_batch)
            {
                Some(batch) => {
                    state.outstanding = Some(position);
                    return Ok((Some((batch, position)), skipped));
                }
                None => skipped += 1,
            }
        }
        Ok((None, skipped))
    }

    /// The batch at `position` is in Postgres (or given up): the spill forgets it, and
    /// deletes the segments nothing is left to read or commit in.
    pub fn commit(&self, position: Position) -> Result<(), SpillError> {
        let mut state = self.lock();
        if state.outstanding == Some(position) {
            state.outstanding = None;
        }
        // Caught up at the end of the segment appends go to: close it, so it can go now
        // rather than be replayed (as a no-op) after a restart.
        let caught_up = state.unread == 0
            && state.reader.as_ref().is_some_and(|reader| {
                state
                    .segments
                    .back()
                    .is_some_and(|s| s.sequence == reader.sequence && s.bytes == reader.offset)
            });
        if caught_up {
            let sequence = state.reader.take().map(|reader| reader.sequence);
            state.active = None;
            state.read_through = sequence;
        }
        self.delete_done(&mut state)
    }

    /// Deletes, oldest first, each segment read to its end with no batch of it left to
    /// commit.
    fn delete_done(&self, state: &mut State) -> Result<(), SpillError> {
        while let Some(oldest) = state.segments.front() {
            let sequence = oldest.sequence;
            let read = state.read_through.is_some_and(|done| sequence <= done);
            let pending = state
                .outstanding
                .is_some_and(|position| position.segment <= sequence);
            if !read || pending {
                break;
            }
            match fs::remove_file(self.segment_path(sequence)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(self.io(error)),
            }
            state.segments.pop_front();
        }
        Ok(())
    }

    fn start_segment(&self, state: &mut State) -> io::Result<()> {
        if let Some(active) = state.active.take() {
            active.sync_data()?;
        }
        let sequence = state.next_sequence;
        state.next_sequence += 1;
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(self.segment_path(sequence))?;
        state.segments.push_back(Segment {
            sequence,
            bytes: 0,
            inherited: false,
        });
        state.active = Some(file);
        Ok(())
    }

    fn segment_path(&self, sequence: u64) -> PathBuf {
        self.dir.join(format!("{sequence:020}.spill"))
    }

    fn io(&self, source: io::Error) -> SpillError {
        SpillError::Io {
            dir: self.dir.clone(),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Locks `dir/LOCK` (creating it); `None` when another process holds it.
fn try_lock_dir(dir: &Path) -> io::Result<Option<File>> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(error)) => Err(error),
    }
}

/// The segments of a directory, oldest first.
fn segment_files(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let sequence = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".spill"))
            .and_then(|stem| stem.parse::<u64>().ok());
        if let Some(sequence) = sequence {
            segments.push((sequence, path));
        }
    }
    segments.sort_by_key(|(sequence, _)| *sequence);
    Ok(segments)
}

/// How many records (lines, a cut-off last one included) a segment holds.
fn count_records(path: &Path) -> io::Result<u64> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut records = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(records);
        }
        records += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shortener_domain::TargetChoice;

    fn settings(dir: &Path) -> SpillSettings {
        SpillSettings {
            dir: dir.to_owned(),
            replica: "app-1".to_owned(),
            max_bytes: 1 << 30,
        }
    }

    fn batch(id: i64, clicks: usize) -> SpilledBatch {
        let at = DateTime::<Utc>::from_timestamp_micros(1_765_000_000_123_456).unwrap();
        SpilledBatch {
            id,
            clicks: (0..clicks)
                .map(|n| Click {
                    url_id: n as i64 + 1,
                    at,
                    referrer: (n % 2 == 0).then(|| format!("https://ref.example/{n}\t\\\"x")),
                    user_agent: None,
                    accept_language: (n % 3 == 0).then(|| "en-GB,en;q=0.8".to_owned()),
                    intent: [Intent::Visit, Intent::Prefetch, Intent::Check][n % 3],
                    country: (n % 2 == 1).then(|| "NL".to_owned()),
                    visitor: (n % 4 != 0).then_some(n as i64 * -7_919),
                    variant: [
                        None,
                        Some(TargetChoice::Rule(n as u16)),
                        Some(TargetChoice::Variant(1)),
                        Some(TargetChoice::Target),
                    ][n % 4],
                })
                .collect(),
        }
    }

    #[test]
    fn records_of_earlier_forms_read_with_what_they_lack_unset() {
        for text in [
            r#"{"id": 7, "clicks": [[1, 1765000000123456, null, "UA"]]}"#,
            r#"{"id": 7, "clicks": [[1, 1765000000123456, null, "UA", "en", 0, "NL", 5]]}"#,
        ] {
            let batch = serde_json::from_str::<Record>(text)
                .unwrap()
                .into_batch()
                .unwrap();
            assert_eq!(batch.clicks[0].user_agent.as_deref(), Some("UA"));
            assert_eq!(batch.clicks[0].variant, None);
        }
        let unknown = r#"{"id": 7, "clicks": [[1, 1765000000123456, null, null, null, 0, null, null, "rule.1"]]}"#;
        assert!(
            serde_json::from_str::<Record>(unknown)
                .unwrap()
                .into_batch()
                .is_none(),
            "a variant that is no choice is a bad record, as a bad intent is"
        );
    }

    /// Reads every batch, committing each; their ids in order.
    fn drain(spill: &Spill) -> Vec<i64> {
        let mut ids = Vec::new();
        while let (Some((batch, position)), _) = spill.next().unwrap() {
            ids.push(batch.id);
            spill.commit(position).unwrap();
        }
        ids
    }

    /// Segment files under the parent, in every replica's directory.
    fn segment_count(parent: &Path) -> usize {
        fs::read_dir(parent)
            .unwrap()
            .map(|e| super::segment_files(&e.unwrap().path()).unwrap().len())
            .sum()
    }

    #[test]
    fn batches_come_back_whole_and_in_order_and_leave_the_disk_once_committed() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::open(&settings(dir.path())).unwrap();
        let first = batch(7, 12);
        spill.append(&first).unwrap();
        spill.append(&batch(8, 1)).unwrap();
        assert!(spill.has_unread());
        let (Some((read, position)), 0) = spill.next().unwrap() else {
            panic!("a batch was written")
        };
        assert_eq!(read, first, "clicks, timestamps and odd characters survive");
        spill.commit(position).unwrap();
        spill.append(&batch(9, 2)).unwrap();
        assert_eq!(drain(&spill), [8, 9]);
        assert!(!spill.has_unread());
        assert_eq!(spill.bytes(), 0, "everything committed is deleted");
        assert_eq!(segment_count(dir.path()), 0);
    }

    #[test]
    fn a_record_spilled_before_classification_reads_as_a_visit() {
        let record: Record = serde_json::from_str(
            r#"{"id": 5, "clicks": [[3, 1765000000123456, null, "curl/8.5.0"]]}"#,
        )
        .unwrap();
        let batch = record.into_batch().unwrap();
        assert_eq!(
            batch.clicks,
            [Click {
                url_id: 3,
                at: DateTime::<Utc>::from_timestamp_micros(1_765_000_000_123_456).unwrap(),
                user_agent: Some("curl/8.5.0".to_owned()),
                ..Click::default()
            }]
        );
    }

    #[test]
    fn appends_after_the_reader_caught_up_and_every_segment_went_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::open(&settings(dir.path())).unwrap();
        spill.append(&batch(1, 2)).unwrap();
        assert_eq!(drain(&spill), [1]);
        assert_eq!(segment_count(dir.path()), 0, "caught up: the segment went");
        spill.append(&batch(2, 2)).unwrap();
        spill.append(&batch(3, 2)).unwrap();
        assert_eq!(spill.unread_records(), 2);
        assert_eq!(
            drain(&spill),
            [2, 3],
            "a new segment, not one taken for read"
        );
        assert_eq!(segment_count(dir.path()), 0);

        // An orphan adopted after catching up is read too.
        let gone = Spill::open(&SpillSettings {
            replica: "app-2".to_owned(),
            ..settings(dir.path())
        })
        .unwrap();
        gone.append(&batch(20, 1)).unwrap();
        drop(gone);
        assert_eq!(spill.adopt_orphans().unwrap(), 1);
        assert_eq!(drain(&spill), [20]);
        assert_eq!(segment_count(dir.path()), 0);
    }

    #[test]
    fn a_new_process_replays_what_was_never_committed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spill = Spill::open(&settings(dir.path())).unwrap();
            for id in 1..=3 {
                spill.append(&batch(id, 2)).unwrap();
            }
            let (Some((_, position)), _) = spill.next().unwrap() else {
                panic!()
            };
            spill.commit(position).unwrap();
            // Batch 2 is read but never committed: the process dies before its write.
            let _ = spill.next().unwrap();
        }
        let spill = Spill::open(&settings(dir.path())).unwrap();
        assert_eq!(
            spill.unread_records(),
            3,
            "the segment is replayed from its start"
        );
        assert_eq!(
            drain(&spill),
            [1, 2, 3],
            "1 again: its id makes the write a no-op"
        );
        assert_eq!(segment_count(dir.path()), 0);
    }

    #[test]
    fn a_record_cut_off_by_a_crash_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let spill = Spill::open(&settings(dir.path())).unwrap();
            spill.append(&batch(1, 2)).unwrap();
            spill.append(&batch(2, 2)).unwrap();
        }
        let (_, segment) = super::segment_files(&dir.path().join("app-1"))
            .unwrap()
            .remove(0);
        let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
        file.write_all(br#"{"id":3,"clicks":[[1,17650"#).unwrap();
        drop(file);
        let spill = Spill::open(&settings(dir.path())).unwrap();
        let mut ids = Vec::new();
        let mut skipped_total = 0;
        loop {
            let (next, skipped) = spill.next().unwrap();
            skipped_total += skipped;
            let Some((batch, position)) = next else { break };
            ids.push(batch.id);
            spill.commit(position).unwrap();
        }
        assert_eq!(ids, [1, 2]);
        assert_eq!(skipped_total, 1);
        assert_eq!(segment_count(dir.path()), 0);
    }

    #[test]
    fn a_full_spill_refuses_a_batch_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::open(&SpillSettings {
            max_bytes: 600,
            ..settings(dir.path())
        })
        .unwrap();
        spill.append(&batch(1, 3)).unwrap();
        let mut refused = false;
        for id in 2..20 {
            if let Err(SpillError::Full { max_bytes: 600 }) = spill.append(&batch(id, 3)) {
                refused = true;
                break;
            }
        }
        assert!(refused, "the bound is enforced");
        assert!(spill.bytes() <= 600);
        let ids = drain(&spill);
        assert_eq!(ids[0], 1);
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    }

    #[test]
    fn one_directory_belongs_to_one_process() {
        let dir = tempfile::tempdir().unwrap();
        let _owner = Spill::open(&settings(dir.path())).unwrap();
        assert!(matches!(
            Spill::open(&settings(dir.path())),
            Err(SpillError::Locked(_))
        ));
    }

    #[test]
    fn the_spill_of_a_replica_that_is_gone_is_adopted_by_the_next_one_to_look() {
        let dir = tempfile::tempdir().unwrap();
        let gone = Spill::open(&settings(dir.path())).unwrap();
        gone.append(&batch(1, 2)).unwrap();
        gone.append(&batch(2, 2)).unwrap();
        let other_settings = SpillSettings {
            replica: "app-2".to_owned(),
            ..settings(dir.path())
        };
        let other = Spill::open(&other_settings).unwrap();
        other.append(&batch(10, 1)).unwrap();
        assert_eq!(
            other.adopt_orphans().unwrap(),
            0,
            "app-1 is alive: untouched"
        );
        drop(gone);
        assert_eq!(other.adopt_orphans().unwrap(), 2);
        assert!(
            !dir.path().join("app-1").exists(),
            "the orphan's directory is gone"
        );
        let mut read = Vec::new();
        while let (Some((batch, position)), _) = other.next().unwrap() {
            read.push((batch.id, position.inherited));
            other.commit(position).unwrap();
        }
        assert_eq!(read, [(10, false), (1, true), (2, true)]);
        assert_eq!(segment_count(dir.path()), 0);
    }

    #[test]
    fn reading_follows_appends_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::open(&settings(dir.path())).unwrap();
        // Enough batches of 10 000 clicks to pass a segment's size twice.
        let big = |id| batch(id, 10_000);
        let per_batch = serde_json::to_vec(&Record::of(&big(0))).unwrap().len() as u64;
        let batches = (2 * SEGMENT_BYTES / per_batch + 2) as i64;
        for id in 1..=batches {
            spill.append(&big(id)).unwrap();
            if id == 2 {
                // Read one while appends go on.
                let (Some((read, position)), _) = spill.next().unwrap() else {
                    panic!()
                };
                assert_eq!(read.id, 1);
                spill.commit(position).unwrap();
            }
        }
        assert!(segment_count(dir.path()) >= 2, "segments rotate");
        let ids = drain(&spill);
        assert_eq!(ids, (2..=batches).collect::<Vec<_>>());
        assert_eq!(segment_count(dir.path()), 0);
        assert_eq!(spill.bytes(), 0);
    }
}
