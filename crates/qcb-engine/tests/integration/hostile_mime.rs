//! Malformed and hostile messages through backup, browse, restore and export: broken and
//! missing MIME boundaries, undecodable transfer encodings and charsets, raw 8-bit and NUL
//! bytes in headers, 10,000 headers, a 100 MB body on one line, attached messages nested 40
//! deep, a "zip bomb" of attached messages that doubles at every level, and multiparts nested
//! 10,000 deep inside an attached message. Each arrives the way mail reaches Exchange Online
//! (SMTP delivery: `Admin::deliver_mime`), so the backup sees the MIME Exchange regenerates.
//!
//! What must hold: every message is backed up byte for byte as Graph serves it; browsing and
//! previewing each works (a huge body is cut for display); a restore recreates every message
//! Graph can take, with all its attachments, and names the one it cannot (a body larger than a
//! Graph request); export writes each message unchanged inside its target folder, and an mbox
//! keeps hostile `From ` lines from splitting a message. Nothing panics or overflows a stack.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use qcb_engine::{ExportOptions, MailFormat, NoProgress, RestoreTarget};
use qcb_graph_sim::SimError;

use super::support::*;

const CRLF: &str = "\r\n";

fn message(id: &str, subject: &str, content_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Mallory <mallory@evil.example>{CRLF}To: alice@contoso.example{CRLF}\
         Subject: {subject}{CRLF}Message-ID: <{id}@hostile.test>{CRLF}\
         Date: Tue, 10 Nov 2026 09:00:00 +0000{CRLF}MIME-Version: 1.0{CRLF}\
         {content_headers}{CRLF}{body}"
    )
    .into_bytes()
}

/// A message attaching `inner` (an RFC 822 message) `copies` times.
fn attaching(id: &str, inner: &[u8], copies: usize) -> Vec<u8> {
    let b = format!("b-{id}");
    let mut raw = message(
        id,
        &format!("attaches {copies}"),
        &format!("Content-Type: multipart/mixed; boundary=\"{b}\"{CRLF}"),
        &format!("--{b}{CRLF}Content-Type: text/plain{CRLF}{CRLF}level {id}{CRLF}"),
    );
    for n in 0..copies {
        raw.extend_from_slice(
            format!(
                "--{b}{CRLF}Content-Type: message/rfc822{CRLF}\
                 Content-Disposition: attachment; filename=\"{id}-{n}.eml\"{CRLF}{CRLF}"
            )
            .as_bytes(),
        );
        raw.extend_from_slice(inner);
        raw.extend_from_slice(CRLF.as_bytes());
    }
    raw.extend_from_slice(format!("--{b}--{CRLF}").as_bytes());
    raw
}

/// Multiparts nested `depth` deep around a text part.
fn deep_multipart(depth: usize) -> Vec<u8> {
    let mut raw = String::new();
    for d in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"d{d}_\"{CRLF}{CRLF}--d{d}_{CRLF}"
        ));
    }
    raw.push_str(&format!("Content-Type: text/plain{CRLF}{CRLF}bottom{CRLF}"));
    for d in (0..depth).rev() {
        raw.push_str(&format!("--d{d}_--{CRLF}"));
    }
    raw.into_bytes()
}

/// Pseudo-random bytes (incompressible, so the bomb's copies are real data).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// The corpus entries whose attachments are messages.
const ATTACHES_MESSAGES: [&str; 3] = ["nested-items", "bomb", "deep-multipart-attached"];

const HUGE_BODY: usize = 100 * 1024 * 1024;

