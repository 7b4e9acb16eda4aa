//! MIME as Exchange produces it for `GET .../messages/{id}/$value`, and MIME
//! parsing for "create message from MIME".
//!
//! Exchange keeps properties, not the wire MIME, and regenerates MIME on
//! demand. [`render`] is a pure function of the stored properties: the same
//! properties always give the same bytes. That is what makes a restore
//! through JSON (same properties, same attachments, same 0x007D header
//! block) come back byte-identical.
//!
//! Layout:
//! * headers: the transport header block (0x007D) verbatim, minus any
//!   `Content-Type` / `Content-Transfer-Encoding` / `MIME-Version` lines;
//!   without one, headers synthesised from the properties (From, To, Cc,
//!   Reply-To, Sender, Subject (RFC 2047), Date (RFC 2822, from
//!   sentDateTime), Message-ID, Importance, X-MS-Has-Attach,
//!   X-MS-TNEF-Correlator);
//! * `Content-Type`, `Content-Transfer-Encoding`, `MIME-Version: 1.0`;
//! * body: `text/plain` or `text/html; charset="utf-8"`, quoted-printable
//!   when mostly ASCII, base64 otherwise;
//! * inline attachments with a content id: `multipart/related` around the
//!   body (boundary `_003_<tag>_`);
//! * other attachments: `multipart/mixed` (boundary `_004_<tag>_`);
//! * `<tag>` is the internetMessageId reduced to letters and digits.
//!
//! All line endings are CRLF.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};

use crate::model::{Attachment, BodyType, EmailAddress, Importance, MessageProps};

const CRLF: &str = "\r\n";

/// Generates the MIME of a message from its stored properties.
pub(crate) fn render(p: &MessageProps) -> Vec<u8> {
    let mut out = String::new();
    match &p.transport_headers {
        Some(block) => out.push_str(&clean_header_block(block)),
        None => out.push_str(&synthesized_headers(p)),
    }

    let tag = boundary_tag(&p.internet_message_id);
    let inline: Vec<&Attachment> = p
        .attachments
        .iter()
        .filter(|a| a.is_inline && a.content_id.is_some())
        .collect();
    let files: Vec<&Attachment> = p
        .attachments
        .iter()
        .filter(|a| !(a.is_inline && a.content_id.is_some()))
        .filter(|a| p.attachment_kind(a.key) != crate::model::AttachmentKind::Reference)
        .collect();

    let body = body_part(p);
    let core = if inline.is_empty() {
        body
    } else {
        let boundary = format!("_003_{tag}_");
        let mut parts = vec![body];
        parts.extend(inline.iter().map(|a| attachment_part(a)));
        let ty = match p.body_type {
            BodyType::Html => "text/html",
            BodyType::Text => "text/plain",
        };
        multipart(
            format!("multipart/related;{CRLF}\tboundary=\"{boundary}\";{CRLF}\ttype=\"{ty}\""),
            &boundary,
            parts,
        )
    };
    let top = if files.is_empty() {
        core
    } else {
        let boundary = format!("_004_{tag}_");
        let mut parts = vec![core];
        parts.extend(files.iter().map(|a| attachment_part(a)));
        multipart(
            format!("multipart/mixed;{CRLF}\tboundary=\"{boundary}\""),
            &boundary,
            parts,
        )
    };

    for h in &top.headers {
        out.push_str(h);
        out.push_str(CRLF);
    }
    out.push_str("MIME-Version: 1.0");
    out.push_str(CRLF);
    out.push_str(CRLF);
    out.push_str(&top.body);
    if !out.ends_with(CRLF) {
        out.push_str(CRLF);
    }
    out.into_bytes()
}

/// A MIME entity: header lines (without the trailing CRLF; folded lines
/// contain their own CRLF + whitespace) and its encoded body.
struct Part {
    headers: Vec<String>,
    body: String,
}

