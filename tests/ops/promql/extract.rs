//! Finding the PromQL: every query of the Grafana dashboards (panel targets, rows' panels
//! included; query variables; annotations) with Grafana's variables replaced, the rule
//! files and how many rules they hold, and the vector selectors inside an expression.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// What a Grafana built-in variable becomes. The interval variables become one minute: 60
/// samples at the test's 1 s scrape interval, as `$__rate_interval` guarantees (at least
/// four scrape intervals) in Grafana.
fn builtin_variable(name: &str) -> Option<&'static str> {
    Some(match name {
        "__rate_interval" | "__interval" => "1m",
        "__rate_interval_ms" | "__interval_ms" => "60000",
        "__range" => "1h",
        "__range_s" => "3600",
        "__range_ms" => "3600000",
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A dashboard panel's query, an annotation's, or a variable's (its PromQL part).
    Dashboard,
    /// A recording rule: its expression and the series it records must have data.
    Record,
    /// An alerting rule: must evaluate; every selector in it must have data.
    Alert,
}

#[derive(Debug, Clone)]
pub struct Expr {
    /// Where it was found, for the failure message.
    pub origin: String,
    /// Ready for Prometheus: Grafana variables replaced.
    pub promql: String,
    pub kind: Kind,
    /// A `label_values(expr, label)` variable: the series must carry this label.
    pub label: Option<String>,
    /// A recording rule's name.
    pub record: Option<String>,
}

/// The PromQL of every dashboard, and how many queries were skipped as not PromQL (Loki).
pub fn dashboard_expressions(root: &Path, problems: &mut Vec<String>) -> (Vec<Expr>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for path in files(&root.join("grafana/dashboards"), "json") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let dash: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        let variables = dashboard_variables(&dash);
        // (origin, query, label it must list, language)
        let mut found: Vec<(String, String, Option<String>, Language)> = Vec::new();
        let mut panels = Vec::new();
        collect_panels(&dash["panels"], &mut panels);
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("(untitled)");
            for target in panel["targets"].as_array().into_iter().flatten() {
                let Some(expr) = target["expr"].as_str() else {
                    continue;
                };
                let refid = target["refId"].as_str().unwrap_or("?");
                let origin = format!("{name}: panel \"{title}\" {refid}");
                let language = language(&target["datasource"], &panel["datasource"]);
                found.push((origin, expr.to_owned(), None, language));
            }
        }
        for var in dash["templating"]["list"].as_array().into_iter().flatten() {
            if var["type"] != "query" {
                continue;
            }
            let query = var["query"]["query"]
                .as_str()
                .or(var["query"].as_str())
                .unwrap_or("");
            let origin = format!("{name}: variable ${}", var["name"].as_str().unwrap_or("?"));
            match language(&var["datasource"], &Value::Null) {
                Language::PromQL => match variable_promql(query) {
                    Some((expr, label)) => found.push((origin, expr, label, Language::PromQL)),
                    None => problems.push(format!("{origin}: query `{query}` not understood")),
                },
                other => found.push((origin, query.to_owned(), None, other)),
            }
        }
        for anno in dash["annotations"]["list"].as_array().into_iter().flatten() {
            let expr = anno["expr"].as_str().or(anno["target"]["expr"].as_str());
            let (Some(expr), false) = (expr, anno["builtIn"] == 1) else {
                continue;
            };
            let origin = format!(
                "{name}: annotation \"{}\"",
                anno["name"].as_str().unwrap_or("?")
            );
            let language = language(&anno["datasource"], &Value::Null);
            found.push((origin, expr.to_owned(), None, language));
        }

        for (origin, raw, label, language) in found {
            match language {
                Language::PromQL => match substitute(&raw, &variables) {
                    Ok(promql) => out.push(Expr {
                        origin,
                        promql,
                        kind: Kind::Dashboard,
                        label,
                        record: None,
                    }),
                    Err(e) => problems.push(format!("{origin}: {e}")),
                },
                Language::Other => skipped += 1,
                Language::Unknown(ds) => {
                    problems.push(format!("{origin}: unknown data source {ds}"));
                }
            }
        }
    }
    (out, skipped)
}

/// Panels, the ones inside (collapsed) rows included.
fn collect_panels<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
    for panel in panels.as_array().into_iter().flatten() {
        out.push(panel);
        collect_panels(&panel["panels"], out);
    }
}

