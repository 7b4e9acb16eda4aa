//! `qcbackup demo`: the whole job on the built-in demo tenant, in one command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use qcb_engine::{BackupOptions, Connection, RestoreOptions};
use qcb_graph_sim::{SimServer, TenantSpec};

use crate::output::Output;

pub async fn run(dir: Option<PathBuf>, out: &Output) -> anyhow::Result<ExitCode> {
    let sim = SimServer::start(TenantSpec::demo(), "127.0.0.1:0".parse().expect("address"))
        .await
        .context("starting the demo tenant")?;
    let creds = sim.credentials();
    let conn = Connection {
        graph_url: sim.graph_url(),
        authority: sim.base_url(),
        tenant_id: creds.tenant_id.clone(),
        client_id: creds.client_id.clone(),
        client_secret: creds.client_secret.clone(),
    };
    eprintln!(
        "demo tenant (Microsoft Graph emulator) at {}",
        sim.graph_url()
    );

    // Everything but a --dir repository goes away when the demo ends.
    let temp = tempfile::Builder::new()
        .prefix("qcbackup-demo-")
        .tempdir()
        .context("creating a temporary folder")?;
    let repo_dir = dir.unwrap_or_else(|| temp.path().join("repository"));
    let cache = temp.path().join("cache");
    let password = "demo password".to_string();
    let create = !repo_dir.join("config").exists();
    let handle =
        qcb_engine::api::open_repository(repo_dir.clone(), password.clone(), cache, create).await?;
    eprintln!(
        "repository at {} (password {password:?})",
        repo_dir.display()
    );

    let graph = Arc::new(conn.client()?);
    let report = qcb_engine::backup(
        graph.clone(),
        handle.repository().clone(),
        BackupOptions::new(chrono::Utc::now(), "demo"),
        out.progress_sink(),
    )
    .await?;
    out.backup_report(&report);

    // Some user activity, then an incremental backup that downloads only what changed.
    let admin = sim.admin();
    let alice = admin
        .users()
        .into_iter()
        .next()
        .context("demo tenant has no users")?;
    let inbox = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.well_known_name.as_deref() == Some("inbox"))
        .context("no inbox")?;
    let inbox_messages = admin.messages(&alice.id, &inbox.id);
    admin.add_message(
        &alice.id,
        &inbox.id,
        qcb_graph_sim::NewMessage::generated(42),
    );
    if let Some(m) = inbox_messages.first() {
        admin.update_message(
            &alice.id,
            &m.id,
            qcb_graph_sim::MessagePatch {
                is_read: Some(!m.is_read),
                ..Default::default()
            },
        );
    }
    if let Some(m) = inbox_messages.get(1) {
        admin.delete_message(&alice.id, &m.id);
    }
    eprintln!(
        "demo: one message added, one marked, one deleted in {}'s Inbox; backing up again",
        alice.user_principal_name
    );
    let second = qcb_engine::backup(
        graph.clone(),
        handle.repository().clone(),
        BackupOptions::new(chrono::Utc::now(), "demo"),
        out.progress_sink(),
    )
    .await?;
    out.backup_report(&second);

    let snapshots = qcb_engine::api::list_snapshots(handle.clone()).await?;
    out.snapshots(&snapshots);

    let path = format!("/{}/Mail/Inbox", alice.user_principal_name);
    let browse = qcb_engine::api::browse(handle.clone(), "latest".into(), path.clone()).await?;
    if !out_is_json(out) {
        println!(
            "\n{path} in the latest snapshot: {} messages, {} subfolders; the newest five:",
            browse.items.len(),
            browse.folders.len()
        );
        for i in browse.items.iter().take(5) {
            println!("  {}  {}  [{}]", i.received_date_time, i.subject, i.from);
        }
    }

    let to_folder = format!(
        "Restored {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
    );
    let opts = RestoreOptions {
        snapshot: "latest".into(),
        at_or_before: None,
        path,
        target_mailbox: None,
        target: qcb_engine::RestoreTarget::Folder(to_folder.clone()),
        recursive: true,
        on_conflict: qcb_engine::OnConflict::Skip,
        dry_run: false,
        requests_per_mailbox: 4,
    };
    let restored = qcb_engine::restore(
        graph,
        handle.repository().clone(),
        opts,
        out.progress_sink(),
    )
    .await?;
    out.restore_report(&restored);

    // Check the restore against the emulator's own records: every restored message is a
    // received message, byte-identical to its original, with the same dates and read state.
    let folders = admin.folders(&alice.id);
    let under = |root: &str| -> Vec<qcb_graph_sim::MessageView> {
        folders
            .iter()
            .filter(|f| f.path == root || f.path.starts_with(&format!("{root}/")))
            .flat_map(|f| admin.messages(&alice.id, &f.id))
            .collect()
    };
    let originals = under("Inbox");
    let copies = under(&format!("{to_folder}/Inbox"));
    let identical = copies
        .iter()
        .filter(|c| {
            !c.is_draft
                && originals.iter().any(|o| {
                    o.mime == c.mime
                        && o.received_date_time == c.received_date_time
                        && o.sent_date_time == c.sent_date_time
                        && o.is_read == c.is_read
                })
        })
        .count();
    if !out_is_json(out) {
        println!(
            "verified: {identical} of {} restored messages are received (not draft) messages, byte-identical to the originals, with their dates and read state",
            copies.len()
        );
    }
    sim.shutdown().await;
    Ok(
        if identical == copies.len()
            && copies.len() == originals.len()
            && restored.failed.is_empty()
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(3)
        },
    )
}

fn out_is_json(out: &Output) -> bool {
    out.is_json()
}
