//! What the sinks of one run received, waited for with a deadline, and what Prometheus and
//! Alertmanager knew when a wait failed.

use super::*;

/// The two sinks of one run, with the instant the run started (for readable timestamps).
pub(super) struct Sinks<'a> {
    pub(super) http: &'a HttpSink,
    pub(super) smtp: &'a SmtpSink,
    pub(super) started: Instant,
}

impl Sinks<'_> {
    /// The first HTTP request matching `matches` by `deadline`; otherwise fails the test with
    /// what the sinks, Prometheus and Alertmanager know.
    pub(super) fn expect_http(
        &self,
        stack: &Stack,
        deadline: Instant,
        what: &str,
        matches: impl Fn(&HttpRequest) -> bool,
    ) -> HttpRequest {
        let within = deadline.saturating_duration_since(Instant::now());
        self.http
            .wait_for(within, matches)
            .unwrap_or_else(|| panic!("{what}: nothing by the deadline\n{}", self.report(stack)))
    }

    pub(super) fn expect_mail(
        &self,
        stack: &Stack,
        deadline: Instant,
        what: &str,
        matches: impl Fn(&Mail) -> bool,
    ) -> Mail {
        let within = deadline.saturating_duration_since(Instant::now());
        self.smtp
            .wait_for(within, matches)
            .unwrap_or_else(|| panic!("{what}: nothing by the deadline\n{}", self.report(stack)))
    }

    /// One line per notification received, in arrival order, with its time since the start
    /// of the run.
    pub(super) fn summary(&self) -> String {
        let mut lines: Vec<(Instant, String)> = Vec::new();
        for r in self.http.requests() {
            let what = if r.path.starts_with(PAGERDUTY_PATH) {
                format!(
                    "{} {}",
                    r.json["event_action"], r.json["payload"]["summary"]
                )
            } else {
                format!(
                    "{:?} colour {:#x}",
                    discord_title(&r),
                    r.json["embeds"][0]["color"].as_i64().unwrap_or(0)
                )
            };
            lines.push((r.received, format!("{} {what}", r.path)));
        }
        for m in self.smtp.mails() {
            let what = format!(
                "smtp from {} to {:?}: {:?}",
                m.from,
                m.recipients,
                m.subject()
            );
            lines.push((m.received, what));
        }
        lines.sort_by_key(|(at, _)| *at);
        lines
            .iter()
            .map(|(at, what)| format!("  {:>6} {what}", secs(*at, self.started)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The sinks' contents, the alerts Prometheus and Alertmanager hold, and the end of
    /// Alertmanager's and Prometheus's logs.
    fn report(&self, stack: &Stack) -> String {
        let prometheus = get_json(stack.ports.prometheus, "/api/v1/alerts");
        let prometheus_alerts: Vec<String> = prometheus["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                format!(
                    "{} {} {}",
                    a["labels"]["alertname"], a["state"], a["labels"]["instance"]
                )
            })
            .collect();
        let alertmanager = get_json(stack.ports.alertmanager, "/api/v2/alerts");
        let alertmanager_alerts: Vec<String> = alertmanager
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                format!(
                    "{} {} {} {}",
                    a["labels"]["alertname"],
                    a["labels"]["severity"],
                    a["status"]["state"],
                    a["status"]["inhibitedBy"]
                )
            })
            .collect();
        format!(
            "sinks so far:\n{}\nprometheus alerts: {prometheus_alerts:#?}\n\
             alertmanager alerts: {alertmanager_alerts:#?}\n\
             --- alertmanager.log (state dir {})\n{}\n--- prometheus.log\n{}",
            self.summary(),
            stack.dir.path().display(),
            stack.log_tail("alertmanager.log", 40),
            stack.log_tail("prometheus.log", 15)
        )
    }
}