enum Language {
    PromQL,
    /// Loki, or Grafana's own annotations: not PromQL.
    Other,
    Unknown(String),
}

/// The query language of a target, from its data source or else its panel's; none at all
/// is the provisioned default data source, Prometheus.
fn language(own: &Value, panel: &Value) -> Language {
    let ds = if own.is_null() { panel } else { own };
    let (kind, uid) = match ds {
        Value::Null => return Language::PromQL,
        Value::String(name) => (name.to_lowercase(), name.to_lowercase()),
        other => (
            other["type"].as_str().unwrap_or("").to_owned(),
            other["uid"].as_str().unwrap_or("").to_owned(),
        ),
    };
    if kind == "prometheus" || uid == "prometheus" {
        Language::PromQL
    } else if ["loki", "grafana", "datasource"].contains(&kind.as_str()) || uid == "loki" {
        Language::Other
    } else {
        Language::Unknown(ds.to_string())
    }
}

/// A dashboard's own variables: what each becomes in the test (a query variable with
/// "All" becomes its all-value, `.*` unless set).
fn dashboard_variables(dash: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for var in dash["templating"]["list"].as_array().into_iter().flatten() {
        let Some(name) = var["name"].as_str() else {
            continue;
        };
        let value = match var["type"].as_str().unwrap_or("") {
            "interval" => "1m".to_owned(),
            "constant" | "textbox" => var["query"].as_str().unwrap_or("").to_owned(),
            _ => var["allValue"]
                .as_str()
                .filter(|v| !v.is_empty())
                .unwrap_or(".*")
                .to_owned(),
        };
        vars.insert(name.to_owned(), value);
    }
    vars
}

/// Replaces `$name`, `${name}`, `${name:format}` and `[[name]]`; an unknown variable is an
/// error (Grafana would send it to Prometheus as it is).
fn substitute(raw: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let lookup = |name: &str| {
        builtin_variable(name)
            .map(str::to_owned)
            .or_else(|| vars.get(name).cloned())
            .ok_or_else(|| format!("unknown variable ${name} in `{raw}`"))
    };
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find(['$', '[']) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if rest[i..].starts_with("[[") {
            let end = after.find("]]").ok_or("unclosed [[")?;
            out.push_str(&lookup(&after[1..end])?);
            rest = &after[end + 2..];
        } else if rest[i..].starts_with('[') {
            out.push('[');
            rest = after;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').ok_or("unclosed ${")?;
            let name = braced[..end].split(':').next().unwrap_or("");
            out.push_str(&lookup(name)?);
            rest = &braced[end + 1..];
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            // A `$` that starts no name (a regex anchor) stays as it is.
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..end])?);
            }
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The PromQL inside a Prometheus query variable, and the label it lists, if any:
/// `label_values(expr, label)`, `label_values(label)`, `query_result(expr)`,
/// `metrics(regex)`.
fn variable_promql(query: &str) -> Option<(String, Option<String>)> {
    let query = query.trim();
    let (func, args) = query.split_once('(')?;
    let args = args.strip_suffix(')')?.trim();
    match func.trim() {
        "label_values" => match split_last_arg(args) {
            Some((expr, label)) => Some((expr.to_owned(), Some(label.to_owned()))),
            None => Some((format!("{{{args}!=\"\"}}"), Some(args.to_owned()))),
        },
        "query_result" => Some((args.to_owned(), None)),
        "metrics" => Some((format!("{{__name__=~\"{args}\"}}"), None)),
        _ => None,
    }
}

