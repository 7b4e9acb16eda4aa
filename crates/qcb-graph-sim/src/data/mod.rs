//! The demo tenant: users, folder trees and mail, deterministic from a seed.
//!
//! Nothing here reads the clock: dates are offsets before [`EPOCH`], and all
//! randomness comes from [`SplitMix64`] streams derived from the seed, so the
//! same seed gives the same tenant byte for byte.

pub(crate) mod blobs;
pub(crate) mod corpus;
pub(crate) mod pim;

use chrono::{DateTime, Duration, Utc};

use crate::TenantSpec;
use crate::admin::{NewAttachment, NewMessage};
use crate::error::SimError;
use crate::ids;
use crate::mime;
use crate::model::{
    Attachment, BodyType, EmailAddress, FlagStatus, Importance, Mailbox, MessageProps, User,
};
use crate::resident::Mailboxes;
use crate::rng::{SplitMix64, guid_from_bytes};
use crate::store::Tenant;
use blobs::BlobSpec;
use corpus::Lang;

/// Generated mail is dated within the 90 days before this instant.
pub(crate) fn epoch() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_793_491_200, 0).unwrap_or_default() // 2026-11-01T00:00:00Z
}

pub(crate) const DOMAIN: &str = "contoso.example";

/// Builds the tenant for a spec: every mailbox now (`resident` `None`), or
/// only the user objects, with each mailbox generated on first touch and at
/// most `resident` unchanged ones kept in memory (`resident.rs`).
pub(crate) fn generate(spec: &TenantSpec, resident: Option<usize>) -> Tenant {
    let mut rng = SplitMix64::derive(spec.seed, "tenant");
    let tenant_id = guid_from_bytes(rng.bytes16());
    let client_id = guid_from_bytes(rng.bytes16());
    let client_secret = client_secret(&mut rng);
    let mut key = [0u8; 32];
    rng.fill(&mut key);

    let mut users: Vec<User> = (0..spec.users).map(|i| make_user(spec.seed, i)).collect();
    let shared = spec.shared_mailboxes();
    users.extend((0..shared).map(|k| make_shared_user(spec.seed, k)));
    let mailboxes = match resident {
        None => Mailboxes::eager(
            (0..users.len())
                .map(|i| make_any_mailbox(spec, &users, i))
                .collect(),
        ),
        Some(limit) => {
            let directory = users
                .iter()
                .enumerate()
                .map(|(i, u)| (u.clone(), i >= spec.users))
                .collect();
            let spec = *spec;
            Mailboxes::lazy(
                directory,
                Box::new(move |i| make_any_mailbox(&spec, &users, i)),
                limit,
            )
        }
    };
    Tenant::new(
        spec.seed,
        tenant_id,
        client_id,
        client_secret,
        key,
        mailboxes,
    )
}

/// Mailbox `i` of the tenant: user `i`, or after the users a shared mailbox.
/// A user's colleagues are the other users; a shared mailbox's are all of
/// them. Each has PRNG streams of its own, so the users' mailboxes do not
/// depend on how many shared mailboxes there are.
fn make_any_mailbox(spec: &TenantSpec, all: &[User], i: usize) -> Mailbox {
    let users = &all[..spec.users.min(all.len())];
    let colleagues: Vec<EmailAddress> = users
        .iter()
        .filter(|u| u.id != all[i].id)
        .map(|u| EmailAddress::new(u.display_name.clone(), u.mail.clone()))
        .collect();
    if i < spec.users {
        make_mailbox(spec, i, all[i].clone(), &colleagues)
    } else {
        let mut mbx = make_mailbox(
            spec,
            SHARED_STREAM + (i - spec.users),
            all[i].clone(),
            &colleagues,
        );
        mbx.pim.shared_mailbox = true;
        mbx
    }
}

fn client_secret(rng: &mut SplitMix64) -> String {
    // Entra secrets: 40 chars of letters, digits and `~._-`.
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
    let mut s = String::from("qcb8Q~");
    for _ in 0..34 {
        s.push(ALPHA[rng.below(ALPHA.len() as u64) as usize] as char);
    }
    s
}

