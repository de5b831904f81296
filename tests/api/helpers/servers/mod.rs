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

mod certs;
mod pg_cluster;
mod redis_server;

pub use certs::TestCerts;
pub use pg_cluster::PgCluster;
pub use redis_server::RedisServer;

/// How long a server may take to answer after it was started.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Free ports are only free when looked at; another process may take one before the server binds it.
const PORT_ATTEMPTS: usize = 5;

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