/// The corpus: (Message-ID local part, raw message).
fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "wrong-boundary",
            message(
                "wrong-boundary",
                "parts use another boundary",
                "Content-Type: multipart/mixed; boundary=\"DECLARED\"\r\n",
                "--ACTUAL\r\nContent-Type: text/plain\r\n\r\nbody\r\n--ACTUAL--\r\n",
            ),
        ),
        (
            "unterminated",
            message(
                "unterminated",
                "no closing boundary, attachment cut off",
                "Content-Type: multipart/mixed; boundary=\"X\"\r\n",
                &format!(
                    "--X\r\nContent-Type: text/plain\r\n\r\nstart\r\n--X\r\n\
                     Content-Type: application/pdf; name=\"cut.pdf\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n{}",
                    &b64(&noise(3000, 1))[..1999]
                ),
            ),
        ),
        (
            "no-boundary",
            message(
                "no-boundary",
                "multipart without a boundary",
                "Content-Type: multipart/alternative\r\n",
                "--?\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
            ),
        ),
        (
            "bad-base64",
            message(
                "bad-base64",
                "undecodable base64",
                "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
                "!!!this is not base64***\r\n====\r\n",
            ),
        ),
        (
            "bad-qp",
            message(
                "bad-qp",
                "broken quoted-printable",
                "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
                "<p>=ZZ =4 =\r\n=C3=28 =E2=82</p><script>alert(1)</script>=",
            ),
        ),
        ("unknown-charset", {
            let mut m = message(
                "unknown-charset",
                "=?x-klingon?Q?tlhIngan?= =?utf-8?B?####?= =?utf-8?Q?=FF?=",
                "Content-Type: text/plain; charset=\"x-klingon\"\r\nContent-Transfer-Encoding: 8bit\r\n",
                "",
            );
            m.extend_from_slice(b"\xff\xfe\x00\x01 bytes in no charset \xc3\x28\r\n");
            m
        }),
        ("raw-8bit-headers", {
            let mut m = b"From: \"Unterminated <x@evil.example>\r\nTo: ,,,@,<>\r\nSubject: \xc3\x28 \xff\x00 nul\r\nX-Evil: \x1b[2J\x07\r\n".to_vec();
            m.extend_from_slice(&message(
                "raw-8bit-headers",
                "second subject",
                "",
                "text\r\n",
            ));
            m
        }),
        (
            "nul-body",
            message(
                "nul-body",
                "NUL and control bytes",
                "Content-Type: text/plain; charset=utf-8\r\n",
                "a\0b\0\x07\x1b[31mred\r\n\0\r\n",
            ),
        ),
        (
            "mbox-from-lines",
            message(
                "mbox-from-lines",
                "lines that look like mbox separators",
                "Content-Type: text/plain\r\n",
                "first\r\nFrom attacker@evil.example Mon Jan  1 00:00:00 2026\r\n>From quoted\r\nFrom \r\n",
            ),
        ),
        (
            "headers-only",
            b"Message-ID: <headers-only@hostile.test>\r\nSubject: nothing else\r\n".to_vec(),
        ),
        ("ten-thousand-headers", {
            let mut extra = String::new();
            for n in 0..10_000 {
                extra.push_str(&format!("X-Hostile-{n:05}: {n}\r\n"));
            }
            message(
                "ten-thousand-headers",
                "10,000 headers",
                &format!("{extra}Content-Type: text/plain\r\n"),
                "body\r\n",
            )
        }),
        (
            "long-header-line",
            message(
                "long-header-line",
                &"S".repeat(200 * 1024),
                "Content-Type: text/plain\r\n",
                "body\r\n",
            ),
        ),
        ("huge-single-line", {
            let mut m = message(
                "huge-single-line",
                "100 MB on one line",
                "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n",
                "",
            );
            m.extend(std::iter::repeat_n(b'A', HUGE_BODY));
            m
        }),
    ];
    // Attached messages nested 40 deep.
    let mut nested = message(
        "level-0",
        "innermost",
        "Content-Type: text/plain\r\n",
        "deep\r\n",
    );
    for level in 1..40 {
        nested = attaching(&format!("level-{level}"), &nested, 1);
    }
    v.push(("nested-items", attaching("nested-items", &nested, 1)));
    // A bomb: each level attaches the one below twice (2^8 copies of 16 KB at the bottom).
    let mut bomb = message(
        "bomb-0",
        "bottom",
        "Content-Type: multipart/mixed; boundary=\"z\"\r\n",
        &format!(
            "--z\r\nContent-Type: text/plain\r\n\r\nx\r\n--z\r\nContent-Type: application/octet-stream; name=\"n.bin\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--z--\r\n",
            b64(&noise(16 * 1024, 7))
        ),
    );
    for level in 1..8 {
        bomb = attaching(&format!("bomb-{level}"), &bomb, 2);
    }
    v.push(("bomb", attaching("bomb", &bomb, 2)));
    v.push((
        "deep-multipart-attached",
        attaching("deep-multipart-attached", &deep_multipart(10_000), 1),
    ));
    v
}