fn multipart(content_type: String, boundary: &str, parts: Vec<Part>) -> Part {
    let mut body = String::new();
    for part in parts {
        body.push_str("--");
        body.push_str(boundary);
        body.push_str(CRLF);
        for h in &part.headers {
            body.push_str(h);
            body.push_str(CRLF);
        }
        body.push_str(CRLF);
        body.push_str(&part.body);
        if !part.body.ends_with(CRLF) {
            body.push_str(CRLF);
        }
        body.push_str(CRLF);
    }
    body.push_str("--");
    body.push_str(boundary);
    body.push_str("--");
    body.push_str(CRLF);
    Part {
        headers: vec![format!("Content-Type: {content_type}")],
        body,
    }
}

fn body_part(p: &MessageProps) -> Part {
    let text = canonical_crlf(&p.body);
    let ty = match p.body_type {
        BodyType::Html => "text/html",
        BodyType::Text => "text/plain",
    };
    let (cte, body) = if prefers_base64(text.as_bytes()) {
        ("base64", base64_lines(text.as_bytes()))
    } else {
        ("quoted-printable", quoted_printable(&text))
    };
    Part {
        headers: vec![
            format!("Content-Type: {ty}; charset=\"utf-8\""),
            format!("Content-Transfer-Encoding: {cte}"),
        ],
        body,
    }
}

fn attachment_part(a: &Attachment) -> Part {
    let name = param_value(&a.name);
    let content_type = if a.content_type.trim().is_empty() {
        "application/octet-stream".to_string()
    } else {
        a.content_type.trim().to_string()
    };
    let disposition = if a.is_inline { "inline" } else { "attachment" };
    let mut headers = vec![
        fold_params("Content-Type", &content_type, &[format!("name=\"{name}\"")]),
        format!("Content-Description: {}", header_text(&a.name)),
        fold_params(
            "Content-Disposition",
            disposition,
            &[
                format!("filename=\"{name}\""),
                format!("size={}", a.bytes.len()),
            ],
        ),
    ];
    if let Some(cid) = &a.content_id {
        let cid = cid.trim().trim_start_matches('<').trim_end_matches('>');
        headers.push(format!("Content-ID: <{cid}>"));
    }
    headers.push("Content-Transfer-Encoding: base64".to_string());
    Part {
        headers,
        body: base64_lines(&a.bytes.data()),
    }
}

/// `Name: value; p1; p2`, folded onto continuation lines when long.
fn fold_params(name: &str, value: &str, params: &[String]) -> String {
    let one_line = format!("{name}: {value}; {}", params.join("; "));
    if one_line.len() <= 78 {
        return one_line;
    }
    let mut s = format!("{name}: {value};");
    for (i, p) in params.iter().enumerate() {
        s.push_str(CRLF);
        s.push('\t');
        s.push_str(p);
        if i + 1 < params.len() {
            s.push(';');
        }
    }
    s
}

/// The stored transport header block, CRLF-normalised, without MIME
/// content headers and ending in exactly one CRLF.
fn clean_header_block(block: &str) -> String {
    let text = canonical_crlf(block);
    let mut out = String::new();
    let mut skipping = false;
    for line in text.split(CRLF) {
        if line.is_empty() {
            continue;
        }
        let continuation = line.starts_with(' ') || line.starts_with('\t');
        if !continuation {
            let name = line.split(':').next().unwrap_or("").trim();
            skipping = name.eq_ignore_ascii_case("content-type")
                || name.eq_ignore_ascii_case("content-transfer-encoding")
                || name.eq_ignore_ascii_case("mime-version");
        }
        if !skipping {
            out.push_str(line);
            out.push_str(CRLF);
        }
    }
    out
}