fn make_user(seed: u64, i: usize) -> User {
    let mut rng = SplitMix64::derive(seed, &format!("user/{i}"));
    let guid = crate::rng::guid_bytes(rng.bytes16());
    let (given, surname) = match i {
        0 => ("Alice".to_string(), "Smith".to_string()),
        1 => ("Bob".to_string(), "Jones".to_string()),
        n => {
            let (g, s) = corpus::USER_NAMES[(n - 2) % corpus::USER_NAMES.len()];
            let round = (n - 2) / corpus::USER_NAMES.len();
            if round == 0 {
                (g.to_string(), s.to_string())
            } else {
                (g.to_string(), format!("{s} {}", round + 1))
            }
        }
    };
    let local = match i {
        0 => "alice".to_string(),
        1 => "bob".to_string(),
        _ => {
            let round = (i - 2) / corpus::USER_NAMES.len();
            let base = format!(
                "{}.{}",
                corpus::ascii_fold(&given),
                corpus::ascii_fold(surname.split(' ').next().unwrap_or(""))
            );
            if round == 0 {
                base
            } else {
                format!("{base}{}", round + 1)
            }
        }
    };
    let mail = format!("{local}@{DOMAIN}");
    User {
        guid,
        id: guid_from_bytes(guid),
        upn: mail.clone(),
        display_name: format!("{given} {surname}"),
        given_name: given,
        surname,
        mail,
        job_title: rng.pick(corpus::JOB_TITLES).to_string(),
        office_location: rng.pick(corpus::OFFICES).to_string(),
        preferred_language: if rng.chance(50) { "en-US" } else { "de-DE" }.to_string(),
        business_phones: vec![format!("+49 30 5550{:04}", rng.below(10_000))],
        mobile_phone: if rng.chance(50) {
            Some(format!("+49 170 555{:04}", rng.below(10_000)))
        } else {
            None
        },
    }
}

/// Display name and local part of generated shared mailbox `k`.
fn shared_name(k: usize) -> (String, String) {
    const NAMES: &[(&str, &str)] = &[
        ("Support", "support"),
        ("Buchhaltung", "buchhaltung"),
        ("Info Contoso", "info"),
        ("Empfang 🛎️", "empfang"),
    ];
    let (name, local) = NAMES[k % NAMES.len()];
    match k / NAMES.len() {
        0 => (name.to_string(), local.to_string()),
        round => (
            format!("{name} {}", round + 1),
            format!("{local}{}", round + 1),
        ),
    }
}

/// PRNG stream index of generated shared mailbox `k` (far above any user).
const SHARED_STREAM: usize = 1 << 20;

/// The user object of generated shared mailbox `k`: a disabled account with
/// no licence, no given name or surname.
fn make_shared_user(seed: u64, k: usize) -> User {
    let mut rng = SplitMix64::derive(seed, &format!("shared mailbox/{k}"));
    let guid = crate::rng::guid_bytes(rng.bytes16());
    let (display_name, local) = shared_name(k);
    let mail = format!("{local}@{DOMAIN}");
    User {
        guid,
        id: guid_from_bytes(guid),
        upn: mail.clone(),
        display_name,
        given_name: String::new(),
        surname: String::new(),
        mail,
        job_title: String::new(),
        office_location: String::new(),
        preferred_language: "de-DE".into(),
        business_phones: Vec::new(),
        mobile_phone: None,
    }
}

/// Folder keys of one generated mailbox, by role.
struct Tree {
    inbox: u64,
    projects: u64,
    y2026: u64,
    q4: u64,
    receipts: u64,
    sent: u64,
    drafts: u64,
    deleted: u64,
    junk: u64,
    archive: u64,
    kunden: u64,
    conversation_history: u64,
}

