//! Private Redis and PostgreSQL servers for tests that pause, stop or kill them, so the shared
//! instances on 5432 and 6379 are never touched. Linux only: they run the distribution's binaries.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::process::free_port;

/// How long a server may take to answer after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Free ports are only free when looked at; another process may take one before the server binds it.
const PORT_ATTEMPTS: usize = 5;

/// A private redis-server on a free port, killed on drop.
pub struct RedisServer {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
    watchdog: Option<Watchdog>,
    paused: AtomicBool,
}

impl RedisServer {
    /// Starts `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no` in the foreground
    /// with its own temp dir, and waits until it answers PING; panics with its log otherwise.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("redis-")
            .tempdir()
            .expect("create a temp dir for redis");
        let mut server = Self {
            port: 0,
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

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args);
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
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
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
            if log.contains("Ready to accept connections") && redis_answers_ping(self.port) {
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

/// A private PostgreSQL cluster (initdb in a temp dir, trust auth, 127.0.0.1 on a free port),
/// stopped on drop.
pub struct PgCluster {
    port: u16,
    bin: PathBuf,
    dir: TempDir,
    _watchdog: Watchdog,
}

impl PgCluster {
    /// `initdb -A trust -U postgres --no-sync` (UTF8, C.UTF-8 like the shared server), then
    /// `pg_ctl start -w` on a free port with fsync off and 50 connections; creates nothing else.
    /// initdb and postgres refuse to run as root, so both run as the `postgres` OS user.
    pub fn start() -> Self {
        let bin = pg_bin_dir();
        // In /tmp, not $TMPDIR: the socket path must stay under 108 bytes and the postgres user
        // must be able to reach the directory.
        let dir = tempfile::Builder::new()
            .prefix("pg-")
            .tempdir_in("/tmp")
            .expect("create a temp dir for postgres");
        let (uid, gid) = (postgres_id("-u"), postgres_id("-g"));
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
            .expect("chown the cluster dir to postgres");
        let watchdog = Watchdog::spawn(
            r#"runuser -u postgres -- "$1" stop -D "$2/data" -m immediate -w -t 30; rm -rf "$2""#,
            &[
                &bin.join("pg_ctl").to_string_lossy(),
                &dir.path().to_string_lossy(),
            ],
        );

        let mut initdb = as_postgres(60, &bin.join("initdb"), dir.path());
        initdb.arg("-D").arg(dir.path().join("data"));
        initdb.args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        initdb.args(["-E", "UTF8", "--locale=C.UTF-8"]);
        run(&mut initdb);

        let mut cluster = Self {
            port: 0,
            bin,
            dir,
            _watchdog: watchdog,
        };
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            cluster.port = free_port();
            match cluster.try_start() {
                Ok(()) => return cluster,
                Err(error) if error.contains("Address already in use") => last_error = error,
                Err(error) => panic!("postgres did not start on port {}:\n{error}", cluster.port),
            }
        }
        panic!(
            "postgres found no free port in {PORT_ATTEMPTS} attempts; last error:\n{last_error}"
        );
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/DATABASE`
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `CREATE DATABASE "name"` through psql.
    pub fn create_database(&self, name: &str) {
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        let mut psql = bounded(30, self.bin.join("psql"));
        psql.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
            "-d",
            "postgres",
        ]);
        psql.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-c", &sql]);
        psql.env("PGCONNECT_TIMEOUT", "10");
        run(&mut psql);
    }

    /// `pg_ctl stop -m fast -w`; the data is kept and connections are refused afterwards.
    pub fn stop(&self) {
        let mut pg_ctl = self.pg_ctl(&["stop", "-m", "fast"]);
        run(&mut pg_ctl);
    }

    /// `pg_ctl start -w` again on the same port and data dir.
    pub fn start_again(&self) {
        if let Err(error) = self.try_start() {
            panic!(
                "postgres did not start on port {} again:\n{error}",
                self.port
            );
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let log = self.dir.path().join("postgres.log");
        let log_start = fs::metadata(&log).map_or(0, |m| m.len());
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let mut command = self.pg_ctl(&["start", "-l", &log.to_string_lossy(), "-o", &options]);
        try_run(&mut command)
            .map(drop)
            .map_err(|error| format!("{error}\npostgres.log:\n{}", read_from(&log, log_start)))
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = as_postgres(40, &self.bin.join("pg_ctl"), self.dir.path());
        command
            .args(args)
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "30"]);
        command
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if !self.data_dir().join("postmaster.pid").exists() {
            return;
        }
        let mut pg_ctl = self.pg_ctl(&["stop", "-m", "immediate"]);
        // No panic in drop: it may run while unwinding, and a panic there aborts.
        if let Err(error) = try_run(&mut pg_ctl) {
            eprintln!("PgCluster drop: {error}");
        }
    }
}

/// Runs a cleanup script if this test process dies without dropping its fixtures (SIGKILL,
/// abort, a panic while panicking), so no server outlives the test run.
///
/// It is a shell reading a pipe only this process holds: end of input means this process is
/// gone. It ignores the signals a Ctrl-C or `timeout` sends to the whole process group, so it
/// outlives the test process that they end.
struct Watchdog {
    shell: Child,
}

impl Watchdog {
    fn spawn(cleanup: &str, args: &[&str]) -> Self {
        let script = format!("trap '' HUP INT QUIT TERM; while read -r _; do :; done; {cleanup}");
        let shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .args(args)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the cleanup watchdog: {e}"));
        Self { shell }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // The fixture cleaned up itself; the watchdog must not run its script.
        let _ = self.shell.kill();
        let _ = self.shell.wait();
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

/// The newest `/usr/lib/postgresql/<version>/bin` that has initdb.
fn pg_bin_dir() -> PathBuf {
    let entries = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten();
    let newest = entries
        .filter_map(|entry| {
            Some((
                entry.file_name().to_str()?.parse::<u32>().ok()?,
                entry.path(),
            ))
        })
        .map(|(version, path)| (version, path.join("bin")))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .max();
    let (_, bin) = newest.expect("no /usr/lib/postgresql/<version>/bin/initdb: install postgresql");
    bin
}

/// The uid (`-u`) or gid (`-g`) of the postgres OS user.
fn postgres_id(flag: &str) -> u32 {
    let out = run(bounded(5, "id").args([flag, "postgres"]));
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("unexpected `id {flag} postgres` output: {out:?}"))
}

/// `runuser -u postgres -- program`, started in `dir` since postgres may not read the cwd.
fn as_postgres(seconds: u32, program: &Path, dir: &Path) -> Command {
    let mut command = bounded(seconds, "runuser");
    command
        .args(["-u", "postgres", "--"])
        .arg(program)
        .current_dir(dir);
    command
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

/// Whatever was appended to a log file since `offset`.
fn read_from(path: &Path, offset: u64) -> String {
    let text = fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset).map_or(text.len(), |o| o.min(text.len()));
    String::from_utf8_lossy(&text[start..]).into_owned()
}

/// `timeout SECONDS program`: every command is bounded, so a hung server fails the test with
/// a message instead of hanging it.
fn bounded(seconds: u32, program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new("timeout");
    command
        .arg(seconds.to_string())
        .arg(program)
        .stdin(Stdio::null());
    command
}

/// Runs a command to completion and returns its stdout; errs with all its output if it failed.
fn try_run(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let status = match output.status.code() {
        Some(124) => "timed out".to_owned(),
        _ => output.status.to_string(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(format!(
        "{command:?} failed ({status}):\nstderr:\n{stderr}\nstdout:\n{stdout}"
    ))
}

/// [`try_run`], panicking with the command's output if it failed.
fn run(command: &mut Command) -> String {
    try_run(command).unwrap_or_else(|error| panic!("{error}"))
}