fn synthesized_headers(p: &MessageProps) -> String {
    let mut h: Vec<String> = Vec::new();
    if let Some(from) = &p.from {
        h.push(format!("From: {}", mailbox(from)));
    }
    if let (Some(sender), Some(from)) = (&p.sender, &p.from)
        && !sender.address.eq_ignore_ascii_case(&from.address)
    {
        h.push(format!("Sender: {}", mailbox(sender)));
    }
    if !p.to.is_empty() {
        h.push(address_list("To", &p.to));
    }
    if !p.cc.is_empty() {
        h.push(address_list("Cc", &p.cc));
    }
    if !p.reply_to.is_empty() {
        h.push(address_list("Reply-To", &p.reply_to));
    }
    h.push(format!("Subject: {}", header_text(&p.subject)));
    h.push(format!("Date: {}", rfc2822(&p.sent)));
    if !p.internet_message_id.is_empty() {
        h.push(format!("Message-ID: {}", p.internet_message_id));
    }
    match p.importance {
        Importance::High => h.push("Importance: high".into()),
        Importance::Low => h.push("Importance: low".into()),
        Importance::Normal => {}
    }
    if p.has_file_attachments() {
        h.push("X-MS-Has-Attach: yes".into());
    } else {
        h.push("X-MS-Has-Attach:".into());
    }
    h.push("X-MS-TNEF-Correlator:".into());
    let mut s = String::new();
    for line in h {
        s.push_str(&line);
        s.push_str(CRLF);
    }
    s
}

/// `Sun, 01 Nov 2026 00:00:00 +0000`
pub(crate) fn rfc2822(t: &DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

fn address_list(name: &str, list: &[EmailAddress]) -> String {
    let mut s = format!("{name}: ");
    let mut line_len = s.len();
    for (i, a) in list.iter().enumerate() {
        let m = mailbox(a);
        if i > 0 {
            if line_len + m.len() + 2 > 76 {
                s.push(',');
                s.push_str(CRLF);
                s.push('\t');
                line_len = 1;
            } else {
                s.push_str(", ");
                line_len += 2;
            }
        }
        s.push_str(&m);
        line_len += m.len();
    }
    s
}

/// One mailbox: `Name <addr>`, `"Name, Jr." <addr>`, `=?utf-8?B?..?= <addr>`
/// or a bare address.
pub(crate) fn mailbox(a: &EmailAddress) -> String {
    let name = a.name.trim();
    if name.is_empty() || name == a.address {
        return a.address.clone();
    }
    if needs_encoding(name) {
        return format!("{} <{}>", encoded_words(name), a.address);
    }
    let atom_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c));
    if atom_ok {
        format!("{name} <{}>", a.address)
    } else {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\" <{}>", a.address)
    }
}

fn needs_encoding(s: &str) -> bool {
    s.contains("=?") || s.chars().any(|c| !(' '..='~').contains(&c))
}

/// Unstructured header text: ASCII folded at spaces, otherwise RFC 2047.
pub(crate) fn header_text(s: &str) -> String {
    if needs_encoding(s) {
        return encoded_words(s);
    }
    // Fold long ASCII text at spaces (line limit 78 including the name).
    let mut out = String::new();
    let mut line_len = 10usize;
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            if line_len + word.len() + 1 > 76 && line_len > 10 {
                out.push_str(CRLF);
                line_len = 0;
            }
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += word.len();
    }
    out
}

/// RFC 2047 B-encoded words (UTF-8), at most 45 bytes of text per word so
/// each word stays under 75 characters, folded with CRLF SP.
pub(crate) fn encoded_words(s: &str) -> String {
    join_encoded_words(s, "\r\n ")
}

/// A parameter value for `name=` / `filename=`: plain ASCII or encoded words.
fn param_value(s: &str) -> String {
    if needs_encoding(s) || s.contains('"') || s.contains('\\') {
        join_encoded_words(s, " ")
    } else {
        s.to_string()
    }
}

/// `s` as RFC 2047 B-encoded words of at most 45 bytes of UTF-8 text each
/// (characters never split), joined with `separator`.
fn join_encoded_words(s: &str, separator: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| format!("=?utf-8?B?{}?=", STANDARD.encode(w.as_bytes())))
        .collect::<Vec<_>>()
        .join(separator)
}

/// Letters and digits of the Message-ID, like Exchange's `_000_..._`
/// boundaries.
fn boundary_tag(internet_message_id: &str) -> String {
    let tag: String = internet_message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(50)
        .collect();
    if tag.is_empty() {
        "qcbsimnomessageid".to_string()
    } else {
        tag
    }
}

