//! The native stack (`scripts/stack`) driven from a test: a temporary state directory, free
//! ports, its own database, the script run with a timeout, `status` parsed, Nginx's JSON access
//! log read back, and `down --purge` on drop so a failing test leaves nothing running.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tempfile::TempDir;

use super::http::Client;

/// How long a command other than `up` may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The ports of one stack: a block of free consecutive ports on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub http: u16,
    pub internal: u16,
    pub redis: u16,
    pub prometheus: u16,
    pub alertmanager: u16,
    pub node_exporter: u16,
    pub nginx_exporter: u16,
    pub postgres_exporter: u16,
    pub redis_exporter: u16,
    /// The stack's private PostgreSQL cluster.
    pub postgres: u16,
    /// app-1; app-I is `app + I - 1`.
    pub app: u16,
}

impl Ports {
    /// Ports below Linux's ephemeral range (32768..), so no outgoing connection takes one
    /// between this check and the bind.
    fn free(replicas: u16) -> Self {
        let count = 10 + replicas;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            ^ std::process::id();
        for attempt in 0..200_u32 {
            let base = 20_000 + ((seed.wrapping_add(attempt * 7919)) % 12_000) as u16;
            let all_free = (base..base + count)
                .all(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
            if all_free {
                return Self {
                    http: base,
                    internal: base + 1,
                    redis: base + 2,
                    prometheus: base + 3,
                    alertmanager: base + 4,
                    node_exporter: base + 5,
                    nginx_exporter: base + 6,
                    postgres_exporter: base + 7,
                    redis_exporter: base + 8,
                    postgres: base + 9,
                    app: base + 10,
                };
            }
        }
        panic!("no block of {count} free ports found");
    }
}

/// One line of `scripts/stack status`: `<name> <pid> <address> <up|down>`.
#[derive(Debug)]
pub struct Process {
    pub name: String,
    pub pid: Option<u32>,
    pub up: bool,
}

/// A native stack in a temporary state directory; `down --purge` on drop if the test did not
/// get there, so a failing test leaves nothing running either.
pub struct Stack {
    pub dir: TempDir,
    pub ports: Ports,
    replicas: u16,
    env: Vec<(&'static str, String)>,
    down: bool,
}

impl Stack {
    /// Settings for a stack of `replicas` replicas (started by `run(&["up", ...])`).
    pub fn new(replicas: u16) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("shortener-stack-e2e-")
            .tempdir()
            .expect("create the state dir");
        let ports = Ports::free(replicas);
        let env = vec![
            ("STACK_DIR", dir.path().display().to_string()),
            ("SHORTENER_BIN", env!("CARGO_BIN_EXE_shortener").to_owned()),
            (
                "STACK_DB_NAME",
                format!("shortener_stack_e2e_{}", std::process::id()),
            ),
            ("STACK_HTTP_PORT", ports.http.to_string()),
            ("STACK_INTERNAL_PORT", ports.internal.to_string()),
            ("STACK_APP_PORT", ports.app.to_string()),
            ("STACK_REDIS_PORT", ports.redis.to_string()),
            ("STACK_POSTGRES_PORT", ports.postgres.to_string()),
            ("STACK_PROMETHEUS_PORT", ports.prometheus.to_string()),
            ("STACK_ALERTMANAGER_PORT", ports.alertmanager.to_string()),
            ("STACK_NODE_EXPORTER_PORT", ports.node_exporter.to_string()),
            (
                "STACK_NGINX_EXPORTER_PORT",
                ports.nginx_exporter.to_string(),
            ),
            (
                "STACK_POSTGRES_EXPORTER_PORT",
                ports.postgres_exporter.to_string(),
            ),
            (
                "STACK_REDIS_EXPORTER_PORT",
                ports.redis_exporter.to_string(),
            ),
            ("API_KEYS", crate::http::STACK_API_KEY.to_owned()),
            ("PROM_SCRAPE_INTERVAL", "2s".to_owned()),
            ("PROM_EVAL_INTERVAL", "2s".to_owned()),
        ];
        Self {
            dir,
            ports,
            replicas,
            env,
            down: false,
        }
    }

    /// Sets (or replaces) one environment variable of every `scripts/stack` command this
    /// stack runs, e.g. alert receivers or shorter Prometheus intervals.
    pub fn with_env(mut self, key: &'static str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.env.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.env.push((key, value)),
        }
        self
    }

