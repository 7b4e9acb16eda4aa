"""The "Engine against the throttled emulator" section of docs/benchmarks.md, rendered from
bench/results/engine.json (written by qcb-bench-engine through bench/run-engine.sh).

    report.py engine-meta --results bench/results/engine.json --commit C --dirty N --profile release
    report.py render ...   # includes this section when bench/results/engine.json exists
"""

import json
import os
import statistics

RATE_GOAL = 0.9
RESTORE_RATE_GOAL = 0.8
SHARE_429_GOAL = 0.01
NOCHANGE_TIME_GOAL = 0.02
DELTA_CLASSES = {"mail_delta", "folder_delta"}
CLASS_NAMES = {
    "token": "token",
    "users": "user lookups (`/users/{upn}`)",
    "mail_folders": "folder listing (`mailFolders`, `childFolders`)",
    "folder_delta": "folder hierarchy delta (`mailFolders/delta`)",
    "mail_delta": "message delta pages",
    "mail_mime": "MIME downloads (`$value`)",
    "mail_get": "message GETs",
    "mail_attachments": "attachment GETs",
    "contacts": "contacts",
    "calendars": "calendars and events",
    "tasks": "To Do",
    "settings": "mailbox settings and rules",
    "batch": "`$batch`",
    "message_create": "message creates (`POST …/messages`)",
    "folder_create": "folder creates",
    "attachment_add": "attachment adds (`POST …/attachments`)",
    "upload_session": "upload sessions created",
    "upload_chunk": "upload session chunks (`PUT`)",
    "other": "other",
}


def engine_meta(a, machine):
    d = json.load(open(a.results))
    d["commit"] = a.commit
    d["uncommitted_files"] = int(a.dirty or 0)
    if a.dirty_files and os.path.exists(a.dirty_files):
        d["uncommitted_paths"] = sorted({l[3:].strip() for l in open(a.dirty_files) if l.strip()})
    d["profile"] = a.profile
    d["machine"] = machine()
    with open(a.results, "w") as f:
        json.dump(d, f, indent=2)
        f.write("\n")


def _pct(x):
    return f"{100 * x:.2f}%"


def _yes(ok):
    return "yes" if ok else "**no**"


