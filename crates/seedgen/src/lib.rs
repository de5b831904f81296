//! Deterministic generator of seed CSVs (`users.csv`, `urls.csv`, `events.csv`) in the platform's format.
//!
//! The project's own `seed_data/` comes from [`SeedSpec::default`]; regenerate it with
//! `cargo run -p shortener-seedgen -- --out seed_data` (the binary of this crate; it is
//! not part of the service).

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use chrono::{NaiveDate, NaiveTime, TimeDelta};
use serde_json::Value;

#[rustfmt::skip]
const ADJECTIVES: &[&str] = &[
    "amber", "brisk", "calm", "cobalt", "crisp", "dusty", "eager", "fuzzy", "gentle", "golden", "jade", "lucky",
    "mellow", "misty", "nimble", "proud", "quiet", "rapid", "rustic", "sunny", "tidy", "vivid", "witty", "young",
];
#[rustfmt::skip]
const NOUNS: &[&str] = &[
    "anchor", "beacon", "canyon", "cedar", "comet", "delta", "ember", "engine", "falcon", "garden", "harbor",
    "island", "lagoon", "meadow", "orbit", "pioneer", "quartz", "river", "signal", "summit", "trail", "valley",
    "willow", "zenith",
];
#[rustfmt::skip]
const TITLE_PREFIXES: &[&str] = &[
    "Launch deck", "Team wiki", "Release notes", "Design review", "Budget sheet", "Onboarding guide",
    "Sprint board", "Product demo", "Support FAQ", "Weekly digest",
];
// Reserved example domains (RFC 2606), so seeded emails and links never reach a real host.
#[rustfmt::skip]
const DOMAINS: &[&str] = &[
    "example.com", "example.org", "example.net", "docs.example.com", "mail.example.org", "shop.example.net",
];
const CODE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const USERS_HEADER: &str = "id,username,email,created_at";
const URLS_HEADER: &str =
    "id,user_id,short_code,original_url,title,is_active,created_at,updated_at";
const EVENTS_HEADER: &str = "id,url_id,user_id,event_type,timestamp,details";
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
const DAY: i64 = 86_400;
/// Seconds from 2024-01-01 00:00:00 (offset 0) to 2026-02-01 00:00:00; every timestamp is below it.
const SPAN: i64 = 762 * DAY;

/// How many rows of each kind to generate, and the seed of the generator.
#[derive(Debug, Clone, Copy)]
pub struct SeedSpec {
    /// Rows in `users.csv`.
    pub users: u32,
    /// Rows in `urls.csv`; the events follow from them.
    pub urls: u32,
    /// Seed of the pseudo-random generator.
    pub seed: u64,
}

impl Default for SeedSpec {
    fn default() -> Self {
        Self {
            users: 400,
            urls: 2000,
            seed: 42,
        }
    }
}

/// Row counts written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedCounts {
    /// Rows written to `users.csv`.
    pub users: u64,
    /// Rows written to `urls.csv`.
    pub urls: u64,
    /// Rows written to `events.csv`.
    pub events: u64,
}

/// Writes users.csv, urls.csv and events.csv into `dir` (created if missing). Same spec => byte-identical files.
///
/// A url row holds the url's final state; its events replay the history from `created` (the
/// initial short code and link) through any updates to an optional last `deleted`, which leaves
/// the url inactive. Fails with `InvalidInput` when urls are asked for without any user.
pub fn generate(dir: &Path, spec: &SeedSpec) -> io::Result<SeedCounts> {
    if spec.users == 0 && spec.urls > 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "urls need a user",
        ));
    }
    fs::create_dir_all(dir)?;
    let mut rng = Rng(spec.seed);
    let user_created = write_users(&dir.join("users.csv"), &mut rng, spec.users)?;
    let events = write_urls(&dir.join("urls.csv"), &mut rng, &user_created, spec.urls)?;
    let events = write_events(&dir.join("events.csv"), events)?;
    Ok(SeedCounts {
        users: spec.users.into(),
        urls: spec.urls.into(),
        events,
    })
}

