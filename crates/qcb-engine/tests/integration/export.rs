//! Export to disk: a backed-up mailbox written as .eml/.mbox, .ics and .vcf files (in a folder
//! or a zip), checked by independent parsers (Python's `email`/`mailbox`, `icalendar`,
//! `vobject`) against what the emulator holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use qcb_engine::{BackupOptions, ExportOptions, ExportReport, MailFormat, NoProgress};
use qcb_graph_sim::{EmailAddress, NewContact, NewMessage};
use serde_json::{Value, json};

use super::support::{World, at, world};

/// The venv with the parsers (scripts/bootstrap.sh makes it). Missing is a failure, not a skip.
pub fn checker_python() -> PathBuf {
    let venv = std::env::var_os("QCB_EXPORT_CHECK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"))
                .join("qcbackup/export-check-venv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/bootstrap.sh test (it installs icalendar and vobject into \
         that venv), or point QCB_EXPORT_CHECK_VENV at such a venv",
        python.display()
    );
    python
}

/// Runs tests/export/check_export.py on `target` with `expected`; returns its summary.
pub fn check(target: &Path, expected: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export/check_export.py");
    let exp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(exp.path(), serde_json::to_vec(expected).unwrap()).unwrap();
    let out = std::process::Command::new(checker_python())
        .arg(&script)
        .arg(target)
        .arg(exp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the parsers disagree with the tenant:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn backup_all(w: &World, minutes: i64) -> qcb_engine::BackupReport {
    let r = qcb_engine::backup(
        w.graph.clone(),
        w.repo.repository().clone(),
        BackupOptions::new(at(minutes), "t"),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    r
}

async fn export(w: &World, opts: ExportOptions) -> qcb_engine::Result<ExportReport> {
    qcb_engine::api::export(w.repo.clone(), opts, Arc::new(NoProgress)).await
}

/// What the emulator holds for one user, as check_export.py compares it.
fn expected(w: &World, user: &str, mail_files: Option<(&str, usize)>) -> Value {
    let admin = w.sim.admin();
    let subjects: Vec<String> = admin
        .folders(user)
        .iter()
        .flat_map(|f| admin.messages(user, &f.id))
        .map(|m| m.subject)
        .collect();
    let (mut events, mut series) = (Vec::new(), serde_json::Map::new());
    for c in admin.calendars(user) {
        for e in admin.events(user, &c.id) {
            if e.kind == "seriesMaster" {
                let (mut cancelled, mut modified) = (e.cancelled_dates, e.exception_dates);
                cancelled.sort();
                modified.sort();
                let start = e
                    .start
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                // The parsers must find the series' rule, its cancelled and modified occurrences
                // by their original local dates, and its first start at the same instant.
                series.insert(
                    e.ical_uid.clone(),
                    json!({"rrule": true, "exdates": cancelled, "overrides": modified,
                           "start": start}),
                );
            }
            events.push(e.subject);
        }
    }
    let (mut contacts, mut emails, mut photos) = (Vec::new(), Vec::new(), 0);
    for f in admin.contact_folders(user) {
        for c in admin.contacts(user, &f.id) {
            contacts.push(c.display_name);
            emails.extend(c.email_addresses);
            photos += usize::from(c.has_photo);
        }
    }
    let tasks: Vec<String> = admin
        .todo_lists(user)
        .iter()
        .flat_map(|l| admin.tasks(user, &l.id))
        .map(|t| t.title)
        .collect();
    let mut v = json!({
        "subjects": subjects, "events": events, "series": series, "contacts": contacts,
        "emails": emails, "photos": photos, "tasks": tasks,
    });
    if let Some((key, n)) = mail_files {
        v[key] = json!(n);
    }
    v
}

/// Every file under `dir`, relative, `/`-separated, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_exports_to_files_that_independent_parsers_read_back() {
    let w = world(12).await;
    let alice = w.alice();
    let uid = alice.id.clone();
    let upn = alice.user_principal_name.clone();
    let admin = w.sim.admin();
    let inbox = w.folder(&uid, "Inbox");
    // Subjects that make awkward file names, twice the same subject, and body lines that an
    // mbox must quote.
    for subject in [
        "CON",
        "a/b:c?*",
        "Same subject",
        "Same subject",
        "trailing dots...",
    ] {
        admin.add_message(
            &uid,
            &inbox.id,
            NewMessage {
                subject: subject.into(),
                body: "Hello,\nFrom the desk of the CEO:\n>From quoted\nFrom here too\n".into(),
                received_date_time: Some("2026-11-02T09:05:07Z".into()),
                ..Default::default()
            },
        );
    }
    let folder = &admin.contact_folders(&uid)[0];
    admin
        .add_contact(
            &uid,
            &folder.id,
            NewContact {
                given_name: "Jane".into(),
                surname: "Doe".into(),
                display_name: "Doe, Jane; \"JD\"".into(),
                email_addresses: vec![EmailAddress {
                    name: "Jane".into(),
                    address: "jane.doe@example.org".into(),
                }],
                personal_notes: Some("line one\nline two, with; punctuation\\".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let first = backup_all(&w, 0).await;

    // The whole mailbox as .eml files.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out");
    let report = export(&w, ExportOptions::new(format!("/{upn}"), &target))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let exp = expected(&w, &uid, Some(("eml_files", report.messages as usize)));
    let summary = check(&target, &exp);
    assert_eq!(
        report.messages as usize,
        exp["subjects"].as_array().unwrap().len()
    );
    assert_eq!(summary["eml_files"], json!(report.messages));
    assert!(report.events > 0 && report.contacts > 0 && report.tasks > 0);
    assert!(!exp["series"].as_object().unwrap().is_empty());
    assert_eq!(report.files as usize, files(&target).len());
    assert_eq!(
        report.bytes,
        files(&target)
            .iter()
            .map(|f| std::fs::metadata(target.join(f)).unwrap().len())
            .sum::<u64>()
    );

    // The .eml files are the stored MIME, byte for byte.
    let inbox_dir = target.join(&upn).join("Mail").join("Inbox");
    let mut exported: Vec<Vec<u8>> = std::fs::read_dir(&inbox_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let mut original: Vec<Vec<u8>> = admin
        .messages(&uid, &inbox.id)
        .into_iter()
        .map(|m| m.mime)
        .collect();
    exported.sort();
    original.sort();
    assert_eq!(exported.len(), original.len());
    assert!(exported == original, "an .eml differs from the stored MIME");

    // Safe, unique names.
    let names = files(&inbox_dir);
    for n in &names {
        assert!(
            !n.contains([':', '?', '*', '<', '>', '|', '"', '\\']),
            "{n}"
        );
        assert!(!n.trim_end_matches(".eml").ends_with(['.', ' ']), "{n}");
    }
    assert!(names.iter().any(|n| n.ends_with(" CON.eml")), "{names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("a_b_c__.eml")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with("Same subject.eml")));
    assert!(names.iter().any(|n| n.ends_with("Same subject (2).eml")));
    let top: Vec<String> = files(&target.join(&upn))
        .iter()
        .map(|f| f.split('/').next().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(top, ["Calendars", "Contacts", "Mail", "Settings", "Tasks"]);

    // The vCard holds the awkward contact, escaped so vobject reads it back exactly (the
    // checker compared the names); the notes too.
    let vcf_files: Vec<String> = files(&target.join(&upn).join("Contacts"));
    let vcf =
        std::fs::read_to_string(target.join(&upn).join("Contacts").join(&vcf_files[0])).unwrap();
    assert!(vcf.contains("FN:Doe\\, Jane\\; \"JD\""), "{vcf}");

    // One .mbox per folder, in a zip: the same messages, quoted so no message splits in two.
    let zip_path = dir.path().join("alice.zip");
    let mut opts = ExportOptions::new(format!("/{upn}/Mail"), &zip_path);
    opts.mail_format = MailFormat::Mbox;
    opts.zip = true;
    let report = export(&w, opts.clone()).await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let folders = admin.folders(&uid).len();
    let mut mail_only = expected(&w, &uid, Some(("mbox_files", report.files as usize)));
    for k in ["events", "tasks", "contacts", "emails"] {
        mail_only[k] = json!([]);
    }
    mail_only["series"] = json!({});
    mail_only["photos"] = json!(0);
    check(&zip_path, &mail_only);
    // One mbox per mail folder (the root's hidden folders included).
    assert!(report.files as usize <= folders && report.files > 3);
    // A zip that exists is never overwritten.
    let e = export(&w, opts).await.unwrap_err();
    assert_eq!(e.code(), "invalid_input");

    // mboxrd quoting, seen directly.
    let mbox_dir = dir.path().join("mbox");
    let mut opts = ExportOptions::new(format!("/{upn}/Mail/Inbox"), &mbox_dir);
    opts.mail_format = MailFormat::Mbox;
    opts.recursive = false;
    let report = export(&w, opts).await.unwrap();
    assert_eq!(report.files, 1);
    let text = std::fs::read_to_string(mbox_dir.join(&report.written[0].path)).unwrap();
    assert!(text.contains("\n>From the desk of the CEO:\n>>From quoted\n>From here too\n"));
    assert!(text.starts_with("From "));
    assert!(!text.contains('\r'));

    // A later change does not show in an export of the earlier snapshot (chosen by date).
    let msg = admin.messages(&uid, &inbox.id)[0].clone();
    admin.delete_message(&uid, &msg.id);
    backup_all(&w, 10).await;
    let by_date = dir.path().join("by-date");
    let mut opts = ExportOptions::new(format!("/{upn}/Mail/Inbox"), &by_date);
    opts.at_or_before = Some(at(5));
    opts.recursive = false;
    let report = export(&w, opts).await.unwrap();
    assert_eq!(report.snapshot_id, first.snapshot_id);
    assert_eq!(report.messages as usize, original.len());
    let mut opts = ExportOptions::new(format!("/{upn}/Mail/Inbox"), dir.path().join("x"));
    opts.at_or_before = Some(at(-5));
    assert_eq!(export(&w, opts).await.unwrap_err().code(), "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn single_items_dry_runs_and_existing_files() {
    let w = world(6).await;
    let alice = w.alice();
    let upn = alice.user_principal_name.clone();
    backup_all(&w, 0).await;
    let dir = tempfile::tempdir().unwrap();

    // A dry run lists the files and writes nothing.
    let target = dir.path().join("dry");
    let mut opts = ExportOptions::new(format!("/{upn}"), &target);
    opts.dry_run = true;
    let dry = export(&w, opts).await.unwrap();
    assert!(!target.exists());
    assert!(dry.messages > 0 && dry.events > 0 && dry.contacts > 0);
    let real = export(&w, ExportOptions::new(format!("/{upn}"), &target))
        .await
        .unwrap();
    let listed: Vec<&str> = dry.written.iter().map(|f| f.path.as_str()).collect();
    let written: Vec<&str> = real.written.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(listed, written);
    assert_eq!(
        (dry.messages, dry.events, dry.contacts, dry.tasks),
        (real.messages, real.events, real.contacts, real.tasks)
    );

    // A folder that is not empty is refused; allowed, nothing in it is overwritten.
    let e = export(&w, ExportOptions::new(format!("/{upn}"), &target))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(e.to_string().contains("not empty"), "{e}");
    let before: Vec<(String, Vec<u8>)> = files(&target)
        .into_iter()
        .map(|f| {
            let b = std::fs::read(target.join(&f)).unwrap();
            (f, b)
        })
        .collect();
    let mut opts = ExportOptions::new(format!("/{upn}"), &target);
    opts.allow_non_empty = true;
    let again = export(&w, opts).await.unwrap();
    for (f, b) in &before {
        assert_eq!(
            &std::fs::read(target.join(f)).unwrap(),
            b,
            "{f} was changed"
        );
    }
    // The mailbox directory exists, so the second copy lands beside it under a new name.
    assert!(again.written[0].path.starts_with(&format!("{upn} (2)/")));
    assert_eq!(files(&target).len(), before.len() * 2);

    // One item: a message as one .eml, an event as one .ics, per-event calendars.
    let inbox = w
        .repo
        .browse("latest", &format!("/{upn}/Mail/Inbox"))
        .unwrap();
    let item = &inbox.items[0];
    let one = dir.path().join("one");
    let r = export(
        &w,
        ExportOptions::new(format!("/{upn}/Mail/Inbox/{}", item.id), &one),
    )
    .await
    .unwrap();
    assert_eq!((r.messages, r.files), (1, 1));
    let cal = w
        .repo
        .browse("latest", &format!("/{upn}/Calendars"))
        .unwrap();
    let per_event = dir.path().join("per-event");
    let mut opts = ExportOptions::new(cal.folders[0].path.clone(), &per_event);
    opts.event_files = true;
    let r = export(&w, opts).await.unwrap();
    assert_eq!(r.files, r.events);
    assert_eq!(r.events, cal.folders[0].item_count);
    let mut exp = json!({"events": [], "series": {}});
    exp["events"] = json!(
        w.repo
            .browse("latest", &cal.folders[0].path)
            .unwrap()
            .items
            .iter()
            .map(|i| i.subject.clone())
            .collect::<Vec<_>>()
    );
    exp.as_object_mut().unwrap().remove("series");
    check(&per_event, &exp);

    // Paths that do not exist, and a non-recursive export of a whole mailbox.
    let e = export(
        &w,
        ExportOptions::new(format!("/{upn}/Mail/Nope"), dir.path().join("n")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "not_found");
    let mut opts = ExportOptions::new(format!("/{upn}"), dir.path().join("n"));
    opts.recursive = false;
    assert_eq!(export(&w, opts).await.unwrap_err().code(), "invalid_input");
}