    /// The pid of stack process `name` (`redis`, `app-2`, ...) from its pid file, while that
    /// process still runs the binary `up` recorded for it (as `scripts/stack` checks).
    pub fn running_pid(&self, name: &str) -> Option<u32> {
        let run = self.dir.path().join("run");
        let pid: u32 = std::fs::read_to_string(run.join(format!("{name}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let recorded = std::fs::read_to_string(run.join(format!("{name}.exe"))).ok()?;
        let actual = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        let actual = actual.to_string_lossy();
        (actual.trim_end_matches(" (deleted)") == recorded.trim()).then_some(pid)
    }

    /// The last `lines` lines of `logs/FILE` in the state directory (empty when absent).
    pub fn log_tail(&self, file: &str, lines: usize) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("logs").join(file)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The stack's database, as the replicas reach it without a proxy.
    pub fn database_url(&self) -> String {
        let name = &self
            .env
            .iter()
            .find(|(k, _)| *k == "STACK_DB_NAME")
            .unwrap()
            .1;
        format!(
            "postgres://postgres@127.0.0.1:{}/{name}",
            self.ports.postgres
        )
    }

    /// Runs one SQL statement on the stack's database with `psql`; its unaligned output.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        let output = Command::new("psql")
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(self.database_url())
            .args(["-c", sql])
            .env("PGCONNECT_TIMEOUT", "2")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run psql: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    /// `redis-cli ARGS` against the stack's Redis; its output.
    pub fn redis_cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.ports.redis.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Every line of `logs/FILE` in the state directory (empty when absent).
    pub fn log_lines(&self, file: &str) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("logs").join(file))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack")
    }

    pub fn app_addr(&self, replica: u16) -> String {
        format!("127.0.0.1:{}", self.ports.app + replica - 1)
    }

    /// Runs `scripts/stack ARGS`; panics with its output unless it exits 0 in time.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Output {
        let output = self.try_run(args, timeout);
        assert!(
            output.status.success(),
            "scripts/stack {} failed ({}):\n{}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub fn try_run(&self, args: &[&str], timeout: Duration) -> Output {
        let mut child = Command::new("bash")
            .arg(Self::script())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run scripts/stack");
        // Read both pipes on threads so a chatty command cannot block on a full pipe.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        let err = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for scripts/stack") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "scripts/stack {} did not finish in {timeout:?}",
                    args.join(" ")
                );
            }
            thread::sleep(Duration::from_millis(50));
        };
        Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }

    pub fn status(&self) -> Vec<Process> {
        let output = self.try_run(&["status"], COMMAND_TIMEOUT);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(fields.len(), 4, "status line `{line}`");
                Process {
                    name: fields[0].to_owned(),
                    pid: fields[1].parse().ok(),
                    up: match fields[3] {
                        "up" => true,
                        "down" => false,
                        other => panic!("status `{other}` in `{line}`"),
                    },
                }
            })
            // The stack's private PostgreSQL cluster is left out: the tests count, kill and
            // restart the serving processes only.
            .filter(|p| p.name != "postgres")
            .collect()
    }

    pub fn down(&mut self) {
        self.run(&["down", "--purge"], COMMAND_TIMEOUT);
        self.down = true;
    }

    fn access_log(&self) -> PathBuf {
        self.dir.path().join("logs/nginx.access.log")
    }

    pub fn access_log_len(&self) -> u64 {
        std::fs::metadata(self.access_log()).map_or(0, |m| m.len())
    }

    /// Nginx's JSON access-log lines written after byte `from`.
    pub fn access_log_since(&self, from: u64) -> Vec<Value> {
        let text = std::fs::read(self.access_log()).expect("read nginx.access.log");
        text.get(usize::try_from(from).unwrap()..)
            .unwrap_or_default()
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!(
                        "access-log line is not JSON ({e}): {}",
                        String::from_utf8_lossy(line)
                    )
                })
            })
            .collect()
    }

    /// Nginx's access-log lines after byte `from`, read again until `enough` holds for
    /// them or `within` has passed. Nginx buffers its lines (nginx/nginx.conf: written at
    /// the latest 250 ms after an answer), so a line is not there the moment its answer is.
    pub fn access_log_until(
        &self,
        from: u64,
        within: Duration,
        enough: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let lines = self.access_log_since(from);
            if enough(&lines) || Instant::now() >= deadline {
                return lines;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls Prometheus until every replica is an `up` target; returns their addresses.
    pub fn wait_for_prometheus_targets(&self, within: Duration) -> Vec<String> {
        let prometheus = SocketAddr::from((Ipv4Addr::LOCALHOST, self.ports.prometheus));
        let wanted: BTreeSet<String> = (1..=self.replicas).map(|i| self.app_addr(i)).collect();
        let deadline = Instant::now() + within;
        let mut last = String::new();
        loop {
            let client = Client::new(prometheus);
            if let Ok(response) = client.request("GET", "/api/v1/targets?state=active", None) {
                last = response.text();
                if let Ok(body) = serde_json::from_slice::<Value>(&response.body) {
                    let up: BTreeSet<String> = body["data"]["activeTargets"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|t| t["health"] == "up")
                        .filter_map(|t| t["labels"]["instance"].as_str().map(str::to_owned))
                        .filter(|instance| wanted.contains(instance))
                        .collect();
                    if up == wanted {
                        return up.into_iter().collect();
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not report the replicas {wanted:?} as up within {within:?}: {last}"
            );
            thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if !self.down {
            let output = self.try_run(&["down", "--purge"], COMMAND_TIMEOUT);
            eprintln!(
                "cleanup: scripts/stack down --purge: {}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

/// True while process `pid` or any other member of its process group (each process the
/// stack starts leads its own group) is alive; zombies do not count.
pub fn group_alive(pid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // After the command name (in parentheses, may hold spaces): state ppid pgrp ...
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            return false;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.len() > 2 && fields[0] != "Z" && fields[2] == pid.to_string()
    })
}