fn make_tree(mbx: &mut Mailbox) -> Tree {
    use crate::model::{MAILBOX_ROOT_KEY, MSGFOLDERROOT_KEY};
    let root = mbx.add_folder(None, "Root", None, true);
    debug_assert_eq!(root, MAILBOX_ROOT_KEY);
    let top = mbx.add_folder(
        Some(root),
        "Top of Information Store",
        Some("msgfolderroot"),
        false,
    );
    debug_assert_eq!(top, MSGFOLDERROOT_KEY);
    let archive = mbx.add_folder(Some(top), "Archive", Some("archive"), false);
    let conversation_history = mbx.add_folder(
        Some(top),
        "Conversation History",
        Some("conversationhistory"),
        false,
    );
    let deleted = mbx.add_folder(Some(top), "Deleted Items", Some("deleteditems"), false);
    let drafts = mbx.add_folder(Some(top), "Drafts", Some("drafts"), false);
    mbx.add_folder(Some(top), "Empty Folder", None, false);
    let inbox = mbx.add_folder(Some(top), "Inbox", Some("inbox"), false);
    let projects = mbx.add_folder(Some(inbox), "Projects", None, false);
    let y2026 = mbx.add_folder(Some(projects), "2026", None, false);
    let q4 = mbx.add_folder(Some(y2026), "Q4", None, false);
    let receipts = mbx.add_folder(Some(inbox), "Receipts", None, false);
    let junk = mbx.add_folder(Some(top), "Junk Email", Some("junkemail"), false);
    let kunden = mbx.add_folder(Some(top), "Kundenkorrespondenz — Ümlaut 📁", None, false);
    mbx.add_folder(Some(top), "Outbox", Some("outbox"), false);
    mbx.add_folder(Some(top), "RSS Feeds", None, false);
    let sent = mbx.add_folder(Some(top), "Sent Items", Some("sentitems"), false);
    mbx.add_folder(Some(top), "Clutter", Some("clutter"), true);
    // The non-IPM subtree beside msgfolderroot: the dumpster. Graph names
    // only its Deletions folder (`recoverableitemsdeletions`); DELETE moves
    // a message there. Not below msgfolderroot, so `/mailFolders` and
    // `mailFolders/delta` never list it.
    let recoverable = mbx.add_folder(Some(root), "Recoverable Items", None, true);
    mbx.add_folder(
        Some(recoverable),
        "Deletions",
        Some("recoverableitemsdeletions"),
        false,
    );
    Tree {
        inbox,
        projects,
        y2026,
        q4,
        receipts,
        sent,
        drafts,
        deleted,
        junk,
        archive,
        kunden,
        conversation_history,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Received,
    Sent,
    Draft,
}

fn make_mailbox(
    spec: &TenantSpec,
    index: usize,
    user: User,
    colleagues: &[EmailAddress],
) -> Mailbox {
    let mut mbx = Mailbox::new(user.clone());
    let tree = make_tree(&mut mbx);
    let chain = if spec.messages_per_user >= DEEP_TREE_FROM_ITEMS {
        deep_chain(&mut mbx, tree.archive)
    } else {
        Vec::new()
    };
    let large_attachment_at = (index == 0
        && spec.users.saturating_mul(spec.messages_per_user) >= LARGE_ATTACHMENT_FROM_ITEMS)
        .then_some(LARGE_ATTACHMENT_MESSAGE);
    let weighted: &[(u64, u64, Kind)] = &[
        (tree.inbox, 34, Kind::Received),
        (tree.projects, 6, Kind::Received),
        (tree.y2026, 5, Kind::Received),
        (tree.q4, 5, Kind::Received),
        (tree.receipts, 7, Kind::Received),
        (tree.sent, 14, Kind::Sent),
        (tree.drafts, 3, Kind::Draft),
        (tree.deleted, 6, Kind::Received),
        (tree.junk, 4, Kind::Received),
        (tree.archive, 10, Kind::Received),
        (tree.kunden, 4, Kind::Received),
        (tree.conversation_history, 2, Kind::Received),
    ];
    let total: u64 = weighted.iter().map(|w| w.1).sum();
    // Each message's PRNG stream first picks its folder and date; the plan
    // keeps only those, the message itself is composed when it is inserted
    // (its stream replayed), so generation never holds more than one
    // message's attachment bytes.
    let plan = |j: usize| {
        let mut rng = SplitMix64::derive(spec.seed, &format!("mailbox/{index}/message/{j}"));
        let mut roll = rng.below(total);
        let mut choice = weighted[0];
        for w in weighted {
            if roll < w.1 {
                choice = *w;
                break;
            }
            roll -= w.1;
        }
        // The first messages of every mailbox cover the interesting shapes.
        let (folder, kind) = match j {
            0 => (tree.inbox, Kind::Received),
            1 => (tree.q4, Kind::Received),
            2 => (tree.kunden, Kind::Received),
            3 => (tree.sent, Kind::Sent),
            4 => (tree.drafts, Kind::Draft),
            _ => (choice.0, choice.2),
        };
        let received = epoch() - Duration::seconds(rng.range(600, 90 * 86_400) as i64);
        (received, folder, kind, rng)
    };
    let mut planned: Vec<(DateTime<Utc>, usize)> = (0..spec.messages_per_user)
        .map(|j| (plan(j).0, j))
        .collect();
    // Insert oldest first so keys and change numbers follow time.
    planned.sort_unstable();
    for (_, j) in planned {
        let (received, mut folder, mut kind, mut rng) = plan(j);
        if !chain.is_empty() && j % 100 == 50 {
            // Some received mail down the deep chain, every level in turn.
            folder = chain[(j / 100) % chain.len()];
            kind = Kind::Received;
        }
        let receipts = folder == tree.receipts;
        let mut specs = Vec::new();
        let new = compose(
            &mut rng, j, kind, &user, colleagues, received, receipts, &mut specs,
        );
        let key = mbx.next_key;
        match props_from_new(new, &mbx.user, key, received) {
            Ok(mut props) => {
                // Keep how the file attachments were made, not their bytes.
                for (a, spec) in props.attachments.iter_mut().zip(specs) {
                    if let Some(spec) = spec {
                        let len = a.bytes.len();
                        a.bytes = crate::model::Blob::Generated { spec, len };
                    }
                }
                if spec.messages_per_user >= ITEM_ATTACHMENTS_FROM_ITEMS && j % 50 == 25 {
                    add_item_attachment(spec, index, j, &mut props, &user, colleagues, key);
                }
                if large_attachment_at == Some(j) {
                    add_large_attachment(spec, index, &mut props);
                }
                mbx.insert_message(folder, props, received);
            }
            Err(e) => tracing::error!("generator produced an invalid message: {e}"),
        }
    }
    // Contacts, calendars, To Do and rules come after the mail, so mail
    // keys and change numbers do not depend on them.
    pim::populate(spec, index, &mut mbx, colleagues);
    mbx
}

/// Mailboxes of at least this many messages get a chain of folders 30 levels
/// deep (msgfolderroot's children are level 1).
pub(crate) const DEEP_TREE_FROM_ITEMS: usize = 1_000;
/// Folder levels below msgfolderroot the deep chain reaches.
pub(crate) const DEEP_TREE_LEVELS: usize = 30;
/// Mailboxes of at least this many messages have an item attachment (an
/// attached message) in every 50th message. (Not in the small tenants
/// tests build, whose clients copy messages through JSON with file
/// attachments only.)
pub(crate) const ITEM_ATTACHMENTS_FROM_ITEMS: usize = 1_000;
/// Tenants of at least this many messages in all: the first mailbox has one
/// message with a [`LARGE_ATTACHMENT_BYTES`] file attachment.
pub(crate) const LARGE_ATTACHMENT_FROM_ITEMS: usize = 20_000;
/// Graph's upper bound for an attachment (upload sessions go to 150 MB).
pub(crate) const LARGE_ATTACHMENT_BYTES: usize = 150 * 1024 * 1024;
/// Which message (by generation ordinal) carries the large attachment.
const LARGE_ATTACHMENT_MESSAGE: usize = 11;

/// Below Archive: "Altablage 🗄️", then levels 3 to 30, each the only child
/// of the one before, with German, Japanese and emoji names. Returns the
/// chain, top first.
fn deep_chain(mbx: &mut Mailbox, archive: u64) -> Vec<u64> {
    const EMOJI: [&str; 6] = ["📁", "🗂️", "📦", "🧾", "🔖", "🌲"];
    let mut chain = Vec::with_capacity(DEEP_TREE_LEVELS - 1);
    let mut parent = archive;
    for level in 2..=DEEP_TREE_LEVELS {
        let name = if level == 2 {
            "Altablage 🗄️".to_string()
        } else {
            format!("Ebene {level} — 階層{level} {}", EMOJI[level % EMOJI.len()])
        };
        parent = mbx.add_folder(Some(parent), &name, None, false);
        chain.push(parent);
    }
    chain
}

/// Attaches a forwarded message (an `itemAttachment`: the item kept as
/// MIME, as the emulator keeps every item attachment), made from a PRNG
/// stream of its own; its file attachments are left out, its inline image
/// kept, so it stays a few KB.
fn add_item_attachment(
    spec: &TenantSpec,
    index: usize,
    j: usize,
    props: &mut MessageProps,
    owner: &User,
    colleagues: &[EmailAddress],
    key: u64,
) {
    let mut rng = SplitMix64::derive(spec.seed, &format!("mailbox/{index}/item-attachment/{j}"));
    let mut inner = compose_received(&mut rng, j, colleagues, false, &mut Vec::new());
    inner.attachments.retain(|a| a.is_inline);
    let received = props.received - Duration::seconds(rng.range(3_600, 30 * 86_400) as i64);
    inner.received_date_time = Some(received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    inner.sent_date_time = inner.received_date_time.clone();
    let Ok(inner) = props_from_new(inner, owner, key, received) else {
        return;
    };
    let akey = props.attachments.iter().map(|a| a.key).max().unwrap_or(0) + 1;
    props.attachments.push(Attachment {
        key: akey,
        name: inner.subject.clone(),
        content_type: "message/rfc822".into(),
        bytes: mime::render(&inner).into(),
        is_inline: false,
        content_id: None,
        last_modified: props.received,
    });
    props
        .attachment_kinds
        .insert(akey, crate::model::AttachmentKind::Item);
}

/// The rare large file attachment: [`LARGE_ATTACHMENT_BYTES`] of PDF, kept
/// as its PRNG state and rendered only when read.
fn add_large_attachment(spec: &TenantSpec, index: usize, props: &mut MessageProps) {
    let rng = SplitMix64::derive(spec.seed, &format!("mailbox/{index}/large-attachment"));
    let akey = props.attachments.iter().map(|a| a.key).max().unwrap_or(0) + 1;
    props.attachments.push(Attachment {
        key: akey,
        name: "Werkstattaufnahmen 2026 — vollständig 📦.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: crate::model::Blob::Generated {
            spec: BlobSpec::Pdf {
                rng,
                size: LARGE_ATTACHMENT_BYTES,
            },
            len: blobs::pdf_len(LARGE_ATTACHMENT_BYTES),
        },
        is_inline: false,
        content_id: None,
        last_modified: props.received,
    });
}

/// A realistic message. `owner` is `None` for [`NewMessage::generated`].
/// `specs` gets, per attachment, how its bytes were generated.
#[allow(clippy::too_many_arguments)]
fn compose(
    rng: &mut SplitMix64,
    ordinal: usize,
    kind: Kind,
    owner: &User,
    colleagues: &[EmailAddress],
    received: DateTime<Utc>,
    receipts: bool,
    specs: &mut Vec<Option<BlobSpec>>,
) -> NewMessage {
    let me = EmailAddress::new(owner.display_name.clone(), owner.mail.clone());
    let mut new = compose_received(rng, ordinal, colleagues, receipts, specs);
    let sent = received - Duration::seconds(rng.range(2, 900) as i64);
    new.received_date_time = Some(received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    new.sent_date_time = Some(sent.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    match kind {
        Kind::Received => {
            new.to.insert(0, me);
        }
        Kind::Sent => {
            let peer = new.from.take().unwrap_or_default();
            new.to = vec![peer];
            new.from = Some(me);
            new.is_read = true;
            new.flag_status = FlagStatus::NotFlagged;
            new.internet_message_id = Some(outlook_message_id(rng));
            new.sent_date_time = new.received_date_time.clone();
        }
        Kind::Draft => {
            let peer = new.from.take().unwrap_or_default();
            new.to = if rng.chance(50) {
                vec![peer]
            } else {
                Vec::new()
            };
            new.cc.clear();
            new.from = Some(me);
            new.is_read = true;
            new.is_draft = true;
            new.flag_status = FlagStatus::NotFlagged;
            new.internet_message_id = Some(outlook_message_id(rng));
            new.sent_date_time = new.received_date_time.clone();
        }
    }
    new
}

/// A received message from someone (no owner, no dates).
fn compose_received(
    rng: &mut SplitMix64,
    ordinal: usize,
    colleagues: &[EmailAddress],
    receipts: bool,
    specs: &mut Vec<Option<BlobSpec>>,
) -> NewMessage {
    let (from, lang) = if receipts {
        let e = corpus::EXTERNAL[corpus::EXTERNAL.len() - 1];
        (EmailAddress::new(e.0, e.1), e.2)
    } else if !colleagues.is_empty() && rng.chance(25) {
        let lang = if rng.chance(50) { Lang::En } else { Lang::De };
        (rng.pick(colleagues).clone(), lang)
    } else {
        let forced = match ordinal % 10 {
            2 => Some(2usize), // Japanese
            6 => Some(7),      // emoji display name
            _ => None,
        };
        let e = match forced {
            Some(i) => corpus::EXTERNAL[i],
            None => *rng.pick(&corpus::EXTERNAL[..corpus::EXTERNAL.len() - 1]),
        };
        (EmailAddress::new(e.0, e.1), e.2)
    };
    let subject = rng
        .pick(corpus::subjects(lang))
        .replace("{n}", &rng.range(2, 999).to_string());
    let n_sentences = rng.range(2, 6) as usize;
    let mut sentences: Vec<&str> = (0..n_sentences)
        .map(|_| *rng.pick(corpus::sentences(lang)))
        .collect();
    if ordinal % 10 == 4 {
        sentences.push("Emoji check: 🎉🚀📎 and ümlauts äöü ß.");
    }
    let inline_image = ordinal.is_multiple_of(10) || rng.chance(8);
    let html = inline_image || rng.chance(60);
    let cid = format!(
        "image001.png@01DD{:04X}.{:08X}",
        rng.below(0x10000),
        rng.below(1 << 32)
    );
    let body = if html {
        let mut b = String::from(
            "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n",
        );
        for s in &sentences {
            b.push_str(&format!("<p>{}</p>\r\n", html_escape(s)));
        }
        if inline_image {
            b.push_str(&format!(
                "<p><img src=\"cid:{cid}\" alt=\"logo\" width=\"48\" height=\"32\"></p>\r\n"
            ));
        }
        b.push_str(&format!(
            "<p>--<br>\r\n{}</p>\r\n</body>\r\n</html>\r\n",
            html_escape(&from.name)
        ));
        b
    } else {
        let mut b = sentences.join("\r\n\r\n");
        b.push_str(&format!("\r\n\r\n-- \r\n{}\r\n", from.name));
        b
    };

    let mut attachments = Vec::new();
    if inline_image {
        attachments.push(NewAttachment {
            name: "image001.png".into(),
            content_type: "image/png".into(),
            content: blobs::png(rng, 48, 32),
            is_inline: true,
            content_id: Some(cid),
        });
        specs.push(None);
    }
    let file_attachments = if ordinal % 10 == 1 || receipts {
        1
    } else if rng.chance(22) {
        rng.range(1, 2)
    } else {
        0
    };
    for _ in 0..file_attachments {
        attachments.push(match rng.below(3) {
            0 => NewAttachment {
                name: rng.pick(corpus::FILE_NAMES_PDF).to_string(),
                content_type: "application/pdf".into(),
                content: {
                    let size = rng.range(1_024, 200 * 1_024) as usize;
                    specs.push(Some(BlobSpec::Pdf {
                        rng: rng.clone(),
                        size,
                    }));
                    blobs::pdf(rng, size)
                },
                is_inline: false,
                content_id: None,
            },
            1 => NewAttachment {
                name: rng.pick(corpus::FILE_NAMES_CSV).to_string(),
                content_type: "text/csv".into(),
                content: {
                    let rows = rng.range(30, 400) as usize;
                    specs.push(Some(BlobSpec::Csv {
                        rng: rng.clone(),
                        rows,
                    }));
                    blobs::csv(rng, rows)
                },
                is_inline: false,
                content_id: None,
            },
            _ => NewAttachment {
                name: rng.pick(corpus::FILE_NAMES_PNG).to_string(),
                content_type: "image/png".into(),
                content: {
                    let (w, h) = (rng.range(24, 160) as u32, rng.range(16, 120) as u32);
                    specs.push(Some(BlobSpec::Png {
                        rng: rng.clone(),
                        width: w,
                        height: h,
                    }));
                    blobs::png(rng, w, h)
                },
                is_inline: false,
                content_id: None,
            },
        });
    }

    let mut cc = Vec::new();
    if rng.chance(20) {
        let e = rng.pick(&corpus::EXTERNAL[..corpus::EXTERNAL.len() - 1]);
        cc.push(EmailAddress::new(e.0, e.1));
    }
    let mut categories = Vec::new();
    if rng.chance(15) {
        categories.push(rng.pick(corpus::CATEGORIES).to_string());
        if rng.chance(30) {
            let c = rng.pick(corpus::CATEGORIES).to_string();
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
    }
    let importance = if ordinal % 10 == 3 {
        Importance::High
    } else {
        match rng.below(100) {
            0..=7 => Importance::High,
            8..=12 => Importance::Low,
            _ => Importance::Normal,
        }
    };
    let flag_status = if ordinal % 10 == 3 {
        FlagStatus::Flagged
    } else {
        match rng.below(100) {
            0..=9 => FlagStatus::Flagged,
            10..=14 => FlagStatus::Complete,
            _ => FlagStatus::NotFlagged,
        }
    };
    let domain = from.address.split('@').nth(1).unwrap_or(DOMAIN).to_string();
    let internet_message_id = if domain == DOMAIN {
        outlook_message_id(rng)
    } else {
        format!(
            "<{:016x}.{:08x}@{}>",
            rng.next_u64(),
            rng.below(1 << 32),
            domain
        )
    };
    NewMessage {
        subject,
        body_content_type: if html { BodyType::Html } else { BodyType::Text },
        body,
        from: Some(from),
        to: Vec::new(),
        cc,
        bcc: Vec::new(),
        reply_to: Vec::new(),
        received_date_time: None,
        sent_date_time: None,
        is_read: rng.chance(70),
        is_draft: false,
        importance,
        flag_status,
        categories,
        internet_message_id: Some(internet_message_id),
        transport_headers: None,
        attachments,
    }
}

/// `NewMessage::generated(seed)`.
pub(crate) fn generated_message(seed: u64) -> NewMessage {
    let mut rng = SplitMix64::derive(seed, "generated message");
    let ordinal = rng.below(10) as usize;
    compose_received(&mut rng, ordinal, &[], false, &mut Vec::new())
}

fn outlook_message_id(rng: &mut SplitMix64) -> String {
    const HOSTS: &[&str] = &["AM0PR01MB", "DB9PR03MB", "FR0P281MB", "VI1PR07MB"];
    let host = format!("{}{:04}", rng.pick(HOSTS), rng.below(10_000));
    format!(
        "<{host}{:016X}{:04X}@{host}.eurprd01.prod.outlook.com>",
        rng.next_u64(),
        rng.below(0x10000)
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, SimError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| SimError::Invalid(format!("not an RFC 3339 date-time: '{s}'")))
}

/// Turns an admin [`NewMessage`] into stored properties for `owner`'s
/// mailbox. `now` fills in missing dates.
pub(crate) fn props_from_new(
    new: NewMessage,
    owner: &User,
    key: u64,
    now: DateTime<Utc>,
) -> Result<MessageProps, SimError> {
    let me = EmailAddress::new(owner.display_name.clone(), owner.mail.clone());
    let received = match &new.received_date_time {
        Some(s) => parse_time(s)?,
        None => now,
    };
    let sent = match &new.sent_date_time {
        Some(s) => parse_time(s)?,
        None => received,
    };
    let from = new.from.clone().unwrap_or_else(|| me.clone());
    let from_owner = from.address.eq_ignore_ascii_case(&owner.mail);
    let mut to = new.to;
    if to.is_empty() && !new.is_draft && !from_owner {
        to.push(me);
    }
    let internet_message_id = new
        .internet_message_id
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| default_message_id(&owner.guid, key));
    let attachments = new
        .attachments
        .into_iter()
        .enumerate()
        .map(|(i, a)| Attachment {
            key: i as u32 + 1,
            name: a.name,
            content_type: a.content_type,
            bytes: a.content.into(),
            is_inline: a.is_inline,
            content_id: a.content_id,
            last_modified: received,
        })
        .collect();
    let mut props = MessageProps {
        subject: new.subject,
        body_type: new.body_content_type,
        body: new.body,
        sender: Some(from.clone()),
        from: Some(from),
        to,
        cc: new.cc,
        bcc: new.bcc,
        reply_to: new.reply_to,
        internet_message_id,
        sent,
        received,
        importance: new.importance,
        is_read: new.is_read || new.is_draft,
        is_draft: new.is_draft,
        flag_status: new.flag_status,
        categories: new.categories,
        attachments,
        attachment_kinds: Default::default(),
        transport_headers: new.transport_headers,
        extended: Default::default(),
        inference_other: false,
        delivery_receipt_requested: false,
        read_receipt_requested: false,
    };
    if props.transport_headers.is_none() && !props.is_draft && !from_owner {
        props.transport_headers = Some(transport_headers(&props));
    }
    Ok(props)
}

/// The Message-ID Exchange assigns to an item created without one.
pub(crate) fn default_message_id(mbx: &[u8; 16], key: u64) -> String {
    let mut h = blake3::Hasher::new();
    h.update(mbx);
    h.update(&key.to_le_bytes());
    let hex = h.finalize().to_hex();
    format!(
        "<{}@AM0PR01MB{}.eurprd01.prod.outlook.com>",
        hex[..32].to_ascii_uppercase(),
        &hex[32..36]
    )
}

/// A received message's transport header block (PidTagTransportMessageHeaders),
/// deterministic from its properties. No MIME content headers.
pub(crate) fn transport_headers(p: &MessageProps) -> String {
    let h = blake3::hash(p.internet_message_id.as_bytes());
    let hb = h.as_bytes();
    let host = |n: u8| {
        format!(
            "AM0PR{:02}MB{:04}",
            n % 10,
            u16::from_le_bytes([hb[n as usize], hb[n as usize + 1]]) % 10_000
        )
    };
    let inner = host(1);
    let edge = host(3);
    let from = p.from.clone().unwrap_or_default();
    let sender_domain = from
        .address
        .split('@')
        .nth(1)
        .unwrap_or("example.com")
        .to_string();
    let mut lines: Vec<String> = vec![
        format!(
            "Received: from {edge}.eurprd01.prod.outlook.com (2001:db8:{:x}::{:x}) by\r\n {inner}.eurprd01.prod.outlook.com with HTTPS; {}",
            hb[5],
            hb[6],
            mime::rfc2822(&p.received)
        ),
        format!(
            "Received: from mail-out.{sender_domain} (192.0.2.{}) by\r\n {edge}.eurprd01.prod.outlook.com (2001:db8:{:x}::{:x}) with Microsoft SMTP\r\n Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n 15.20.{}.{}; {}",
            1 + hb[7] % 250,
            hb[8],
            hb[9],
            8000 + u16::from(hb[10]) * 4,
            hb[11],
            mime::rfc2822(&(p.sent + Duration::seconds(i64::from(1 + hb[12] % 20))))
        ),
        format!(
            "Authentication-Results: spf=pass (sender IP is 192.0.2.{})\r\n smtp.mailfrom={sender_domain}; dkim=pass (signature was verified)\r\n header.d={sender_domain};dmarc=pass action=none\r\n header.from={sender_domain};",
            1 + hb[7] % 250
        ),
        format!("From: {}", mime::mailbox(&from)),
    ];
    if !p.to.is_empty() {
        lines.push(format!(
            "To: {}",
            p.to.iter()
                .map(mime::mailbox)
                .collect::<Vec<_>>()
                .join(",\r\n\t")
        ));
    }
    if !p.cc.is_empty() {
        lines.push(format!(
            "CC: {}",
            p.cc.iter()
                .map(mime::mailbox)
                .collect::<Vec<_>>()
                .join(",\r\n\t")
        ));
    }
    lines.push(format!("Subject: {}", mime::header_text(&p.subject)));
    lines.push(format!("Thread-Topic: {}", mime::header_text(&p.subject)));
    lines.push(format!(
        "Thread-Index: {}",
        ids::conversation_index(&p.subject, p.sent.timestamp())
    ));
    lines.push(format!("Date: {}", mime::rfc2822(&p.sent)));
    lines.push(format!("Message-ID: {}", p.internet_message_id));
    lines.push("Accept-Language: de-DE, en-US".into());
    lines.push("Content-Language: en-US".into());
    match p.importance {
        Importance::High => {
            lines.push("Importance: high".into());
            lines.push("X-Priority: 1".into());
        }
        Importance::Low => {
            lines.push("Importance: low".into());
            lines.push("X-Priority: 5".into());
        }
        Importance::Normal => {}
    }
    lines.push(if p.has_file_attachments() {
        "X-MS-Has-Attach: yes".into()
    } else {
        "X-MS-Has-Attach:".into()
    });
    lines.push("X-MS-TNEF-Correlator:".into());
    lines.push(format!("Return-Path: {}", from.address));
    lines.push("X-MS-Exchange-Organization-SCL: 1".into());
    lines.push("X-MS-Exchange-Organization-AuthAs: Anonymous".into());
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}