/// `expr, label` split at the last comma outside braces, parentheses and quotes.
fn split_last_arg(args: &str) -> Option<(&str, &str)> {
    let (mut depth, mut quote, mut split) = (0_i32, None, None);
    for (i, c) in args.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(' | '{' | '[') => depth += 1,
            (None, ')' | '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => split = Some(i),
            _ => {}
        }
    }
    split.map(|i| (args[..i].trim(), args[i + 1..].trim()))
}

/// `prometheus/rules/*.yml`, sorted.
pub fn rule_files(root: &Path) -> Vec<PathBuf> {
    files(&root.join("prometheus/rules"), "yml")
}

/// How many rules (`record:` and `alert:` entries) the rule files hold.
pub fn rules_in_files(files: &[PathBuf]) -> usize {
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("read a rule file"))
        .map(|text| {
            text.lines()
                .map(|l| l.trim_start().trim_start_matches("- "))
                .filter(|l| l.starts_with("record:") || l.starts_with("alert:"))
                .count()
        })
        .sum()
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// The vector selectors of a PromQL expression (`name`, `name{...}` or `{...}`), as
/// written: a small scanner that skips strings, comments, durations in brackets, numbers,
/// keywords, function names and the label lists of `by`, `without`, `on`, `ignoring`,
/// `group_left` and `group_right`. Prometheus has parsed the expression before this runs.
pub fn selectors(expr: &str) -> BTreeSet<String> {
    const LABEL_LISTS: &str = "by without on ignoring group_left group_right";
    // Aggregation operators may be followed by `by (...)` or `without (...)` instead of `(`.
    const KEYWORDS: &str = "and or unless bool offset atan2 inf nan sum min max avg group \
        stddev stdvar count count_values bottomk topk quantile limitk limit_ratio";
    let is = |list: &str, word: &str| list.split_whitespace().any(|k| k == word);
    let chars: Vec<char> = expr.chars().collect();
    let mut found = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if matches!(c, '"' | '\'' | '`') {
            i = skip_string(&chars, i);
        } else if c == '[' {
            i = skip_group(&chars, i, '[', ']');
        } else if c == '{' {
            let end = skip_group(&chars, i, '{', '}');
            found.insert(chars[i..end].iter().collect());
            i = end;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '_'))
            {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | ':'))
            {
                i += 1;
            }
            let ident: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let follows = chars.get(next).copied();
            if is(LABEL_LISTS, &ident) {
                if follows == Some('(') {
                    i = skip_group(&chars, next, '(', ')');
                }
            } else if is(KEYWORDS, &ident.to_lowercase()) || follows == Some('(') {
                // A keyword, a number, or a function or aggregation name.
            } else if follows == Some('{') {
                let end = skip_group(&chars, next, '{', '}');
                found.insert(format!(
                    "{ident}{}",
                    chars[next..end].iter().collect::<String>()
                ));
                i = end;
            } else {
                found.insert(ident);
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The index just past the string literal starting at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' && quote != '`' {
            2
        } else {
            1
        };
    }
    i + 1
}

/// The index just past the group opened at `start`, strings inside skipped.
fn skip_group(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

#[test]
fn selectors_skip_functions_keywords_label_lists_strings_and_durations() {
    let expr = r#"sum by (le) (rate(a_bucket{route=~"/\\{x\\}", le!="1"}[5m] offset 1m))
        / on (instance) group_left (version) b
        and avg without (cpu) (c) > bool 0
        or label_replace(d, "dst", "$1", "src", "(.*)") # a comment{x="y"}
        or {__name__="e"} or vector(0) or topk(3, f) * Inf"#;
    let found: Vec<String> = selectors(expr).into_iter().collect();
    assert_eq!(
        found,
        [
            r#"a_bucket{route=~"/\\{x\\}", le!="1"}"#,
            "b",
            "c",
            "d",
            "f",
            r#"{__name__="e"}"#
        ]
    );
}

#[test]
fn grafana_variables_are_replaced_and_unknown_ones_refused() {
    let vars = BTreeMap::from([("instance".to_owned(), ".*".to_owned())]);
    assert_eq!(
        substitute(
            r#"rate(x{i=~"$instance", j=~"${instance:regex}", k="[[instance]]", r=~"a$"}[$__rate_interval])"#,
            &vars
        )
        .unwrap(),
        r#"rate(x{i=~".*", j=~".*", k=".*", r=~"a$"}[1m])"#
    );
    assert!(substitute("x{i=~\"$nope\"}", &vars).is_err());
}

#[test]
fn variable_queries_give_their_promql_and_label() {
    assert_eq!(
        variable_promql(r#"label_values(up{job="shortener"}, instance)"#),
        Some((
            r#"up{job="shortener"}"#.to_owned(),
            Some("instance".to_owned())
        ))
    );
    assert_eq!(
        variable_promql("label_values(instance)"),
        Some((r#"{instance!=""}"#.to_owned(), Some("instance".to_owned())))
    );
    assert_eq!(
        variable_promql("query_result(sum by (a) (b))"),
        Some(("sum by (a) (b)".to_owned(), None))
    );
}
