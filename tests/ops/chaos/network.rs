//! Network faults between the replicas and their stores, injected by the fault proxy
//! (proxy.rs) that every replica reaches Postgres and Redis through: added latency and
//! lost segments, then a partition (connections open, nothing passes). Timeouts and the
//! breaker behave as docs/failure-modes.md says, and nothing hangs past Nginx's timeout.

use std::net::{Ipv4Addr, SocketAddr};
use std::thread;
use std::time::Duration;

use super::load::{Kind, Load, Shape};
use super::proxy::FaultProxy;
use super::report::{Outcome, Window};
use super::{REPLICAS, Rig, metric_sum, secs, sleep_until};
use crate::native_stack::Stack;

/// Nginx's proxy_read_timeout: no answer may take longer.
const NGINX_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The replicas' REQUEST_TIMEOUT_MS in these runs (the default is 10 s): short, so a
/// shortened run sees several requests end at it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// A stack whose replicas reach Postgres and Redis through a fault proxy each.
fn proxied_rig() -> (Rig, FaultProxy, FaultProxy) {
    let stack = Stack::new(REPLICAS);
    let postgres = FaultProxy::start(local(stack.ports.postgres));
    let redis = FaultProxy::start(local(stack.ports.redis));
    let database_url = stack.database_url().replace(
        &format!(":{}/", stack.ports.postgres),
        &format!(":{}/", postgres.addr.port()),
    );
    let stack = stack
        .with_env("STACK_REPLICA_DATABASE_URL", database_url)
        .with_env("STACK_REPLICA_REDIS_URL", format!("redis://{}", redis.addr))
        .with_env(
            "STACK_REQUEST_TIMEOUT_MS",
            REQUEST_TIMEOUT.as_millis().to_string(),
        );
    (Rig::up(stack), postgres, redis)
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Times the breaker opened, over every replica.
fn breaker_openings(rig: &Rig) -> f64 {
    (1..=REPLICAS)
        .map(|replica| {
            metric_sum(
                &rig.metrics_of(replica),
                "shortener_cache_breaker_transitions_total",
                r#"to="open""#,
            )
        })
        .sum()
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn slow_lossy_and_silent_stores_fail_no_request_and_mix_up_no_answer() {
    let (rig, postgres, redis) = proxied_rig();
    let load = Load::start(rig.entry, &rig.codes, Shape::STEADY);
    thread::sleep(secs(3, 10));
    let openings_before = breaker_openings(&rig);

    let start = load.now();
    // Redis slower than REDIS_COMMAND_TIMEOUT_MS (50 ms): every command times out, the
    // breaker opens, and the replicas go on without Redis.
    redis.set_latency(Duration::from_millis(200));
    // Postgres slow and lossy, but within every timeout.
    postgres.set_latency(Duration::from_millis(20));
    postgres.set_loss_per_mille(20);
    thread::sleep(secs(4, 15));
    // Then Redis silent: commands time out with their replies still owed, which must
    // not end up as the answers to later commands once it speaks again.
    redis.heal();
    redis.black_hole();
    thread::sleep(secs(4, 15));
    redis.heal();
    postgres.heal();
    let end = load.now();
    thread::sleep(secs(4, 10));
    let samples = load.finish();
    let clicks = rig.clicks(&samples);
    let outcome = Outcome {
        fault: "Redis +200 ms then partitioned; Postgres +20 ms, 2% segments lost",
        samples: &samples,
        window: Window { start, end },
        clicks: Some(clicks),
    };
    outcome.print();
    let openings = breaker_openings(&rig) - openings_before;
    // Once Redis answers again (and the breakers have closed), reads that go through it
    // get their own answers: new links read through app-1 land in Redis, and app-2 and
    // app-3, which hold none of them in process, read them from there.
    thread::sleep(Duration::from_secs(6));
    let api = crate::http::Client::for_stack(rig.entry);
    let mut wrong = Vec::new();
    for i in 0..10 {
        let target = format!("https://example.com/chaos/after-partition/{i}");
        let created = api
            .request("POST", "/urls", Some(&format!(r#"{{"url": "{target}"}}"#)))
            .expect("POST /urls");
        assert_eq!(created.status, 201, "{}", created.text());
        let code = super::json(&created.body)["short_code"]
            .as_str()
            .unwrap()
            .to_owned();
        for replica in 1..=REPLICAS {
            let answer = rig
                .replica_client(replica)
                .request("HEAD", &format!("/{code}"), None);
            let location = answer.as_ref().ok().and_then(|a| a.header("location"));
            if location != Some(target.as_str()) {
                wrong.push(format!("app-{replica} /{code}: {location:?}"));
            }
        }
    }
    println!(
        "the Redis breaker opened {openings} times; slowest answer {:?}; wrong targets \
         after: {wrong:?}",
        outcome.slowest()
    );

    assert!(
        outcome.failures().is_empty(),
        "slow stores may fail no request: {:?}",
        outcome.failures()
    );
    assert!(
        openings >= 1.0,
        "Redis past its command timeout must open the breaker"
    );
    assert!(wrong.is_empty(), "answers mixed up after Redis: {wrong:?}");
    assert_eq!(
        clicks.stored, clicks.accepted,
        "every click is stored, once"
    );
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn a_partitioned_postgres_keeps_cached_redirects_and_bounds_everything_else() {
    let (rig, postgres, _redis) = proxied_rig();
    let load = Load::start(rig.entry, &rig.codes, Shape::STEADY);
    thread::sleep(secs(3, 10));

    let start = load.now();
    postgres.black_hole();
    sleep_until(&load, start + secs(12, 30).as_secs_f64());
    postgres.heal();
    let back = load.now();
    thread::sleep(secs(8, 15));
    let samples = load.finish();
    let clicks = rig.clicks(&samples);
    let outcome = Outcome {
        fault: "PostgreSQL partitioned (connections open, nothing passes)",
        samples: &samples,
        window: Window { start, end: back },
        clicks: Some(clicks),
    };
    outcome.print();
    let slowest_failure = samples
        .iter()
        .filter(|s| s.failed())
        .map(|s| s.latency)
        .max();
    let last_failure = outcome.last_failure_at();
    println!(
        "slowest failed answer {slowest_failure:?}, slowest answer {:?}; the last failed \
         request was sent {:.1}s after the partition healed",
        outcome.slowest(),
        last_failure.map_or(f64::NAN, |at| at - back)
    );

    assert_eq!(
        outcome.failed(Kind::Redirect),
        0,
        "cached redirects need no database: {:?}",
        outcome.failures()
    );
    let other = outcome.failures_except("POST 503");
    assert!(
        other.is_empty(),
        "503 is the only failure allowed: {other:?}"
    );
    // A request waiting on the partition ends at REQUEST_TIMEOUT_MS; Nginx's own limit
    // is never reached.
    assert!(
        outcome.slowest() < NGINX_READ_TIMEOUT,
        "nothing hangs to Nginx's timeout: {:?}",
        outcome.slowest()
    );
    // Twice the bound leaves room for the machine.
    assert!(
        slowest_failure.is_none_or(|d| d <= REQUEST_TIMEOUT * 2),
        "a request stuck on the partition is answered at the request timeout, not after \
         {slowest_failure:?}"
    );
    assert!(
        last_failure.is_none_or(|at| at <= back + 5.0),
        "everything recovers within 5 s of the partition healing; a request failed {:?}s after",
        last_failure.map(|at| at - back)
    );
    assert_eq!(
        clicks.stored, clicks.accepted,
        "the clicks held during the partition are written once it heals, once each"
    );
}