/// Messages Exchange Online bounces at delivery.
fn refused() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut big_header = String::new();
    for n in 0..20_000 {
        big_header.push_str(&format!("X-Padding-{n:05}: 0123456789\r\n"));
    }
    vec![
        (
            "header over 256 KB",
            message("big-header", "x", &big_header, "body\r\n"),
            "header",
        ),
        (
            "message over 150 MB",
            {
                let mut m = message("too-big", "x", "Content-Type: text/plain\r\n", "");
                m.resize(151 * 1024 * 1024, b'B');
                m
            },
            "maximum message size",
        ),
        (
            "multiparts 10,000 deep",
            message(
                "deep",
                "x",
                "Content-Type: multipart/mixed; boundary=\"top\"\r\n",
                &format!(
                    "--top\r\n{}--top--\r\n",
                    String::from_utf8(deep_multipart(10_000)).unwrap()
                ),
            ),
            "nested deeper",
        ),
    ]
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_messages_are_backed_up_browsed_restored_and_exported() {
    let w = world(0).await;
    let alice = w.alice();
    let admin = w.sim.admin();
    let inbox = w.folder(&alice.id, "Inbox");
    let folder = admin
        .create_folder(&alice.id, &inbox.id, "Hostile MIME")
        .unwrap();

    for (what, raw, ndr) in refused() {
        match admin.deliver_mime(&alice.id, &folder, &raw) {
            Err(SimError::Rejected(text)) => assert!(text.contains(ndr), "{what}: {text}"),
            other => panic!("{what}: delivered ({other:?})"),
        }
    }
    let corpus = corpus();
    for (id, raw) in &corpus {
        admin
            .deliver_mime(&alice.id, &folder, raw)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    // What Graph serves for each message, by its Message-ID: the ground truth.
    let served: BTreeMap<String, qcb_graph_sim::MessageView> = admin
        .messages(&alice.id, &folder)
        .into_iter()
        .map(|m| (m.internet_message_id.clone(), m))
        .collect();
    assert_eq!(served.len(), corpus.len());

    let r = w.backup(0).await;
    assert!(r.failed.is_empty(), "{:?}", r.failed);

    // Browse and preview every message; the huge body is cut for display, nothing fails.
    let upn = &alice.user_principal_name;
    let path = qcb_repo::join_path(&[upn.as_str(), "Mail", "Inbox", "Hostile MIME"]);
    let listing = w.repo.browse("latest", &path).unwrap();
    assert_eq!(listing.items.len(), corpus.len());
    for item in &listing.items {
        let item_path = format!("{path}{}", qcb_repo::join_path(&[&item.id]));
        let p = w
            .repo
            .item_preview("latest", &item_path)
            .unwrap_or_else(|e| panic!("{}: {e}", item.subject));
        let shown = p.text.as_deref().or(p.html.as_deref()).unwrap_or("");
        assert!(shown.len() <= 2 * 1024 * 1024, "{}", shown.len());
    }
    let huge = served["<huge-single-line@hostile.test>"].clone();
    let huge_item = listing
        .items
        .iter()
        .find(|i| i.subject == huge.subject)
        .unwrap();
    let preview = w
        .repo
        .item_preview(
            "latest",
            &format!("{path}{}", qcb_repo::join_path(&[&huge_item.id])),
        )
        .unwrap();
    let text = preview.text.unwrap();
    assert!(
        text.starts_with("AAAA") && text.contains("100 MB"),
        "{}",
        &text[text.len() - 200..]
    );

    // Restore into another folder: everything Graph can take comes back whole; the 100 MB
    // body (over Graph's 4 MB per request) is named with the reason.
    let report = w
        .restore_with(restore_opts(
            &path,
            RestoreTarget::Folder("Restored".into()),
        ))
        .await;
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    assert!(
        report.failed[0].reason.contains("4 MB"),
        "{:?}",
        report.failed[0]
    );
    let restored_folder = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.path == "Restored/Hostile MIME")
        .expect("restored folder");
    let restored: BTreeMap<String, qcb_graph_sim::MessageView> = admin
        .messages(&alice.id, &restored_folder.id)
        .into_iter()
        .map(|m| (m.internet_message_id.clone(), m))
        .collect();
    assert_eq!(restored.len(), corpus.len() - 1);
    for (id, original) in &served {
        if original.internet_message_id == huge.internet_message_id {
            assert!(!restored.contains_key(id));
            continue;
        }
        let copy = restored
            .get(id)
            .unwrap_or_else(|| panic!("{id} not restored"));
        assert_eq!(copy.subject, original.subject, "{id}");
        assert_eq!(copy.attachment_names, original.attachment_names, "{id}");
        // The header section comes back as Graph served it; so does the whole message, but for
        // attached messages, which Exchange regenerates from the items it makes of them.
        let head = |m: &[u8]| {
            let end = m
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(m.len());
            m[..end].to_vec()
        };
        assert!(
            head(&copy.mime) == head(&original.mime),
            "{id}: headers differ"
        );
        if !ATTACHES_MESSAGES
            .iter()
            .any(|a| id.starts_with(&format!("<{a}@")))
        {
            assert!(copy.mime == original.mime, "{id}: MIME differs");
        }
    }

    // Export: every message written unchanged, inside the target folder.
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("eml");
    let exported = qcb_engine::api::export(
        w.repo.clone(),
        ExportOptions::new(path.clone(), &target),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert!(exported.failed.is_empty(), "{:?}", exported.failed);
    let mut written = Vec::new();
    files(out.path(), &mut written);
    assert_eq!(written.len(), corpus.len(), "{written:#?}");
    let mut expected: Vec<&[u8]> = served.values().map(|m| m.mime.as_slice()).collect();
    let mut got: Vec<Vec<u8>> = written
        .iter()
        .map(|p| {
            assert!(p.starts_with(&target), "{}", p.display());
            std::fs::read(p).unwrap()
        })
        .collect();
    expected.sort();
    got.sort();
    assert!(
        got.iter().map(Vec::as_slice).eq(expected.iter().copied()),
        "exported bytes differ from what Graph served"
    );

    // An mbox holds exactly one separator line per message.
    let mbox_dir = out.path().join("mbox");
    let mut opts = ExportOptions::new(path.clone(), &mbox_dir);
    opts.mail_format = MailFormat::Mbox;
    qcb_engine::api::export(w.repo.clone(), opts, Arc::new(NoProgress))
        .await
        .unwrap();
    let mut mboxes = Vec::new();
    files(&mbox_dir, &mut mboxes);
    assert_eq!(mboxes.len(), 1, "{mboxes:?}");
    let mbox = std::fs::read(&mboxes[0]).unwrap();
    let separators = mbox
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"From "))
        .count();
    assert_eq!(separators, corpus.len());
}
