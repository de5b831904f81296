//! End to end through the native stack (`scripts/stack`): three replicas behind Nginx, links
//! created and followed through the public entry, load spread over every replica, zero failed
//! GETs while a replica is SIGKILLed under a steady stream of redirects, the restarted replica
//! taking traffic again, Prometheus scraping every replica, and `down` leaving nothing running.
//!
//! It runs the real script on this machine (installing the distribution's packages on the
//! first run) with the debug binary cargo built for this test, its own state directory, its
//! own database on the PostgreSQL that `DATABASE_URL` names, and ports nobody else uses.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::Client;
use crate::native_stack::{COMMAND_TIMEOUT, Stack, group_alive};

const REPLICAS: u16 = 3;
const LINKS: usize = 30;
/// Client threads of the redirect stream, its length, and the pause between two requests of
/// one thread (a steady stream well under Nginx's per-IP limit of 1000 r/s).
const STREAM_THREADS: usize = 4;
const STREAM_FOR: Duration = Duration::from_secs(8);
const STREAM_PAUSE: Duration = Duration::from_millis(5);
/// When, into the stream, replica 2 is killed: the 6 s left outlast Nginx's fail_timeout (5 s),
/// so Nginx tries the dead replica a second time, and that costs no GET either.
const KILL_AFTER: Duration = Duration::from_secs(2);
/// `up` may install packages on a fresh machine.
const UP_TIMEOUT: Duration = Duration::from_secs(600);

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn native_stack_balances_survives_a_killed_replica_and_stops_cleanly() {
    let started = Instant::now();
    let mut stack = Stack::new(REPLICAS);
    let entry = SocketAddr::from((Ipv4Addr::LOCALHOST, stack.ports.http));

    let up = stack.run(&["up", "--replicas", &REPLICAS.to_string()], UP_TIMEOUT);
    let url = String::from_utf8_lossy(&up.stdout).trim().to_owned();
    print!("{}", String::from_utf8_lossy(&up.stderr));
    assert_eq!(url, format!("http://{entry}"), "`up` prints the entry URL");
    println!("up: {url} after {:.1}s", started.elapsed().as_secs_f64());

    // `up` again starts nothing.
    let again = stack.run(
        &["up", "--replicas", &REPLICAS.to_string()],
        COMMAND_TIMEOUT,
    );
    let again_log = String::from_utf8_lossy(&again.stderr);
    assert!(
        again_log.contains("nothing started"),
        "a second `up` must start nothing:\n{again_log}"
    );
    let processes = stack.status();
    assert!(
        processes.iter().all(|p| p.up),
        "every process is up: {processes:?}"
    );
    let names: BTreeSet<&str> = processes.iter().map(|p| p.name.as_str()).collect();
    for name in [
        "redis",
        "app-1",
        "app-2",
        "app-3",
        "nginx",
        "prometheus",
        "alertmanager",
        "node-exporter",
        "nginx-exporter",
        "postgres-exporter",
        "redis-exporter",
    ] {
        assert!(names.contains(name), "status lists {name}: {processes:?}");
    }

    // Without the stack's key a write is refused through Nginx too (the stack is never open).
    let anonymous = Client::new(entry)
        .request(
            "POST",
            "/urls",
            Some(r#"{"url": "https://example.com/anon"}"#),
        )
        .expect("POST /urls through nginx");
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());

    // Links created and followed through Nginx.
    let client = Client::for_stack(entry);
    let mut links = Vec::new();
    for i in 0..LINKS {
        let target = format!("https://example.com/e2e/{i}");
        let body = format!(r#"{{"url": "{target}"}}"#);
        let response = client
            .request("POST", "/urls", Some(&body))
            .expect("POST /urls through nginx");
        assert_eq!(response.status, 201, "{}", response.text());
        assert_eq!(response.headers_named("x-request-id").len(), 1);
        let created: Value = serde_json::from_slice(&response.body).expect("JSON link");
        let code = created["short_code"]
            .as_str()
            .expect("short_code")
            .to_owned();
        links.push((code, target));
    }
    let paths = link_paths(&links);
    let follow_from = stack.access_log_len();
    for (code, target) in links.iter().chain(links.iter()) {
        let response = client
            .request("GET", &format!("/{code}"), None)
            .expect("GET /{code} through nginx");
        assert_eq!(response.status, 302, "{}", response.text());
        assert_eq!(response.header("location"), Some(target.as_str()));
    }
    // /metrics is never reachable through the public entry.
    let metrics = client
        .request("GET", "/metrics", None)
        .expect("GET /metrics");
    assert_eq!(metrics.status, 404);

    // least_conn spread the sequential redirects over every replica.
    let followed = links.len() * 2;
    let follows = stack.access_log_until(follow_from, Duration::from_secs(5), |lines| {
        lines.iter().filter(|l| is_redirect(l, &paths)).count() >= followed
    });
    let per_replica = count_by_upstream(&follows, |line| is_redirect(line, &paths));
    println!("follow phase: {followed} redirects per replica {per_replica:?}");
    for i in 1..=REPLICAS {
        let addr = stack.app_addr(i);
        assert!(
            per_replica.get(&addr).copied().unwrap_or(0) > 0,
            "app-{i} ({addr}) got none of the redirects: {per_replica:?}"
        );
    }

    // Prometheus scrapes the three replicas.
    let targets = stack.wait_for_prometheus_targets(Duration::from_secs(30));
    println!("prometheus: replica targets up {targets:?}");

    // A steady stream of redirects while app-2 is SIGKILLed: not one GET may fail.
    let stream_from = stack.access_log_len();
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let codes: Arc<Vec<String>> = Arc::new(links.iter().map(|(c, _)| c.clone()).collect());
    let workers: Vec<_> = (0..STREAM_THREADS)
        .map(|t| {
            let (stop, failures, codes) = (stop.clone(), failures.clone(), codes.clone());
            thread::spawn(move || {
                let client = Client::for_stack(entry);
                let mut sent = 0_usize;
                while !stop.load(Ordering::SeqCst) {
                    let code = &codes[(t + sent * STREAM_THREADS) % codes.len()];
                    match client.request("GET", &format!("/{code}"), None) {
                        Ok(r) if r.status == 302 => {}
                        Ok(r) => failures.lock().unwrap().push(format!(
                            "GET /{code}: {} {}",
                            r.status,
                            r.text()
                        )),
                        Err(e) => failures.lock().unwrap().push(format!("GET /{code}: {e}")),
                    }
                    sent += 1;
                    thread::sleep(STREAM_PAUSE);
                }
                sent
            })
        })
        .collect();
    let stream_started = Instant::now();
    thread::sleep(KILL_AFTER);
    let kill = stack.run(&["kill-replica", "2", "--keep-down"], COMMAND_TIMEOUT);
    println!(
        "{} at {:.1}s into the stream",
        String::from_utf8_lossy(&kill.stderr).trim(),
        stream_started.elapsed().as_secs_f64()
    );
    thread::sleep(STREAM_FOR.saturating_sub(stream_started.elapsed()));
    stop.store(true, Ordering::SeqCst);
    let sent: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let failures = failures.lock().unwrap().clone();
    // Nginx writes its lines after the answers: wait (5 s at most) for the last ones.
    let stream = stack.access_log_until(stream_from, Duration::from_secs(5), |lines| {
        lines.iter().filter(|l| is_redirect(l, &paths)).count() >= sent
    });
    let redirects: Vec<&Value> = stream.iter().filter(|l| is_redirect(l, &paths)).collect();
    let retried = redirects
        .iter()
        .filter(|l| l["upstream_addr"].as_str().unwrap_or("").contains(','))
        .count();
    let per_replica = count_by_upstream(&stream, |line| is_redirect(line, &paths));
    println!(
        "stream: {sent} GETs from {STREAM_THREADS} threads in {:.1}s, failed GETs = {}, \
         answered by (last replica tried) {per_replica:?}, retried on another replica = {retried}",
        STREAM_FOR.as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {sent} GETs failed while a replica was killed; first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        sent > 500,
        "the stream was too thin to prove anything: {sent} GETs"
    );
    assert_eq!(
        redirects.len(),
        sent,
        "nginx logged every GET of the stream"
    );
    assert!(
        per_replica.get(&stack.app_addr(2)).copied().unwrap_or(0) > 0,
        "app-2 took part in the stream before it was killed: {per_replica:?}"
    );
    assert!(
        retried > 0,
        "no GET was retried on another replica: the kill did not hit the stream"
    );
    let down_now: Vec<_> = stack.status().into_iter().filter(|p| !p.up).collect();
    assert_eq!(
        down_now.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["app-2"],
        "after the kill only app-2 is down"
    );

    // Restarted, app-2 takes traffic again once Nginx's fail_timeout (5 s) has passed.
    stack.run(&["restart-replica", "2"], COMMAND_TIMEOUT);
    let restarted_from = stack.access_log_len();
    let restarted = Instant::now();
    let app2 = stack.app_addr(2);
    let mut back_after = None;
    while restarted.elapsed() < Duration::from_secs(20) {
        for (code, _) in links.iter().take(6) {
            let response = client
                .request("GET", &format!("/{code}"), None)
                .expect("GET after the restart");
            assert_eq!(response.status, 302, "{}", response.text());
        }
        let taken = stack
            .access_log_since(restarted_from)
            .iter()
            .filter(|l| l["upstream_addr"] == app2.as_str() && l["upstream_status"] == "302")
            .count();
        if taken > 0 {
            back_after = Some(restarted.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let back_after = back_after.expect("the restarted app-2 took no traffic within 20 s");
    println!(
        "restart: app-2 answered redirects again {:.1}s after restart-replica returned",
        back_after.as_secs_f64()
    );
    assert!(
        stack.status().iter().all(|p| p.up),
        "all up after the restart"
    );

    // `down` stops exactly what `up` started: none of its processes (nor their children,
    // such as Nginx's workers) is left.
    let pids: Vec<u32> = stack.status().iter().filter_map(|p| p.pid).collect();
    stack.down();
    let left: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|&pid| group_alive(pid))
        .collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    assert!(
        !stack.dir.path().exists(),
        "down --purge deletes the state dir"
    );
    println!(
        "down: {} processes stopped, nothing left; whole test {:.1}s",
        pids.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The request paths of the links, `/{code}`.
fn link_paths(links: &[(String, String)]) -> HashSet<String> {
    links.iter().map(|(code, _)| format!("/{code}")).collect()
}

fn is_redirect(line: &Value, paths: &HashSet<String>) -> bool {
    line["method"] == "GET" && paths.contains(line["uri"].as_str().unwrap_or(""))
}

/// Requests per replica that answered them (the last address tried, for a retried request).
fn count_by_upstream(lines: &[Value], keep: impl Fn(&Value) -> bool) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in lines.iter().filter(|l| keep(l)) {
        let tried = line["upstream_addr"].as_str().unwrap_or("");
        let last = tried.rsplit(", ").next().unwrap_or("").to_owned();
        *counts.entry(last).or_insert(0) += 1;
    }
    counts
}
