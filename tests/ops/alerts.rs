//! End-to-end alert delivery through the native stack (`scripts/stack`): Alertmanager's Discord
//! webhook and PagerDuty Events v2 URL point at a local HTTP sink, its SMTP smarthost at a local
//! SMTP sink (tests/ops/alert_sinks.rs). A killed replica must reach Discord, e-mail and
//! PagerDuty as the critical `ServiceDown` within 60 s, and its resolution must follow once the
//! replica is back; a warning (`RedisDown`, the stack's Redis killed) with nothing critical
//! firing must reach Discord and e-mail and never PagerDuty.
//!
//! Prometheus scrapes and evaluates every second, and `STACK_ALERT_FAST=1` makes the stack's
//! Alertmanager and rules quick enough for a test. The sinks' own protocol handling is checked
//! first, against an HTTP client and a hand-written SMTP client.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::alert_sinks::{HttpRequest, HttpSink, Mail, SmtpSink};
use crate::http::Client;
use crate::native_stack::{COMMAND_TIMEOUT, Stack};

const REPLICAS: u16 = 3;
/// The replica the test kills.
const VICTIM: u16 = 2;
const DISCORD_PATH: &str = "/discord";
const PAGERDUTY_PATH: &str = "/pagerduty";
const ROUTING_KEY: &str = "test-key";
const MAIL_FROM: &str = "alerts@shortener.test";
const MAIL_TO: &str = "oncall@shortener.test";
/// The issue's bound for a critical alert to reach every receiver.
const CRITICAL_WITHIN: Duration = Duration::from_secs(60);
/// How long a resolution, or a warning, may take (the issue sets no bound; this only stops a
/// broken run from hanging).
const RESOLVED_WITHIN: Duration = Duration::from_secs(120);
const WARNING_WITHIN: Duration = Duration::from_secs(120);
/// How long PagerDuty must stay silent after the warning reached Discord and e-mail: the
/// receivers of one route are notified together, so a page would have come by then.
const PAGER_QUIET_FOR: Duration = Duration::from_secs(10);
/// `up` may install packages on a fresh machine.
const UP_TIMEOUT: Duration = Duration::from_secs(600);

/// Alertmanager's Discord notifier colours an embed by the status of the group's alerts.
const DISCORD_RED: i64 = 0x99_2D22;
const DISCORD_GREEN: i64 = 0x2E_CC71;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Firing,
    Resolved,
}

