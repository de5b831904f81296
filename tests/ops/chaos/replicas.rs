//! Replica faults under load: one replica SIGKILLed (a crash: no failed redirect, at most
//! the creates it had in flight, it rejoins by itself, and the clicks lost with it are
//! bounded and measured) and a rolling restart with SIGTERM (nothing fails, no click is
//! lost).

use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::load::{Kind, Load, Shape};
use super::report::{Outcome, Window};
use super::{REPLICAS, Rig, secs};
use crate::native_stack::Stack;

/// Nginx keeps a replica that failed once out of rotation this long (`fail_timeout`).
const NGINX_FAIL_TIMEOUT_SECS: f64 = 5.0;
/// `CLICK_FLUSH_INTERVAL_MS`'s default: how often a replica's click writer flushes.
const FLUSH_INTERVAL_SECS: f64 = 0.05;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The replica that finally answered a request (Nginx lists every one it tried) and its
/// status, from one access-log line.
fn final_upstream(line: &Value) -> (String, String) {
    let last = |field: &str| {
        line[field]
            .as_str()
            .unwrap_or("")
            .rsplit(", ")
            .next()
            .unwrap_or("")
            .to_owned()
    };
    (last("upstream_addr"), last("upstream_status"))
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn a_sigkilled_replica_costs_no_redirect_and_rejoins_by_itself() {
    let rig = Rig::up(Stack::new(REPLICAS));
    let victim = rig.stack.app_addr(2);
    let log_from = rig.stack.access_log_len();
    let load = Load::start(rig.entry, &rig.codes, Shape::STEADY);
    thread::sleep(secs(3, 10));

    let start = load.now();
    let killed_at = unix_now();
    // supervisord restarts it; the command returns once it answers /ready again.
    rig.run(&["kill-replica", "2"]);
    let (ready, ready_at) = (load.now(), unix_now());
    // Nginx sends it traffic again once fail_timeout has passed.
    thread::sleep(secs(10, 20));
    let samples = load.finish();
    let clicks = rig.clicks(&samples);
    let outcome = Outcome {
        fault: "app-2 SIGKILLed, restarted by supervisord",
        samples: &samples,
        window: Window { start, end: ready },
        clicks: Some(clicks),
    };
    outcome.print();

    let log = rig.stack.access_log_since(log_from);
    let at = |line: &Value| line["msec"].as_f64().unwrap_or(0.0);
    let by_victim = |line: &&Value| final_upstream(line).0 == victim;
    let served_again = log
        .iter()
        .filter(by_victim)
        .filter(|l| at(l) > ready_at)
        .count();
    // What the victim had accepted and not yet written: at most what it answered in the
    // last second before the kill (about 20 flush intervals).
    let last_second = log
        .iter()
        .filter(by_victim)
        .filter(|l| final_upstream(l).1 == "302")
        .filter(|l| (killed_at - 1.0..=killed_at).contains(&at(l)))
        .count() as u64;
    let lost = clicks.accepted - clicks.stored.min(clicks.accepted);
    println!(
        "app-2 answered /ready {:.1}s after the SIGKILL and took {served_again} requests \
         after that; clicks lost with it: {lost}, against {last_second} redirects it \
         answered in the last second before the kill ({:.1} per {} ms flush interval)",
        ready - start,
        last_second as f64 * FLUSH_INTERVAL_SECS,
        FLUSH_INTERVAL_SECS * 1e3
    );

    assert_eq!(
        outcome.failed(Kind::Redirect),
        0,
        "no redirect may fail: {:?}",
        outcome.failures()
    );
    assert!(
        outcome.failed(Kind::Create) <= Shape::STEADY.create_threads,
        "only the creates in flight on app-2 (at most one per create thread) may fail: {:?}",
        outcome.failures()
    );
    assert!(
        served_again > 0,
        "app-2 must rejoin by itself: Nginx sent it nothing in the {:.0}s after it was ready \
         (fail_timeout is {NGINX_FAIL_TIMEOUT_SECS}s)",
        outcome.samples.last().map_or(0.0, |s| s.at) - ready
    );
    assert!(
        clicks.stored <= clicks.accepted,
        "no click may count twice: {clicks:?}"
    );
    assert!(
        lost <= last_second,
        "the clicks lost with app-2 ({lost}) must not exceed what it answered in its last \
         second ({last_second})"
    );
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn a_rolling_restart_loses_no_request_and_no_click() {
    let rig = Rig::up(Stack::new(REPLICAS));
    let load = Load::start(rig.entry, &rig.codes, Shape::STEADY);
    thread::sleep(secs(3, 10));
    let start = load.now();
    // One at a time: each returns once Nginx has its replica back in rotation.
    for replica in 1..=REPLICAS {
        rig.run(&["restart-replica", &replica.to_string()]);
    }
    let end = load.now();
    thread::sleep(secs(3, 10));
    let samples = load.finish();
    let clicks = rig.clicks(&samples);
    let outcome = Outcome {
        fault: "rolling restart (SIGTERM, one replica at a time)",
        samples: &samples,
        window: Window { start, end },
        clicks: Some(clicks),
    };
    outcome.print();

    assert!(
        outcome.failures().is_empty(),
        "a rolling restart may fail no request: {:?}",
        outcome.failures()
    );
    assert_eq!(
        clicks.stored, clicks.accepted,
        "every click accepted is stored, once"
    );
}