/// Writes the users and returns each one's creation offset, indexed by id - 1.
fn write_users(path: &Path, rng: &mut Rng, count: u32) -> io::Result<Vec<i64>> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(USERS_HEADER.split(','))?;
    let mut emails = HashSet::new();
    let mut user_created = Vec::with_capacity(count as usize);
    for id in 1..=u64::from(count) {
        let (adjective, noun) = (rng.pick(ADJECTIVES), rng.pick(NOUNS));
        let username = format!("{adjective}{noun}{:02}", rng.below(100));
        let domain = rng.pick(DOMAINS);
        let mut email = format!("{username}@{domain}");
        // Natural local parts have no dot, so `.id` cannot collide with anything.
        if !emails.insert(email.to_lowercase()) {
            email = format!("{username}.{id}@{domain}");
            emails.insert(email.to_lowercase());
        }
        let created = rng.between(0, SPAN - 2 * DAY);
        user_created.push(created);
        out.serialize((id, username, email, timestamp(created)))?;
    }
    out.flush()?;
    Ok(user_created)
}

/// Writes the urls and returns their events in file order: as in the platform export, every
/// `created` first, in url order, then the rest in time order.
fn write_urls(
    path: &Path,
    rng: &mut Rng,
    user_created: &[i64],
    count: u32,
) -> io::Result<Vec<Event>> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(URLS_HEADER.split(','))?;
    let mut codes = HashSet::new();
    let mut created_events = Vec::with_capacity(count as usize);
    let mut later_events = Vec::new();
    for url_id in 1..=u64::from(count) {
        let user_id = rng.below(user_created.len() as u64) + 1;
        let created = rng.between(user_created[(user_id - 1) as usize], SPAN - DAY);
        let event = |at, kind, details| Event {
            at,
            url_id,
            user_id,
            kind,
            details,
        };
        let short_code = short_code(rng, &mut codes);
        let mut original_url = random_link(rng, url_id);
        let mut title = random_title(rng);
        let details = json(&[("short_code", &short_code), ("original_url", &original_url)]);
        created_events.push(event(created, "created", details));

        // Which field each update changes: 0 original_url, 1 title, 2 is_active.
        let fields: Vec<u64> = (0..[0, 0, 0, 0, 1, 1, 1, 1, 1, 2][rng.below(10) as usize])
            .map(|_| rng.below(3))
            .collect();
        let deleted = rng.chance(10);
        // Each is_active update flips the flag, so draw the final state and work back from it.
        let flips = fields.iter().filter(|&&f| f == 2).count();
        let mut active = rng.chance(89) ^ (flips % 2 == 1);
        let mut times: Vec<i64> = (0..fields.len() + usize::from(deleted))
            .map(|_| rng.between(created + 60, SPAN))
            .collect();
        times.sort_unstable();
        for (&field, &at) in fields.iter().zip(&times) {
            let details = match field {
                0 => {
                    original_url = random_link(rng, url_id);
                    json(&[("field", "original_url"), ("new_value", &original_url)])
                }
                1 => {
                    title = random_title(rng);
                    json(&[("field", "title"), ("new_value", &title)])
                }
                _ => {
                    active = !active;
                    json(&[("field", "is_active"), ("new_value", python_bool(active))])
                }
            };
            later_events.push(event(at, "updated", details));
        }
        if deleted {
            active = false;
            later_events.push(event(
                times[fields.len()],
                "deleted",
                json(&[("reason", "user_requested")]),
            ));
        }

        let last_change = times.last().copied().unwrap_or(created);
        let (created_at, updated_at) = (timestamp(created), timestamp(last_change));
        let is_active = python_bool(active);
        out.serialize((
            url_id,
            user_id,
            short_code,
            original_url,
            title,
            is_active,
            created_at,
            updated_at,
        ))?;
    }
    out.flush()?;
    later_events.sort_by_key(|e| (e.at, e.url_id));
    created_events.append(&mut later_events);
    Ok(created_events)
}

/// Writes the events, numbering them in order, and returns how many there were.
fn write_events(path: &Path, events: Vec<Event>) -> io::Result<u64> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record(EVENTS_HEADER.split(','))?;
    let mut written = 0;
    for (id, e) in (1..).zip(events) {
        out.serialize((id, e.url_id, e.user_id, e.kind, timestamp(e.at), e.details))?;
        written = id;
    }
    out.flush()?;
    Ok(written)
}

