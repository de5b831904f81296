//! A throwaway certificate authority and a server certificate it signed, for 127.0.0.1 and
//! localhost, made with the openssl command line.

use super::*;

/// `ca.pem`, `server.pem` and `server.key` in a temp dir (world-readable, so the postgres
/// user can read its copy's source).
pub struct TestCerts {
    dir: TempDir,
}

impl TestCerts {
    /// A new CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost), valid one day.
    pub fn generate() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("certs-")
            .tempdir_in("/tmp")
            .expect("create a temp dir for certificates");
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let (ca_key, ca, key, csr, cert) = (
            path("ca.key"),
            path("ca.pem"),
            path("server.key"),
            path("server.csr"),
            path("server.pem"),
        );
        let ext = path("server.ext");
        fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
        )
        .expect("write the extension file");
        let openssl = |args: &[&str]| {
            run(bounded(30, "openssl").args(args));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=shortener test CA",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &key,
            "-out",
            &csr,
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ]);
        fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("open the certificate dir to the postgres user");
        for file in ["server.key", "server.pem", "ca.pem"] {
            fs::set_permissions(
                dir.path().join(file),
                std::os::unix::fs::PermissionsExt::from_mode(0o644),
            )
            .expect("make the certificate readable");
        }
        Self { dir }
    }

    /// The CA certificate clients trust.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server's private key.
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}