/// Text with every line break as CRLF (MIME canonical form).
pub(crate) fn canonical_crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 20);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str(CRLF);
            }
            '\n' => out.push_str(CRLF),
            c => out.push(c),
        }
    }
    out
}

/// Base64 when more than a quarter of the bytes are not ASCII (Japanese,
/// emoji-heavy text); quoted-printable otherwise.
fn prefers_base64(b: &[u8]) -> bool {
    let non_ascii = b.iter().filter(|x| **x >= 0x80).count();
    non_ascii * 4 > b.len()
}

/// Base64 in 76-character lines, each ending in CRLF.
pub(crate) fn base64_lines(b: &[u8]) -> String {
    let enc = STANDARD.encode(b);
    let mut out = String::with_capacity(enc.len() + enc.len() / 38 + 2);
    for chunk in enc.as_bytes().chunks(76) {
        // base64 output is ASCII
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str(CRLF);
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7) of CRLF text; lines at most 76 chars.
pub(crate) fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let lines: Vec<&str> = text.split(CRLF).collect();
    for (li, line) in lines.iter().enumerate() {
        let bytes = line.as_bytes();
        let mut cur = 0usize;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let token: String = match b {
                b'=' => "=3D".into(),
                b' ' | b'\t' if last => format!("={b:02X}"),
                b' ' | b'\t' => (b as char).to_string(),
                33..=126 => (b as char).to_string(),
                _ => format!("={b:02X}"),
            };
            // 75 + soft-break '=' = 76
            if cur + token.len() > 75 {
                out.push('=');
                out.push_str(CRLF);
                cur = 0;
            }
            out.push_str(&token);
            cur += token.len();
        }
        if li + 1 < lines.len() {
            out.push_str(CRLF);
        }
    }
    out
}

/// Structured result of parsing a MIME message (create-from-MIME).
#[derive(Debug, Default)]
pub(crate) struct ParsedMime {
    pub subject: String,
    pub body_type: BodyType,
    pub body: String,
    pub from: Option<EmailAddress>,
    pub sender: Option<EmailAddress>,
    pub to: Vec<EmailAddress>,
    pub cc: Vec<EmailAddress>,
    pub bcc: Vec<EmailAddress>,
    pub reply_to: Vec<EmailAddress>,
    pub internet_message_id: Option<String>,
    pub sent: Option<DateTime<Utc>>,
    pub importance: Importance,
    pub attachments: Vec<ParsedAttachment>,
}

#[derive(Debug)]
pub(crate) struct ParsedAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub is_inline: bool,
    pub content_id: Option<String>,
}

/// Exchange Online's limits on a message it accepts ("Exchange Online limits": message size
/// up to 150 MB, message header up to 256 KB).
pub(crate) const MAX_MESSAGE_SIZE: usize = 150 * 1024 * 1024;
pub(crate) const MAX_HEADER_SIZE: usize = 256 * 1024;
/// How deep multiparts may nest in a message the emulator parses. Exchange's content
/// conversion refuses pathologically nested MIME rather than recursing into it; the emulator
/// does the same (and cannot overflow its stack on hostile input).
pub(crate) const MAX_NESTING: usize = 64;