/// An event before its id is known: ids follow the order events are written in.
struct Event {
    at: i64,
    url_id: u64,
    user_id: u64,
    kind: &'static str,
    details: String,
}

/// A JSON object of string fields in the given order, which a map type would not promise.
fn json(fields: &[(&str, &str)]) -> String {
    let fields: Vec<String> = fields
        .iter()
        .map(|&(key, value)| format!("{}:{}", Value::from(key), Value::from(value)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// The platform writes booleans the way Python prints them.
fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

fn timestamp(offset: i64) -> String {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1)
        .expect("valid date")
        .and_time(NaiveTime::MIN);
    (start + TimeDelta::seconds(offset))
        .format(TIMESTAMP_FORMAT)
        .to_string()
}

/// The url id at the end keeps links distinct, as in the platform set.
fn random_link(rng: &mut Rng, url_id: u64) -> String {
    let (domain, adjective, noun) = (rng.pick(DOMAINS), rng.pick(ADJECTIVES), rng.pick(NOUNS));
    format!("https://{domain}/{adjective}/{noun}/{url_id}")
}

fn random_title(rng: &mut Rng) -> String {
    format!("{} {}", rng.pick(TITLE_PREFIXES), rng.pick(NOUNS))
}

fn short_code(rng: &mut Rng, taken: &mut HashSet<String>) -> String {
    loop {
        let code: String = (0..6)
            .map(|_| char::from(CODE_ALPHABET[rng.below(CODE_ALPHABET.len() as u64) as usize]))
            .collect();
        if taken.insert(code.clone()) {
            return code;
        }
    }
}

/// splitmix64: tiny and plenty for fixtures; never use it for anything secret.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` by multiply-shift, which avoids modulo's bias towards small values.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use chrono::NaiveDateTime;

    use super::*;

    type Row = HashMap<String, String>;

    /// A generated set: the raw files, and their rows keyed by column name.
    struct Seed {
        counts: SeedCounts,
        bytes: Vec<Vec<u8>>,
        users: Vec<Row>,
        urls: Vec<Row>,
        events: Vec<Row>,
    }

    const HEADERS: [(&str, &str); 3] = [
        ("users.csv", "id,username,email,created_at"),
        (
            "urls.csv",
            "id,user_id,short_code,original_url,title,is_active,created_at,updated_at",
        ),
        (
            "events.csv",
            "id,url_id,user_id,event_type,timestamp,details",
        ),
    ];

    fn seed(users: u32, urls: u32, seed: u64) -> Seed {
        let dir = tempfile::tempdir().expect("tempdir");
        let counts = generate(dir.path(), &SeedSpec { users, urls, seed }).expect("generate");
        let bytes: Vec<Vec<u8>> = HEADERS
            .iter()
            .map(|(file, _)| fs::read(dir.path().join(file)).expect("read"))
            .collect();
        let mut tables = bytes.iter().zip(HEADERS).map(|(bytes, (file, header))| {
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let names: Vec<&str> = reader.headers().expect("header").iter().collect();
            assert_eq!(names.join(","), header, "{file}");
            reader
                .deserialize()
                .collect::<Result<Vec<Row>, _>>()
                .expect("rows")
        });
        let (users, urls, events) = (tables.next(), tables.next(), tables.next());
        let [users, urls, events] = [users, urls, events].map(Option::unwrap_or_default);
        Seed {
            counts,
            bytes,
            users,
            urls,
            events,
        }
    }

    fn time(value: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(value, TIMESTAMP_FORMAT).expect("timestamp format")
    }

    #[test]
    fn same_spec_writes_byte_identical_files_and_another_seed_does_not() {
        let (first, again, other) = (seed(400, 2000, 42), seed(400, 2000, 42), seed(400, 2000, 7));
        assert!(first.bytes == again.bytes, "output differs between runs");
        assert!(
            first.bytes.iter().zip(&other.bytes).all(|(a, b)| a != b),
            "seed ignored"
        );
    }

    #[test]
    fn emails_are_unique_ignoring_case_even_when_usernames_collide() {
        let set = seed(5000, 0, 1);
        let emails: HashSet<String> = set
            .users
            .iter()
            .map(|u| u["email"].to_lowercase())
            .collect();
        assert_eq!(emails.len(), set.users.len());
        let deduplicated = |u: &Row| u["email"].starts_with(&format!("{}.", u["username"]));
        assert!(
            set.users.iter().any(deduplicated),
            "fallback never exercised"
        );
    }

    #[test]
    fn short_codes_are_unique_and_six_alphanumerics() {
        let set = seed(400, 2000, 3);
        let codes: HashSet<&str> = set.urls.iter().map(|u| u["short_code"].as_str()).collect();
        assert_eq!(codes.len(), set.urls.len());
        let well_formed = |c: &&str| c.len() == 6 && c.chars().all(|c| c.is_ascii_alphanumeric());
        assert!(codes.iter().all(well_formed));
    }

    #[test]
    fn counts_match_the_spec_and_every_reference_points_at_an_earlier_row() {
        let set = seed(50, 300, 4);
        let expected = SeedCounts {
            users: 50,
            urls: 300,
            events: set.events.len() as u64,
        };
        assert_eq!(
            (set.counts, set.users.len(), set.urls.len()),
            (expected, 50, 300)
        );
        let users: HashMap<&str, &Row> = set.users.iter().map(|u| (u["id"].as_str(), u)).collect();
        let urls: HashMap<&str, &Row> = set.urls.iter().map(|u| (u["id"].as_str(), u)).collect();
        for url in &set.urls {
            let user = users[url["user_id"].as_str()];
            assert!(time(&user["created_at"]) <= time(&url["created_at"]));
            assert!(time(&url["created_at"]) <= time(&url["updated_at"]));
            assert!(time(&url["updated_at"]) < time("2026-02-01 00:00:00"));
        }
        for event in &set.events {
            let url = urls[event["url_id"].as_str()];
            assert_eq!(event["user_id"], url["user_id"]);
            let at = time(&event["timestamp"]);
            assert!(time(&url["created_at"]) <= at && at <= time(&url["updated_at"]));
        }
    }

    #[test]
    fn replaying_events_gives_the_url_rows_and_about_four_in_five_are_active() {
        let set = seed(400, 2000, 5);
        let mut replayed: HashMap<&str, (String, String)> = HashMap::new();
        for event in &set.events {
            let details: Row = serde_json::from_str(&event["details"]).expect("json object");
            let state = replayed.entry(event["url_id"].as_str()).or_default();
            match (
                event["event_type"].as_str(),
                details.get("field").map(String::as_str),
            ) {
                ("created", _) => state.0.clone_from(&details["original_url"]),
                ("updated", Some("original_url")) => state.0.clone_from(&details["new_value"]),
                ("updated", Some("is_active")) => state.1.clone_from(&details["new_value"]),
                ("deleted", _) => state.1 = "False".into(),
                (kind, field) => assert_eq!((kind, field), ("updated", Some("title"))),
            }
        }
        assert_eq!(replayed.len(), set.urls.len());
        for url in &set.urls {
            let (link, active) = &replayed[url["id"].as_str()];
            assert_eq!(link, &url["original_url"]);
            assert!(active.is_empty() || active == &url["is_active"]);
        }
        let active = set.urls.iter().filter(|u| u["is_active"] == "True").count();
        assert!(
            (75..=85).contains(&(active * 100 / set.urls.len())),
            "{active} active"
        );
    }

    #[test]
    fn urls_without_users_are_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = SeedSpec {
            users: 0,
            urls: 1,
            seed: 0,
        };
        let err = generate(dir.path(), &spec).expect_err("no users");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    /// Regenerates the project's own `seed_data/`; see the module docs.
    #[test]
    #[ignore = "writes into the source tree"]
    fn write_project_seed_data() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../seed_data");
        println!(
            "{:?}",
            generate(&dir, &SeedSpec::default()).expect("generate")
        );
    }
}
