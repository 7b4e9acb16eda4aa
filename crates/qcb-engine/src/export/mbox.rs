//! One folder's messages as an mbox file in the mboxrd variant Thunderbird and Python read:
//! a `From sender date` line before each message, `>` added to any body line that starts with
//! `From ` after zero or more `>`, LF line ends, and a blank line after each message.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The `From ` separator line (without its line end) for a message with these properties.
pub fn from_line(props: &Value, attrs: &Value) -> String {
    let address = [&props["from"], &props["sender"]]
        .iter()
        .find_map(|v| v["emailAddress"]["address"].as_str())
        .map(str::to_string)
        .or_else(|| {
            // `attrs.from` is `Name <address>` or just the address.
            attrs["from"]
                .as_str()
                .map(|f| match (f.rfind('<'), f.rfind('>')) {
                    (Some(a), Some(b)) if a < b => f[a + 1..b].to_string(),
                    _ => f.to_string(),
                })
        })
        .unwrap_or_default();
    let address: String = address
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    let address = if address.is_empty() {
        "MAILER-DAEMON".to_string()
    } else {
        address
    };
    let date = ["receivedDateTime", "sentDateTime"]
        .iter()
        .find_map(|k| {
            props[*k]
                .as_str()
                .or(attrs[*k].as_str())
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        })
        .unwrap_or_default();
    // asctime(3), as Unix mailers write it.
    format!("From {address} {}", date.format("%a %b %e %H:%M:%S %Y"))
}

/// Whether a line needs a `>` in mboxrd: `>*From `.
fn needs_quote(line: &[u8]) -> bool {
    let rest = &line[line.iter().take_while(|b| **b == b'>').count()..];
    rest.starts_with(b"From ")
}

/// Writes one message (its separator line, the quoted MIME source with LF line ends, and the
/// blank line that ends it). Returns the bytes written.
pub fn write_message(w: &mut dyn Write, from: &str, mime: &[u8]) -> io::Result<u64> {
    let mut n = 0u64;
    w.write_all(from.as_bytes())?;
    w.write_all(b"\n")?;
    n += from.len() as u64 + 1;
    let body = mime.strip_suffix(b"\n").unwrap_or(mime);
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if needs_quote(line) {
            w.write_all(b">")?;
            n += 1;
        }
        w.write_all(line)?;
        w.write_all(b"\n")?;
        n += line.len() as u64 + 1;
    }
    w.write_all(b"\n")?;
    Ok(n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn separator_quoting_and_line_ends() {
        let props = json!({
            "from": {"emailAddress": {"name": "Alice", "address": "alice@contoso.com"}},
            "receivedDateTime": "2026-11-02T09:05:07Z",
        });
        let from = from_line(&props, &Value::Null);
        assert_eq!(from, "From alice@contoso.com Mon Nov  2 09:05:07 2026");
        assert_eq!(
            from_line(&Value::Null, &json!({"from": "Bob B <bob@x.org>"})),
            "From bob@x.org Thu Jan  1 00:00:00 1970"
        );
        let mut out = Vec::new();
        let mime = b"Subject: x\r\n\r\nFrom here\r\n>From there\r\nFromage\r\n";
        let n = write_message(&mut out, &from, mime).unwrap();
        assert_eq!(n as usize, out.len());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{from}\nSubject: x\n\n>From here\n>>From there\nFromage\n\n")
        );
    }
}
