//! Every PromQL expression of the Grafana dashboards (`grafana/dashboards/*.json`: panel
//! targets, query variables, annotations) and of the Prometheus rule files
//! (`prometheus/rules/*.yml`: recording and alerting rules) parses, and returns data from a
//! running native stack after some traffic through Nginx.
//!
//! - Dashboard queries and recording rules must return at least one series.
//! - Alert rules are empty while all is well, by design: each must evaluate without error,
//!   and every vector selector inside it (metric name and matchers) must have data, so an
//!   alert on a renamed metric or a label value nobody exports cannot hide.
//!
//! The expressions are found, not listed here: a new panel, variable or rule is checked
//! without touching this file. Failures are collected and reported all at once.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::Client;
use crate::native_stack::{COMMAND_TIMEOUT, Stack};
use crate::promql_extract::{Expr, Kind};

const REPLICAS: u16 = 2;
/// `up` may install packages on a fresh machine.
const UP_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the queries may take to all return data once the traffic has started.
const DATA_WITHIN: Duration = Duration::from_secs(120);
/// Links created through Nginx, each then followed.
const LINKS: usize = 12;

/// Expressions or selectors that have no data on the native stack for a reason that is not
/// a bug, each with that reason. An entry exempts exactly that text, nothing looser. Empty
/// today: no dashboard or rule reads the compose-only jobs (loki, alloy, grafana), and the
/// alert annotation's `ALERTS` gets data from a replica restart (see below).
const NO_DATA_ON_NATIVE_STACK: &[(&str, &str)] = &[];

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn every_dashboard_and_rule_expression_parses_and_returns_data_from_the_native_stack() {
    let started = Instant::now();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));

    let mut problems = Vec::new();
    let (dashboard, skipped) = crate::promql_extract::dashboard_expressions(root, &mut problems);
    assert!(problems.is_empty(), "{}", report(&problems));
    assert!(!dashboard.is_empty(), "no PromQL in grafana/dashboards");
    println!(
        "dashboards: {} PromQL expressions ({skipped} LogQL queries left out)",
        dashboard.len()
    );

    // Parse: the dashboards' expressions as one rule file, and the rule files themselves.
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("dashboards.rules.json");
    let rules: Vec<Value> = dashboard
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"record": format!("dashboard:expr:{i}"), "expr": e.promql}))
        .collect();
    let doc = json!({"groups": [{"name": "dashboards", "rules": rules}]});
    std::fs::write(&file, doc.to_string()).expect("write the rule file");
    if let Err(output) = promtool_check_rules(&[file]) {
        let named: Vec<String> = dashboard
            .iter()
            .enumerate()
            .filter(|(i, _)| output.contains(&format!("\"dashboard:expr:{i}\"")))
            .map(|(i, e)| format!("dashboard:expr:{i} is {}: {}", e.origin, e.promql))
            .collect();
        panic!(
            "dashboard PromQL does not parse:\n{output}\n{}",
            named.join("\n")
        );
    }
    let rule_files = crate::promql_extract::rule_files(root);
    if let Err(output) = promtool_check_rules(&rule_files) {
        panic!("promtool check rules prometheus/rules/*.yml:\n{output}");
    }
    let in_files = crate::promql_extract::rules_in_files(&rule_files);
    println!(
        "promtool: the {} dashboard expressions and the {} rules of {} rule files parse",
        dashboard.len(),
        in_files,
        rule_files.len()
    );

    // The stack, with Prometheus scraping and evaluating every second (and every alert's
    // `for:` cut to at most 5 s).
    let mut stack = Stack::new(REPLICAS)
        .with_env("PROM_SCRAPE_INTERVAL", "1s")
        .with_env("PROM_EVAL_INTERVAL", "1s")
        .with_env("STACK_ALERT_FAST", "1");
    let up = stack.run(&["up", "--replicas", &REPLICAS.to_string()], UP_TIMEOUT);
    print!("{}", String::from_utf8_lossy(&up.stderr));
    let prometheus = SocketAddr::from((Ipv4Addr::LOCALHOST, stack.ports.prometheus));
    let entry = SocketAddr::from((Ipv4Addr::LOCALHOST, stack.ports.http));
    stack.wait_for_prometheus_targets(Duration::from_secs(30));
    // A healthy stack fires no alert, so the dashboards' alert annotation
    // (ALERTS{alertstate="firing"}) would be empty: a graceful restart fires
    // ReplicaRestarted (info, no `for:`), which is what the annotation is for.
    stack.run(&["restart-replica", "1"], COMMAND_TIMEOUT);
    stack.wait_for_prometheus_targets(Duration::from_secs(30));

    let rules = loaded_rules(prometheus);
    let records = rules.iter().filter(|e| e.kind == Kind::Record).count();
    println!(
        "rules: {records} recording and {} alerting rules loaded by Prometheus",
        rules.len() - records
    );
    assert_eq!(
        rules.len(),
        in_files,
        "Prometheus loaded {} rules, prometheus/rules/*.yml holds {in_files}",
        rules.len()
    );

    // Traffic through Nginx: links created and followed, 404s and 410s, lists; then a
    // steady trickle while the queries are polled until all of them have data.
    let traffic_started = Instant::now();
    let (codes, seeded) = seed_traffic(entry);
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let stop = stop.clone();
        thread::spawn(move || trickle(entry, &codes, &stop))
    };
    // Only once Prometheus has scraped the seeded requests do the queries see them.
    let total = "sum(shortener_http_requests_total{job=\"shortener\"})";
    loop {
        let seen = query_value(prometheus, total);
        if seen.is_some_and(|n| n >= seeded as f64) {
            break;
        }
        assert!(
            traffic_started.elapsed() < Duration::from_secs(30),
            "Prometheus did not see the {seeded} seeded requests within 30 s: `{total}` is {seen:?}"
        );
        thread::sleep(Duration::from_millis(500));
    }
    let mut all = dashboard;
    all.extend(rules);
    let (failures, counts) = loop {
        let (failures, counts) = check_all(prometheus, &all);
        if failures.is_empty() || traffic_started.elapsed() >= DATA_WITHIN {
            break (failures, counts);
        }
        thread::sleep(Duration::from_secs(2));
    };
    stop.store(true, Ordering::SeqCst);
    let sent = trickle.join().expect("traffic thread");
    println!(
        "checked after {:.0}s of traffic ({sent} trickle requests): {} dashboard expressions \
         with data, {} recording rules with data (expression and recorded series), {} alert \
         rules evaluated, {} distinct selectors of theirs with data, {} allow-listed",
        traffic_started.elapsed().as_secs_f64(),
        counts.dashboard,
        counts.records,
        counts.alerts,
        counts.selectors,
        counts.allowed
    );
    assert!(failures.is_empty(), "{}", report(&failures));

    stack.down();
    println!("whole test {:.1}s", started.elapsed().as_secs_f64());
}

