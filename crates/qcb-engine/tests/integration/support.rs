use std::sync::Arc;

use qcb_engine::{BackupReport, Connection, NoProgress, RepoHandle};
use qcb_graph_sim::{SimServer, TenantSpec};

pub struct World {
    pub sim: SimServer,
    pub repo: Arc<RepoHandle>,
    pub graph: Arc<qcb_engine::GraphClient>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

pub fn connection(sim: &SimServer) -> Connection {
    let c = sim.credentials();
    Connection {
        graph_url: sim.graph_url(),
        authority: sim.base_url(),
        tenant_id: c.tenant_id,
        client_id: c.client_id,
        client_secret: c.client_secret,
    }
}

/// A small tenant (2 users) and an empty repository.
pub async fn world(messages_per_user: usize) -> World {
    let sim = SimServer::start(
        TenantSpec {
            seed: 7,
            users: 2,
            messages_per_user,
            shared_mailboxes: None,
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let (repo_dir, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let repo = Arc::new(
        RepoHandle::create(
            &repo_dir.path().join("repo"),
            "pw",
            qcb_engine::KdfParams::insecure_for_tests(),
            cache.path(),
        )
        .unwrap(),
    );
    let graph = Arc::new(connection(&sim).client().unwrap());
    World {
        sim,
        repo,
        graph,
        _dirs: (repo_dir, cache),
    }
}

pub fn at(minutes: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_795_000_000 + minutes * 60, 0).unwrap()
}

impl World {
    /// A backup through another client (a proxy in front of the emulator, say).
    pub async fn backup_via(
        &self,
        graph: &Arc<qcb_engine::GraphClient>,
        minutes: i64,
    ) -> Result<BackupReport, qcb_engine::EngineError> {
        qcb_engine::backup(
            graph.clone(),
            self.repo.repository().clone(),
            super::support::mail_opts(at(minutes), "test"),
            Arc::new(NoProgress),
        )
        .await
    }

    /// Restores `path` of the latest snapshot into `to_folder` (of `target`, or the same mailbox).
    pub async fn restore(
        &self,
        path: &str,
        to_folder: &str,
        target: Option<&str>,
    ) -> qcb_engine::RestoreReport {
        let mut opts = restore_opts(path, qcb_engine::RestoreTarget::Folder(to_folder.into()));
        opts.target_mailbox = target.map(str::to_string);
        self.restore_with(opts).await
    }

    /// Restores with the given options.
    pub async fn restore_with(
        &self,
        opts: qcb_engine::RestoreOptions,
    ) -> qcb_engine::RestoreReport {
        qcb_engine::restore(
            self.graph.clone(),
            self.repo.repository().clone(),
            opts,
            Arc::new(NoProgress),
        )
        .await
        .unwrap()
    }

    pub async fn backup(&self, minutes: i64) -> BackupReport {
        qcb_engine::backup(
            self.graph.clone(),
            self.repo.repository().clone(),
            super::support::mail_opts(at(minutes), "test"),
            Arc::new(NoProgress),
        )
        .await
        .unwrap()
    }

    pub fn alice(&self) -> qcb_graph_sim::UserInfo {
        self.sim
            .admin()
            .users()
            .into_iter()
            .find(|u| u.user_principal_name.starts_with("alice"))
            .unwrap()
    }

    pub fn folder(&self, user: &str, path: &str) -> qcb_graph_sim::FolderInfo {
        self.sim
            .admin()
            .folders(user)
            .into_iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no folder {path}"))
    }

    /// Message ids whose MIME the client downloaded since the log was cleared.
    pub fn mime_downloads(&self) -> Vec<String> {
        self.sim
            .admin()
            .request_log()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/$value"))
            .map(|r| {
                r.path
                    .trim_end_matches("/$value")
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

/// Backup options for the mail-only tests (the other categories have their own tests).
pub fn mail_opts(time: chrono::DateTime<chrono::Utc>, host: &str) -> qcb_engine::BackupOptions {
    let mut o = qcb_engine::BackupOptions::new(time, host);
    o.categories = qcb_engine::Categories::parse("mail").unwrap();
    o
}

/// Restore options for `path` of the latest snapshot (skip what is there, no dry run).
pub fn restore_opts(path: &str, target: qcb_engine::RestoreTarget) -> qcb_engine::RestoreOptions {
    qcb_engine::RestoreOptions {
        snapshot: "latest".into(),
        at_or_before: None,
        path: path.into(),
        target_mailbox: None,
        target,
        recursive: true,
        on_conflict: qcb_engine::OnConflict::Skip,
        dry_run: false,
        requests_per_mailbox: 4,
    }
}
