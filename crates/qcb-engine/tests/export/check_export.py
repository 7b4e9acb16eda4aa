#!/usr/bin/env python3
"""Parses an export with independent parsers and checks it against what the tenant holds.

Usage: check_export.py <export folder or .zip file> <expected.json>

Every .eml is parsed with Python's `email` package, every .mbox with `mailbox.mbox`, every .ics
with `icalendar` and every .vcf with `vobject`. What they find (counts, subjects, recurrence
rules, cancelled and modified occurrences, contact names and addresses, task titles) must equal
expected.json, which the Rust test writes from the emulator's own records. Prints a summary as
JSON; exits 1 with the differences when anything does not match.
"""

import collections
import datetime
import email
import email.policy
import json
import mailbox
import pathlib
import sys
import tempfile
import zipfile

import icalendar
import vobject


def local_date(value) -> str:
    """The date of a DATE or DATE-TIME value in its own zone (Exchange's "original local date")."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return value.isoformat()


def utc_text(value) -> str:
    """A DATE-TIME as UTC (`2026-10-12T07:15:00Z`), a DATE as itself."""
    if isinstance(value, datetime.datetime):
        assert value.tzinfo is not None, "a floating time"
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    if root.suffix == ".zip":
        tmp = tempfile.TemporaryDirectory()
        with zipfile.ZipFile(root) as z:
            assert z.testzip() is None, "a damaged zip entry"
            for name in z.namelist():
                assert not name.startswith("/") and ".." not in name.split("/"), name
            z.extractall(tmp.name)
        root = pathlib.Path(tmp.name)
    expected = json.loads(pathlib.Path(sys.argv[2]).read_text(encoding="utf-8"))
    found = {
        "subjects": [],
        "eml_files": 0,
        "mbox_files": 0,
        "events": [],
        "series": {},
        "tasks": [],
        "contacts": [],
        "emails": [],
        "photos": 0,
    }
    for path in sorted(root.rglob("*")):
        if path.is_dir():
            continue
        suffix = path.suffix.lower()
        if suffix == ".eml":
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert msg["Message-ID"] is not None or msg["Subject"] is not None, path
            found["subjects"].append(str(msg["Subject"] or ""))
            found["eml_files"] += 1
        elif suffix == ".mbox":
            box = mailbox.mbox(str(path), create=False)
            for key in box.keys():
                from_line = box.get_message(key).get_from()
                assert from_line and " " in from_line, (path, from_line)
                parsed = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
                found["subjects"].append(str(parsed["Subject"] or ""))
            box.close()
            found["mbox_files"] += 1
        elif suffix == ".ics":
            cal = icalendar.Calendar.from_ical(path.read_bytes())
            for ev in cal.walk("VEVENT"):
                uid = str(ev.get("UID"))
                s = found["series"].setdefault(
                    uid, {"rrule": None, "exdates": [], "overrides": [], "start": None}
                )
                if ev.get("RECURRENCE-ID") is not None:
                    s["overrides"].append(local_date(ev.decoded("RECURRENCE-ID")))
                    continue
                found["events"].append(str(ev.get("SUMMARY", "")))
                assert ev.get("DTSTART") is not None, (path, uid)
                s["start"] = utc_text(ev.decoded("DTSTART"))
                rrule = ev.get("RRULE")
                if rrule is not None:
                    s["rrule"] = rrule["FREQ"][0]
                exdates = ev.get("EXDATE")
                if exdates is not None:
                    for ex in exdates if isinstance(exdates, list) else [exdates]:
                        s["exdates"].extend(local_date(d.dt) for d in ex.dts)
            for todo in cal.walk("VTODO"):
                found["tasks"].append(str(todo.get("SUMMARY", "")))
        elif suffix == ".vcf":
            for card in vobject.readComponents(path.read_text(encoding="utf-8")):
                found["contacts"].append(card.fn.value)
                for e in card.contents.get("email", []):
                    found["emails"].append(e.value)
                if "photo" in card.contents:
                    data = card.photo.value
                    assert isinstance(data, bytes) and len(data) > 8, path
                    found["photos"] += 1
    # Only series (with an RRULE) are compared for recurrence details.
    found["series"] = {
        u: dict(s, exdates=sorted(s["exdates"]), overrides=sorted(s["overrides"]))
        for u, s in found["series"].items()
        if s["rrule"] is not None
    }

    problems = []

    def same_multiset(key):
        want = collections.Counter(expected[key])
        got = collections.Counter(found[key])
        if want != got:
            problems.append(
                f"{key}: missing {sorted((want - got).elements())}, "
                f"unexpected {sorted((got - want).elements())}"
            )

    for key in ("subjects", "events", "tasks", "contacts", "emails"):
        if key in expected:
            same_multiset(key)
    for key in ("eml_files", "mbox_files", "photos"):
        if key in expected and expected[key] != found[key]:
            problems.append(f"{key}: expected {expected[key]}, found {found[key]}")
    # Per series: `rrule` is a FREQ or true (any rule); exdates and overrides are the original
    # local dates of the cancelled and modified occurrences; start is the first start in UTC.
    if "series" in expected:
        if set(expected["series"]) != set(found["series"]):
            problems.append(
                f"series: expected UIDs {sorted(expected['series'])}, found {sorted(found['series'])}"
            )
        for uid, want in expected["series"].items():
            got = found["series"].get(uid, {})
            for k, v in want.items():
                ok = got.get(k) is not None if v is True else got.get(k) == v
                if not ok:
                    problems.append(f"series {uid}: {k} expected {v}, found {got.get(k)}")

    summary = {k: (len(v) if isinstance(v, list) else v) for k, v in found.items()}
    summary["series"] = found["series"]
    print(json.dumps(summary, sort_keys=True))
    if problems:
        for p in problems:
            print("MISMATCH " + p, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
