//! Search benchmark: builds a search index of N synthetic messages (default 1,000,000) through
//! `qcb_engine::search::SearchIndex` (the API the engine indexes snapshots with), then times a
//! set of queries and writes the numbers as JSON.
//!
//! `qcb-search-bench [--messages N] [--db PATH] [--out FILE] [--reps R] [--keep]`
//!
//! Messages come from a seeded generator (seed 1): subjects from templates, bodies of 40–160
//! words drawn Zipf-like from an English business vocabulary with rarer project names, senders
//! and recipients from name lists, 20 mailboxes × 10 folders, received dates over two years,
//! one in five with attachments. Everything is one snapshot.

use std::time::Instant;

use qcb_engine::search::{FolderPlace, IndexDoc, SearchIndex, fts_query};

const SUBJECTS: &[&str] = &[
    "Quarterly report for {p}",
    "Re: {p} budget review",
    "Meeting notes: {p} kickoff",
    "Action required: approve the {p} invoice",
    "Fwd: {p} contract draft",
    "Weekly status update ({p})",
    "Invitation: {p} planning session",
    "Re: Re: question about the {p} schedule",
    "Customer feedback on {p}",
    "{p}: deployment postponed",
    "Travel arrangements for the {p} workshop",
    "Reminder: {p} deadline on Friday",
    "Updated forecast and hiring plan",
    "Lunch next week?",
    "Your expense claim has been approved",
    "Security notice: password expiry",
];

const PROJECTS: &[&str] = &[
    "Apollo",
    "Borealis",
    "Cobalt",
    "Delta",
    "Everest",
    "Falcon",
    "Granite",
    "Helios",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lighthouse",
    "Meridian",
    "Nimbus",
    "Orion",
    "Pinnacle",
    "Quasar",
    "Redwood",
    "Sequoia",
    "Titan",
    "Umbra",
    "Vanguard",
    "Willow",
    "Xenon",
    "Yellowstone",
    "Zephyr",
    "Zeppelin",
    "Aurora",
    "Bastion",
    "Catalyst",
];

const FIRST: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ingrid", "Jonas", "Keiko",
    "Liam", "Maria", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Andersen", "Brown", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Hansen", "Ito",
    "Jensen", "Kowalski", "Larsen", "Müller", "Nakamura", "Okafor", "Petrov", "Rossi", "Schmidt",
    "Tanaka", "Weber",
];
const DOMAINS: &[&str] = &[
    "contoso.com",
    "fabrikam.com",
    "northwind.example",
    "adatum.org",
    "tailspin.net",
];

/// Frequent words first: a Zipf draw over this list gives realistic term frequencies.
const WORDS: &str = "the to and of a in for is on that we this with you it be as at are have \
will from our by please can your if not or all an meeting team report project budget review \
thanks regards update attached next week today tomorrow customer contract schedule plan \
deadline invoice approve approval discuss discussion call question questions information \
details draft final version document documents sales revenue forecast quarter quarterly \
numbers cost costs price pricing order delivery shipment supplier vendor partner client \
account payment due office remote travel hotel flight agenda minutes action items follow \
up confirm confirmed available availability calendar invite room conference presentation \
slides feedback issue issues problem solution support ticket release deployment server \
database migration backup restore security password policy training onboarding hiring \
candidate interview offer salary benefits holiday vacation leave sick expense claim receipt \
marketing campaign launch product feature roadmap priority risk risks mitigation status \
progress complete completed pending blocked started estimate estimates hours resources \
workshop session survey results analysis data dashboard metrics target targets growth \
board management director manager lead engineer developer designer analyst legal \
compliance audit tax finance accounting procurement logistics warehouse inventory stock \
region north south east west europe america asia office berlin london paris tokyo \
sydney madrid oslo helsinki vienna zurich lisbon dublin prague warsaw budapest athens \
monday tuesday wednesday thursday friday morning afternoon evening lunch dinner coffee \
happy glad sorry unfortunately however therefore also still already again soon later \
early late quickly carefully important urgent minor major small large new old first last";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
    /// Zipf-like (s ≈ 1) index into `n` items.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let x = ((n as f64 + 1.0).ln() * u).exp() - 1.0;
        (x as usize).min(n - 1)
    }
}