/// Whether `raw`'s multiparts nest deeper than `limit`, found without recursion by walking the
/// parts exactly as `mailparse::parse_mail` splits them (its recursion depth is this depth).
pub(crate) fn nests_deeper_than(raw: &[u8], limit: usize) -> bool {
    use mailparse::MailHeaderMap as _;
    let mut pending = vec![(raw, 0usize)];
    while let Some((data, depth)) = pending.pop() {
        if depth > limit {
            return true;
        }
        let Ok((headers, body_start)) = mailparse::parse_headers(data) else {
            continue;
        };
        let Some(ct) = headers.get_first_value("Content-Type") else {
            continue;
        };
        let ct = mailparse::parse_content_type(&ct);
        let Some(boundary) = ct.params.get("boundary") else {
            continue;
        };
        if !ct.mimetype.starts_with("multipart/") || data.len() <= body_start {
            continue;
        }
        let delimiter = format!("--{boundary}");
        let delimiter = delimiter.as_bytes();
        let Some(mut at) = line_starting_with(data, body_start, delimiter) else {
            continue;
        };
        while let Some(part_start) = find(data, at + delimiter.len(), b"\n").map(|i| i + 1) {
            let next = line_starting_with(data, part_start, delimiter);
            pending.push((&data[part_start..next.unwrap_or(data.len())], depth + 1));
            let Some(n) = next else { break };
            at = n;
            let end = n + delimiter.len();
            if end + 2 > data.len() || data[end..end + 2] == *b"--" {
                break;
            }
        }
    }
    false
}

