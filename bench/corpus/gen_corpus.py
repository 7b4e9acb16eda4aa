#!/usr/bin/env python3
"""Deterministic corpus of real-looking mailboxes as .eml files, for the ingest benchmark.

    gen_corpus.py generate --out DIR [--messages 20000] [--seed 1]
    gen_corpus.py change   --out DIR [--percent 1.0] [--new 0.1] [--seed 2]

`generate` writes DIR/mailboxes/<user>/<Folder>[/<Subfolder>]/<n>.eml plus DIR/corpus.json
(parameters and totals; outside mailboxes/, which is what the tools back up). Everything is a
function of the seed and the message count: the same command makes the same bytes, and file
mtimes are set to each message's Date.

What is in it, so that compression and deduplication behave as on real mail:
- plain-text and multipart/alternative (text + HTML) bodies from a vocabulary of business
  prose, quoted-printable where non-ASCII; threads with In-Reply-To/References and quoted
  history; RFC 2047 encoded unicode subjects and display names;
- attachments from 1 KB to several MB, base64: pdf-like and png/jpg (incompressible random
  bytes inside real-looking headers), docx/xlsx-like (real zip archives of XML), and
  compressible text (csv, txt, ics); inline images (multipart/related, cid:);
- a pool of "shared" files (a board deck, a policy PDF, ...) mailed to many people: the same
  attachment bytes inside different headers and bodies, in many mailboxes.

`change` modifies about --percent of the messages in place (a header added and a line of body
text changed, so size and mtime change) and adds --new percent new messages, the way a mailbox
changes between two daily backups.
"""

import argparse
import base64
import hashlib
import io
import json
import os
import quopri
import random
import sys
import time
import zipfile
from datetime import datetime, timedelta, timezone

FIRST = ["Anna", "Ben", "Chloé", "David", "Émilie", "Felix", "Greta", "Hiro", "Ines", "Jonas",
         "Katarzyna", "Liam", "María", "Noah", "Olga", "Pierre", "Quinn", "Rüdiger", "Sofía",
         "Tomás", "Ursula", "Victor", "Wei", "Xenia", "Yusuf", "Zoë", "Åsa", "Björn", "Ngozi",
         "Priya", "Søren", "Łukasz", "Jürgen", "François", "Dmitri", "Aiko", "Mateo", "Fatima",
         "Hannah", "Oliver"]
LAST = ["Müller", "Smith", "García", "Nguyen", "Kowalski", "Dubois", "Rossi", "Tanaka",
        "Johansson", "O'Brien", "Schröder", "Andersen", "Fernández", "Novák", "Papadopoulos",
        "Kim", "Ivanova", "Okafor", "Silva", "Brennan", "Weiß", "Lefèvre", "Horváth", "Yılmaz",
        "Chen", "Patel", "Larsen", "Jovanović", "Costa", "Walsh"]
UNICODE_NAMES = ["山田 太郎", "李小龙", "Ωμέγα Παπαδάκης", "Иван Петров", "محمد علي", "김민수",
                 "Zoë Ångström", "Łucja Żak"]
DOMAINS = ["contoso.com", "fabrikam.com", "northwind.example", "tailspin.example",
           "adventure-works.example", "litware.example", "woodgrove.example"]
TOPICS = ["Q3 budget review", "Project Falcon kickoff", "Onboarding checklist", "Vendor contract",
          "Board meeting minutes", "Travel approval", "Security incident follow-up",
          "Marketing plan 2027", "Customer escalation", "Release 4.2 schedule", "Office move",
          "Quarterly sales figures", "Hiring plan", "Audit findings", "Data retention policy",
          "Offsite agenda", "Price list update", "Invoice 10-2231", "Weekly status",
          "Lunch on Friday?", "Résumé des réunions", "Präsentation für Montag",
          "Échéancier du projet", "会議の議事録", "项目进度更新", "Предложение по бюджету",
          "Αναφορά πωλήσεων", "Reunión de planificación", "Kundenfeedback Q2",
          "Revisión del contrato ✅", "Launch 🚀 checklist"]
VERBS = ["review", "approve", "update", "schedule", "discuss", "finalise", "share", "prepare",
         "confirm", "forward", "escalate", "summarise", "track", "reconcile", "draft", "sign"]