fn person(r: &mut Rng) -> String {
    let (f, l, d) = (r.pick(FIRST), r.pick(LAST), r.pick(DOMAINS));
    format!("{f} {l} <{}.{}@{d}>", f.to_lowercase(), l.to_lowercase())
}

fn message(r: &mut Rng, i: u64, words: &[&str]) -> IndexDoc {
    let project = r.pick(PROJECTS);
    let subject = r.pick(SUBJECTS).replace("{p}", project);
    let n = 40 + r.below(121);
    let mut body = String::with_capacity(n * 7);
    for k in 0..n {
        if k > 0 {
            body.push(if k % 14 == 0 { '\n' } else { ' ' });
        }
        if r.below(100_000) == 0 {
            // About one message in a thousand: a word nothing else uses.
            body.push_str("serendipity");
        } else if r.below(40) == 0 {
            body.push_str(project);
        } else {
            body.push_str(words[r.zipf(words.len())]);
        }
    }
    let recipients = (0..1 + r.below(3))
        .map(|_| person(r))
        .collect::<Vec<_>>()
        .join("\n");
    let has_attachments = r.below(5) == 0;
    let attachments = if has_attachments {
        let ext = ["pdf", "xlsx", "docx", "pptx", "png", "zip"][r.below(6)];
        format!(
            "{}-{}.{ext}",
            project.to_lowercase(),
            r.pick(&words[40..120])
        )
    } else {
        String::new()
    };
    // Two years back from 2026-11-01.
    let secs = 1_793_491_200 - (r.below(2 * 365 * 86_400) as i64);
    let date = chrono::DateTime::from_timestamp(secs, 0)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    IndexDoc {
        key: format!("{i:016x}"),
        item_id: format!("msg-{i:08}"),
        category: "mail".into(),
        subject,
        sender: person(r),
        recipients,
        body,
        attachments,
        date,
        has_attachments,
    }
}

struct Query {
    name: &'static str,
    kind: &'static str,
    text: &'static str,
    mailbox: Option<&'static str>,
    folder: Option<&'static str>,
    from: Option<&'static str>,
    to: Option<&'static str>,
    attachments: bool,
}

const fn q(name: &'static str, kind: &'static str, text: &'static str) -> Query {
    Query {
        name,
        kind,
        text,
        mailbox: None,
        folder: None,
        from: None,
        to: None,
        attachments: false,
    }
}

fn queries() -> Vec<Query> {
    vec![
        q("rare word", "word", "serendipity"),
        q("project name", "word", "zeppelin"),
        q("common word", "word", "meeting"),
        q("very common word", "word", "the"),
        q("two words", "word", "invoice approve"),
        q("phrase", "phrase", "\"budget review\""),
        q("prefix", "prefix", "migr*"),
        q("short prefix", "prefix", "bu*"),
        q("long prefix (6 letters)", "prefix", "quarte*"),
        q("sender address", "column", "from:anna.costa@fabrikam.com"),
        q("subject column", "column", "subject:kickoff"),
        q("attachment name", "column", "attachment:xlsx"),
        Query {
            mailbox: Some("user07@bench.example"),
            ..q("word + mailbox", "filter", "invoice")
        },
        Query {
            mailbox: Some("user07@bench.example"),
            folder: Some("Inbox"),
            ..q("word + mailbox + folder", "filter", "deadline")
        },
        Query {
            from: Some("2026-03-01T00:00:00Z"),
            to: Some("2026-04-01T00:00:00Z"),
            ..q("word + date range", "filter", "forecast")
        },
        Query {
            attachments: true,
            from: Some("2026-01-01T00:00:00Z"),
            ..q("word + attachments + date", "filter", "contract")
        },
        Query {
            mailbox: Some("user03@bench.example"),
            ..q("common word + mailbox", "filter", "the")
        },
    ]
}

const FOLDERS: &[&str] = &[
    "Inbox",
    "Inbox/Projects",
    "Inbox/Customers",
    "Sent Items",
    "Archive",
    "Archive/2025",
    "Deleted Items",
    "Drafts",
    "Newsletters",
    "Finance",
];

