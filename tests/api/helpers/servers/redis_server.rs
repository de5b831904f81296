//! A private redis-server: started on a free port, paused (SIGSTOP), resumed, killed and
//! restarted on its port.

use super::*;

/// A private redis-server on a free port, killed on drop.
pub struct RedisServer {
    port: u16,
    /// With TLS, the CA and server certificate's directory: the port speaks TLS only.
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
    dir: TempDir,
    child: Option<Child>,
    watchdog: Option<Watchdog>,
    paused: AtomicBool,
}

impl RedisServer {
    /// Starts `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` in the foreground
    /// with its own temp dir, and waits until it answers PING; panics with its log otherwise.
    pub fn start() -> Self {
        Self::start_on(None)
    }

    /// A server whose port speaks TLS only, with the certificate of `certs` (clients are
    /// not asked for one).
    pub fn start_with_tls(certs: &super::TestCerts) -> Self {
        Self::start_on(Some((certs.ca(), certs.cert(), certs.key())))
    }

    fn start_on(tls: Option<(PathBuf, PathBuf, PathBuf)>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("redis-")
            .tempdir()
            .expect("create a temp dir for redis");
        let mut server = Self {
            port: 0,
            tls,
            dir,
            child: None,
            watchdog: None,
            paused: AtomicBool::new(false),
        };
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(log) if log.contains("Address already in use") => {
                    server.kill();
                    last_log = log;
                }
                Err(log) => panic!("redis-server did not start on port {}:\n{log}", server.port),
            }
        }
        panic!(
            "redis-server found no free port in {PORT_ATTEMPTS} attempts; last log:\n{last_log}"
        );
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`, or `rediss://` with TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// SIGSTOP: the server keeps its data and its port but answers nothing (a hung or partitioned
    /// Redis). New connections still complete, since the kernel accepts them into the backlog.
    pub fn pause(&self) {
        let pid = self.pid().expect("pause: redis-server is not running");
        send_signal(pid, "STOP").unwrap_or_else(|e| panic!("pause: {e}"));
        self.paused.store(true, Ordering::SeqCst);
        // The signal is asynchronous; return only once the kernel has stopped the process.
        wait_for_state(pid, true);
    }

    /// SIGCONT: the server answers again, with its data.
    pub fn resume(&self) {
        let pid = self.pid().expect("resume: redis-server is not running");
        send_signal(pid, "CONT").unwrap_or_else(|e| panic!("resume: {e}"));
        self.paused.store(false, Ordering::SeqCst);
        wait_for_state(pid, false);
    }

    /// SIGKILL and wait; the port refuses connections afterwards. Does nothing if already killed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if self.paused.swap(false, Ordering::SeqCst) {
                let _ = send_signal(child.id(), "CONT");
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.watchdog = None;
    }

    /// Starts it again on the same port with empty data, and waits for PING.
    pub fn restart(&mut self) {
        self.kill();
        if let Err(log) = self.spawn() {
            self.kill();
            panic!("redis-server did not restart on port {}:\n{log}", self.port);
        }
    }

    /// Runs `redis-cli -p PORT ARGS...` (e.g. `["KEYS", "*"]`) and returns its stdout, trimmed.
    /// Error replies come back as text (`WRONGTYPE ...`); panics if redis-cli cannot connect or
    /// gets no answer within 10 s (a paused server).
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = bounded(10, "redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &self.port.to_string()]);
        if let Some((ca, ..)) = &self.tls {
            command.arg("--tls").arg("--cacert").arg(ca);
        }
        command.args(args);
        run(&mut command).trim().to_owned()
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// Spawns the server on `self.port` and waits for PING; on failure returns this run's log.
    fn spawn(&mut self) -> Result<(), String> {
        let log_path = self.log_path();
        let log_start = fs::metadata(&log_path).map_or(0, |m| m.len());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open redis.log");
        let mut command = Command::new("redis-server");
        match &self.tls {
            None => command.args(["--port", &self.port.to_string()]),
            Some((ca, cert, key)) => command
                .args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-ca-cert-file")
                .arg(ca)
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = command
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run redis-server (is it installed?): {e}"));
        let pid = child.id().to_string();
        self.watchdog = Some(Watchdog::spawn(
            r#"kill -CONT "$1"; kill -KILL "$1"; rm -rf "$2""#,
            &[pid.as_str(), &self.dir.path().to_string_lossy()],
        ));
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = read_from(&log_path, log_start);
            // The log line tells our server from another one that took the same port meanwhile.
            // A TLS port cannot take the plain PING; its log line must do.
            let answers = self.tls.is_some() || redis_answers_ping(self.port);
            if log.contains("Ready to accept connections") && answers {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("redis-server exited ({status}):\n{log}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("no PONG within {READY_TIMEOUT:?}:\n{log}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn redis_answers_ping(port: u16) -> bool {
    let ping = || -> io::Result<bool> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.write_all(b"PING\r\n")?;
        let mut reply = [0; 7];
        stream.read_exact(&mut reply)?;
        Ok(&reply == b"+PONG\r\n")
    };
    ping().unwrap_or(false)
}

/// Sends a signal by name (`STOP`, `CONT`, ...) with kill(1); the crate forbids unsafe code.
fn send_signal(pid: u32, name: &str) -> Result<(), String> {
    try_run(bounded(5, "kill").args(["-s", name, &pid.to_string()])).map(drop)
}

/// Waits until the process is stopped (state `T`) or not, as /proc shows it.
fn wait_for_state(pid: u32, stopped: bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses and may contain spaces.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if (state == Some('T')) == stopped {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "process {pid} did not become {} (state {state:?})",
                if stopped { "stopped" } else { "running" }
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
}
