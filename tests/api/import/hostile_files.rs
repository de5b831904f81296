//! Hostile CSV uploads: a 10,000-row file with bad rows of every kind mixed in (a row
//! that is not UTF-8 among them) keeps exactly its good rows and reports each bad one by
//! line; a file that cannot be read as CSV of users at all (binary, wrong header) is a 400
//! that writes nothing; files of 64 MiB of blank lines or one 64 MiB field are answered
//! with a report or a 413 (their memory is measured in `memory.rs`).

use super::*;
use shortener_http::UPLOAD_BODY_LIMIT;
use shortener_import::MAX_RECORD_BYTES;

/// Row `i` of the mixed file: bad in one way for every seventh row, else good.
fn mixed_row(i: usize) -> (Vec<u8>, bool) {
    let good = format!("user{i},user{i}@mixed.example.com\n").into_bytes();
    if i % 7 != 3 {
        return (good, true);
    }
    let bad = match (i / 7) % 6 {
        0 => format!("user{i},not-an-email\n"),
        1 => format!(",empty{i}@mixed.example.com\n"),
        2 => format!("{},huge{i}@mixed.example.com\n", "x".repeat(100 * 1024)),
        3 => format!("nul\u{0}{i},nul{i}@mixed.example.com\n"),
        // The e-mail of the good row just before.
        4 => format!("again{i},user{}@mixed.example.com\n", i - 1),
        _ => format!("user{i},extra{i}@mixed.example.com,a third field\n"),
    };
    (bad.into_bytes(), false)
}

#[sqlx::test]
async fn ten_thousand_rows_with_bad_ones_mixed_in_keep_exactly_the_good_ones(pool: PgPool) {
    let app = TestApp::new(pool);
    let mut csv = b"username,email\n".to_vec();
    let mut good = 0;
    for i in 0..10_000 {
        let (row, is_good) = mixed_row(i);
        csv.extend(row);
        good += usize::from(is_good);
    }
    let response = upload(&app, csv).await;
    let report = report_of(&response);
    let imported = report.count as usize;
    let rejected = report.error_count as usize;
    assert_eq!(
        (imported, report.skipped),
        (good, 0),
        "every good row is imported: {}",
        &report.to_string()[..400.min(report.to_string().len())]
    );
    assert_eq!(total(&app, "/users?per_page=1").await, good as u64);
    assert_eq!(rejected, 10_000 - good, "each bad row is reported");
    // The report lists the first errors (in the order found, the duplicates of a batch
    // after its unreadable rows); each names a bad row's own line (row i is line i + 2).
    let mut lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), report.errors.len());
    for line in &lines {
        let row = usize::try_from(*line - 2).unwrap();
        assert!(!mixed_row(row).1, "line {line} holds a good row");
    }
}

#[sqlx::test]
async fn a_row_that_is_not_utf8_partway_is_reported_and_the_rest_imported(pool: PgPool) {
    let app = TestApp::new(pool);
    let mut csv = b"username,email\n".to_vec();
    for i in 0..5_000 {
        csv.extend(format!("user{i},user{i}@partway.example.com\n").into_bytes());
    }
    csv.extend(b"bad\xff\xfe,binary@partway.example.com\n");
    for i in 5_000..6_000 {
        csv.extend(format!("user{i},user{i}@partway.example.com\n").into_bytes());
    }
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(
        report,
        ImportReport {
            count: 6000,
            skipped: 0,
            error_count: 1,
            errors: vec![RowError {
                line: 5002,
                error: "row is not valid UTF-8".to_owned()
            }],
        }
    );
    assert_eq!(total(&app, "/users?per_page=1").await, 6000);
}

#[sqlx::test]
async fn binary_files_and_wrong_headers_are_400_and_write_nothing(pool: PgPool) {
    let app = TestApp::new(pool);
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01".to_vec();
    let cases: Vec<Vec<u8>> = vec![
        png,
        b"name,mail\nada,ada@example.com\n".to_vec(),
        b"\x00\x01\x02\x03".to_vec(),
        "username;email\nada;ada@example.com\n".into(),
    ];
    for csv in cases {
        let response = upload(&app, csv.clone()).await;
        let error = response.expect_error(StatusCode::BAD_REQUEST);
        // The raw error shape is the point here.
        assert!(response.json()["error"].is_string(), "{error}");
    }
    assert_eq!(
        total(&app, "/users?per_page=1").await,
        0,
        "nothing was written"
    );
}

/// A users CSV of the header, `filler` repeated `len` times, then `rows`.
pub(super) fn header_filler_rows(filler: u8, len: usize, rows: &str) -> Vec<u8> {
    let mut csv = b"username,email\n".to_vec();
    csv.resize(csv.len() + len, filler);
    csv.extend(rows.as_bytes());
    csv
}

/// As much filler as fits in the upload limit with room for the form and a few rows.
pub(super) const FILLER_UNDER_THE_LIMIT: usize = UPLOAD_BODY_LIMIT - 1024;

#[sqlx::test]
async fn blank_lines_up_to_the_upload_limit_are_counted_and_the_rows_after_them_imported(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let rows = "bad,not-an-email\nada,ada@example.com\n";
    let csv = header_filler_rows(b'\n', FILLER_UNDER_THE_LIMIT, rows);
    let report = report_of(&upload(&app, csv).await);
    assert_eq!((report.count, report.error_count), (1, 1), "{report}");
    // The header is line 1 and each newline after it ends a line.
    assert_eq!(error_lines(&report), [FILLER_UNDER_THE_LIMIT as u64 + 2]);
}

#[sqlx::test]
async fn a_field_of_nearly_64_mib_is_reported_by_its_line_and_the_rows_around_it_imported(
    pool: PgPool,
) {
    let app = TestApp::new(pool);
    let mut csv = b"username,email\nada,ada@example.com\n".to_vec();
    csv.resize(csv.len() + FILLER_UNDER_THE_LIMIT, b'x');
    csv.extend(b",huge@example.com\nbob,bob@example.com\n");
    let report = report_of(&upload(&app, csv).await);
    assert_eq!(
        report,
        ImportReport {
            count: 2,
            skipped: 0,
            error_count: 1,
            errors: vec![RowError {
                line: 3,
                error: format!("row is larger than {MAX_RECORD_BYTES} bytes"),
            }],
        }
    );
}

#[sqlx::test]
async fn a_header_and_64_mib_of_newlines_or_one_64_mib_field_is_413(pool: PgPool) {
    let app = TestApp::new(pool);
    for filler in [b'\n', b'x'] {
        let csv = header_filler_rows(filler, 64 * 1024 * 1024, "");
        let response = upload(&app, csv).await;
        response.expect_error(StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(total(&app, "/users?per_page=1").await, 0);
}

#[sqlx::test]
async fn a_header_too_large_or_too_wide_is_400_naming_the_limit(pool: PgPool) {
    let app = TestApp::new(pool);
    let long = format!(
        "username,email,{}\nada,ada@example.com,x\n",
        "c".repeat(MAX_RECORD_BYTES)
    );
    let wide = format!("username,email{}\nada,ada@example.com\n", ",c".repeat(300));
    for (csv, limit) in [(long, "larger than"), (wide, "more than")] {
        let error = upload(&app, csv)
            .await
            .expect_error(StatusCode::BAD_REQUEST);
        let problem = error.details.as_ref().and_then(|d| d.get("file")).cloned();
        assert!(
            problem.as_deref().is_some_and(|p| p.contains(limit)),
            "{error:?}"
        );
    }
}
