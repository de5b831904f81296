//! Generated requests against the real router and a real database: whatever the body,
//! query or CSV, the answer is a 2xx or a 4xx (never a 5xx), every error is the JSON
//! shape, and a bulk import keeps exactly its good rows.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::bodies::ImportReport;
use crate::helpers::{TestApp, TestResponse};

/// Requests per test: enough to cover each strategy's branches, few enough for CI.
const SAMPLES: usize = 150;

/// Any JSON a client might put in a field.
fn json_value() -> impl Strategy<Value = Value> {
    let text = prop_oneof![
        any::<String>(),
        "[ -~]{0,30}",
        "https?://[a-z]{1,10}\\.[a-z]{2,3}(/[ -~]{0,10})?",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A JSON object whose keys are mostly the API's own fields.
fn body() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("original_url"),
        Just("url"),
        Just("short_code"),
        Just("title"),
        Just("expires_at"),
        Just("user_id"),
        Just("is_active"),
        Just("username"),
        Just("email"),
        Just("event_type"),
        Just("url_id"),
        Just("details"),
        Just("other"),
    ];
    prop::collection::vec((field, json_value()), 0..6).prop_map(|pairs| {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}

/// A query string of the lists' parameters with arbitrary values.
fn query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("page"),
        Just("per_page"),
        Just("after"),
        Just("user_id"),
        Just("is_active"),
        Just("url_id"),
        Just("event_type"),
    ];
    let value = prop_oneof!["[ -~]{0,12}", any::<i64>().prop_map(|n| n.to_string())];
    prop::collection::vec((name, value), 0..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", url_escape(&v)))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn url_escape(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sample<S: Strategy>(runner: &mut TestRunner, strategy: &S) -> S::Value {
    strategy.new_tree(runner).expect("a sample").current()
}

#[track_caller]
fn assert_answered(response: &TestResponse, what: &str) {
    let status = response.status.as_u16();
    assert!(
        (200..500).contains(&status),
        "{what}: {status} {}",
        String::from_utf8_lossy(&response.body)
    );
    if status >= 400 {
        assert!(
            response.json()["error"].is_string(),
            "{what}: not the error shape"
        );
    }
}

#[sqlx::test]
async fn generated_bodies_and_queries_get_only_2xx_or_json_4xx(pool: PgPool) {
    let app = TestApp::new(pool);
    let user = app.create_user("prop", "prop@example.com").await;
    let link = app.shorten("https://example.com/prop").await;
    let mut runner = TestRunner::deterministic();
    let (body, query) = (body(), query());
    for _ in 0..SAMPLES {
        let sent = sample(&mut runner, &body);
        for (method, path) in [
            ("POST", "/urls".to_owned()),
            ("PUT", format!("/urls/{}", link.id)),
            ("POST", "/users".to_owned()),
            ("PUT", format!("/users/{}", user.id)),
            ("POST", "/events".to_owned()),
        ] {
            let response = if method == "POST" {
                app.post_json(&path, sent.clone()).await
            } else {
                app.put_json(&path, sent.clone()).await
            };
            assert_answered(&response, &format!("{method} {path} {sent}"));
        }
        let asked = sample(&mut runner, &query);
        for path in ["/urls", "/users", "/events", "/urls/1/events"] {
            let path = format!("{path}?{asked}");
            assert_answered(&app.get(&path).await, &path);
        }
    }
}

#[sqlx::test]
async fn a_generated_csv_imports_exactly_its_good_rows(pool: PgPool) {
    let app = TestApp::new(pool.clone());
    let mut runner = TestRunner::deterministic();
    let cell = prop_oneof![
        "[a-z][a-z0-9_]{2,20}",
        "[a-z]{1,10}@[a-z]{1,10}\\.(com|org)",
        any::<String>(),
        "[ -~]{0,20}",
    ];
    let rows = prop::collection::vec((cell.clone(), cell), 1..40);
    for round in 0..10 {
        let rows = sample(&mut runner, &rows);
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["username", "email"]).unwrap();
        for (n, (username, email)) in rows.iter().enumerate() {
            // Unique per round and row where the generator made them plausible.
            csv.write_record([
                format!("{username}{round}x{n}"),
                format!("{round}x{n}{email}"),
            ])
            .unwrap();
        }
        let before: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        let response = app
            .post_file("/users/bulk", "file", csv.into_inner().unwrap())
            .await;
        assert_answered(&response, &format!("round {round}"));
        let after: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        if response.status.is_success() {
            let report = response.body::<ImportReport>();
            let (count, skipped, rejected) = (report.count, report.skipped, report.error_count);
            assert_eq!(count + skipped + rejected, rows.len() as u64, "{report}");
            assert_eq!(
                after - before,
                count as i64,
                "every accepted row is stored: {report}"
            );
        } else {
            assert_eq!(after, before, "a refused upload writes nothing");
        }
    }
}
