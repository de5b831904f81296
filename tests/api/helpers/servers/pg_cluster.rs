//! A private PostgreSQL cluster: initdb in a temp dir, started on a free port, stopped and
//! started again on its data.

use super::*;

/// A private PostgreSQL cluster (initdb in a temp dir, trust auth, 127.0.0.1 on a free port),
/// stopped on drop.
pub struct PgCluster {
    port: u16,
    /// More `postgres` options (`-c name=value ...`), e.g. for TLS.
    options: String,
    bin: PathBuf,
    dir: TempDir,
    _watchdog: Watchdog,
}

impl PgCluster {
    /// `initdb -A trust -U postgres --no-sync` (UTF8, C.UTF-8 like the shared server), then
    /// `pg_ctl start -w` on a free port with fsync off and 50 connections; creates nothing else.
    /// initdb and postgres refuse to run as root, so both run as the `postgres` OS user.
    pub fn start() -> Self {
        Self::start_with(|_| String::new())
    }

    /// [`Self::start`] with TLS on (`ssl=on`, the certificate and key of `certs`): clients
    /// may use `sslmode=verify-full` with `certs.ca()`; plain connections still work.
    pub fn start_with_tls(certs: &super::TestCerts) -> Self {
        Self::start_with(|dir| {
            let (uid, gid) = (postgres_id("-u"), postgres_id("-g"));
            // postgres refuses a key file that others can read.
            for (from, name, mode) in [
                (certs.cert(), "server.pem", 0o644),
                (certs.key(), "server.key", 0o600),
            ] {
                let to = dir.join(name);
                fs::copy(&from, &to).expect("copy the server certificate");
                std::os::unix::fs::chown(&to, Some(uid), Some(gid)).expect("chown it");
                fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .expect("chmod it");
            }
            format!(
                " -c ssl=on -c ssl_cert_file={0}/server.pem -c ssl_key_file={0}/server.key",
                dir.display()
            )
        })
    }

    /// Starts a cluster; `configure` gets its directory once initdb has run and returns
    /// more server options.
    fn start_with(configure: impl FnOnce(&Path) -> String) -> Self {
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
        let options = configure(dir.path());

        let mut cluster = Self {
            port: 0,
            options,
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
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50{}",
            self.port,
            self.dir.path().display(),
            self.options
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