fn main() {
    let mut messages: u64 = 1_000_000;
    let mut db = std::env::temp_dir().join("qcb-search-bench.sqlite");
    let mut out = std::path::PathBuf::from("bench/results/search.json");
    let mut reps = 5usize;
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("a value after the option");
        match a.as_str() {
            "--messages" => messages = val().parse().expect("a number"),
            "--db" => db = val().into(),
            "--out" => out = val().into(),
            "--reps" => reps = val().parse().expect("a number"),
            "--keep" => keep = true,
            other => panic!("unknown argument {other}"),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut idx = SearchIndex::open(&db).expect("open index");
    let mut r = Rng(1);
    let started = Instant::now();
    let mailboxes = 20u64;
    let folders = FOLDERS.len() as u64;
    let per_folder = messages.div_ceil(mailboxes * folders);
    let mut text_bytes = 0u64;
    {
        let mut batch = idx
            .batch("bench-snapshot", "2026-11-01T00:00:00Z")
            .expect("batch");
        let mut i = 0u64;
        'all: for m in 0..mailboxes {
            let mailbox = format!("user{m:02}@bench.example");
            for (f, folder) in FOLDERS.iter().enumerate() {
                let tree = format!("{:064x}", m * 100 + f as u64);
                let (row, _) = batch.tree(&tree).expect("tree");
                batch
                    .add_place(
                        row,
                        &FolderPlace {
                            snapshot: "bench-snapshot".into(),
                            tree,
                            mailbox: mailbox.clone(),
                            category: "mail".into(),
                            folder: folder.to_string(),
                            path: format!("/{mailbox}/Mail/{folder}"),
                        },
                    )
                    .expect("place");
                for _ in 0..per_folder {
                    if i == messages {
                        break 'all;
                    }
                    let doc = message(&mut r, i, &words);
                    text_bytes += (doc.subject.len()
                        + doc.sender.len()
                        + doc.recipients.len()
                        + doc.body.len()
                        + doc.attachments.len()) as u64;
                    batch.add_item(row, &doc.item_id, &doc).expect("add");
                    i += 1;
                    if i.is_multiple_of(100_000) {
                        eprintln!(
                            "{i} messages indexed, {:.0} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            }
        }
        batch.commit().expect("commit");
    }
    let build_s = started.elapsed().as_secs_f64();
    drop(idx);
    let size = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", db.display())).ok())
        .map(|m| m.len())
        .sum::<u64>();
    eprintln!("built in {build_s:.1} s, {} MB", size / 1_000_000);

    // Queries on a freshly opened index (as a new search would), each `reps` times.
    let idx = SearchIndex::open(&db).expect("reopen");
    let mut results = Vec::new();
    for query in queries() {
        let filters = qcb_engine::search::Filters {
            mailbox: query.mailbox.map(str::to_string),
            folder: query.folder.map(str::to_string),
            category: None,
            from: query.from.map(str::to_string),
            to: query.to.map(str::to_string),
            has_attachments: query.attachments.then_some(true),
            snapshot: None,
        };
        let fts = fts_query(query.text);
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            let res = idx.search(&fts, &filters, 50).expect("query");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = res.total;
        }
        let first = times[0];
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[sorted.len() / 2];
        let max = sorted[sorted.len() - 1];
        eprintln!(
            "{:<28} {:>8} hits  first {first:>7.1} ms  median {median:>7.1} ms  max {max:>7.1} ms",
            query.name, total
        );
        results.push(serde_json::json!({
            "name": query.name, "kind": query.kind, "text": query.text,
            "mailbox": query.mailbox, "folder": query.folder, "from": query.from,
            "to": query.to, "hasAttachments": query.attachments.then_some(true),
            "limit": 50, "total": total, "firstMs": first, "medianMs": median, "maxMs": max,
            "runsMs": times,
        }));
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    let doc = serde_json::json!({
        "benchmark": "search",
        "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "machine": {
            "cpu": cpu,
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        },
        "messages": messages,
        "mailboxes": mailboxes,
        "foldersPerMailbox": folders,
        "indexedTextBytes": text_bytes,
        "buildSeconds": build_s,
        "indexBytes": size,
        "repetitions": reps,
        "queries": results,
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("results folder");
    }
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&doc).expect("json") + "\n",
    )
    .expect("write results");
    eprintln!("wrote {}", out.display());
    if !keep {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
}