def render_engine(d, analysis=""):
    L = []
    w = L.append
    full = next(r for r in d["runs"] if r["name"] == "full")
    nc = next(r for r in d["runs"] if r["name"] == "no_change")
    th, t, eng, m = d["throttle"], d["tenant"], d["engine"], d.get("machine", {})
    cfg = th["config"]
    ceiling = th["ceiling_per_mailbox_per_s"]
    fm = full["log"]["mailboxes"]
    fr = [x["fraction_of_ceiling"] for x in fm]
    fri = [x["inner_fraction_of_ceiling"] for x in fm if x["inner_fraction_of_ceiling"] is not None]
    fwall, nwall = full["meter"]["wall_s"], nc["meter"]["wall_s"]
    nmb = t["mailboxes_backed_up"]

    w("## Engine against the throttled emulator")
    w("")
    w(f"Measured {d['generated']} on commit `{d.get('commit', 'unknown')}`"
      + (f" with {d['uncommitted_files']} uncommitted files in the tree"
         + (" (" + ", ".join(f"`{p}`" for p in d["uncommitted_paths"]) + ")"
            if d.get("uncommitted_paths") else "")
         if d.get("uncommitted_files") else "")
      + f"; `qcb-bench-engine` built with `cargo build --{d.get('profile', 'release')} -p qcb-bench-engine`"
      " (bench/engine; `bench/run-engine.sh`).")
    w("")

    # ---- goals
    nc_classes = nc["log"]["by_class"]
    non_delta = {k: v for k, v in nc_classes.items() if k not in DELTA_CLASSES}
    w("### Goals (issue 5)")
    w("")
    w("| Goal | Measured | Met? |")
    w("|---|---|---|")
    med_f = statistics.median(fr)
    w(f"| Request rate per mailbox ≥ {RATE_GOAL} of the allowed ceiling | median "
      f"{med_f:.2f} (lowest {min(fr):.2f}, highest {max(fr):.2f}) over {nmb} mailboxes; "
      f"ceiling {ceiling:.1f} requests/s per mailbox | {_yes(min(fr) >= RATE_GOAL)} (median "
      f"{'meets' if med_f >= RATE_GOAL else 'misses'} it) |")
    s429 = full["log"]["share_429"]
    w(f"| Share of requests answered 429 ≤ 1% | {full['log']['throttled_429']:,} of "
      f"{full['log']['requests']:,} = {_pct(s429)} (full run) | {_yes(s429 <= SHARE_429_GOAL)} |")
    w(f"| No-change run: only delta requests | {nc['log']['requests']:,} requests: "
      f"{nc_classes.get('mail_delta', 0):,} message delta pages, "
      f"{nc_classes.get('folder_delta', 0):,} folder hierarchy delta pages, "
      + ", ".join(f"{v:,} {CLASS_NAMES.get(k, k)}" for k, v in non_delta.items())
      + f"; {nc['report']['items_fetched']} items downloaded | {_yes(not non_delta)} |")
    w(f"| No-change run < 2% of the full run's time | {nwall:.2f} s = {_pct(nwall / fwall)} of "
      f"{fwall:.1f} s | {_yes(nwall < NOCHANGE_TIME_GOAL * fwall)} |")
    w(f"| Items per second (no goal) | {full['items_per_s']:.0f} items/s "
      f"({full['report']['items']:,} items, {full['report']['items_fetched']:,} downloaded, in "
      f"{fwall:.1f} s) | |")
    w("")

    # ---- conditions
    w("### Setup and conditions")
    w("")
    w(f"- Tenant: the emulator's generated tenant, seed {t['seed']}, {t['users']} users with "
      f"{t['messages_per_user']:,} messages each; the {nmb} user mailboxes are backed up "
      f"({t['messages']:,} messages, {t['with_attachments']:,} with attachments; the shared "
      f"mailboxes the generator adds are not selected), categories `{eng['categories']}`. The "
      "emulator runs in the benchmark's own process (same tokio runtime) on 127.0.0.1; the "
      "repository is a local folder.")
    w(f"- Throttle (the emulator's `ThrottleConfig`, per app per mailbox): "
      f"{cfg['max_concurrent']} requests in flight, as Exchange; a sliding window of "
      f"{cfg['requests_per_window']:,} requests per {cfg['window_secs']} s nominal, i.e. "
      f"Exchange's 10,000 per 600 s divided by {th['window_div']} (Exchange's long-run rate of "
      f"{th['exchange_nominal_per_s']:.2f} requests/s, the budget rounded down to a whole "
      f"number), "
      + ("in real time (time scale 1)" if cfg["time_scale"] == 1
         else f"with time running {cfg['time_scale']:g}× faster")
      + f": a {th['window_real_s']:.1f} s real window, so the "
      f"**ceiling is {ceiling:.2f} requests/s per mailbox** ({ceiling * nmb:.0f}/s for "
      f"{nmb} mailboxes). Why the window is shortened: a mailbox here sends about "
      f"{statistics.median([x['requests'] for x in fm]):,.0f} requests, which never exhausts "
      "a 10,000-request window however much time is scaled, so with Exchange's own window "
      "only the in-flight limit would ever act; exercising the count limit with the full "
      "window needs well over 10,000 requests per mailbox (over 200,000 for 20 mailboxes), "
      "more than the emulator's request log keeps (100,000) and a run of minutes on this "
      "machine allows. The upload limit (150 MB per 300 s) is shortened the same way but to "
      f"no less than 8 MiB, so an upload session's 3.75 MB chunk fits: "
      f"{cfg['upload_bytes_per_window'] / 2**20:.1f} MiB per {cfg['upload_window_secs']} s "
      "(the same long-run rate); a backup uploads nothing, a restore does.")
    w(f"- Engine: `qcb_engine::backup` with `mailbox_concurrency` {eng['mailbox_concurrency']} "
      f"(every mailbox at once), `requests_per_mailbox` {eng['requests_per_mailbox']}, delta "
      f"page size {eng['page_size']}, the resume spool on, a fresh repository (Argon2id "
      "default parameters), `qcb_graph`'s default retry policy (`Retry-After` obeyed).")
    if m:
        w(f"- Machine: {m.get('nproc')} cores, {m.get('cpu')}; {m.get('ram_gib')} GiB RAM; "
          f"{m.get('os')}, kernel {m.get('kernel')}; {m.get('rustc')}.")
    fmtr, nmtr = full["meter"], nc["meter"]
    w(f"- The machine is shared with other engineers' builds and tests. Load average before "
      f"the full run {fmtr['loadavg_before']}, after it {fmtr['loadavg_after']}; the whole "
      f"machine was {100 * fmtr['machine_busy_fraction']:.0f}% busy during the full run, of "
      f"which this process (emulator and engine) used {fmtr['process_cpu_s']:.1f} CPU-seconds "
      f"in {fwall:.1f} s ({fmtr['process_cpu_s'] / fwall:.2f} cores).")
    w("- Times come from the emulator's request log, which records whole seconds: a mailbox's "
      "active span counts its first and last second whole, so its rate is a slight "
      "underestimate; the \"inner\" rate leaves those two partly used seconds out. One run, "
      "not repeated.")
    w("")

    # ---- full run
    w("### Full backup")
    w("")
    fl = full["log"]
    w(f"{full['report']['items']:,} items in {fwall:.1f} s ({full['items_per_s']:.0f} items/s), "
      f"{full['report']['items_fetched']:,} downloaded, {full['report']['failed']} failed, "
      f"{full['report']['bytes_added'] / 1e6:.1f} MB added to the repository. "
      f"{fl['requests']:,} requests, {fl['throttled_429']:,} answered 429:")
    w("")
    w("| Requests | Full run | No-change run |")
    w("|---|---|---|")
    keys = [k for k in CLASS_NAMES if k in fl["by_class"] or k in nc["log"]["by_class"]]
    for k in keys:
        w(f"| {CLASS_NAMES[k]} | {fl['by_class'].get(k, 0):,} | {nc['log']['by_class'].get(k, 0):,} |")
    w(f"| **total** | **{fl['requests']:,}** | **{nc['log']['requests']:,}** |")
    w(f"| of which 429 | {fl['throttled_429']:,} | {nc['log']['throttled_429']:,} |")
    w("")
    rates = [x["rate_per_s"] for x in fm]
    inner = [x["inner_rate_per_s"] for x in fm if x["inner_rate_per_s"] is not None]
    occ = [x["mean_in_server"] for x in fm]
    steady = [x["steady_rate_per_s"] for x in fm if x.get("steady_rate_per_s") is not None]
    fst = [x["steady_fraction_of_ceiling"] for x in fm
           if x.get("steady_fraction_of_ceiling") is not None]
    spans = [x["span_s"] for x in fm]
    thr = [x["throttled_429"] for x in fm]
    w(f"Per mailbox (median, lowest, highest of {nmb}):")
    w("")
    w("| Per mailbox | Median | Lowest | Highest |")
    w("|---|---|---|---|")
    for label, xs, f in (
        ("admitted requests", [x["admitted"] for x in fm], "{:,.0f}"),
        ("active span, s", spans, "{:.0f}"),
        ("requests/s over the span", rates, "{:.2f}"),
        ("fraction of the ceiling", fr, "{:.2f}"),
        ("requests/s, inner seconds only", inner, "{:.2f}"),
        ("fraction of the ceiling, inner seconds only", fri, "{:.2f}"),
        ("requests/s after the first window (steady state)", steady, "{:.2f}"),
        ("fraction of the ceiling, steady state", fst, "{:.2f}"),
        ("answered 429", thr, "{:,.0f}"),
        ("requests in flight on average: the emulator's answer times (whole ms) summed over the span", occ, "{:.2f}"),
    ):
        if xs:
            w(f"| {label} | {f.format(statistics.median(xs))} | {f.format(min(xs))} | "
              f"{f.format(max(xs))} |")
    w("")
    tl = fl.get("timeline_requests_and_429_per_s", [])
    if tl:
        w("<details><summary>Requests per second, all mailboxes (429s in brackets)</summary>")
        w("")
        w("```text")
        row = []
        for i, (n, k) in enumerate(tl):
            row.append(f"{n}" + (f"[{k}]" if k else ""))
            if len(row) == 15 or i == len(tl) - 1:
                w(f"{i - len(row) + 1:>4}s: " + " ".join(row))
                row = []
        w("```")
        w("")
        w("</details>")
        w("")

    # ---- naive comparison
    w("### Requests per mailbox: ours against the simplest correct approach")
    w("")
    truth = {x["mailbox_id"]: x for x in t["per_mailbox"]}
    n = len(fm)

    def mean(xs):
        return sum(xs) / n if n else 0

    def ours(run, k):
        return mean([x["by_class"].get(k, 0) for x in run["log"]["mailboxes"]])

    def folder_reqs(run):
        return ours(run, "mail_folders") + ours(run, "folder_delta")

    folders_full = mean([truth[x["mailbox_id"]].get("folder_listing", 0) for x in fm])
    pages = mean([truth[x["mailbox_id"]]["list_pages"] for x in fm])
    items = mean([truth[x["mailbox_id"]]["messages"] for x in fm])
    att = mean([truth[x["mailbox_id"]]["with_attachments"] for x in fm])
    ps = d["naive_page_size"]
    w(f"Mean per mailbox ({items:,.0f} messages, {att:,.0f} with attachments). *Simplest "
      f"correct approach*: list every folder (the top level, then the children of each "
      f"folder that has some), list each "
      f"folder's messages in pages of {ps} (the page size of our delta), GET every message, and "
      "GET the attachments of every message that has some; it keeps no state, so every run "
      "does all of it again. The *changeKey* variant lists everything but GETs only messages "
      "whose changeKey it has not seen. Counted from the emulator's tenant, not run. 429 "
      "answers are not counted here.")
    w("")
    w("| Per mailbox | Folder listing | List / delta pages | Item GETs | Attachment GETs | Total |")
    w("|---|---|---|---|---|---|")

    def row(label, f, p, i, a_):
        w(f"| {label} | {f:,.1f} | {p:,.1f} | {i:,.1f} | {a_:,.1f} | **{f + p + i + a_:,.1f}** |")

    row("Simplest approach, first run", folders_full, pages, items, att)
    f429 = mean([x["throttled_429"] for x in fm])
    o_full = (folder_reqs(full), ours(full, "mail_delta"), ours(full, "mail_mime"),
              ours(full, "mail_attachments"))
    row("**Ours, full run**", *o_full)
    row("Simplest approach, no-change run", folders_full, pages, items, att)
    row("changeKey variant, no-change run", folders_full, pages, 0, 0)
    o_nc = (folder_reqs(nc), ours(nc, "mail_delta"), ours(nc, "mail_mime"),
            ours(nc, "mail_attachments"))
    row("**Ours, no-change run**", *o_nc)
    w("")
    naive_full = folders_full + pages + items + att
    w(f"Ours (the rows include {f429:,.1f} retried 429 answers per mailbox in the full run) "
      f"send {sum(o_full) / naive_full:.2f}× the simplest approach's requests on a first run "
      f"(the MIME source carries the attachments, so no attachment requests) and "
      f"{sum(o_nc) / naive_full:.3f}× on a no-change run ({sum(o_nc):,.1f} against "
      f"{naive_full:,.1f}; {sum(o_nc) / (folders_full + pages):.2f}× the changeKey "
      "variant, whose listing pages our delta replaces with one empty page per folder, and "
      "whose folder listing our hierarchy delta replaces with one page). The folder columns "
      "count our `mailFolders/delta` pages (and any listing); the simplest approach's listing "
      "is counted from the tenant's tree. "
      f"`$batch`: {fl['by_class'].get('batch', 0)} batches in the full run, "
      f"{nc['log']['by_class'].get('batch', 0)} "
      "in the no-change run: the mailboxes named in the set are looked up twenty to a batch "
      "(the sub-requests are counted as user lookups; Exchange counts each against its "
      "mailbox's limits, so a batch saves round trips, not budget). Mail itself is not "
      "batched: MIME sources are streamed, and an empty delta page is already one request.")
    w("")
    rs = next((r for r in d["runs"] if r["name"] == "restore"), None)
    if rs:
        render_restore(w, rs, th, eng)
    if analysis:
        w(analysis.rstrip())
        w("")
    w("Reproduce (about 3 minutes here; builds `qcb-bench-engine` in release):")
    w("")
    w("```sh")
    w("bench/run-engine.sh      # USERS=20 MESSAGES=2000 SCALE=1.5 WINDOW_DIV=20 CATEGORIES=mail")
    w("```")
    w("")
    return "\n".join(L)