fn find(data: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    data.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// The first occurrence of `needle` at or after `from` that starts a line (or is at `from`).
fn line_starting_with(data: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let mut start = from;
    while let Some(i) = find(data, start, needle) {
        if i == from || data[i - 1] == b'\n' {
            return Some(i);
        }
        start = i + 1;
    }
    None
}

/// The header block of a raw message (everything before the first empty line), as text.
pub(crate) fn header_block(raw: &[u8]) -> Result<String, String> {
    let (_, body_start) =
        mailparse::parse_headers(raw).map_err(|e| format!("invalid MIME headers: {e}"))?;
    Ok(String::from_utf8_lossy(&raw[..body_start]).into_owned())
}

/// Checks a message arriving by SMTP against Exchange Online's limits, with the NDR text
/// Exchange gives for each.
pub(crate) fn check_delivery(raw: &[u8]) -> Result<(), String> {
    if raw.len() > MAX_MESSAGE_SIZE {
        return Err(format!(
            "552 5.3.4 message of {} bytes exceeds the maximum message size of {MAX_MESSAGE_SIZE} bytes",
            raw.len()
        ));
    }
    let (_, body_start) = mailparse::parse_headers(raw)
        .map_err(|e| format!("554 5.6.0 corrupt message content: {e}"))?;
    if body_start > MAX_HEADER_SIZE {
        return Err(format!(
            "552 5.3.4 message header of {body_start} bytes exceeds the limit of {MAX_HEADER_SIZE} bytes"
        ));
    }
    Ok(())
}

/// Parses a MIME message into properties.
pub(crate) fn parse(raw: &[u8]) -> Result<ParsedMime, String> {
    use mailparse::MailHeaderMap as _;
    if nests_deeper_than(raw, MAX_NESTING) {
        return Err(format!(
            "invalid MIME content: multiparts nested deeper than {MAX_NESTING} levels"
        ));
    }
    let mail = mailparse::parse_mail(raw).map_err(|e| format!("invalid MIME content: {e}"))?;
    let headers = &mail.headers;
    let mut p = ParsedMime {
        subject: headers.get_first_value("Subject").unwrap_or_default(),
        ..ParsedMime::default()
    };
    let addrs = |name: &str| -> Vec<EmailAddress> {
        headers
            .get_first_header(name)
            .and_then(|h| mailparse::addrparse_header(h).ok())
            .map(|list| flatten_addrs(&list))
            .unwrap_or_default()
    };
    p.from = addrs("From").into_iter().next();
    p.sender = addrs("Sender")
        .into_iter()
        .next()
        .or_else(|| p.from.clone());
    p.to = addrs("To");
    p.cc = addrs("Cc");
    p.bcc = addrs("Bcc");
    p.reply_to = addrs("Reply-To");
    p.internet_message_id = headers
        .get_first_value("Message-ID")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    p.sent = headers
        .get_first_value("Date")
        .and_then(|d| mailparse::dateparse(&d).ok())
        .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
    p.importance = match headers.get_first_value("Importance") {
        Some(v) => Importance::parse(v.trim()).unwrap_or_default(),
        None => match headers
            .get_first_value("X-Priority")
            .and_then(|v| v.trim().chars().next())
        {
            Some('1') | Some('2') => Importance::High,
            Some('4') | Some('5') => Importance::Low,
            _ => Importance::Normal,
        },
    };

    let mut leaves = Vec::new();
    collect_leaves(&mail, &mut leaves);
    let is_attachment = |m: &mailparse::ParsedMail| -> bool {
        let disp = m.get_content_disposition();
        disp.disposition == mailparse::DispositionType::Attachment
            || disp.params.contains_key("filename")
            || m.ctype.params.contains_key("name")
            || !m.ctype.mimetype.to_ascii_lowercase().starts_with("text/")
    };
    let pick = |ty: &str| {
        leaves
            .iter()
            .position(|m| m.ctype.mimetype.eq_ignore_ascii_case(ty) && !is_attachment(m))
    };
    let body_index = pick("text/html").or_else(|| pick("text/plain"));
    if let Some(i) = body_index {
        let m = leaves[i];
        p.body_type = if m.ctype.mimetype.eq_ignore_ascii_case("text/html") {
            BodyType::Html
        } else {
            BodyType::Text
        };
        p.body = m
            .get_body()
            .unwrap_or_else(|_| String::from_utf8_lossy(&lenient_body(m)).into_owned());
    }
    for (i, m) in leaves.iter().enumerate() {
        if Some(i) == body_index || !is_attachment(m) {
            continue;
        }
        let disp = m.get_content_disposition();
        let name = disp
            .params
            .get("filename")
            .or_else(|| m.ctype.params.get("name"))
            .cloned()
            .unwrap_or_else(|| "attachment".to_string());
        let content_id = m
            .headers
            .get_first_value("Content-ID")
            .map(|c| {
                c.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
            .filter(|c| !c.is_empty());
        let bytes = lenient_body(m);
        p.attachments.push(ParsedAttachment {
            name,
            content_type: m.ctype.mimetype.clone(),
            bytes,
            is_inline: disp.disposition != mailparse::DispositionType::Attachment
                && content_id.is_some(),
            content_id,
        });
    }
    Ok(p)
}

/// The properties of a message created from parsed MIME: a draft, as Exchange documents for
/// create-from-MIME (delivery changes that). Attached messages (`message/rfc822` parts) become
/// item attachments.
pub(crate) fn props_from_parsed(
    p: ParsedMime,
    mailbox_guid: &[u8; 16],
    key: u64,
    now: DateTime<Utc>,
) -> MessageProps {
    use crate::model::{AttachmentKind, FlagStatus};
    use std::collections::BTreeMap;
    let mut attachment_kinds = BTreeMap::new();
    let mut attachments = Vec::with_capacity(p.attachments.len());
    for (n, a) in p.attachments.into_iter().enumerate() {
        let key = n as u32 + 1;
        if a.content_type
            .to_ascii_lowercase()
            .starts_with("message/rfc822")
        {
            attachment_kinds.insert(key, AttachmentKind::Item);
        }
        attachments.push(Attachment {
            key,
            name: a.name,
            content_type: a.content_type,
            bytes: a.bytes.into(),
            is_inline: a.is_inline,
            content_id: a.content_id,
            last_modified: now,
        });
    }
    MessageProps {
        subject: p.subject,
        body_type: p.body_type,
        body: p.body,
        sender: p.sender.or_else(|| p.from.clone()),
        from: p.from,
        to: p.to,
        cc: p.cc,
        bcc: p.bcc,
        reply_to: p.reply_to,
        internet_message_id: p
            .internet_message_id
            .unwrap_or_else(|| crate::data::default_message_id(mailbox_guid, key)),
        sent: p.sent.unwrap_or(now),
        received: now,
        importance: p.importance,
        is_read: true,
        is_draft: true,
        flag_status: FlagStatus::NotFlagged,
        categories: Vec::new(),
        attachment_kinds,
        attachments,
        transport_headers: None,
        extended: BTreeMap::new(),
        inference_other: false,
        delivery_receipt_requested: false,
        read_receipt_requested: false,
    }
}

/// A part's content, transfer-decoded. Exchange delivers a message whose base64 is corrupt
/// or cut off rather than bouncing it, with as much of the content as decodes: so does this.
fn lenient_body(m: &mailparse::ParsedMail<'_>) -> Vec<u8> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use mailparse::body::Body;
    if let Ok(bytes) = m.get_body_raw() {
        return bytes;
    }
    match m.get_body_encoded() {
        Body::Base64(b) => {
            let mut text: Vec<u8> = b
                .get_raw()
                .iter()
                .copied()
                .take_while(|&c| c != b'=')
                .filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
                .collect();
            if text.len() % 4 == 1 {
                text.pop();
            }
            let lenient = GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(DecodePaddingMode::Indifferent),
            );
            lenient.decode(&text).unwrap_or_default()
        }
        Body::QuotedPrintable(b) => b.get_raw().to_vec(),
        Body::SevenBit(b) | Body::EightBit(b) => b.get_raw().to_vec(),
        Body::Binary(b) => b.get_raw().to_vec(),
    }
}

fn collect_leaves<'a>(
    m: &'a mailparse::ParsedMail<'a>,
    out: &mut Vec<&'a mailparse::ParsedMail<'a>>,
) {
    if m.subparts.is_empty() {
        out.push(m);
    } else {
        for s in &m.subparts {
            collect_leaves(s, out);
        }
    }
}

fn flatten_addrs(list: &mailparse::MailAddrList) -> Vec<EmailAddress> {
    let mut out = Vec::new();
    for a in list.iter() {
        match a {
            mailparse::MailAddr::Single(s) => out.push(EmailAddress::new(
                s.display_name.clone().unwrap_or_default(),
                s.addr.clone(),
            )),
            mailparse::MailAddr::Group(g) => {
                for s in &g.addrs {
                    out.push(EmailAddress::new(
                        s.display_name.clone().unwrap_or_default(),
                        s.addr.clone(),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FlagStatus;
    use std::collections::BTreeMap;

    fn props() -> MessageProps {
        let t = DateTime::parse_from_rfc3339("2026-10-15T08:30:12Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        MessageProps {
            subject: "Grüße aus München — 会議 🎉".into(),
            body_type: BodyType::Html,
            body:
                "<p>Hallo Jürgen,\nanbei die Unterlagen. <img src=\"cid:image001.png@01DC\"></p>\n"
                    .into(),
            from: Some(EmailAddress::new("Jürgen Müller", "juergen@example.de")),
            sender: Some(EmailAddress::new("Jürgen Müller", "juergen@example.de")),
            to: vec![
                EmailAddress::new("Alice Smith", "alice@contoso.example"),
                EmailAddress::new("O'Brien, Pat", "pat@contoso.example"),
            ],
            cc: vec![],
            bcc: vec![],
            reply_to: vec![],
            internet_message_id: "<AM0PR01MB1234.abc@AM0PR01MB1234.eurprd01.prod.outlook.com>"
                .into(),
            sent: t,
            received: t,
            importance: Importance::High,
            is_read: false,
            is_draft: false,
            flag_status: FlagStatus::Flagged,
            categories: vec![],
            attachments: vec![
                Attachment {
                    key: 1,
                    name: "image001.png".into(),
                    content_type: "image/png".into(),
                    bytes: vec![1, 2, 3, 4].into(),
                    is_inline: true,
                    content_id: Some("image001.png@01DC".into()),
                    last_modified: t,
                },
                Attachment {
                    key: 2,
                    name: "Übersicht Q4.pdf".into(),
                    content_type: "application/pdf".into(),
                    bytes: vec![b'%'; 300].into(),
                    is_inline: false,
                    content_id: None,
                    last_modified: t,
                },
            ],
            attachment_kinds: BTreeMap::new(),
            transport_headers: None,
            extended: BTreeMap::new(),
            inference_other: false,
            delivery_receipt_requested: false,
            read_receipt_requested: false,
        }
    }

    #[test]
    fn delivery_keeps_what_decodes_of_a_broken_attachment_and_refuses_deep_nesting() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let encoded = STANDARD.encode(&data);
        let raw = format!(
            "Subject: cut\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
             Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; \
             name=\"x.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}!*",
            &encoded[..1999]
        );
        let p = parse(raw.as_bytes()).unwrap();
        assert_eq!(p.body.trim(), "hi");
        assert_eq!(p.attachments.len(), 1);
        // 1999 characters hold 1,499 whole bytes (the last lone character carries none).
        assert_eq!(p.attachments[0].bytes, data[..1499]);

        let mut deep = String::new();
        for d in 0..=MAX_NESTING {
            deep.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"d{d}_\"\r\n\r\n--d{d}_\r\n"
            ));
        }
        deep.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
        let err = parse(deep.as_bytes()).unwrap_err();
        assert!(err.contains("nested deeper"), "{err}");
        assert!(
            check_delivery(format!("X: {}\r\n\r\n", "a".repeat(MAX_HEADER_SIZE)).as_bytes())
                .is_err()
        );
    }

    #[test]
    fn render_is_deterministic_and_parseable() {
        let p = props();
        let a = render(&p);
        let b = render(&p);
        assert_eq!(a, b);
        let text = String::from_utf8(a.clone()).unwrap_or_default();
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "bare LF in output"
        );
        assert!(text.contains("multipart/mixed"));
        assert!(text.contains("multipart/related"));
        let parsed = parse(&a).expect("parse our own output");
        assert_eq!(parsed.subject, p.subject);
        assert_eq!(parsed.body_type, BodyType::Html);
        assert_eq!(canonical_crlf(&parsed.body), canonical_crlf(&p.body));
        assert_eq!(parsed.attachments.len(), 2);
        assert_eq!(
            parsed.attachments[0].content_id.as_deref(),
            Some("image001.png@01DC")
        );
        assert_eq!(parsed.attachments[1].name, "Übersicht Q4.pdf");
        assert_eq!(parsed.importance, Importance::High);
        assert_eq!(parsed.to.len(), 2);
        assert_eq!(parsed.to[1].name, "O'Brien, Pat");
        assert_eq!(
            parsed.from.as_ref().map(|f| f.name.as_str()),
            Some("Jürgen Müller")
        );
    }

    #[test]
    fn transport_headers_are_used_verbatim_without_content_headers() {
        let mut p = props();
        p.attachments.clear();
        p.transport_headers = Some(
            "Received: from a by b;\n Thu, 15 Oct 2026 08:30:12 +0000\nSubject: hi\nContent-Type: text/plain;\n charset=us-ascii\nMIME-Version: 1.0\nX-Custom: 1\n\n"
                .into(),
        );
        let text = String::from_utf8(render(&p)).unwrap_or_default();
        assert!(text.starts_with(
            "Received: from a by b;\r\n Thu, 15 Oct 2026 08:30:12 +0000\r\nSubject: hi\r\nX-Custom: 1\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
        ), "{text}");
        assert_eq!(text.matches("MIME-Version").count(), 1);
    }

    #[test]
    fn quoted_printable_rules() {
        let qp = quoted_printable("a=b \r\nline");
        assert_eq!(qp, "a=3Db=20\r\nline");
        let long = "x".repeat(200);
        for line in quoted_printable(&long).split("\r\n") {
            assert!(line.len() <= 76);
        }
        assert_eq!(quoted_printable("ü"), "=C3=BC");
    }

    #[test]
    fn encoded_words_fold_and_round_trip() {
        let s = "日本語の件名がとても長い場合はどうなるでしょうか。テストです。";
        let enc = encoded_words(s);
        for w in enc.split("\r\n ") {
            assert!(w.len() <= 75, "{w}");
        }
        let raw = format!("Subject: {enc}\r\n\r\n");
        let (h, _) = mailparse::parse_header(raw.as_bytes()).expect("header");
        assert_eq!(h.get_value(), s);
    }
}
