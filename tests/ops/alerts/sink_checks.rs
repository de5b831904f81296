//! The sinks themselves, against an HTTP client and a hand-written SMTP client.

use super::*;

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
