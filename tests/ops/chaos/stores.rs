//! Data-store faults under load: Redis killed and restarted (nothing fails, nothing stale
//! is served after it returns, the cache refills) and PostgreSQL stopped (cached redirects
//! keep answering, everything else gets a fast 503, every click held is written once it
//! returns, and a replica stopped meanwhile keeps its clicks in its spill and writes them
//! when it starts again: none is lost).

use std::thread;
use std::time::{Duration, Instant};

use super::load::{Kind, Load, Shape};
use super::report::{Outcome, Phase, Window};
use super::{REPLICAS, Rig, full, json, metric_sum, secs, sleep_until};
use crate::http::Client;
use crate::native_stack::Stack;

/// Links edited while Redis is away.
const EDITS: usize = 5;

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn redis_killed_and_restarted_fails_nothing_and_serves_nothing_stale() {
    let rig = Rig::up(Stack::new(REPLICAS));
    let api = Client::for_stack(rig.entry);
    let load = Load::start(rig.entry, &rig.codes, Shape::STEADY);
    thread::sleep(secs(3, 10));

    let start = load.now();
    rig.run(&["kill", "redis"]);
    thread::sleep(secs(2, 5));
    // Edits while Redis is away: its entries cannot be deleted.
    let targets: Vec<String> = (0..EDITS)
        .map(|i| format!("https://example.com/chaos/edited/{i}"))
        .collect();
    for (id, target) in rig.ids.iter().zip(&targets) {
        let body = format!(r#"{{"original_url": "{target}"}}"#);
        let edited = api
            .request("PUT", &format!("/urls/{id}"), Some(&body))
            .expect("PUT /urls/{id}");
        assert_eq!(
            edited.status,
            200,
            "an edit without Redis: {}",
            edited.text()
        );
    }
    thread::sleep(secs(3, 10));
    rig.run(&["start", "redis"]);
    let end = load.now();
    thread::sleep(secs(4, 10));
    let samples = load.finish();
    let clicks = rig.clicks(&samples);
    let outcome = Outcome {
        fault: "Redis SIGKILLed, restarted",
        samples: &samples,
        window: Window { start, end },
        clicks: Some(clicks),
    };
    outcome.print();

    // The cache refills: a new link read through app-1 lands in Redis, and app-2 then finds
    // it there (once its breaker has let a probe through and closed).
    let fresh = api
        .request(
            "POST",
            "/urls",
            Some(r#"{"url": "https://example.com/chaos/after-redis"}"#),
        )
        .expect("POST /urls");
    assert_eq!(fresh.status, 201, "{}", fresh.text());
    let fresh_code = json(&fresh.body)["short_code"].as_str().unwrap().to_owned();
    let l2_hits = |replica| {
        metric_sum(
            &rig.metrics_of(replica),
            "shortener_cache_lookups_total",
            r#"result="hit",tier="l2""#,
        ) + metric_sum(
            &rig.metrics_of(replica),
            "shortener_cache_lookups_total",
            r#"tier="l2",result="hit""#,
        )
    };
    let hits_before = l2_hits(2);
    let deadline = Instant::now() + Duration::from_secs(15);
    let refilled = loop {
        for replica in [1, 2] {
            let _ = rig
                .replica_client(replica)
                .request("HEAD", &format!("/{fresh_code}"), None);
        }
        if l2_hits(2) > hits_before {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        thread::sleep(Duration::from_millis(500));
    };
    let keys = rig.stack.redis_cli(&["dbsize"]);

    // Nothing stale: every replica answers the edited links with their new targets.
    let mut stale = Vec::new();
    for replica in 1..=REPLICAS {
        let direct = rig.replica_client(replica);
        for (code, target) in rig.codes.iter().zip(&targets) {
            let answer = direct
                .request("HEAD", &format!("/{code}"), None)
                .expect("HEAD a link");
            if answer.header("location") != Some(target.as_str()) {
                stale.push(format!(
                    "app-{replica} /{code}: {:?}",
                    answer.header("location")
                ));
            }
        }
    }
    let (before, during) = (
        outcome.redirect_p95(Phase::Before),
        outcome.redirect_p95(Phase::During),
    );
    println!(
        "Redis back: {keys} keys, app-2 found a fresh link in it: {refilled}; stale answers: \
         {stale:?}; redirect p95 {before:?} before, {during:?} during"
    );

    assert!(
        outcome.failures().is_empty(),
        "losing Redis may fail no request: {:?}",
        outcome.failures()
    );
    assert!(
        stale.is_empty(),
        "stale targets after Redis returned: {stale:?}"
    );
    assert!(
        refilled,
        "the shared cache must refill once Redis is back ({keys} keys)"
    );
    assert_eq!(
        clicks.stored, clicks.accepted,
        "every click is stored, once"
    );
    if full() {
        let (before, during) = (before.unwrap(), during.unwrap());
        assert!(
            during <= before * 2,
            "redirect p95 may at most double without Redis: {before:?} -> {during:?}"
        );
    }
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn postgres_stopped_keeps_cached_redirects_and_every_click_is_written_or_counted() {
    let rig = Rig::up(Stack::new(REPLICAS));
    let load = Load::start(rig.entry, &rig.codes, Shape::STEADY);
    thread::sleep(secs(3, 10));

    let outage = secs(12, 30).as_secs_f64();
    let start = load.now();
    rig.run(&["stop", "postgres"]);
    thread::sleep(secs(1, 10));
    // A replica stopped (SIGTERM) during the outage cannot write what it holds: it keeps
    // it in its click spill, which it replays when it starts again.
    rig.run(&["stop", "app-3"]);
    sleep_until(&load, start + outage);
    rig.run(&["start", "postgres"]);
    let back = load.now();
    thread::sleep(secs(8, 15));
    rig.run(&["start", "app-3"]);
    thread::sleep(secs(2, 5));
    let samples = load.finish();
    let clicks = rig.clicks(&samples);
    let outcome = Outcome {
        fault: "PostgreSQL stopped, app-3 SIGTERMed during the outage",
        samples: &samples,
        window: Window { start, end: back },
        clicks: Some(clicks),
    };
    outcome.print();

    // What any replica said it lost (none should: what app-3 could not write went to its
    // spill, what the others held waited there until Postgres was back).
    let lost_logged: u64 = rig
        .stack
        .log_lines("app-3.log")
        .iter()
        .chain(rig.stack.log_lines("app-1.log").iter())
        .chain(rig.stack.log_lines("app-2.log").iter())
        .filter(|l| l.contains("clicks lost") || l.contains("click queue not drained"))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|l| l["lost"].as_u64())
        .sum();
    let unavailable: Vec<_> = samples
        .iter()
        .filter(|s| s.failed() && s.status == Some(503))
        .collect();
    let slowest_503 = unavailable.iter().map(|s| s.latency).max();
    let last_failure = outcome.last_failure_at();
    println!(
        "{} answers 503, the slowest in {slowest_503:?}; the last failed request was sent \
         {:.1}s after Postgres was back; app-3 logged {lost_logged} clicks lost",
        unavailable.len(),
        last_failure.map_or(f64::NAN, |at| at - back)
    );

    assert_eq!(
        outcome.failed(Kind::Redirect),
        0,
        "cached redirects keep answering: {:?}",
        outcome.failures()
    );
    let other = outcome.failures_except("POST 503");
    assert!(
        other.is_empty(),
        "503 is the only failure allowed: {other:?}"
    );
    // The pool waits DB_ACQUIRE_TIMEOUT_MS (750 ms by default) for a connection before
    // the 503: scripts/chaos holds the issue's "within a second", the shortened run on
    // CI's shared machine allows 2 s.
    let limit = if full() { 1.0 } else { 2.0 };
    assert!(
        slowest_503.is_none_or(|d| d.as_secs_f64() <= limit),
        "a 503 comes within {limit}s, not {slowest_503:?}"
    );
    assert!(
        last_failure.is_none_or(|at| at <= back + 5.0),
        "everything recovers within 5 s of Postgres returning; a request failed {:?}s after",
        last_failure.map(|at| at - back)
    );
    assert!(
        clicks.stored <= clicks.accepted,
        "no click counts twice: {clicks:?}"
    );
    assert_eq!(lost_logged, 0, "no replica lost a click");
    assert_eq!(
        clicks.stored, clicks.accepted,
        "every click accepted is stored, app-3's through its spill: {clicks:?}"
    );
}
