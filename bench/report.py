#!/usr/bin/env python3
"""Collects the runs of bench/run-ingest.sh into one JSON file and renders docs/benchmarks.md.

    report.py collect --runs runs.jsonl --out bench/results/ingest.json ...
    report.py render  --results bench/results/ingest.json --out docs/benchmarks.md

The Markdown is generated from the JSON alone, so it can be re-rendered without re-running.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
from datetime import datetime, timezone

from report_engine import engine_meta, render_engine

HERE = os.path.dirname(os.path.abspath(__file__))

TOOLS = {
    "qcb": "qcb-repo (qcb-bench)",
    "restic": "restic",
    "borg": "borg",
}
# A memory "flat" verdict: the big corpus' peak RSS within this factor of the small one's.
FLAT = 1.25


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    mem = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
    cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read())
    flags = re.search(r"flags\s*:\s*(.*)", open("/proc/cpuinfo").read())
    flags = set(flags.group(1).split()) if flags else set()
    return {
        "nproc": int(sh("nproc") or 0),
        "cpu": cpu.group(1).strip() if cpu else "unknown",
        "cpu_flags": sorted(flags & {"aes", "avx2", "avx512f", "sha_ni", "pclmulqdq", "bmi2"}),
        "ram_gib": round(mem / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "filesystem": sh("df -T ~ | tail -1 | awk '{print $2}'"),
        "rustc": sh("rustc --version"),
    }


def collect(a):
    runs = [json.loads(l) for l in open(a.runs) if l.strip()]
    perf = [l.rstrip() for l in open(a.perf)] if a.perf and os.path.exists(a.perf) else []
    threads = ([l.rstrip() for l in open(a.perf_threads)]
               if a.perf_threads and os.path.exists(a.perf_threads) else [])
    out = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": a.commit, "uncommitted_files": int(a.dirty), "cache": a.cache,
        "reps": int(a.reps), "machine": machine(),
        "versions": {"restic": a.restic, "borg": a.borg},
        "corpus": {"initial": json.load(open(a.corpus_initial)),
                   "changed": json.load(open(a.corpus_changed)),
                   "small": json.load(open(a.corpus_small))},
        "runs": runs, "perf_top": perf, "perf_threads": threads,
        "verify": json.load(open(a.verify)) if a.verify and os.path.exists(a.verify) else None,
        "verify_nochange": (json.load(open(a.verify_nochange))
                            if a.verify_nochange and os.path.exists(a.verify_nochange) else None),
        "zstd_levels": ([json.loads(l) for l in open(a.levels) if l.strip()]
                        if a.levels and os.path.exists(a.levels) else []),
        "kdf": json.load(open(a.kdf)) if a.kdf and os.path.exists(a.kdf) else None,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------- rendering

def pick(runs, tool, phase, messages):
    return [r for r in runs if r["tool"] == tool and r["phase"] == phase
            and r["corpus_messages"] == messages]


def med(rs, key):
    return statistics.median(key(r) for r in rs) if rs else None


def cpu(r):
    return r["user_s"] + r["sys_s"]


def mb(b):
    return f"{b / 1e6:,.1f} MB"


def rng(rs, key, fmt):
    if len(rs) < 2:
        return ""
    return f" ({fmt(min(key(r) for r in rs))}–{fmt(max(key(r) for r in rs))})"


def ratio(x, base):
    return f"{x / base:.2f}×" if base else "n/a"


PERF_GROUPS = [
    ("zstd: context created per blob (ZSTD_createCCtx)", r"ZSTD_createCCtx|ZSTD_freeCCtx|ZSTD_initCCtx"),
    ("zstd compression", r"ZSTD_|HUF_|HIST_|FSE_|ZSTD"),
    ("AES-256-GCM (aes, polyval)", r"aes::|polyval|ghash|aes_gcm|ctr::"),
    ("SHA-256 (pack and file names)", r"sha2::|sha256"),
    ("BLAKE3 (blob ids)", r"blake3"),
    ("FastCDC", r"fastcdc"),
    ("Argon2id (a key file opened with the password)", r"argon2|blake2"),
    ("kernel: copying into the page cache (writes)", r"copy_folio_from_iter|copy_from_user|copy_user"),
    ("kernel: copying out of the page cache (reads)", r"_copy_to_iter|copy_to_user|filemap_read|filemap_get"),
    ("memcpy/memset/malloc (libc)", r"memmove|memcpy|memset|malloc|_int_free|_int_malloc|cfree|free|unlink_chunk|realloc"),
    ("serde_json (trees)", r"serde_json|serde::"),
]


def perf_groups(lines):
    totals, other_k, other_u = {}, 0.0, 0.0
    for l in lines:
        m = re.match(r"\s*([0-9.]+)%\s+\[(.)\]\s+(.*?)(\s+-\s+-)?\s*$", l)
        if not m:
            continue
        pct, space, sym = float(m.group(1)), m.group(2), m.group(3)
        for name, pat in PERF_GROUPS:
            if re.search(pat, sym):
                totals[name] = totals.get(name, 0) + pct
                break
        else:
            if space == "k":
                other_k += pct
            else:
                other_u += pct
    rows = sorted(totals.items(), key=lambda kv: -kv[1])
    rows.append(("kernel: other (page faults, scheduling, I/O, fsync)", other_k))
    rows.append(("other user-space symbols in the top 60", other_u))
    return rows


def render(a):
    d = json.load(open(a.results))
    runs, m = d["runs"], d["machine"]
    big = d["corpus"]["initial"]["messages"]
    small = d["corpus"]["small"]["messages"]
    tools = [t for t in TOOLS if any(r["tool"] == t for r in runs)]
    first = {t: pick(runs, t, "first", big) for t in tools}
    changed = {t: pick(runs, t, "changed", big) for t in tools}
    nochange = {t: pick(runs, t, "nochange", big) for t in tools}
    firsts = {t: pick(runs, t, "first", small) for t in tools + ["qcb-nodecay"]}
    nodecay_big = pick(runs, "qcb-nodecay", "first", big)
    base = {k: med(first["restic"], lambda r, k=k: r[k]) for k in ("wall_s", "repo_bytes")}
    base["cpu"] = med(first["restic"], cpu)
    ci = d["corpus"]["initial"]
    L = []
    w = L.append
    w("# Benchmarks")
    w("")
    w("Generated by `bench/report.py` from `bench/results/ingest.json`, which "
      "`bench/run-ingest.sh` wrote"
      + (", and `bench/results/engine.json`, which `bench/run-engine.sh` wrote"
         if a.engine and os.path.exists(a.engine) else "")
      + ". Do not edit by hand: re-run the scripts (or "
      "`python3 bench/report.py render --results bench/results/ingest.json --out docs/benchmarks.md`).")
    w("")
    w("## Repository ingest: qcb-repo against restic and borg")
    w("")
    w(f"Measured {d['generated']} on commit `{d['commit']}`"
      + (f" (with {d['uncommitted_files']} uncommitted files in the tree)" if d["uncommitted_files"] else "")
      + ".")
    w("")

    # ---- goals
    q = first["qcb"]
    qwall, qcpu = med(q, lambda r: r["wall_s"]), med(q, cpu)
    w("### Goals (issue 3)")
    w("")
    w("| Goal | Measured | Met? |")
    w("|---|---|---|")
    for t in [t for t in ("qcb",) if t in tools]:
        tw = med(first[t], lambda r: r["wall_s"])
        sp = base["wall_s"] / tw
        w(f"| ≥ 2× restic's ingest throughput ({TOOLS[t]}) | {sp:.2f}× (median wall "
          f"{tw:.2f} s against {base['wall_s']:.2f} s) | {'yes' if sp >= 2 else '**no**'} |")
    for phase, rs in (("first ingest", first), ("after the 1% change", changed)):
        qs, rsz = med(rs["qcb"], lambda r: r["repo_bytes"]), med(rs["restic"], lambda r: r["repo_bytes"])
        w(f"| Repository no larger than restic's ({phase}) | {mb(qs)} against {mb(rsz)} "
          f"({qs / rsz:.2f}×) | {'yes' if qs <= rsz else '**no**'} |")
    nochange_pw = pick(runs, "qcb-password", "nochange", big)
    for t in [t for t in ("qcb",) if t in tools]:
        nw = med(nochange[t], lambda r: r["wall_s"])
        fw = med(first[t], lambda r: r["wall_s"])
        pw = (f"; typing the password each run instead (Argon2id at every open): "
              f"{med(nochange_pw, lambda r: r['wall_s']):.2f} s = "
              f"{100 * med(nochange_pw, lambda r: r['wall_s']) / fw:.1f}%" if nochange_pw else "")
        w(f"| No-change run < 5% of the first run's time ({TOOLS[t]}, repository key remembered "
          f"in the OS keychain as a backup set's run keeps it) | {nw:.3f} s = "
          f"{100 * nw / fw:.1f}% of {fw:.2f} s{pw} | {'yes' if nw < 0.05 * fw else '**no**'} |")
    s_rss = med(firsts["qcb"], lambda r: r["max_rss_kib"])
    b_rss = med(first["qcb"], lambda r: r["max_rss_kib"])
    w(f"| Memory flat, {small:,} vs {big:,} messages (peak RSS within {FLAT}×) | "
      f"{s_rss / 1024:.0f} MiB → {b_rss / 1024:.0f} MiB ({b_rss / s_rss:.2f}×) | "
      f"{'yes' if b_rss <= FLAT * s_rss else '**no**'} |")
    w("")

    # ---- machine
    w("### Machine and conditions")
    w("")
    w(f"- {m['nproc']} cores: {m['cpu']} (flags used by the tools: {', '.join(m['cpu_flags'])}); "
      f"{m['ram_gib']} GiB RAM; {m['os']}, kernel {m['kernel']}; repositories and corpus on "
      f"{m['filesystem']} (virtual disk).")
    w(f"- {d['versions']['restic']}; {d['versions']['borg']}; {m['rustc']}; qcb-bench built with "
      f"`cargo build --release -p qcb-bench`.")
    loads = [float(r["loadavg_before"].split()[0]) for r in runs]
    w(f"- Page cache **{d['cache']}**: "
      + ("every run starts after the corpus was read once (`cat` of every file), so files come "
         "from memory and the numbers measure CPU and write cost, not the disk's read speed."
         if d["cache"] == "warm" else "`drop_caches` before every run: files come from the disk.")
      + " Repositories are written to disk and each tool fsyncs as it normally does.")
    qc = [cpu(r) for r in first.get("qcb", [])]
    w(f"- A virtual machine whose speed varies from minute to minute"
      + (f" (qcb-bench's CPU time for the same work ranged from {min(qc):.2f} to {max(qc):.2f} s "
         f"over the first-ingest repetitions)" if qc else "") + ". "
      f"1-minute load average before the runs: median {statistics.median(loads):.1f}, "
      f"min {min(loads):.1f}, max {max(loads):.1f} on {m['nproc']} cores. To spread this noise "
      f"evenly, the first ingest and the no-change run were repeated {d['reps']} times with the "
      f"tools interleaved; tables give the median and, in parentheses, the range.")
    w("")

    # ---- corpus
    cc = d["corpus"]["changed"]
    ch = cc["changes"][-1] if cc["changes"] else {"changed": 0, "new": 0}
    w("### Corpus")
    w("")
    w(f"`bench/corpus/gen_corpus.py` (seed {ci['seed']}): {ci['messages']:,} messages as .eml "
      f"files, {mb(ci['bytes'])}, in `mailboxes/<user>/<Folder>[/<Subfolder>]/<n>.eml` for "
      f"{ci['users']} mailboxes; small corpus {d['corpus']['small']['messages']:,} messages, "
      f"{mb(d['corpus']['small']['bytes'])}. Plain and multipart/alternative (text + HTML) "
      "bodies, threads with In-Reply-To/References and quoted history, RFC 2047 encoded unicode "
      "subjects and names, about 16% of messages with attachments (1 KB to 5 MB, base64: pdf-, "
      "png- and jpg-like incompressible bytes, real docx/xlsx zip archives, csv/txt/ics text), "
      "inline images (multipart/related; company logos repeat), and "
      f"{ci['shared_files']} shared files ({mb(ci['shared_bytes'])} together, 0.2–5 MB each) "
      "mailed to many people in different messages across mailboxes (0.4% of messages). "
      f"The change step rewrote {ch['changed']} messages (a header added, a body line edited: "
      f"size and mtime change) and added {ch['new']} new ones.")
    w("")

    # ---- tables
    def table(title, rs_by_tool, note=""):
        w(f"### {title}")
        w("")
        if note:
            w(note)
            w("")
        w("| Tool | Wall | vs restic | Corpus / wall | CPU (user+sys) | vs restic | Peak RSS | Repository | vs restic |")
        w("|---|---|---|---|---|---|---|---|---|")
        rb = rs_by_tool["restic"]
        bw, bc = med(rb, lambda r: r["wall_s"]), med(rb, cpu)
        bs = med(rb, lambda r: r["repo_bytes"])
        for t in tools:
            rs = rs_by_tool[t]
            if not rs:
                continue
            wl, c = med(rs, lambda r: r["wall_s"]), med(rs, cpu)
            rss, size = med(rs, lambda r: r["max_rss_kib"]), med(rs, lambda r: r["repo_bytes"])
            thr = rs[0]["corpus_bytes"] / wl / 1e6
            w(f"| {TOOLS[t]} | {wl:.2f} s{rng(rs, lambda r: r['wall_s'], lambda x: f'{x:.2f}')} | "
              f"{ratio(wl, bw)} | {thr:.0f} MB/s | {c:.2f} s | {ratio(c, bc)} | "
              f"{rss / 1024:.0f} MiB | {mb(size)} | {ratio(size, bs)} |")
        w("")

    table(f"First ingest, {big:,} messages, fresh repositories", first,
          "Throughput is corpus bytes over wall time. Ratios below 1× in the wall and CPU "
          "columns mean faster or cheaper than restic.")
    table("Second run after the 1% change", changed,
          "One run per tool, into the repository of the last first-ingest repetition. "
          "Repository size is the total after both snapshots.")
    table("No-change run", nochange, "A third snapshot of the unchanged corpus.")
    w("| Tool | No-change wall | First ingest wall | No-change / first |")
    w("|---|---|---|---|")
    for t in tools:
        nw, fw = med(nochange[t], lambda r: r["wall_s"]), med(first[t], lambda r: r["wall_s"])
        w(f"| {TOOLS[t]} | {nw:.3f} s{rng(nochange[t], lambda r: r['wall_s'], lambda x: f'{x:.3f}')} "
          f"| {fw:.2f} s | {100 * nw / fw:.1f}% |")
        if t == "qcb" and nochange_pw:
            pw = med(nochange_pw, lambda r: r["wall_s"])
            w(f"| qcb-repo, password from the environment (Argon2id at every open, no keychain) "
              f"| {pw:.3f} s{rng(nochange_pw, lambda r: r['wall_s'], lambda x: f'{x:.3f}')} "
              f"| {fw:.2f} s | {100 * pw / fw:.1f}% |")
    w("")
    w("The qcb-repo row opens the repository as a backup set's scheduled run does: the "
      "password and the repository key remembered beside it are read from the OS keychain "
      "(gnome-keyring here), and the remembered key is used while its key file exists and the "
      "password matches, so no Argon2id runs (`Repository::open_remembering`; "
      "docs/repository-format.md). The row below it is the same binary given the password "
      "in the environment, as a server without a keychain runs.")
    w("")
    if "qcb" in tools and nochange["qcb"]:
        qn = sorted(nochange["qcb"], key=lambda r: r["wall_s"])[len(nochange["qcb"]) // 2]
        sec, fw = qn["detail"]["seconds"], med(first["qcb"], lambda r: r["wall_s"])
        w(f"Where qcb-repo's median no-change run goes (wall {qn['wall_s']:.3f} s, of which "
          f"{sec['total']:.3f} s inside `qcb-bench`; the rest is starting and ending the "
          f"process):")
        w("")
        w("| Step | Seconds |")
        w("|---|---|")
        steps = (
            ("keychain", "of which: reading the password and the remembered key from the keychain"),
            ("open", "open: keychain, config, index (no Argon2id: the remembered key)"),
            ("lock", "shared lock"),
            ("parent", "newest snapshot and its root tree"),
            ("writer_waiting_for_walker", "walk: compare every file's size and mtime with the "
             "parent's trees (listing and `stat` run on their own thread from the start, trees "
             "load on two more)"),
            ("walker_waiting_for_trees", "of which: the walker waiting for a parent tree"),
            ("writer_save_tree", "`Writer::save_tree` (unchanged folders are not sent: none)"),
            ("commit", "`commit`: snapshot"),
        )
        rows = [(k, label) for k, label in steps if k in sec]
        order = ["open", "keychain"] + [k for k, _ in rows if k not in ("open", "keychain")]
        for k in order:
            label = dict(rows).get(k)
            if label:
                w(f"| {label} | {sec[k]:.3f} |")
        w("")
        if "tree_loader_busy" in sec:
            w(f"The two tree loaders were busy {sec['tree_loader_busy']:.3f} s together "
              f"(decrypting, decompressing and parsing every tree of the parent snapshot), "
              f"overlapping the listing and each other.")
            w("")
        kdf = d.get("kdf")
        if kdf:
            k = kdf["seconds"]
            p = kdf["params"]
            w(f"Argon2id with the default parameters ({p['memory-kib'] // 1024} MiB, "
              f"{p['iterations']} passes, {p['parallelism']} lane) takes {k:.3f} s on its own "
              f"(`qcb-bench kdf`, best of 5): {100 * k / fw:.1f}% of the first ingest, paid by "
              f"every run that opens the repository with the password alone (the second row "
              f"above), and by none that has the remembered key.")
            w("")

    w(f"### Memory: {small:,} against {big:,} messages (first ingest)")
    w("")
    w(f"| Tool | Peak RSS, {small:,} | Peak RSS, {big:,} | Ratio |")
    w("|---|---|---|---|")
    for t in tools:
        s_, b_ = med(firsts[t], lambda r: r["max_rss_kib"]), med(first[t], lambda r: r["max_rss_kib"])
        if s_ and b_:
            w(f"| {TOOLS[t]} | {s_ / 1024:.0f} MiB | {b_ / 1024:.0f} MiB | {b_ / s_:.2f}× |")
    if firsts["qcb-nodecay"] and nodecay_big:
        s_, b_ = firsts["qcb-nodecay"][0]["max_rss_kib"], nodecay_big[0]["max_rss_kib"]
        w(f"| qcb-repo, `_RJEM_MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0` (diagnosis only) | "
          f"{s_ / 1024:.0f} MiB | {b_ / 1024:.0f} MiB | {b_ / s_:.2f}× |")
    w("")
    w("The last row runs the same binary with jemalloc told to give freed pages back to the "
      "system at once instead of keeping them for reuse (by default for up to 10 s): its peak "
      "is the live data's, and the difference between it and the first row is memory the "
      "allocator keeps, not data. Every qcb row opens its repository with the remembered key "
      "(`qcb-bench init` made it, untimed), so no Argon2id (64 MiB) is in these peaks. (The "
      "diagnosis row's big-corpus run is on the changed corpus, into a fresh repository, "
      "after the other runs.)")
    w("")

    # ---- where time goes
    w("### Where qcb-repo's time goes")
    w("")
    qb = sorted(first["qcb"], key=lambda r: r["wall_s"])[len(first["qcb"]) // 2]["detail"]
    sec = qb["seconds"]
    w(f"Breakdown that `qcb-bench` reports for the median first ingest (wall {sec['total']:.2f} s; "
      f"{qb['files_read']:,} files read, {mb(qb['bytes_read'])} in, {qb['chunks_new']:,} new "
      f"chunks, {qb['chunks_known']:,} already stored, {mb(qb['bytes_stored'])} stored in "
      f"{qb['packs']} packs). The writer thread is serial; the readers and the writer's pack "
      f"upload thread run beside it:")
    w("")
    w("| Step | Thread | Seconds |")
    w("|---|---|---|")
    names = {
        "open_and_lock": ("open (remembered key from the keychain, config, index) and shared lock", "main"),
        "writer_save_data": ("`Writer::save_prepared` for new chunks: copy into the open pack; "
                             "hand a full pack to the upload thread (waits while it still "
                             "stores the one before: AES-GCM, SHA-256, write, fsync)", "writer"),
        "writer_waiting_for_workers": ("writer waiting for a reader to finish the next file", "writer"),
        "writer_waiting_for_walker": ("writer waiting for the walker (listing, `stat`, parent trees)", "writer"),
        "writer_save_tree": ("`Writer::save_tree`", "writer"),
        "commit": ("`commit`: last pack, index, snapshot", "writer"),
        "workers_read": ("reading files (sum over workers)", "workers"),
        "workers_chunk_and_hash": ("FastCDC, `Repository::blob_id` (BLAKE3) and zstd of new "
                                   "chunks (sum over workers)", "workers"),
    }
    for k, (label, th) in names.items():
        if k in sec:
            w(f"| {label} | {th} | {sec[k]:.2f} |")
    w("")
    if d["perf_top"]:
        w("`perf record` of one more first ingest (all threads, share of CPU samples, grouped "
          "from the 60 hottest symbols):")
        w("")
        w("| Where | Share of samples |")
        w("|---|---|")
        for name, pct in perf_groups(d["perf_top"]):
            w(f"| {name} | {pct:.1f}% |")
        w("")
        if d.get("perf_threads"):
            w("By thread (`qcb-bench` is the writer): " + "; ".join(
                re.sub(r"\s+", " ", re.sub(r"(\s+-\s+-)?\s*$", "", l.strip()))
                for l in d["perf_threads"][:6]) + ".")
            w("")
        w("<details><summary>The hottest symbols</summary>")
        w("")
        w("```text")
        for l in d["perf_top"][:30]:
            w(re.sub(r"(\s+-\s+-)?\s*$", "", l))
        w("```")
        w("")
        w("</details>")
        w("")
    w(open(a.analysis).read().rstrip() if a.analysis and os.path.exists(a.analysis) else "")
    w("")

    # ---- settings and reproduction
    levels = d.get("zstd_levels") or []
    if levels:
        base_l = next((l for l in levels if l["level"] == 3), levels[0])
        w("### zstd level")
        w("")
        w("`qcb-zstd-levels` (bench/ingest) compresses every chunk of the 20,000-message corpus, cut "
          "as qcb-repo cuts items, at each level on one thread (a chunk zstd does not shrink counts "
          "at its raw size, as qcb-repo stores it). Deduplication is not applied here, so the "
          "bytes out are more than the repository holds.")
        w("")
        w("| Level | Bytes out | vs level 3 | Compression time | vs level 3 |")
        w("|---|---|---|---|---|")
        for l in levels:
            w(f"| {l['level']} | {mb(l['bytes_out'])} | {l['bytes_out'] / base_l['bytes_out']:.3f}× "
              f"| {l['seconds']:.2f} s | {l['seconds'] / base_l['seconds']:.2f}× |")
        w("")
    w("### How each tool was run")
    w("")
    w("- **qcb-repo**: `qcb-bench ingest --repo R --source corpus/mailboxes --keychain "
      "com.qcbackup.bench` "
      "(`bench/ingest`): one `Node::item` per file, content through `Writer::save_content` "
      "(FastCDC above 512 KiB), one tree per folder, one snapshot; zstd level 1, AES-256-GCM, "
      "keyed BLAKE3, Argon2id default parameters (64 MiB, 3 passes). The repository is made "
      "beforehand by `qcb-bench init` (untimed, like `restic init` and `borg init`), which "
      "keeps the password and the remembered key in the OS keychain, as creating a repository "
      "in the desktop app does; every timed run opens it with that key (see the no-change "
      "section). Later runs take the newest snapshot as parent and carry a file over unread when its size and mtime "
      "match its node's `attrs`. A lister thread lists folders and `stat`s files (up to 32 "
      "folders ahead), a walker thread decides, two loader threads read the parent's trees "
      "ahead of it, and a folder found unchanged throughout goes to the writer as its parent "
      "node alone; two reader threads "
      "read, chunk, hash and compress (16 reusable read buffers of up to 256 KiB, at most 16 MiB of file data in flight); "
      "one writer thread fills packs, and the writer's upload thread (part of qcb-repo, as in "
      "every backup) encrypts, names and writes each full pack while the next one fills, with "
      "`O_DIRECT` and fsync."
      + (f" After the 1% change run, `qcb-bench verify` read the snapshot back and found all "
         f"{d['verify']['files_verified']:,} files ({mb(d['verify']['bytes_verified'])}) "
         "byte-identical to the corpus." if d.get("verify") else "")
      + (f" After the no-change runs it did the same for the last snapshot "
         f"({d['verify_nochange']['files_verified']:,} files)." if d.get("verify_nochange") else ""))
    w("- **restic**: `restic init --repository-version 2`, `restic backup --host bench --json "
      "corpus/mailboxes`: default compression (`auto`), default chunker, all cores.")
    w("- **borg**: `borg init -e repokey-blake2`, `borg create --compression zstd,1 --json "
      "R::run-<time> corpus/mailboxes` (zstd level 1, the level qcb-repo uses; borg 1.2 is "
      "single-threaded).")
    w("- Each run is `/usr/bin/time -v` (user, sys, maximum resident set size; wall time from "
      "`date +%s%N` around it, as `time` rounds to 10 ms) and then "
      "`du -sb` of the repository. The same password for all; restic and borg read it from "
      "the environment, qcb-bench from a gnome-keyring in a private D-Bus session that the "
      "script starts (it copies it there from the environment on the first run).")
    w("")
    w("Reproduce (installs restic, borgbackup, time, perf, dbus-daemon and gnome-keyring when "
      "missing; about 10 minutes "
      "here; data under `~/.cache/qcbackup-bench`, never in the tree):")
    w("")
    w("```sh")
    w("bench/run-ingest.sh                     # MESSAGES=20000 SMALL=2000 REPS=3 CACHE=warm PROFILE=1")
    w("```")
    w("")
    if a.engine and os.path.exists(a.engine):
        analysis = (open(a.engine_analysis).read()
                    if a.engine_analysis and os.path.exists(a.engine_analysis) else "")
        w(render_engine(json.load(open(a.engine)), analysis))
    text = "\n".join(L)
    text = re.sub(r"\n{3,}", "\n\n", text)
    # The search section (bench/report_search.py) lives between its markers: carried over.
    if os.path.exists(a.out):
        import report_search
        old = open(a.out).read()
        if report_search.BEGIN in old and report_search.END in old:
            kept = old[old.index(report_search.BEGIN):old.index(report_search.END)
                       + len(report_search.END)]
            text = text.rstrip() + "\n\n" + kept
    with open(a.out, "w") as f:
        f.write(text.rstrip() + "\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    for k in ("runs", "out", "corpus-initial", "corpus-changed", "corpus-small", "perf",
              "perf-threads", "verify", "verify-nochange", "commit", "dirty", "cache", "reps", "restic", "borg",
              "levels", "kdf"):
        c.add_argument("--" + k, default=None)
    r = sub.add_parser("render")
    r.add_argument("--results", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--analysis", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "ingest-analysis.md"),
                   help="hand-written analysis included under 'Where the time goes'")
    r.add_argument("--engine", default=os.path.join(HERE, "results", "engine.json"),
                   help="engine benchmark results (bench/run-engine.sh); section left out if missing")
    r.add_argument("--engine-analysis", default=os.path.join(HERE, "results", "engine-analysis.md"),
                   help="hand-written analysis included in the engine section")
    e = sub.add_parser("engine-meta")
    for k in ("results", "commit", "dirty", "dirty-files", "profile"):
        e.add_argument("--" + k, default=None)
    a = p.parse_args()
    {"collect": collect, "render": render,
     "engine-meta": lambda a: engine_meta(a, machine)}[a.cmd](a)


if __name__ == "__main__":
    main()