#[test]
#[ignore = "operations suite: starts the native stack; scripts/test runs it with --ignored"]
fn killed_replica_pages_discord_email_and_pagerduty_then_resolves_while_a_warning_skips_pagerduty()
{
    let started = Instant::now();
    let http = HttpSink::start();
    let smtp = SmtpSink::start();
    let mut stack = Stack::new(REPLICAS)
        .with_env("PROM_SCRAPE_INTERVAL", "1s")
        .with_env("PROM_EVAL_INTERVAL", "1s")
        .with_env("STACK_ALERT_FAST", "1")
        .with_env("DISCORD_WEBHOOK_URL", http.url(DISCORD_PATH))
        .with_env("PAGERDUTY_URL", http.url(PAGERDUTY_PATH))
        .with_env("PAGERDUTY_ROUTING_KEY", ROUTING_KEY)
        .with_env("SMTP_SMARTHOST", smtp.addr().to_string())
        .with_env("SMTP_REQUIRE_TLS", "false")
        .with_env("SMTP_FROM", MAIL_FROM)
        .with_env("ALERT_EMAIL_TO", MAIL_TO);
    let sinks = Sinks {
        http: &http,
        smtp: &smtp,
        started,
    };

    let up = stack.run(&["up", "--replicas", &REPLICAS.to_string()], UP_TIMEOUT);
    print!("{}", String::from_utf8_lossy(&up.stderr));
    println!(
        "up: {} after {:.1}s; discord and pagerduty -> {}, smtp -> {}",
        String::from_utf8_lossy(&up.stdout).trim(),
        started.elapsed().as_secs_f64(),
        http.addr(),
        smtp.addr()
    );
    stack.wait_for_prometheus_targets(Duration::from_secs(30));

    // 1. A replica crashes: the critical ServiceDown reaches all three receivers in time.
    let killed = Instant::now();
    let kill = stack.run(&["kill-replica", &VICTIM.to_string()], COMMAND_TIMEOUT);
    println!("{}", String::from_utf8_lossy(&kill.stderr).trim());
    let deadline = killed + CRITICAL_WITHIN;
    let discord = sinks.expect_http(&stack, deadline, "Discord: ServiceDown firing", |r| {
        is_discord(r, "ServiceDown", Status::Firing)
    });
    let mail = sinks.expect_mail(&stack, deadline, "e-mail: ServiceDown firing", |m| {
        is_mail(m, "ServiceDown", Status::Firing)
    });
    let page = sinks.expect_http(&stack, deadline, "PagerDuty: ServiceDown trigger", |r| {
        is_pagerduty(r, "trigger") && r.text().contains("ServiceDown")
    });
    println!(
        "ServiceDown firing after kill-replica {VICTIM}: discord {}, email {}, pagerduty {}",
        secs(discord.received, killed),
        secs(mail.received, killed),
        secs(page.received, killed)
    );
    println!(
        "  discord title: {:?}\n  email subject: {:?}\n  pagerduty summary: {:?}",
        discord_title(&discord),
        mail.subject(),
        page.json["payload"]["summary"]
    );
    assert_eq!(mail.from, MAIL_FROM, "the envelope sender is SMTP_FROM");
    assert_eq!(
        mail.recipients,
        [MAIL_TO],
        "the mail goes to ALERT_EMAIL_TO"
    );
    assert_eq!(page.json["routing_key"], ROUTING_KEY, "{}", page.text());
    let dedup_key = page.json["dedup_key"]
        .as_str()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| panic!("a trigger carries a dedup_key: {}", page.text()))
        .to_owned();

    // 2. The replica is back: the resolution reaches the same three receivers.
    let restarted = Instant::now();
    stack.run(&["restart-replica", &VICTIM.to_string()], COMMAND_TIMEOUT);
    println!(
        "restart-replica {VICTIM} returned after {}",
        secs(Instant::now(), restarted)
    );
    let deadline = restarted + RESOLVED_WITHIN;
    let discord = sinks.expect_http(&stack, deadline, "Discord: ServiceDown resolved", |r| {
        is_discord(r, "ServiceDown", Status::Resolved)
    });
    let mail = sinks.expect_mail(&stack, deadline, "e-mail: ServiceDown resolved", |m| {
        is_mail(m, "ServiceDown", Status::Resolved)
    });
    let resolve = sinks.expect_http(&stack, deadline, "PagerDuty: ServiceDown resolve", |r| {
        is_pagerduty(r, "resolve") && r.json["dedup_key"] == dedup_key.as_str()
    });
    println!(
        "ServiceDown resolved after restart-replica {VICTIM} was called: discord {}, email {}, \
         pagerduty {}",
        secs(discord.received, restarted),
        secs(mail.received, restarted),
        secs(resolve.received, restarted)
    );
    assert_eq!(
        resolve.json["routing_key"],
        ROUTING_KEY,
        "{}",
        resolve.text()
    );

    // 3. A warning with nothing critical firing (so nothing inhibits it): Redis dies.
    let calm = wait_until_no_critical_alert(&stack, Duration::from_secs(60));
    println!(
        "no critical alert active in Alertmanager ({} waited)",
        secs(Instant::now(), calm)
    );
    let redis_killed = Instant::now();
    kill_redis(&stack);
    println!("redis: killed (SIGKILL)");
    let deadline = redis_killed + WARNING_WITHIN;
    let discord = sinks.expect_http(&stack, deadline, "Discord: RedisDown firing", |r| {
        is_discord(r, "RedisDown", Status::Firing)
    });
    let mail = sinks.expect_mail(&stack, deadline, "e-mail: RedisDown firing", |m| {
        is_mail(m, "RedisDown", Status::Firing)
    });
    println!(
        "RedisDown firing after redis was killed: discord {}, email {}",
        secs(discord.received, redis_killed),
        secs(mail.received, redis_killed)
    );
    println!(
        "  discord title: {:?}\n  email subject: {:?}",
        discord_title(&discord),
        mail.subject()
    );
    let quiet_until = discord.received.max(mail.received) + PAGER_QUIET_FOR;
    thread::sleep(quiet_until.saturating_duration_since(Instant::now()));
    let pages: Vec<String> = http
        .requests()
        .iter()
        .filter(|r| r.path.starts_with(PAGERDUTY_PATH) && r.text().contains("RedisDown"))
        .map(HttpRequest::text)
        .collect();
    assert!(
        pages.is_empty(),
        "a warning must not page; PagerDuty got {pages:?}"
    );
    println!(
        "RedisDown: no PagerDuty event {:.0}s after Discord and e-mail",
        PAGER_QUIET_FOR.as_secs_f64()
    );

    // 4. Restore: `up` starts what is not running (Redis).
    stack.run(
        &["up", "--replicas", &REPLICAS.to_string()],
        COMMAND_TIMEOUT,
    );
    let processes = stack.status();
    assert!(
        processes.iter().all(|p| p.up),
        "everything is up again: {processes:?}"
    );
    println!("everything the sinks received:\n{}", sinks.summary());
    stack.down();
    println!("whole test {}", secs(Instant::now(), started));
}

