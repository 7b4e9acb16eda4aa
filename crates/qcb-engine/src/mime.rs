//! Turns a backed-up MIME source into what Graph's JSON message create accepts: the header
//! block (kept as PidTagTransportMessageHeaders), one body, and the attachments.

use mailparse::{DispositionType, MailHeaderMap, ParsedMail};

#[derive(Debug, Clone, PartialEq)]
pub struct MimeAttachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub is_inline: bool,
    pub content_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MimeParts {
    /// The top-level header block without the MIME content headers, CRLF line ends.
    pub header_block: String,
    /// `"html"` or `"text"`, as Graph's itemBody.contentType.
    pub body_type: &'static str,
    pub body: String,
    pub attachments: Vec<MimeAttachment>,
}

fn is_content_header(name: &str) -> bool {
    ["content-type", "content-transfer-encoding", "mime-version"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// The raw header section (up to the first empty line) minus content headers, unfolding nothing.
fn header_block(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let end = text
        .find("\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| text.find("\n\n").map(|i| i + 1))
        .unwrap_or(text.len());
    let mut out = String::new();
    let mut skipping = false;
    for line in text[..end].lines() {
        if line.is_empty() {
            continue;
        }
        if !(line.starts_with(' ') || line.starts_with('\t')) {
            skipping = is_content_header(line.split(':').next().unwrap_or("").trim());
        }
        if !skipping {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

fn mime_type(p: &ParsedMail<'_>) -> String {
    p.ctype.mimetype.to_ascii_lowercase()
}

fn attachment_of(p: &ParsedMail<'_>) -> Result<MimeAttachment, String> {
    let disp = p.get_content_disposition();
    let name = disp
        .params
        .get("filename")
        .or_else(|| p.ctype.params.get("name"))
        .cloned()
        .unwrap_or_else(|| "attachment".to_string());
    let content_id = p.headers.get_first_value("Content-ID").map(|c| {
        c.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    });
    Ok(MimeAttachment {
        name,
        content_type: mime_type(p),
        bytes: p
            .get_body_raw()
            .map_err(|e| format!("attachment body: {e}"))?,
        is_inline: disp.disposition == DispositionType::Inline,
        content_id,
    })
}

/// How deep multiparts may nest in a message we split. mailparse (and [`walk`]) recurse once
/// per level, so a hostile message nesting them thousands deep would overflow the stack;
/// mail that people write nests a handful of levels.
pub const MAX_NESTING: usize = 64;

/// Whether `raw`'s multiparts nest deeper than `limit`, found without recursion by walking the
/// parts the way `mailparse::parse_mail` splits them (so its recursion depth is this depth).
fn nests_deeper_than(raw: &[u8], limit: usize) -> bool {
    // Each level that nests further needs its own Content-Type whose value starts with
    // `multipart/`: written out (in any case) or hidden in an RFC 2047 encoded word. Mail with
    // fewer of those than the limit (nearly all) needs no walk.
    let marks = raw
        .windows(9)
        .filter(|w| w.eq_ignore_ascii_case(b"multipart") || w.starts_with(b"=?"))
        .count();
    if marks <= limit {
        return false;
    }
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

/// Splits a message into body and attachments. Errors only when the MIME cannot be parsed at
/// all or nests deeper than [`MAX_NESTING`].
pub fn split(raw: &[u8]) -> Result<MimeParts, String> {
    if nests_deeper_than(raw, MAX_NESTING) {
        return Err(format!(
            "unparseable MIME: multiparts nested deeper than {MAX_NESTING} levels"
        ));
    }
    let parsed = mailparse::parse_mail(raw).map_err(|e| format!("unparseable MIME: {e}"))?;
    let mut body: Option<(&'static str, String)> = None;
    let mut attachments = Vec::new();
    walk(&parsed, &mut body, &mut attachments)?;
    let (body_type, body) = body.unwrap_or(("text", String::new()));
    Ok(MimeParts {
        header_block: header_block(raw),
        body_type,
        body,
        attachments,
    })
}

/// What Graph's message JSON says about a message that only exists as MIME (one attached to
/// another): subject, addresses, Internet message id and the `Date` header as both sent and
/// received time. An attached message is always read.
pub fn headers_meta(raw: &[u8]) -> Result<serde_json::Value, String> {
    use serde_json::{Value, json};
    let (headers, _) =
        mailparse::parse_headers(raw).map_err(|e| format!("unparseable MIME headers: {e}"))?;
    let mut m = serde_json::Map::new();
    m.insert("isRead".into(), json!(true));
    if let Some(s) = headers.get_first_value("Subject") {
        m.insert("subject".into(), json!(s));
    }
    let addresses = |name: &str| -> Vec<Value> {
        let Some(h) = headers.get_first_header(name) else {
            return Vec::new();
        };
        let Ok(list) = mailparse::addrparse_header(h) else {
            return Vec::new();
        };
        let one = |s: &mailparse::SingleInfo| json!({ "emailAddress": { "name": s.display_name.clone().unwrap_or_default(), "address": s.addr } });
        list.iter()
            .flat_map(|a| match a {
                mailparse::MailAddr::Single(s) => vec![one(s)],
                mailparse::MailAddr::Group(g) => g.addrs.iter().map(one).collect(),
            })
            .collect()
    };
    if let Some(from) = addresses("From").into_iter().next() {
        m.insert("from".into(), from.clone());
        m.insert("sender".into(), from);
    }
    for (header, key) in [
        ("To", "toRecipients"),
        ("Cc", "ccRecipients"),
        ("Reply-To", "replyTo"),
    ] {
        let list = addresses(header);
        if !list.is_empty() {
            m.insert(key.into(), Value::Array(list));
        }
    }
    if let Some(id) = headers.get_first_value("Message-ID") {
        m.insert("internetMessageId".into(), json!(id.trim()));
    }
    if let Some(t) = headers
        .get_first_value("Date")
        .and_then(|d| mailparse::dateparse(&d).ok())
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
    {
        let t = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        m.insert("sentDateTime".into(), json!(t));
        m.insert("receivedDateTime".into(), json!(t));
    }
    Ok(Value::Object(m))
}

fn contains_html(p: &ParsedMail<'_>) -> bool {
    mime_type(p) == "text/html" || p.subparts.iter().any(contains_html)
}

fn walk(
    p: &ParsedMail<'_>,
    body: &mut Option<(&'static str, String)>,
    atts: &mut Vec<MimeAttachment>,
) -> Result<(), String> {
    let ty = mime_type(p);
    // A multipart without parts (no boundary, or none found) is kept as the leaf it then is.
    if ty.starts_with("multipart/") && !p.subparts.is_empty() {
        if ty == "multipart/alternative" && body.is_none() {
            // The alternatives are one body in several forms: keep the richest one (the last
            // that holds HTML, possibly inside multipart/related with its inline images), and
            // only that one, so the plain-text copy does not come back as an attachment.
            let pick = p
                .subparts
                .iter()
                .rev()
                .find(|s| contains_html(s))
                .or_else(|| {
                    p.subparts
                        .iter()
                        .rev()
                        .find(|s| mime_type(s) == "text/plain")
                });
            if let Some(s) = pick {
                return walk(s, body, atts);
            }
        }
        for s in &p.subparts {
            walk(s, body, atts)?;
        }
        return Ok(());
    }
    let is_attachment = p.get_content_disposition().disposition == DispositionType::Attachment;
    if body.is_none() && !is_attachment && (ty == "text/plain" || ty == "text/html") {
        let text = p.get_body().map_err(|e| format!("body: {e}"))?;
        *body = Some((if ty == "text/html" { "html" } else { "text" }, text));
        return Ok(());
    }
    atts.push(attachment_of(p)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternative_with_related_html_keeps_the_html_and_its_inline_image() {
        let raw = b"Subject: x\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain copy\r\n--a\r\nContent-Type: multipart/related; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<img src=\"cid:i1\">\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <i1>\r\nContent-Disposition: inline; filename=\"i.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--r--\r\n--a--\r\n";
        let p = split(raw).unwrap();
        assert_eq!(p.body_type, "html");
        assert!(p.body.contains("cid:i1"));
        assert_eq!(
            p.attachments.len(),
            1,
            "the inline image, not the plain-text alternative"
        );
        assert_eq!(p.attachments[0].content_id.as_deref(), Some("i1"));
    }

    #[test]
    fn multiparts_nested_beyond_the_limit_are_refused_without_recursing() {
        let nested = |depth: usize| {
            let mut raw = String::new();
            for d in 0..depth {
                raw.push_str(&format!(
                    "Content-Type: multipart/mixed; boundary=\"d{d}_\"\r\n\r\n--d{d}_\r\n"
                ));
            }
            raw.push_str("Content-Type: text/plain\r\n\r\nbottom\r\n");
            for d in (0..depth).rev() {
                raw.push_str(&format!("--d{d}_--\r\n"));
            }
            raw.into_bytes()
        };
        let ok = split(&nested(MAX_NESTING)).unwrap();
        assert_eq!(ok.body, "bottom");
        assert!(!nests_deeper_than(&nested(MAX_NESTING), MAX_NESTING));
        assert!(nests_deeper_than(&nested(MAX_NESTING + 1), MAX_NESTING));
        // Deep enough to overflow a 2 MB stack if it were parsed recursively.
        let err = split(&nested(20_000)).unwrap_err();
        assert!(err.contains("nested deeper than 64"), "{err}");
    }

    #[test]
    fn splits_related_and_mixed() {
        let raw = b"Received: from x\r\n\tby y\r\nSubject: hi\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"b1\"\r\nMIME-Version: 1.0\r\n\r\n--b1\r\nContent-Type: multipart/related; boundary=\"b2\"\r\n\r\n--b2\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Gr=C3=BC=C3=9Fe</p>\r\n--b2\r\nContent-Type: image/png; name=\"a.png\"\r\nContent-Disposition: inline; filename=\"a.png\"\r\nContent-ID: <img1>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--b2--\r\n\r\n--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b1--\r\n";
        let p = split(raw).unwrap();
        assert_eq!(
            p.header_block,
            "Received: from x\r\n\tby y\r\nSubject: hi\r\n"
        );
        assert_eq!(p.body_type, "html");
        assert_eq!(p.body.trim_end(), "<p>Grüße</p>");
        assert_eq!(p.attachments.len(), 2);
        assert_eq!(p.attachments[0].content_id.as_deref(), Some("img1"));
        assert!(p.attachments[0].is_inline);
        assert_eq!(p.attachments[1].name, "r.pdf");
        assert_eq!(p.attachments[1].bytes, b"%PDF");
    }
}
