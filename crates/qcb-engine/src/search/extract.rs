//! What the search index holds of one item: text pulled from a message's MIME and Graph
//! properties, or from a contact's, event's or task's Graph JSON.

use serde_json::Value;

/// At most this many bytes of an item's body text are indexed (the start of the body).
pub const BODY_CAP: usize = 64 * 1024;

/// The searchable text and filter values of one item version.
#[derive(Clone, Default)]
pub struct IndexDoc {
    /// What identifies the version: the item's content blob ids. Two nodes with the same key
    /// share one index entry.
    pub key: String,
    /// The item's id (its node name) where the version was first seen.
    pub item_id: String,
    /// `mail`, `contacts`, `calendars`, `tasks` or `settings`.
    pub category: String,
    pub subject: String,
    /// `Name <address>`.
    pub sender: String,
    /// To, Cc and Bcc (attendees of an event, addresses of a contact), one per line.
    pub recipients: String,
    /// Plain text (HTML stripped), at most [`BODY_CAP`] bytes.
    pub body: String,
    /// Attachment file names, one per line.
    pub attachments: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ` (a message's received time, an event's start, a contact's
    /// or task's last change); empty when unknown.
    pub date: String,
    pub has_attachments: bool,
}

/// `Debug` shows no mail content.
impl std::fmt::Debug for IndexDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexDoc")
            .field("key", &self.key)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// `Name <address>`, or whichever of the two is there.
pub(crate) fn address(v: &Value) -> String {
    let a = if v["emailAddress"].is_object() {
        &v["emailAddress"]
    } else {
        v
    };
    match (a["name"].as_str(), a["address"].as_str()) {
        (Some(n), Some(addr)) if !n.is_empty() && n != addr => format!("{n} <{addr}>"),
        (_, Some(addr)) => addr.to_string(),
        (Some(n), None) => n.to_string(),
        _ => String::new(),
    }
}

fn addresses(props: &Value, keys: &[&str]) -> String {
    let mut out: Vec<String> = Vec::new();
    for k in keys {
        if let Some(list) = props[*k].as_array() {
            out.extend(list.iter().map(address).filter(|s| !s.is_empty()));
        }
    }
    out.join("\n")
}

/// A Graph or RFC 3339 time as `YYYY-MM-DDTHH:MM:SSZ` in UTC. Graph's event times without an
/// offset are taken as UTC. Unparseable text gives "".
pub fn normalize_date(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        return String::new();
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return d
            .to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(t, f) {
            return d
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return format!("{d}T00:00:00Z");
    }
    String::new()
}

/// Cuts `s` to at most `cap` bytes on a character boundary.
fn cap(mut s: String, cap: usize) -> String {
    if s.len() > cap {
        let mut end = cap;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The visible text of an HTML document: tags dropped (block tags become line breaks), script
/// and style content skipped, common entities decoded, runs of white space collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    let mut skip_until: Option<&'static str> = None;
    while !rest.is_empty() {
        if let Some(end_tag) = skip_until {
            match find_ci(rest, end_tag) {
                Some(i) => {
                    rest = &rest[i..];
                    skip_until = None;
                }
                None => break,
            }
            continue;
        }
        match rest.find(['<', '&']) {
            None => {
                push_text(&mut out, rest);
                break;
            }
            Some(i) => {
                push_text(&mut out, &rest[..i]);
                rest = &rest[i..];
                if rest.starts_with('<') {
                    if rest.starts_with("<!--") {
                        rest = rest.find("-->").map_or("", |j| &rest[j + 3..]);
                        continue;
                    }
                    let end = rest.find('>').map_or(rest.len(), |j| j + 1);
                    let tag = rest[1..end.saturating_sub(1).max(1)]
                        .trim_start_matches('/')
                        .split(|c: char| c.is_whitespace() || c == '/' || c == '>')
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if !rest.starts_with("</") {
                        if tag == "script" {
                            skip_until = Some("</script");
                        } else if tag == "style" {
                            skip_until = Some("</style");
                        }
                    }
                    if matches!(
                        tag.as_str(),
                        "br" | "p"
                            | "div"
                            | "tr"
                            | "li"
                            | "h1"
                            | "h2"
                            | "h3"
                            | "h4"
                            | "h5"
                            | "h6"
                            | "table"
                            | "blockquote"
                    ) {
                        push_text(&mut out, "\n");
                    } else {
                        push_text(&mut out, " ");
                    }
                    rest = &rest[end..];
                } else {
                    let end = rest[..rest.len().min(12)].find(';');
                    let decoded = end.and_then(|j| entity(&rest[1..j]));
                    match (end, decoded) {
                        (Some(j), Some(c)) => {
                            out.push(c);
                            rest = &rest[j + 1..];
                        }
                        _ => {
                            out.push('&');
                            rest = &rest[1..];
                        }
                    }
                }
            }
        }
        if out.len() > BODY_CAP * 2 {
            break;
        }
    }
    out.trim().to_string()
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    (0..h.len().saturating_sub(n.len() - 1)).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "#39" => '\'',
        "nbsp" => ' ',
        _ => {
            let num = name.strip_prefix('#')?;
            let n = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(n)?
        }
    })
}

/// Appends text with white space collapsed (a line break wins over spaces).
fn push_text(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            let nl = c == '\n';
            match out.chars().last() {
                None => {}
                Some('\n') => {}
                Some(' ') if nl => {
                    out.pop();
                    out.push('\n');
                }
                Some(' ') => {}
                Some(_) => out.push(if nl { '\n' } else { ' ' }),
            }
        } else {
            out.push(c);
        }
    }
}

fn body_text(content_type: &str, body: &str) -> String {
    let text = if content_type.eq_ignore_ascii_case("html") {
        html_to_text(body)
    } else {
        body.to_string()
    };
    cap(text, BODY_CAP)
}

/// A message: `raw` its MIME source, `props` its Graph properties (the `meta` blob), `attrs`
/// its node's attributes (used when the properties lack something).
pub(crate) fn mail_doc(raw: &[u8], props: &Value, attrs: &Value) -> IndexDoc {
    let mut doc = IndexDoc {
        category: "mail".into(),
        subject: props["subject"]
            .as_str()
            .or(attrs["subject"].as_str())
            .unwrap_or("")
            .to_string(),
        sender: match address(&props["from"]) {
            s if s.is_empty() => attrs["from"].as_str().unwrap_or("").to_string(),
            s => s,
        },
        recipients: addresses(props, &["toRecipients", "ccRecipients", "bccRecipients"]),
        date: normalize_date(
            props["receivedDateTime"]
                .as_str()
                .or(attrs["receivedDateTime"].as_str())
                .unwrap_or(""),
        ),
        has_attachments: props["hasAttachments"]
            .as_bool()
            .or(attrs["hasAttachments"].as_bool())
            .unwrap_or(false),
        ..Default::default()
    };
    if let Ok(parts) = crate::mime::split(raw) {
        doc.body = body_text(parts.body_type, &parts.body);
        doc.attachments = parts
            .attachments
            .iter()
            .filter(|a| !a.name.is_empty())
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join("\n");
    }
    doc
}

/// A contact, event, task or settings item: `raw` its Graph JSON; `category` its category
/// dir's name, lower case.
pub(crate) fn pim_doc(raw: &[u8], attrs: &Value, category: &str) -> IndexDoc {
    let v: Value = serde_json::from_slice(raw).unwrap_or_default();
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let mut doc = IndexDoc {
        category: category.to_string(),
        subject: attrs["subject"].as_str().unwrap_or("").to_string(),
        sender: attrs["from"].as_str().unwrap_or("").to_string(),
        date: normalize_date(attrs["receivedDateTime"].as_str().unwrap_or("")),
        has_attachments: attrs["hasAttachments"].as_bool().unwrap_or(false),
        ..Default::default()
    };
    match attrs["kind"].as_str().unwrap_or("") {
        "contact" => {
            doc.recipients = addresses(&v, &["emailAddresses"]);
            let mut body = vec![
                s("companyName"),
                s("jobTitle"),
                s("department"),
                s("personalNotes"),
            ];
            for k in ["businessPhones", "homePhones"] {
                if let Some(a) = v[k].as_array() {
                    body.extend(a.iter().filter_map(|p| p.as_str().map(str::to_string)));
                }
            }
            body.push(s("mobilePhone"));
            body.retain(|t| !t.is_empty());
            doc.body = cap(body.join("\n"), BODY_CAP);
        }
        "event" => {
            doc.sender = address(&v["organizer"]);
            doc.recipients = addresses(&v, &["attendees"]);
            let mut body = body_text(
                v["body"]["contentType"].as_str().unwrap_or("text"),
                v["body"]["content"].as_str().unwrap_or(""),
            );
            let place = v["location"]["displayName"].as_str().unwrap_or("");
            if !place.is_empty() {
                body = format!("{place}\n{body}");
            }
            doc.body = body;
            if let Some(a) = v["attachments"].as_array() {
                doc.attachments = a
                    .iter()
                    .filter_map(|x| x["name"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
            }
        }
        "task" => {
            doc.body = body_text(
                v["body"]["contentType"].as_str().unwrap_or("text"),
                v["body"]["content"].as_str().unwrap_or(""),
            );
        }
        _ => {
            // Settings and rules: their names are what anyone searches for.
            let name = [s("displayName"), s("name")].join(" ");
            doc.body = cap(name.trim().to_string(), BODY_CAP);
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text() {
        let t = html_to_text(
            "<html><head><style>p{x:y}</style><script>var a;</script></head><body><p>Hello&nbsp;<b>world</b> &amp; co &#233;t&#xE9;</p><div>next</div><!-- hidden --></body></html>",
        );
        assert_eq!(t, "Hello world & co été\nnext");
    }

    #[test]
    fn dates_are_normalized() {
        assert_eq!(
            normalize_date("2026-11-20T10:00:00+01:00"),
            "2026-11-20T09:00:00Z"
        );
        assert_eq!(
            normalize_date("2026-11-20T10:00:00.0000000"),
            "2026-11-20T10:00:00Z"
        );
        assert_eq!(normalize_date("junk"), "");
    }

    #[test]
    fn body_is_capped_on_a_char_boundary() {
        let s = "é".repeat(BODY_CAP);
        let c = cap(s, BODY_CAP + 1);
        assert!(c.len() <= BODY_CAP + 1);
        assert!(c.chars().all(|ch| ch == 'é'));
    }
}
