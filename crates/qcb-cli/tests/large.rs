//! A message with a 150 MB attachment is backed up by the `qcbackup` binary without ever being
//! whole in its memory: the download is cut into chunks as it arrives. The process's peak
//! resident memory (VmHWM, sampled while it runs) stays far below the message's size, and the
//! stored message reads back whole.

mod common;

use std::time::Duration;

use common::*;
use qcb_graph_sim::{NewAttachment, NewMessage, TenantSpec};
use rand::{RngCore, SeedableRng};

/// Peak resident memory of a running process, in KiB (Linux).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_150_mb_attachment_is_streamed_not_held() {
    let env = Env::with(TenantSpec {
        seed: 4,
        users: 1,
        messages_per_user: 2,
        shared_mailboxes: None,
    })
    .await;
    let admin = env.sim.admin();
    let user = admin.users()[0].id.clone();
    let inbox = admin
        .folders(&user)
        .into_iter()
        .find(|f| f.path == "Inbox")
        .unwrap();
    let mut content = vec![0u8; 150 * 1024 * 1024];
    rand::rngs::StdRng::seed_from_u64(150).fill_bytes(&mut content);
    let mut m = NewMessage::generated(7);
    m.subject = "Quarterly archive".into();
    m.attachments = vec![NewAttachment {
        name: "archive.bin".into(),
        content_type: "application/octet-stream".into(),
        content,
        is_inline: false,
        content_id: None,
    }];
    let big = admin.add_message(&user, &inbox.id, m);

    let init = run(&env, "pw", &["repo", "init"]).await;
    assert!(init.status.success(), "{}", stderr(&init));
    let mut cmd = env.cmd("pw");
    cmd.args(["--json", "backup", "--categories", "mail"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while let Some(kib) = vm_hwm_kib(pid) {
            peak = peak.max(kib);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    });
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let peak_mib = sampler.await.unwrap() / 1024;
    let report = json(&out);
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    eprintln!("peak RSS of qcbackup backing up a 150 MB attachment: {peak_mib} MiB");
    // The MIME (base64) is about 200 MB; the process holds a chunk, a pack and its own code.
    assert!(peak_mib > 0 && peak_mib < 120, "peak RSS {peak_mib} MiB");

    // The message reads back whole (the export decrypts and verifies every blob).
    let to = env.dir.path().join("export");
    let exported = run(
        &env,
        "pw",
        &[
            "export",
            "latest",
            &format!("/{}/Mail/Inbox/{big}", admin.users()[0].user_principal_name),
            "--to",
            to.to_str().unwrap(),
        ],
    )
    .await;
    assert!(exported.status.success(), "{}", stderr(&exported));
    let files: Vec<_> = walk(&to);
    assert_eq!(files.len(), 1, "{files:?}");
    let eml = std::fs::read(&files[0]).unwrap();
    assert!(eml.len() > 200_000_000, "{} bytes", eml.len());
    assert!(String::from_utf8_lossy(&eml[..eml.len().min(20_000)]).contains("Quarterly archive"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