/// The two sinks of one run, with the instant the run started (for readable timestamps).
struct Sinks<'a> {
    http: &'a HttpSink,
    smtp: &'a SmtpSink,
    started: Instant,
}

impl Sinks<'_> {
    /// The first HTTP request matching `matches` by `deadline`; otherwise fails the test with
    /// what the sinks, Prometheus and Alertmanager know.
    fn expect_http(
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

    fn expect_mail(
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
    fn summary(&self) -> String {
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

/// A Discord webhook post about `alertname` in `status`: Alertmanager colours the embed red
/// (firing) or green (resolved); the default title says `[FIRING:n]` or `[RESOLVED]`.
fn is_discord(r: &HttpRequest, alertname: &str, status: Status) -> bool {
    r.path == DISCORD_PATH && r.text().contains(alertname) && discord_status(r) == Some(status)
}

fn discord_status(r: &HttpRequest) -> Option<Status> {
    let embed = &r.json["embeds"][0];
    match embed["color"].as_i64() {
        Some(DISCORD_RED) => Some(Status::Firing),
        Some(DISCORD_GREEN) => Some(Status::Resolved),
        _ => status_in(embed["title"].as_str().unwrap_or("")),
    }
}

fn discord_title(r: &HttpRequest) -> String {
    r.json["embeds"][0]["title"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// A PagerDuty Events v2 event with this `event_action` (`trigger`, `resolve`).
fn is_pagerduty(r: &HttpRequest, action: &str) -> bool {
    r.path.starts_with(PAGERDUTY_PATH) && r.json["event_action"] == action
}

/// A mail about `alertname` in `status`, as its subject says (Alertmanager's default:
/// `[FIRING:n] ...` / `[RESOLVED] ...`).
fn is_mail(m: &Mail, alertname: &str, status: Status) -> bool {
    let subject = m.subject();
    (subject.contains(alertname) || m.body_text().contains(alertname))
        && status_in(&subject) == Some(status)
}

fn status_in(text: &str) -> Option<Status> {
    let text = text.to_ascii_uppercase();
    if text.contains("RESOLVED") {
        Some(Status::Resolved)
    } else if text.contains("FIRING") {
        Some(Status::Firing)
    } else {
        None
    }
}

/// Waits until Alertmanager holds no active critical alert; returns when the wait started.
fn wait_until_no_critical_alert(stack: &Stack, within: Duration) -> Instant {
    let started = Instant::now();
    loop {
        let alerts = get_json(stack.ports.alertmanager, "/api/v2/alerts");
        let critical: Vec<String> = alerts
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["severity"] == "critical" && a["status"]["state"] == "active")
            .map(|a| a["labels"].to_string())
            .collect();
        if alerts.is_array() && critical.is_empty() {
            return started;
        }
        assert!(
            started.elapsed() < within,
            "critical alerts still active after {within:?}: {critical:?} ({alerts})"
        );
        thread::sleep(Duration::from_millis(500));
    }
}

/// SIGKILLs the stack's private redis-server (its pid file in the state directory) and waits
/// until it is gone.
fn kill_redis(stack: &Stack) {
    let pid = stack
        .running_pid("redis")
        .expect("the stack's redis-server runs");
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill(1)");
    assert!(status.success(), "kill -KILL {pid}: {status}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while stack.running_pid("redis").is_some() {
        assert!(Instant::now() < deadline, "redis {pid} still runs");
        thread::sleep(Duration::from_millis(50));
    }
}

fn get_json(port: u16, path: &str) -> Value {
    Client::new(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .request("GET", path, None)
        .ok()
        .and_then(|r| serde_json::from_slice(&r.body).ok())
        .unwrap_or(Value::Null)
}

/// `at - since` as `12.3s`.
fn secs(at: Instant, since: Instant) -> String {
    format!("{:.1}s", at.saturating_duration_since(since).as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// The sinks themselves, against an HTTP client and a hand-written SMTP client.
// ---------------------------------------------------------------------------------------------

#[test]
fn http_sink_answers_like_discord_and_pagerduty_and_records_each_post() {
    let sink = HttpSink::start();
    let client = Client::new(sink.addr());

    let discord = client
        .request(
            "POST",
            DISCORD_PATH,
            Some(r#"{"embeds": [{"title": "x"}]}"#),
        )
        .expect("POST to the Discord path");
    assert_eq!(discord.status, 204);
    assert!(discord.body.is_empty());

    // Same keep-alive connection.
    let event = r#"{"routing_key": "k", "dedup_key": "abc", "event_action": "trigger"}"#;
    let pagerduty = client
        .request("POST", "/pagerduty", Some(event))
        .expect("POST to the PagerDuty path");
    assert_eq!(pagerduty.status, 202);
    let answer: Value = serde_json::from_slice(&pagerduty.body).expect("a JSON answer");
    assert_eq!(answer["status"], "success");
    assert_eq!(answer["message"], "Event processed");
    assert_eq!(answer["dedup_key"], "abc");

    let got = sink
        .wait_for(Duration::from_secs(1), |r| r.path == "/pagerduty")
        .expect("the PagerDuty post is recorded");
    assert_eq!(got.method, "POST");
    assert_eq!(got.json["routing_key"], "k");
    assert_eq!(got.header("content-type"), Some("application/json"));
    let paths: Vec<String> = sink.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, [DISCORD_PATH, "/pagerduty"]);
    assert!(
        sink.wait_for(Duration::from_millis(100), |r| r.path == "/other")
            .is_none(),
        "waiting for what never comes times out"
    );
}

#[test]
fn smtp_sink_takes_a_plain_session_unstuffs_dots_and_forgets_a_reset_transaction() {
    let sink = SmtpSink::start();
    let mut client = SmtpClient::connect(sink.addr());
    assert_eq!(client.reply().0, 220, "greeting");
    assert_eq!(
        client.send("MAIL FROM:<a@x.test>").0,
        503,
        "EHLO comes first"
    );

    let (code, lines) = client.send("EHLO client.test");
    assert_eq!(code, 250, "{lines:?}");
    assert!(lines.iter().any(|l| l == "8BITMIME"), "{lines:?}");
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("STARTTLS") || l.starts_with("AUTH")),
        "nothing that needs TLS or AUTH is offered: {lines:?}"
    );

    // A transaction dropped by RSET leaves nothing behind.
    assert_eq!(
        client.send("MAIL FROM:<dropped@x.test> BODY=8BITMIME").0,
        250
    );
    assert_eq!(client.send("RCPT TO:<dropped@y.test>").0, 250);
    assert_eq!(client.send("RSET").0, 250);
    assert_eq!(client.send("DATA").0, 503, "no recipient after RSET");

    assert_eq!(client.send("mail from:<alerts@shortener.test>").0, 250);
    assert_eq!(client.send("RCPT TO:<>").0, 501, "an empty forward path");
    assert_eq!(client.send("RCPT TO:<oncall@shortener.test>").0, 250);
    assert_eq!(client.send("RCPT TO:<second@shortener.test>").0, 250);
    assert_eq!(client.send("DATA").0, 354);
    client.write(
        "Subject: [FIRING:1] Test\r\nTo: oncall@shortener.test\r\n\r\nfirst line\r\n\
         ..a line that starts with a dot\r\nsoft=\r\n break and =3D sign\r\n.\r\n",
    );
    assert_eq!(client.reply().0, 250, "message accepted");
    assert_eq!(client.send("NOOP").0, 250);
    assert_eq!(client.send("STARTTLS").0, 502);
    assert_eq!(client.send("QUIT").0, 221);

    let mail = sink
        .wait_for(Duration::from_secs(1), |_| true)
        .expect("the message is recorded");
    assert_eq!(mail.client, "client.test");
    assert_eq!(mail.from, "alerts@shortener.test");
    assert_eq!(
        mail.recipients,
        ["oncall@shortener.test", "second@shortener.test"]
    );
    assert_eq!(
        mail.data,
        "Subject: [FIRING:1] Test\r\nTo: oncall@shortener.test\r\n\r\nfirst line\r\n\
         .a line that starts with a dot\r\nsoft=\r\n break and =3D sign\r\n"
    );
    assert_eq!(mail.subject(), "[FIRING:1] Test");
    assert_eq!(
        mail.body_text(),
        "first line\r\n.a line that starts with a dot\r\nsoft break and = sign\r\n"
    );
    assert_eq!(sink.mails().len(), 1, "the reset transaction was not kept");
}

/// A hand-written SMTP client: one line out, one (possibly multi-line) reply in.
struct SmtpClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl SmtpClient {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect to the SMTP sink");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn write(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }

    fn send(&mut self, line: &str) -> (u16, Vec<String>) {
        self.write(&format!("{line}\r\n"));
        self.reply()
    }

    /// The reply code and the text of each line (`250-A`, `250 B` -> `["A", "B"]`).
    fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("read a reply");
            let line = line.trim_end();
            assert!(line.len() >= 3, "short reply line {line:?}");
            let code: u16 = line[..3].parse().expect("a reply code");
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if line.as_bytes().get(3) != Some(&b'-') {
                return (code, lines);
            }
        }
    }
}