def render_restore(w, rs, th, eng):
    """The restore run: every mailbox restored into a new folder of its own."""
    cfg, rl, rep = th["config"], rs["log"], rs["report"]
    ms = rl["mailboxes"]
    wall = rs["meter"]["wall_s"]
    bind = [x["binding_fraction_of_ceiling"] for x in ms]
    req = [x["fraction_of_ceiling"] for x in ms]
    up = [x["upload_fraction_of_ceiling"] for x in ms]
    steady = [x["steady_fraction_of_ceiling"] for x in ms
              if x.get("steady_fraction_of_ceiling") is not None]
    up_ceiling = th.get("upload_ceiling_per_mailbox_bytes_per_s", 0)
    w("### Restore (issue 6)")
    w("")
    w(f"Right after the backups, `qcb_engine::restore_mailboxes` restores the snapshot's "
      f"{rep['mailboxes']} mailboxes, each into a new folder of its own (`--to folder`), "
      f"{eng['mailbox_concurrency']} at once, with the same client (the same "
      "per-mailbox request budget) against the same throttle, started afresh. Each message is "
      "created as a received message with its properties and attachments; larger attachments "
      "go through upload sessions. The ceiling is whichever of Exchange's two per-mailbox "
      f"limits binds: {th['ceiling_per_mailbox_per_s']:.2f} requests/s, or "
      f"{up_ceiling / 1e6:.2f} MB/s of request bodies.")
    w("")
    w("| Goal | Measured | Met? |")
    w("|---|---|---|")
    med = statistics.median(bind)
    w(f"| Restore rate ≥ {RESTORE_RATE_GOAL} of the allowed ceiling (the binding limit per "
      f"mailbox) | median {med:.2f} (lowest {min(bind):.2f}, highest {max(bind):.2f}) over "
      f"{len(ms)} mailboxes | {_yes(min(bind) >= RESTORE_RATE_GOAL)} |")
    w(f"| Every item restored | {rep['items_restored']:,} restored, {rep['failed']} failed"
      + ("".join(f"; {f['folder']}: {f['reason']}" for f in rep.get("failures", [])))
      + f" | {_yes(rep['failed'] == 0)} |")
    w(f"| Items per second (no goal) | {rs['items_per_s']:.0f} items/s ({wall:.1f} s, "
      f"{rep['folders_created']:,} folders created) | |")
    w("")
    w("| Per mailbox | Median | Lowest | Highest |")
    w("|---|---|---|---|")
    for label, xs, f in (
        ("fraction of the request ceiling", req, "{:.2f}"),
        ("fraction of the request ceiling, steady state", steady, "{:.2f}"),
        ("fraction of the upload ceiling", up, "{:.2f}"),
        ("fraction of the binding ceiling", bind, "{:.2f}"),
        ("MB uploaded", [x["upload_bytes"] / 1e6 for x in ms], "{:.1f}"),
        ("answered 429", [x["throttled_429"] for x in ms], "{:,.0f}"),
    ):
        if xs:
            w(f"| {label} | {f.format(statistics.median(xs))} | {f.format(min(xs))} | "
              f"{f.format(max(xs))} |")
    w("")
    w(f"{rl['requests']:,} requests, {rl['throttled_429']:,} answered 429 "
      f"({_pct(rl['share_429'])}): "
      + ", ".join(f"{v:,} {CLASS_NAMES.get(k, k)}" for k, v in sorted(rl["by_class"].items()))
      + ". The client keeps the request budget itself but not the upload one; every 429 is "
      "waited out (its `Retry-After`, the whole mailbox held) and the request sent again. "
      "The request log does not record which limit a 429 was for.")
    w("")
