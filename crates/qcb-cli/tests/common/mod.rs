//! Shared by the CLI's black-box tests: an emulator, a temporary folder and the binary.
#![allow(dead_code)]

use std::process::{Command, Output};

use qcb_graph_sim::{SimServer, TenantSpec};

pub struct Env {
    pub sim: SimServer,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub async fn new() -> Env {
        Env::with(TenantSpec {
            seed: 3,
            users: 2,
            messages_per_user: 30,
            shared_mailboxes: None,
        })
        .await
    }

    pub async fn with(spec: TenantSpec) -> Env {
        let sim = SimServer::start(spec, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Env {
            sim,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    pub fn cmd(&self, password: &str) -> Command {
        let c = self.sim.credentials();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qcbackup"));
        cmd.env_clear()
            .env("QCBACKUP_REPO", self.repo())
            .env("QCBACKUP_PASSWORD", password)
            .env("QCBACKUP_CACHE_DIR", self.dir.path().join("cache"))
            .env("QCBACKUP_GRAPH_URL", self.sim.graph_url())
            .env("QCBACKUP_AUTHORITY", self.sim.base_url())
            .env("QCBACKUP_TENANT_ID", c.tenant_id)
            .env("QCBACKUP_CLIENT_ID", c.client_id)
            .env("QCBACKUP_CLIENT_SECRET", c.client_secret);
        cmd
    }
}

pub fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "status {:?}\nstdout {}\nstderr {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the blocking CLI off the test's async runtime (the emulator lives on it).
pub async fn run(env: &Env, password: &str, args: &[&str]) -> Output {
    let mut cmd = env.cmd(password);
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Runs with extra environment variables.
pub async fn run_env(env: &Env, password: &str, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = env.cmd(password);
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}