NOUNS = ["budget", "proposal", "contract", "forecast", "invoice", "deck", "timeline",
         "roadmap", "spreadsheet", "agenda", "minutes", "report", "policy", "estimate",
         "requirements", "purchase order", "statement of work", "action items", "KPIs",
         "headcount plan", "risk register", "release notes", "customer list", "SLA"]
ADJ = ["updated", "final", "revised", "preliminary", "quarterly", "annual", "draft", "signed",
       "internal", "confidential", "latest", "consolidated", "approved", "detailed"]
TIMES = ["by Friday", "before the meeting", "next week", "end of day", "tomorrow morning",
         "this quarter", "as soon as possible", "before we send it to the client",
         "ahead of the board meeting", "when you get a chance"]
OPENERS = ["Hi {n},", "Hello {n},", "Dear {n},", "Hi all,", "Good morning {n},", "{n},",
           "Hallo {n},", "Bonjour {n},", "Hola {n},"]
CLOSERS = ["Best regards,", "Thanks,", "Cheers,", "Kind regards,", "Many thanks,",
           "Mit freundlichen Grüßen,", "Cordialement,", "Saludos,"]
EXTRA = ["Les chiffres sont en pièce jointe.", "Die Zahlen für das dritte Quartal sind fertig.",
         "¿Podemos hablar mañana a las 10?", "詳細は添付ファイルをご覧ください。",
         "请在周五之前回复。", "Пожалуйста, проверьте цифры.", "Ευχαριστώ για τη βοήθεια.",
         "Let me know if anything is unclear — happy to walk through it.",
         "The numbers moved by about 4% since last week; most of it is currency effects.",
         "I have copied legal so they can check the liability clause (§ 7.2)."]
FOLDERS = [("Inbox", 40), ("Inbox/Projects", 8), ("Inbox/Customers", 6), ("Sent Items", 18),
           ("Archive", 12), ("Archive/2025", 6), ("Deleted Items", 4), ("Newsletters", 4),
           ("Drafts", 2)]
EPOCH = datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)
SPAN_DAYS = 690


def sentence(r):
    k = r.random()
    if k < 0.1:
        return r.choice(EXTRA)
    if k < 0.5:
        return (f"Could you please {r.choice(VERBS)} the {r.choice(ADJ)} {r.choice(NOUNS)} "
                f"{r.choice(TIMES)}?")
    if k < 0.75:
        return (f"I have {r.choice(VERBS)}d the {r.choice(NOUNS)} and the {r.choice(ADJ)} "
                f"{r.choice(NOUNS)}; {r.randint(2, 97)} items are still open.")
    return (f"The {r.choice(ADJ)} {r.choice(NOUNS)} for {r.choice(TOPICS)} is attached, "
            f"we need to {r.choice(VERBS)} it {r.choice(TIMES)} (ref. {r.randint(1000, 99999)}).")


def paragraphs(r, n):
    return ["  ".join(sentence(r) for _ in range(r.randint(1, 5))) for _ in range(n)]


def enc_word(s):
    """RFC 2047 encoded-word when needed."""
    try:
        s.encode("ascii")
        return s
    except UnicodeEncodeError:
        return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?="


def addr(name, email):
    n = enc_word(name)
    if n == name and any(c in name for c in ",.'\""):
        n = '"' + name.replace('"', "") + '"'
    return f"{n} <{email}>"


def b64(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n").decode("ascii")


def qp(text):
    return quopri.encodestring(text.encode("utf-8")).decode("ascii").replace("\n", "\r\n")


# ---------------------------------------------------------------- attachment bytes

def pdf_like(r, size):
    head = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Count 1 /Kids [3 0 R] >>\nendobj\n"
            b"4 0 obj\n<< /Length " + str(size).encode() + b" /Filter /FlateDecode >>\nstream\n")
    tail = b"\nendstream\nendobj\nxref\n0 5\ntrailer\n<< /Size 5 /Root 1 0 R >>\n%%EOF\n"
    return head + r.randbytes(max(0, size - len(head) - len(tail))) + tail


