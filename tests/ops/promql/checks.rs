//! The checks against Prometheus: the rules it loaded, and one instant query per expression
//! (and per selector of an alert rule).

use super::*;

/// Every rule Prometheus loaded from the rule files (the stack copies
/// `prometheus/rules/*.yml`), as Prometheus itself parsed them.
pub(super) fn loaded_rules(prometheus: SocketAddr) -> Vec<Expr> {
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

#[derive(Default)]
pub(super) struct Counts {
    pub(super) dashboard: usize,
    pub(super) records: usize,
    pub(super) alerts: usize,
    pub(super) selectors: usize,
    pub(super) allowed: usize,
}

/// Queries every expression once; the failures, and what passed.
pub(super) fn check_all(prometheus: SocketAddr, all: &[Expr]) -> (Vec<String>, Counts) {
    let mut failures = Vec::new();
    let mut counts = Counts::default();
    let mut alert_selectors: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for e in all {
        let answer = query(prometheus, &e.promql);
        match (e.kind, answer) {
            (_, Err(error)) => failures.push(format!("{}: `{}`: {error}", e.origin, e.promql)),
            (Kind::Alert, Ok(_)) => {
                counts.alerts += 1;
                for s in extract::selectors(&e.promql) {
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
pub(super) fn query_value(prometheus: SocketAddr, promql: &str) -> Option<f64> {
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
