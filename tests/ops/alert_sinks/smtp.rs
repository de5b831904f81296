//! The SMTP sink: a hand-written RFC 5321 server without TLS or AUTH that accepts every
//! message.

use super::*;

/// One line without its CRLF (or LF); `None` at end of stream.
fn read_text_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    if line.ends_with(b"\n") {
        line.pop();
    }
    if line.ends_with(b"\r") {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-message",
    )
}

/// One message the SMTP sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub received: Instant,
    /// The name the client gave in EHLO/HELO.
    pub client: String,
    /// The reverse path of MAIL FROM.
    pub from: String,
    /// The forward paths of RCPT TO, in order.
    pub recipients: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, lines ending in CRLF.
    pub data: String,
}

impl Mail {
    /// The first header `name` of the message, folded lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((n, value)) = line.split_once(':')
                && n.trim().eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }

    pub fn subject(&self) -> String {
        self.header("subject").unwrap_or_default()
    }

    /// The body with quoted-printable soft line breaks and `=XX` escapes undone (what a reader
    /// of Alertmanager's mail sees), for searching.
    pub fn body_text(&self) -> String {
        let (_, body) = self.split();
        let body = body.replace("=\r\n", "");
        let bytes = body.as_bytes();
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escaped = (bytes[i] == b'=')
                .then(|| bytes.get(i + 1..i + 3))
                .flatten()
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            if let Some(byte) = escaped {
                decoded.push(byte);
                i += 3;
            } else {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&decoded).into_owned()
    }

    fn split(&self) -> (&str, &str) {
        self.data
            .split_once("\r\n\r\n")
            .unwrap_or((self.data.as_str(), ""))
    }
}

/// An SMTP server (RFC 5321, no TLS, no AUTH) that accepts every message: EHLO/HELO, MAIL FROM,
/// RCPT TO, DATA (dot-unstuffed, ended by CRLF.CRLF), RSET, NOOP, VRFY, QUIT. EHLO advertises
/// only 8BITMIME, so a client with `require_tls: false` sends in the clear and without AUTH.
pub struct SmtpSink {
    server: Server,
    inbox: Arc<Inbox<Mail>>,
}

impl SmtpSink {
    pub fn start() -> Self {
        let inbox = Arc::new(Inbox::new());
        let recorder = inbox.clone();
        let server = Server::start("smtp-sink", move |stream| {
            let _ = serve_smtp(stream, &recorder);
        });
        Self { server, inbox }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Every message so far, in arrival order.
    pub fn mails(&self) -> Vec<Mail> {
        self.inbox.all()
    }

    /// The first message (received already or within `within`) that `matches`.
    pub fn wait_for(&self, within: Duration, matches: impl Fn(&Mail) -> bool) -> Option<Mail> {
        self.inbox.wait_for(within, matches)
    }
}

fn serve_smtp(stream: TcpStream, inbox: &Inbox<Mail>) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut reply = |text: &str| -> io::Result<()> {
        out.write_all(text.as_bytes())?;
        out.write_all(b"\r\n")?;
        out.flush()
    };
    reply(&format!("220 {SMTP_DOMAIN} ESMTP sink ready"))?;
    let mut client: Option<String> = None;
    let mut from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_text_line(&mut reader)? else {
            return Ok(());
        };
        let (verb, arg) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let arg = arg.trim();
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" | "HELO" if arg.is_empty() => reply("501 5.5.4 a domain is required")?,
            "EHLO" => {
                client = Some(arg.to_owned());
                (from, recipients) = (None, Vec::new());
                reply(&format!(
                    "250-{SMTP_DOMAIN} greets {arg}\r\n250-8BITMIME\r\n250 HELP"
                ))?;
            }
            "HELO" => {
                client = Some(arg.to_owned());
                (from, recipients) = (None, Vec::new());
                reply(&format!("250 {SMTP_DOMAIN}"))?;
            }
            "MAIL" if client.is_none() => reply("503 5.5.1 send EHLO or HELO first")?,
            "MAIL" if from.is_some() => reply("503 5.5.1 a transaction is already open")?,
            "MAIL" => match path_argument(arg, "FROM:") {
                Some(path) => {
                    from = Some(path);
                    reply("250 2.1.0 Ok")?;
                }
                None => reply("501 5.5.4 syntax: MAIL FROM:<address>")?,
            },
            "RCPT" if from.is_none() => reply("503 5.5.1 send MAIL first")?,
            "RCPT" => match path_argument(arg, "TO:").filter(|p| !p.is_empty()) {
                Some(path) => {
                    recipients.push(path);
                    reply("250 2.1.5 Ok")?;
                }
                None => reply("501 5.5.4 syntax: RCPT TO:<address>")?,
            },
            "DATA" if recipients.is_empty() => reply("503 5.5.1 send RCPT first")?,
            "DATA" => {
                reply("354 End data with <CR><LF>.<CR><LF>")?;
                let mut data = String::new();
                loop {
                    let line = read_text_line(&mut reader)?.ok_or_else(eof)?;
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                inbox.push(Mail {
                    received: Instant::now(),
                    client: client.clone().unwrap_or_default(),
                    from: from.take().unwrap_or_default(),
                    recipients: std::mem::take(&mut recipients),
                    data,
                });
                reply("250 2.0.0 Ok: queued")?;
            }
            "RSET" => {
                (from, recipients) = (None, Vec::new());
                reply("250 2.0.0 Ok")?;
            }
            "NOOP" => reply("250 2.0.0 Ok")?,
            "VRFY" => reply("252 2.5.2 cannot verify, but will accept")?,
            "QUIT" => {
                reply(&format!("221 2.0.0 {SMTP_DOMAIN} closing"))?;
                return Ok(());
            }
            _ => reply("502 5.5.2 command not implemented")?,
        }
    }
}

/// The address in `FROM:<address> [params]` or `TO:<address> [params]` (keyword matched
/// without regard to case); `None` when the argument is not of that form.
fn path_argument(arg: &str, keyword: &str) -> Option<String> {
    let rest = arg
        .get(..keyword.len())
        .filter(|k| k.eq_ignore_ascii_case(keyword))
        .map(|_| &arg[keyword.len()..])?;
    let (path, _params) = rest.trim_start().strip_prefix('<')?.split_once('>')?;
    Some(path.to_owned())
}