def png_like(r, size):
    return (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + r.randbytes(17) + b"IDAT"
            + r.randbytes(max(0, size - 45)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def jpg_like(r, size):
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + r.randbytes(max(0, size - 22)) + b"\xff\xd9")


def office_like(r, size, kind):
    """A real zip (docx/xlsx) of XML parts: deflated text plus an embedded image."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://'
                   'schemas.openxmlformats.org/package/2006/content-types"/>')
        body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>"
                       for p in paragraphs(r, max(3, size // 2500)))
        z.writestr("word/document.xml" if kind == "docx" else "xl/worksheets/sheet1.xml",
                   f'<?xml version="1.0" encoding="UTF-8"?><w:document><w:body>{body}'
                   f"</w:body></w:document>")
        z.writestr("word/media/image1.png" if kind == "docx" else "xl/media/image1.png",
                   png_like(r, max(1000, size * 2 // 3)), compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


def text_like(r, size, kind):
    out, n = [], 0
    if kind == "csv":
        out.append("date,region,product,units,revenue,owner\n")
        while n < size:
            line = (f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d},"
                    f"{r.choice(['EMEA', 'APAC', 'NA', 'LATAM'])},{r.choice(NOUNS)},"
                    f"{r.randint(1, 900)},{r.randint(100, 99999)}.{r.randint(0, 99):02d},"
                    f"{r.choice(FIRST)} {r.choice(LAST)}\n")
            out.append(line)
            n += len(line)
    elif kind == "ics":
        out.append("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Contoso//Outlook//EN\r\n")
        while n < size:
            ev = (f"BEGIN:VEVENT\r\nUID:{r.getrandbits(64):016x}@contoso.com\r\n"
                  f"DTSTART:2026{r.randint(1, 12):02d}{r.randint(1, 28):02d}T{r.randint(7, 18):02d}0000Z\r\n"
                  f"SUMMARY:{r.choice(TOPICS)}\r\nDESCRIPTION:{sentence(r)}\r\nEND:VEVENT\r\n")
            out.append(ev)
            n += len(ev)
        out.append("END:VCALENDAR\r\n")
    else:
        while n < size:
            p = "  ".join(sentence(r) for _ in range(4)) + "\n\n"
            out.append(p)
            n += len(p)
    return "".join(out).encode("utf-8")


ATT_TYPES = [  # (extension, mime type, weight)
    ("pdf", "application/pdf", 30),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 15),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 10),
    ("png", "image/png", 12), ("jpg", "image/jpeg", 15), ("csv", "text/csv", 7),
    ("txt", "text/plain", 6), ("ics", "text/calendar", 5),
]


def make_attachment(r, ext, size):
    if ext == "pdf":
        return pdf_like(r, size)
    if ext in ("docx", "xlsx"):
        return office_like(r, size, ext)
    if ext == "png":
        return png_like(r, size)
    if ext == "jpg":
        return jpg_like(r, size)
    return text_like(r, size, ext)


def att_size(r):
    """1 KB .. several MB, log-uniform-ish with most attachments small."""
    k = r.random()
    if k < 0.66:
        return r.randint(1_000, 30_000)
    if k < 0.93:
        return r.randint(30_000, 200_000)
    if k < 0.995:
        return r.randint(200_000, 800_000)
    return r.randint(1_000_000, 5_000_000)


class SharedPool:
    """Files mailed to many people: the same bytes (and base64 text) in many messages."""

    def __init__(self, seed, count):
        r = random.Random(f"{seed}-shared")
        self.items = []
        names = ["Board deck", "Travel policy", "Benefits overview", "All-hands slides",
                 "Brand guidelines", "Price list", "Org chart", "Security training",
                 "Annual report", "Product brochure", "Holiday calendar", "Expense template"]
        for i in range(count):
            ext, mime, _ = r.choices(ATT_TYPES[:5], weights=[35, 20, 15, 10, 20])[0]
            size = r.choice([r.randint(200_000, 900_000), r.randint(900_000, 2_500_000),
                             r.randint(2_500_000, 5_000_000)])
            data = make_attachment(r, ext, size)
            name = f"{names[i % len(names)]} v{1 + i // len(names)}.{ext}"
            self.items.append((name, mime, b64(data), len(data)))


# ---------------------------------------------------------------- messages

def make_people(seed, count):
    r = random.Random(f"{seed}-people")
    people, seen = [], set()
    while len(people) < count:
        if r.random() < 0.08:
            name = r.choice(UNICODE_NAMES)
        else:
            name = f"{r.choice(FIRST)} {r.choice(LAST)}"
        local = "".join(c for c in name.lower().replace(" ", ".")
                        if c.isascii() and (c.isalnum() or c == "."))
        email = f"{local or 'user'}{r.randint(1, 99) if r.random() < 0.5 else ''}@{r.choice(DOMAINS)}"
        if email in seen:
            continue
        seen.add(email)
        people.append((name, email))
    return people


def body_text(r, to_name, me_name, quoted):
    lines = [r.choice(OPENERS).format(n=to_name.split()[0]), ""]
    lines += sum(([p, ""] for p in paragraphs(r, r.randint(1, 6))), [])
    lines += [r.choice(CLOSERS), me_name]
    if r.random() < 0.4:
        lines += ["", "--", f"{me_name} | {r.choice(['Finance', 'Sales', 'Engineering', 'Legal', 'HR'])}",
                  "This e-mail and any attachments are confidential and may be privileged. If you "
                  "are not the intended recipient, please notify the sender and delete it."]
    if quoted:
        lines += ["", f"-----Original Message-----"] + ["> " + q for q in quoted.splitlines()]
    return "\r\n".join(lines) + "\r\n"


def html_of(text, cids):
    esc = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    paras = "".join(f'<p style="margin:0 0 8px 0;font-family:Calibri,sans-serif;font-size:11pt">'
                    f"{p.replace(chr(13) + chr(10), '<br>')}</p>\r\n"
                    for p in esc.split("\r\n\r\n"))
    imgs = "".join(f'<img src="cid:{c}" width="120" height="40" alt="logo">' for c in cids)
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            '<style>p.MsoNormal{margin:0;}</style></head>\r\n<body lang="EN-US">\r\n'
            f"{paras}{imgs}\r\n</body></html>\r\n")


def text_part(ctype, text):
    try:
        text.encode("ascii")
        return (f"Content-Type: {ctype}; charset=\"us-ascii\"\r\n"
                f"Content-Transfer-Encoding: 7bit\r\n\r\n{text}")
    except UnicodeEncodeError:
        return (f"Content-Type: {ctype}; charset=\"utf-8\"\r\n"
                f"Content-Transfer-Encoding: quoted-printable\r\n\r\n{qp(text)}")


def boundary(r):
    return f"_{r.getrandbits(64):016x}_{r.getrandbits(32):08x}_"


def multipart(sub, bnd, parts):
    out = [f"Content-Type: multipart/{sub};\r\n\tboundary=\"{bnd}\"\r\n\r\n"]
    for p in parts:
        out.append(f"--{bnd}\r\n{p}\r\n")
    out.append(f"--{bnd}--\r\n")
    return "".join(out)


def attachment_part(name, mime, b64text, inline_cid=None):
    fn = enc_word(name)
    disp = "inline" if inline_cid else "attachment"
    cid = f"Content-ID: <{inline_cid}>\r\n" if inline_cid else ""
    return (f"Content-Type: {mime}; name=\"{fn}\"\r\nContent-Description: {fn}\r\n"
            f"Content-Disposition: {disp}; filename=\"{fn}\"\r\n{cid}"
            f"Content-Transfer-Encoding: base64\r\n\r\n{b64text}")


class Generator:
    def __init__(self, seed, messages):
        self.seed, self.messages = seed, messages
        self.users = make_people(seed, max(4, messages // 500))
        self.contacts = make_people(seed + 7919, 400)
        self.shared = SharedPool(seed, 12)
        self.threads = {}  # thread key -> (subject, [(message-id, text)])

    def folder_for(self, r):
        return r.choices([f for f, _ in FOLDERS], weights=[w for _, w in FOLDERS])[0]

    def message(self, i):
        """Message number i: (user index, folder, bytes, date). Deterministic in the seed when
        messages are made in order (threads quote earlier messages)."""
        r = random.Random(f"{self.seed}-msg-{i}")
        uidx = i % len(self.users)
        me_name, me_email = self.users[uidx]
        folder = self.folder_for(r)
        other = r.choice(self.contacts if r.random() < 0.6 else self.users)
        sent = folder in ("Sent Items", "Drafts")
        frm, to = ((me_name, me_email), other) if sent else (other, (me_name, me_email))
        date = EPOCH + timedelta(seconds=int(SPAN_DAYS * 86400 * i / max(1, self.messages))
                                 + r.randint(0, 3600))
        # Threads: about half the messages reply to an earlier one on the same topic.
        tkey = r.randint(0, max(1, self.messages // 6))
        thread = self.threads.get(tkey)
        refs, quoted = [], ""
        if thread and r.random() < 0.7:
            subject = "RE: " + thread[0] if r.random() < 0.85 else "FW: " + thread[0]
            refs = [m for m, _ in thread[1]][-8:]
            quoted = thread[1][-1][1] if r.random() < 0.8 else ""
        else:
            subject = r.choice(TOPICS) + (f" ({r.randint(1, 40)})" if r.random() < 0.5 else "")
        domain = me_email.split("@")[1]
        msgid = f"<{r.getrandbits(96):024x}.{i}@{domain}>"
        text = body_text(r, to[0], frm[0], quoted)
        base_subject = subject.removeprefix("RE: ").removeprefix("FW: ")
        entry = self.threads.setdefault(tkey, (base_subject, []))
        entry[1].append((msgid, text[:1500]))
        del entry[1][:-10]

        # Attachments.
        atts = []
        k = r.random()
        if k < 0.16:
            for _ in range(r.choices([1, 2, 3, 4], weights=[80, 15, 4, 1])[0]):
                ext, mime, _ = r.choices(ATT_TYPES, weights=[w for *_, w in ATT_TYPES])[0]
                data = make_attachment(r, ext, att_size(r))
                atts.append((f"{r.choice(ADJ).title()} {r.choice(NOUNS)} {r.randint(1, 999)}.{ext}",
                             mime, b64(data)))
        if r.random() < 0.004:  # a file mailed to many people
            name, mime, b64text, _ = r.choice(self.shared.items)
            atts.append((name, mime, b64text))
        inline = []
        html = r.random() < 0.65
        if html and r.random() < 0.25:
            cid = f"image{r.randint(1, 9):03d}.png@01DB{r.getrandbits(32):08X}"
            # Company logos repeat across messages; screenshots do not.
            if r.random() < 0.6:
                lr = random.Random(f"{self.seed}-logo-{domain}")
                inline.append((cid, "image/png", b64(png_like(lr, 6_000))))
            else:
                inline.append((cid, "image/png", b64(png_like(r, r.randint(20_000, 250_000)))))

        # Assemble.
        if html:
            alt = multipart("alternative", boundary(r),
                            [text_part("text/plain", text),
                             text_part("text/html", html_of(text, [c for c, _, _ in inline]))])
            if inline:
                body = multipart("related", boundary(r),
                                 [alt] + [attachment_part(f"{c.split('@')[0]}", m, d, c)
                                          for c, m, d in inline])
            else:
                body = alt
        else:
            body = text_part("text/plain", text)
        if atts:
            body = multipart("mixed", boundary(r), [body] + [attachment_part(*a) for a in atts])
        hdr = [
            f"Received: from {r.choice(['EUR03', 'NAM12', 'APC01'])}-{r.randint(100, 999)}.prod.outlook.com "
            f"({r.randint(10, 250)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}) by "
            f"mail.{domain} with Microsoft SMTP Server; {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
            f"From: {addr(*frm)}",
            f"To: {addr(*to)}",
        ]
        if r.random() < 0.3:
            hdr.append("Cc: " + ", ".join(addr(*r.choice(self.contacts)) for _ in range(r.randint(1, 4))))
        hdr += [
            f"Subject: {enc_word(subject)}",
            f"Date: {date.strftime('%a, %d %b %Y %H:%M:%S +0000')}",
            f"Message-ID: {msgid}",
        ]
        if refs:
            hdr += [f"In-Reply-To: {refs[-1]}", "References: " + "\r\n ".join(refs)]
        hdr += ["MIME-Version: 1.0", "Content-Language: en-US",
                f"Thread-Index: {base64.b64encode(r.randbytes(22)).decode()}",
                f"X-MS-Exchange-Organization-SCL: {r.choice([-1, 0, 1])}"]
        data = ("\r\n".join(hdr) + "\r\n" + body).encode("utf-8")
        return uidx, folder, data, date

    def user_dir(self, uidx):
        return self.users[uidx][1].split("@")[0]


def write_message(root, gen, i):
    uidx, folder, data, date = gen.message(i)
    d = os.path.join(root, "mailboxes", gen.user_dir(uidx), *folder.split("/"))
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"{i}.eml")
    with open(path, "wb") as f:
        f.write(data)
    ts = date.timestamp()
    os.utime(path, (ts, ts))
    return len(data)


def tree_totals(root):
    files = size = 0
    for dp, _, fns in os.walk(os.path.join(root, "mailboxes")):
        for fn in fns:
            files += 1
            size += os.path.getsize(os.path.join(dp, fn))
    return files, size


def cmd_generate(a):
    if os.path.exists(os.path.join(a.out, "mailboxes")):
        sys.exit(f"{a.out}/mailboxes exists; remove it first")
    t0 = time.time()
    gen = Generator(a.seed, a.messages)
    total = 0
    for i in range(a.messages):
        total += write_message(a.out, gen, i)
        if (i + 1) % 2000 == 0:
            print(f"  {i + 1} messages, {total / 1e6:.0f} MB", file=sys.stderr)
    files, size = tree_totals(a.out)
    info = {"seed": a.seed, "messages": a.messages, "users": len(gen.users), "files": files,
            "bytes": size, "shared_files": len(gen.shared.items),
            "shared_bytes": sum(s for *_, s in gen.shared.items), "changes": [],
            "generator_sha256": hashlib.sha256(open(__file__, "rb").read()).hexdigest()}
    with open(os.path.join(a.out, "corpus.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(f"{files} files, {size / 1e6:.1f} MB in {time.time() - t0:.0f} s", file=sys.stderr)


def cmd_change(a):
    with open(os.path.join(a.out, "corpus.json")) as f:
        info = json.load(f)
    r = random.Random(f"change-{a.seed}")
    paths = []
    for dp, dns, fns in os.walk(os.path.join(a.out, "mailboxes")):
        dns.sort()
        paths += [os.path.join(dp, fn) for fn in sorted(fns)]
    changed = r.sample(paths, max(1, round(len(paths) * a.percent / 100)))
    for p in changed:
        with open(p, "rb") as f:
            data = f.read()
        # A header added (as a transport rule or a client would) and a body line edited.
        data = (f"X-MS-Exchange-Processed-By-Journaling: Journal Agent {r.randint(1, 9999)}\r\n"
                .encode() + data)
        pos = data.find(b"\r\n\r\n")
        data = data[:pos + 4] + f"[Edited {r.randint(1, 31)} Nov] ".encode() + data[pos + 4:]
        with open(p, "wb") as f:
            f.write(data)
    gen = Generator(info["seed"], info["messages"])
    start = info["messages"] + sum(c["new"] for c in info["changes"])
    new = max(1, round(info["messages"] * a.new / 100))
    for i in range(start, start + new):
        write_message(a.out, gen, i)
    info["changes"].append({"seed": a.seed, "changed": len(changed), "new": new})
    info["files"], info["bytes"] = tree_totals(a.out)
    with open(os.path.join(a.out, "corpus.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(f"changed {len(changed)} files, added {new}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", required=True)
    g.add_argument("--messages", type=int, default=20000)
    g.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("change")
    c.add_argument("--out", required=True)
    c.add_argument("--percent", type=float, default=1.0)
    c.add_argument("--new", type=float, default=0.1, help="new messages, percent of the corpus")
    c.add_argument("--seed", type=int, default=2)
    a = p.parse_args()
    {"generate": cmd_generate, "change": cmd_change}[a.cmd](a)


if __name__ == "__main__":
    main()