fn report(problems: &[String]) -> String {
    format!(
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    )
}

fn promtool_check_rules(files: &[PathBuf]) -> Result<(), String> {
    let output = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .args(files)
        .output()
        .expect("run promtool (Debian package prometheus)");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Every rule Prometheus loaded from the rule files (the stack copies
/// `prometheus/rules/*.yml`), as Prometheus itself parsed them.
fn loaded_rules(prometheus: SocketAddr) -> Vec<Expr> {
    let body = get_json(prometheus, "/api/v1/rules").expect("GET /api/v1/rules");
    let mut out = Vec::new();
    for group in body["data"]["groups"].as_array().into_iter().flatten() {
        let file = group["file"].as_str().unwrap_or("?");
        let file = file.rsplit('/').next().unwrap_or(file);
        for rule in group["rules"].as_array().into_iter().flatten() {
            let name = rule["name"].as_str().unwrap_or("?").to_owned();
            let (kind, what) = match rule["type"].as_str() {
                Some("recording") => (Kind::Record, "record"),
                _ => (Kind::Alert, "alert"),
            };
            out.push(Expr {
                origin: format!("rules/{file}: {what} {name}"),
                promql: rule["query"].as_str().unwrap_or("").to_owned(),
                kind,
                label: None,
                record: (kind == Kind::Record).then_some(name),
            });
        }
    }
    out
}

// --- Checks against Prometheus ------------------------------------------------------------

#[derive(Default)]
struct Counts {
    dashboard: usize,
    records: usize,
    alerts: usize,
    selectors: usize,
    allowed: usize,
}

/// Queries every expression once; the failures, and what passed.
fn check_all(prometheus: SocketAddr, all: &[Expr]) -> (Vec<String>, Counts) {
    let mut failures = Vec::new();
    let mut counts = Counts::default();
    let mut alert_selectors: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for e in all {
        let answer = query(prometheus, &e.promql);
        match (e.kind, answer) {
            (_, Err(error)) => failures.push(format!("{}: `{}`: {error}", e.origin, e.promql)),
            (Kind::Alert, Ok(_)) => {
                counts.alerts += 1;
                for s in crate::promql_extract::selectors(&e.promql) {
                    alert_selectors.entry(s).or_default().push(&e.origin);
                }
            }
            (_, Ok(series)) if series.is_empty() && allowed(&e.promql) => counts.allowed += 1,
            (_, Ok(series)) if series.is_empty() => {
                failures.push(format!("{}: `{}`: no data", e.origin, e.promql));
            }
            (Kind::Dashboard, Ok(series)) => match &e.label {
                Some(label) if !series.iter().any(|s| s.get(label).is_some()) => failures.push(
                    format!("{}: `{}`: no series has label {label}", e.origin, e.promql),
                ),
                _ => counts.dashboard += 1,
            },
            (Kind::Record, Ok(_)) => {
                let name = e.record.as_deref().unwrap_or("");
                match query(prometheus, name) {
                    Ok(s) if !s.is_empty() => counts.records += 1,
                    Ok(_) => {
                        failures.push(format!("{}: the recorded series {name}: no data", e.origin))
                    }
                    Err(error) => failures.push(format!("{}: {name}: {error}", e.origin)),
                }
            }
        }
    }
    for (selector, origins) in alert_selectors {
        if allowed(&selector) {
            counts.allowed += 1;
            continue;
        }
        match query(prometheus, &selector) {
            Ok(series) if !series.is_empty() => counts.selectors += 1,
            Ok(_) => failures.push(format!(
                "{}: selector `{selector}`: no data",
                origins.join(", ")
            )),
            Err(error) => failures.push(format!(
                "{}: selector `{selector}`: {error}",
                origins.join(", ")
            )),
        }
    }
    (failures, counts)
}

fn allowed(promql: &str) -> bool {
    NO_DATA_ON_NATIVE_STACK
        .iter()
        .any(|(text, _)| *text == promql)
}

/// An instant query: the label sets of the result (a scalar counts as one, unlabelled), or
/// Prometheus's error (400 bad_data for a parse error, 422 execution for an evaluation one).
fn query(
    prometheus: SocketAddr,
    promql: &str,
) -> Result<Vec<serde_json::Map<String, Value>>, String> {
    let encoded: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
    let body = get_json(prometheus, &format!("/api/v1/query?query={encoded}"))?;
    match body["data"]["resultType"].as_str() {
        Some("vector" | "matrix") => Ok(body["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["metric"].as_object().cloned().unwrap_or_default())
            .collect()),
        Some(_) => Ok(vec![serde_json::Map::new()]),
        None => Err(format!("unexpected answer {body}")),
    }
}

/// The value of a one-sample instant query.
fn query_value(prometheus: SocketAddr, promql: &str) -> Option<f64> {
    let encoded: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
    let body = get_json(prometheus, &format!("/api/v1/query?query={encoded}")).ok()?;
    body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

fn get_json(addr: SocketAddr, path: &str) -> Result<Value, String> {
    let response = Client::new(addr)
        .request("GET", path, None)
        .map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("{} {e}: {}", response.status, response.text()))?;
    if response.status == 200 && body["status"] == "success" {
        Ok(body)
    } else {
        Err(format!(
            "{} {}: {}",
            response.status, body["errorType"], body["error"]
        ))
    }
}

// --- Traffic ------------------------------------------------------------------------------

/// Users and links created, links followed (302), unknown (404) and expired (410) codes,
/// an unknown path, a rejected body, and the list endpoints; returns the live codes and
/// how many requests were sent.
fn seed_traffic(entry: SocketAddr) -> (Vec<String>, usize) {
    let client = Client::new(entry);
    let mut sent = 0;
    let mut send = |method: &str, path: &str, body: Option<&str>| {
        sent += 1;
        client
            .request(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path} through nginx: {e}"))
    };
    let user = send(
        "POST",
        "/users",
        Some(&format!(
            r#"{{"username": "promql", "email": "promql-{}@example.com"}}"#,
            std::process::id()
        )),
    );
    assert_eq!(user.status, 201, "POST /users: {}", user.text());
    let user_id = serde_json::from_slice::<Value>(&user.body).unwrap()["id"].clone();
    let mut links = Vec::new();
    for i in 0..LINKS {
        let body =
            json!({"original_url": format!("https://example.com/promql/{i}"), "user_id": user_id});
        let created = send("POST", "/urls", Some(&body.to_string()));
        assert_eq!(created.status, 201, "POST /urls: {}", created.text());
        let link: Value = serde_json::from_slice(&created.body).unwrap();
        links.push((
            link["id"].clone(),
            link["short_code"].as_str().unwrap().to_owned(),
        ));
    }
    for (id, code) in &links {
        assert_eq!(send("GET", &format!("/{code}"), None).status, 302);
        assert_eq!(
            send("GET", &format!("/urls/{code}/redirect"), None).status,
            302
        );
        assert_eq!(send("GET", &format!("/urls/{id}"), None).status, 200);
        assert_eq!(send("GET", &format!("/urls/{id}/stats"), None).status, 200);
    }
    let (expired_id, expired) = links.pop().unwrap();
    let past = r#"{"expires_at": "2001-01-01T00:00:00Z"}"#;
    assert_eq!(
        send("PUT", &format!("/urls/{expired_id}"), Some(past)).status,
        200
    );
    assert_eq!(send("GET", &format!("/{expired}"), None).status, 410);
    for path in [
        "/urls",
        "/users",
        "/events",
        "/health",
        "/nosuchcode1",
        "/no/such/route",
    ] {
        send("GET", path, None);
    }
    assert_eq!(
        send("POST", "/urls", Some(r#"{"original_url": "hello"}"#)).status,
        400
    );
    let codes = links.into_iter().map(|(_, code)| code).collect();
    (codes, sent)
}

/// Redirects, a few unknown codes and list pages, every 20 ms until `stop`; the count sent.
fn trickle(entry: SocketAddr, codes: &[String], stop: &AtomicBool) -> usize {
    let client = Client::new(entry);
    let mut sent = 0;
    while !stop.load(Ordering::SeqCst) {
        let path = match sent % 10 {
            7 => format!("/nosuch{sent}"),
            9 => "/urls?limit=5".to_owned(),
            _ => format!("/{}", codes[sent % codes.len()]),
        };
        let _ = client.request("GET", &path, None);
        sent += 1;
        thread::sleep(Duration::from_millis(20));
    }
    sent
}
