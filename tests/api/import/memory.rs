//! The import's memory bound, measured on the real binary: hostile files of 64 MiB (a
//! header and newlines, one huge field), each answered with a report or a 413, raise the
//! replica's peak RSS (`VmHWM`) by far less than 64 MiB. Run with `-- --nocapture` to see
//! the figures.

use std::time::Duration;

use super::hostile_files::{FILLER_UNDER_THE_LIMIT, header_filler_rows};
use super::*;
use crate::helpers::FileForm;
use crate::helpers::process::{post_bytes, serve};

/// The most the files below may add to the replica's peak RSS.
const GROWTH_LIMIT_KIB: u64 = 64 * 1024;
/// A debug build parses 64 MiB in seconds; this is the bound on waiting for it.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// `VmHWM` (peak resident set) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// Posts `csv` to `/users/bulk` of the server on `port`: the status and body.
async fn post_csv(port: u16, csv: Vec<u8>) -> (u16, String) {
    let form = FileForm::new("file");
    let body = form.around(csv);
    let response = post_bytes(
        port,
        "/users/bulk",
        &form.content_type,
        body,
        UPLOAD_TIMEOUT,
    )
    .await
    .expect("the server answers");
    (response.status, response.text())
}

#[sqlx::test]
async fn hostile_64_mib_files_raise_the_replicas_peak_rss_by_less_than_64_mib(pool: PgPool) {
    let (server, port) = serve(&pool, &[]).await;
    // One import first, so what any import allocates once is in the baseline.
    let (status, body) = post_csv(port, b"username,email\nada,ada@example.com\n".to_vec()).await;
    assert_eq!(status, 201, "{body}");
    let before = peak_rss_kib(server.pid());

    let files: [(&str, Vec<u8>, u16); 4] = [
        (
            "a header and 64 MiB of newlines",
            header_filler_rows(b'\n', 64 * 1024 * 1024, ""),
            413,
        ),
        (
            "one 64 MiB field",
            header_filler_rows(b'x', 64 * 1024 * 1024, ""),
            413,
        ),
        (
            "newlines up to the upload limit, then a row",
            header_filler_rows(b'\n', FILLER_UNDER_THE_LIMIT, "bob,bob@example.com\n"),
            201,
        ),
        (
            "a field up to the upload limit, then a row",
            header_filler_rows(
                b'x',
                FILLER_UNDER_THE_LIMIT,
                ",x@example.com\ncyd,cyd@example.com\n",
            ),
            201,
        ),
    ];
    for (what, csv, expected) in files {
        let (status, body) = post_csv(port, csv).await;
        assert_eq!(status, expected, "{what}: {body}");
        let peak = peak_rss_kib(server.pid());
        println!(
            "{what}: {status}; peak RSS {before} KiB before, {peak} KiB after (+{} KiB)",
            peak - before
        );
    }
    let after = peak_rss_kib(server.pid());
    println!(
        "peak RSS growth over the four files: {} KiB (limit {GROWTH_LIMIT_KIB} KiB)",
        after - before
    );
    assert!(
        after - before < GROWTH_LIMIT_KIB,
        "peak RSS grew from {before} KiB to {after} KiB"
    );
}
