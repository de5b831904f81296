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
use extract::{Expr, Kind};

mod checks;
mod extract;
mod traffic;

use checks::{check_all, loaded_rules, query_value};
use traffic::{seed_traffic, trickle};

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
    let (dashboard, skipped) = extract::dashboard_expressions(root, &mut problems);
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
    let rule_files = extract::rule_files(root);
    if let Err(output) = promtool_check_rules(&rule_files) {
        panic!("promtool check rules prometheus/rules/*.yml:\n{output}");
    }
    let in_files = extract::rules_in_files(&rule_files);
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
