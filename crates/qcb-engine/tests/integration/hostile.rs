//! Hostile names through backup, browse, restore and export: folder names, subjects and
//! attachment names made to climb out of a folder (`..`, `/`, `\`, absolute paths), control
//! characters and NUL, Windows' reserved device names, 500-character names and bidirectional
//! overrides. Each is backed up, browsed and restored under its own name; export writes every
//! file inside its target folder, under a name that is safe everywhere and does not lie about
//! its extension, and a zip's entries are the same relative names.

use std::path::{Component, Path};
use std::sync::Arc;

use qcb_engine::{ExportOptions, NoProgress, RestoreTarget};
use qcb_graph_sim::{NewAttachment, NewMessage};

use super::support::*;

/// Names an attacker can give a folder, a message or an attachment.
fn hostile_names() -> Vec<String> {
    let mut v: Vec<String> = [
        "..",
        ".",
        "../../outside",
        "..\\..\\outside",
        "/etc/passwd",
        "C:\\Windows\\win.ini",
        "\\\\server\\share\\x",
        "a/b",
        "CON",
        "nul.txt",
        "COM1",
        "LPT9.log",
        "tab\there",
        "line\r\nbreak",
        "esc\u{1b}[31mred",
        "invoice\u{202e}fdp.exe",
        "\u{2066}isolate\u{2069}.pdf",
        " .hidden. ",
        "~",
        "%2F..%2F..%2Fescaped",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("L".repeat(500));
    v.push("é".repeat(300));
    v
}

/// Every file and folder under `dir`, as paths relative to it.
fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.clone());
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            walk(&p, out);
        }
    }
}

/// A name component export may write: no path syntax, nothing a terminal or file manager
/// shows as something else, nothing Windows refuses.
fn assert_safe_component(name: &str) {
    assert!(!name.is_empty() && name != "." && name != "..", "{name:?}");
    assert!(name.len() <= 255, "{} bytes: {name:?}", name.len());
    for c in name.chars() {
        assert!(
            !c.is_control() && !"<>:\"/\\|?*".contains(c),
            "{c:?} in {name:?}"
        );
        assert!(
            !matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'),
            "bidirectional control {c:?} in {name:?}"
        );
    }
    assert!(
        !name.ends_with(['.', ' ']) && !name.starts_with(' '),
        "{name:?}"
    );
    let base = name
        .split('.')
        .next()
        .unwrap()
        .trim_end()
        .to_ascii_uppercase();
    assert!(
        !["CON", "PRN", "AUX", "NUL", "COM1", "LPT9"].contains(&base.as_str()),
        "{name:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_names_are_backed_up_browsed_restored_and_exported_without_escaping() {
    let w = world(1).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let inbox = w.folder(&alice.id, "Inbox");
    let names = hostile_names();
    for (k, name) in names.iter().enumerate() {
        let folder = admin.create_folder(&alice.id, &inbox.id, name).unwrap();
        let mut m = NewMessage::generated(500 + k as u64);
        m.subject = format!("{name}\u{0}after NUL");
        m.attachments = vec![NewAttachment {
            name: name.clone(),
            content_type: "application/octet-stream".into(),
            content: format!("attachment {k}").into_bytes(),
            is_inline: false,
            content_id: None,
        }];
        admin.add_message(&alice.id, &folder, m);
    }
    let exported_messages = admin.messages(&alice.id, &inbox.id).len() + names.len();
    let r = w.backup(0).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);

    // Browse: each folder under its own name, reached by the path browse gives for it.
    let upn = &alice.user_principal_name;
    let inbox_path = qcb_repo::join_path(&[upn.as_str(), "Mail", "Inbox"]);
    let listing = w.repo.browse("latest", &inbox_path).unwrap();
    for name in &names {
        let entry = listing
            .folders
            .iter()
            .find(|f| &f.name == name)
            .unwrap_or_else(|| panic!("{name:?} not listed"));
        let inside = w.repo.browse("latest", &entry.path).unwrap();
        assert_eq!(inside.items.len(), 1, "{name:?}");
        assert!(
            inside.items[0].subject.starts_with(name.as_str()),
            "{name:?}"
        );
    }

    // Restore: every folder comes back with its own name, holding its message and attachment.
    let report = w
        .restore_with(restore_opts(
            &inbox_path,
            RestoreTarget::Folder("Hostile".into()),
        ))
        .await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let folders = admin.folders(&alice.id);
    let restored_inbox = folders
        .iter()
        .find(|f| f.path == "Hostile/Inbox")
        .expect("restored Inbox");
    for name in &names {
        // Exchange trims a new folder's name (` .hidden. ` comes back as `.hidden.`).
        let f = folders
            .iter()
            .find(|f| {
                f.parent_id.as_deref() == Some(&restored_inbox.id) && f.display_name == name.trim()
            })
            .unwrap_or_else(|| panic!("{name:?} not restored"));
        let msgs = admin.messages(&alice.id, &f.id);
        assert_eq!(msgs.len(), 1, "{name:?}");
        assert_eq!(
            msgs[0].attachment_names,
            std::slice::from_ref(name),
            "{name:?}"
        );
    }
    // The same restore again finds every folder it made and writes nothing twice.
    let again = w
        .restore_with(restore_opts(
            &inbox_path,
            RestoreTarget::Folder("Hostile".into()),
        ))
        .await;
    assert!(again.failed.is_empty(), "{:?}", again.failed);
    assert_eq!(again.items_restored, 0);
    assert_eq!(again.folders_created, 0);

    // Export to a folder and to a zip: nothing lands outside the target, every name is safe.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("export");
    let exported = qcb_engine::api::export(
        w.repo.clone(),
        ExportOptions::new(inbox_path.clone(), &target),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(exported.failed.is_empty(), "{:?}", exported.failed);
    let mut all = Vec::new();
    walk(out.path(), &mut all);
    let mut emls = 0;
    for p in &all {
        let rel = p
            .strip_prefix(&target)
            .unwrap_or_else(|_| panic!("{} was written outside the export folder", p.display()));
        for c in rel.components() {
            let Component::Normal(n) = c else {
                panic!("{rel:?}")
            };
            assert_safe_component(n.to_str().unwrap());
        }
        emls += usize::from(p.extension().is_some_and(|e| e == "eml"));
    }
    assert_eq!(emls, exported_messages, "{all:#?}");

    let zip_path = out.path().join("export.zip");
    let mut opts = ExportOptions::new(inbox_path.clone(), &zip_path);
    opts.zip = true;
    qcb_engine::api::export(w.repo.clone(), opts, Arc::new(NoProgress))
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut entries = 0;
    for i in 0..archive.len() {
        let name = archive.by_index(i).unwrap().name().to_string();
        assert!(!name.starts_with('/'), "{name:?}");
        for part in name.trim_end_matches('/').split('/') {
            assert_safe_component(part);
        }
        entries += usize::from(name.ends_with(".eml"));
    }
    assert_eq!(entries, exported_messages);
}
