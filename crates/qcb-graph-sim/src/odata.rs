//! OData query options and `Prefer` headers, parsed leniently but with
//! Graph-shaped errors for what we cannot honour.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::error::GraphError;

/// Decoded query string (`$select`, `%24select` and `select` are the same).
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
    }

    /// Value of a system query option, with or without the `$`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let bare = name.trim_start_matches('$');
        self.pairs
            .iter()
            .find(|(k, _)| k.trim_start_matches('$').eq_ignore_ascii_case(bare))
            .map(|(_, v)| v.as_str())
    }

    /// `$select` as a list; `None` when absent.
    pub fn select(&self) -> Option<Vec<String>> {
        self.get("$select").map(|s| {
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
    }

    pub fn usize_option(&self, name: &str) -> Result<Option<usize>, GraphError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<usize>().map(Some).map_err(|_| {
                GraphError::bad_request(format!("Invalid value '{v}' for query option '{name}'."))
            }),
        }
    }

    /// Query pairs except the named options, re-encoded (for nextLinks).
    pub fn without(&self, names: &[&str]) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(k, _)| {
                !names.iter().any(|n| {
                    k.trim_start_matches('$')
                        .eq_ignore_ascii_case(n.trim_start_matches('$'))
                })
            })
            .cloned()
            .collect()
    }
}

/// Encodes query pairs for a link; keeps `$` readable.
pub(crate) fn encode_pairs(pairs: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish().replace("%24", "$")
}

/// Parsed `Prefer` request headers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prefer {
    pub immutable_ids: bool,
    pub max_page_size: Option<usize>,
}

impl Prefer {
    pub fn from_headers(h: &HeaderMap) -> Self {
        let mut p = Prefer::default();
        for v in h.get_all("prefer") {
            let Ok(v) = v.to_str() else { continue };
            for item in v.split(',') {
                let item = item.trim();
                let Some((k, val)) = item.split_once('=') else {
                    continue;
                };
                let k = k.trim();
                let val = val.trim().trim_matches('"');
                if k.eq_ignore_ascii_case("IdType") && val.eq_ignore_ascii_case("ImmutableId") {
                    p.immutable_ids = true;
                } else if k.eq_ignore_ascii_case("odata.maxpagesize")
                    && let Ok(n) = val.parse::<usize>()
                    && n > 0
                {
                    p.max_page_size = Some(n);
                }
            }
        }
        p
    }

    pub fn id_form(&self) -> crate::ids::IdForm {
        if self.immutable_ids {
            crate::ids::IdForm::Immutable
        } else {
            crate::ids::IdForm::Regular
        }
    }
}

/// What `$expand` asked for on a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Expand {
    pub attachments: bool,
    /// `Some(ids)` when extended properties are expanded; an empty list
    /// means "all".
    pub extended: Option<Vec<String>>,
}

/// Splits on commas that are not inside parentheses or quotes.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// Parses `$expand` for messages: `attachments` and
/// `singleValueExtendedProperties($filter=id eq '...' [or id eq '...'])`.
pub(crate) fn parse_message_expand(s: Option<&str>) -> Result<Expand, GraphError> {
    let mut e = Expand::default();
    let Some(s) = s else { return Ok(e) };
    for item in split_top_level(s) {
        let (name, opts) = match item.find('(') {
            Some(i) => (item[..i].trim(), Some(item[i + 1..].trim_end_matches(')'))),
            None => (item.as_str(), None),
        };
        if name.eq_ignore_ascii_case("attachments") {
            e.attachments = true;
        } else if name.eq_ignore_ascii_case("singleValueExtendedProperties") {
            let mut ids = Vec::new();
            if let Some(opts) = opts {
                let filter = opts
                    .split(';')
                    .find_map(|o| {
                        let (k, v) = o.split_once('=')?;
                        k.trim()
                            .trim_start_matches('$')
                            .eq_ignore_ascii_case("filter")
                            .then(|| v.trim().to_string())
                    })
                    .ok_or_else(|| {
                        GraphError::bad_request("Only $filter is supported inside $expand.")
                    })?;
                ids = parse_id_filter(&filter)?;
            }
            e.extended = Some(ids);
        } else {
            return Err(GraphError::bad_request(format!(
                "Parsing OData Select and Expand failed: Could not find a property named '{name}' on type 'microsoft.graph.message'."
            )));
        }
    }
    Ok(e)
}

/// `id eq 'A' or id eq 'B'` → `["A", "B"]`.
fn parse_id_filter(f: &str) -> Result<Vec<String>, GraphError> {
    let mut ids = Vec::new();
    let mut rest = f.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        if !lower.starts_with("id") {
            return Err(GraphError::bad_request(format!(
                "Invalid filter clause: '{f}'"
            )));
        }
        let after_id = rest[2..].trim_start();
        let Some(after_eq) = after_id
            .get(..2)
            .filter(|op| op.eq_ignore_ascii_case("eq"))
            .map(|_| after_id[2..].trim_start())
        else {
            return Err(GraphError::bad_request(format!(
                "Invalid filter clause: '{f}'"
            )));
        };
        let Some(body) = after_eq.strip_prefix('\'') else {
            return Err(GraphError::bad_request(format!(
                "Invalid filter clause: '{f}'"
            )));
        };
        // read a quoted literal with '' escapes
        let mut lit = String::new();
        let mut chars = body.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|p| p.1) == Some('\'') {
                    lit.push('\'');
                    chars.next();
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                lit.push(c);
            }
        }
        let Some(end) = end else {
            return Err(GraphError::bad_request(format!(
                "Invalid filter clause: '{f}'"
            )));
        };
        ids.push(lit);
        rest = body[end..].trim_start();
        if rest.is_empty() {
            break;
        }
        let lower = rest.to_ascii_lowercase();
        if let Some(r) = lower.strip_prefix("or ") {
            rest = rest[rest.len() - r.len()..].trim_start();
        } else {
            return Err(GraphError::bad_request(format!(
                "Invalid filter clause: '{f}'"
            )));
        }
    }
    Ok(ids)
}

/// Supported message filter: `receivedDateTime ge|gt <date-time>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReceivedFilter {
    pub strict: bool,
    pub at: DateTime<Utc>,
}

impl ReceivedFilter {
    pub fn matches(&self, t: &DateTime<Utc>) -> bool {
        if self.strict {
            *t > self.at
        } else {
            *t >= self.at
        }
    }
}

pub(crate) fn parse_received_filter(f: Option<&str>) -> Result<Option<ReceivedFilter>, GraphError> {
    let Some(f) = f else { return Ok(None) };
    let parts: Vec<&str> = f.split_whitespace().collect();
    let unsupported = || {
        GraphError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "ErrorInvalidUrlQueryFilter",
            format!(
                "The query filter '{f}' is not supported; only 'receivedDateTime ge|gt <DateTimeOffset>' is."
            ),
        )
    };
    if parts.len() != 3 || !parts[0].eq_ignore_ascii_case("receivedDateTime") {
        return Err(unsupported());
    }
    let strict = match parts[1].to_ascii_lowercase().as_str() {
        "ge" => false,
        "gt" => true,
        _ => return Err(unsupported()),
    };
    let at = DateTime::parse_from_rfc3339(parts[2].trim_matches('\''))
        .map_err(|_| unsupported())?
        .with_timezone(&Utc);
    Ok(Some(ReceivedFilter { strict, at }))
}

/// Canonical form of a single-value extended property id:
/// `String 0x007D` → `String 0x7d`; named properties keep their text with
/// a canonical type name.
pub(crate) fn canonical_ext_id(id: &str) -> Option<String> {
    let id = id.trim();
    let (ty, rest) = id.split_once(char::is_whitespace)?;
    const TYPES: &[&str] = &[
        "String",
        "Integer",
        "SystemTime",
        "Boolean",
        "Binary",
        "Long",
        "Double",
        "Float",
        "Currency",
        "CLSID",
        "Short",
        "ApplicationTime",
        "Object",
        "StringArray",
        "IntegerArray",
    ];
    let ty = TYPES.iter().find(|t| t.eq_ignore_ascii_case(ty))?;
    let rest = rest.trim();
    if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        let tag = u32::from_str_radix(hex, 16).ok()?;
        if tag > 0xffff {
            return None;
        }
        return Some(format!("{ty} 0x{tag:x}"));
    }
    if rest.starts_with('{') {
        return Some(format!("{ty} {rest}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_parsing() {
        let e = parse_message_expand(Some(
            "attachments,singleValueExtendedProperties($filter=id eq 'String 0x007D' or id eq 'Integer 0x0E07')",
        ))
        .expect("valid");
        assert!(e.attachments);
        assert_eq!(
            e.extended,
            Some(vec![
                "String 0x007D".to_string(),
                "Integer 0x0E07".to_string()
            ])
        );
        assert!(parse_message_expand(Some("bogus")).is_err());
        assert!(parse_message_expand(Some("singleValueExtendedProperties($filter=foo)")).is_err());
    }

    #[test]
    fn ext_ids() {
        assert_eq!(
            canonical_ext_id("String 0x007D").as_deref(),
            Some("String 0x7d")
        );
        assert_eq!(
            canonical_ext_id("integer 0x0E07").as_deref(),
            Some("Integer 0xe07")
        );
        assert_eq!(
            canonical_ext_id("String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color").as_deref(),
            Some("String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color")
        );
        assert_eq!(canonical_ext_id("nonsense"), None);
    }

    #[test]
    fn prefer_header() {
        let mut h = HeaderMap::new();
        h.append("prefer", "odata.maxpagesize=7".parse().expect("hv"));
        h.append("prefer", "IdType=\"ImmutableId\"".parse().expect("hv"));
        let p = Prefer::from_headers(&h);
        assert!(p.immutable_ids);
        assert_eq!(p.max_page_size, Some(7));
    }

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some(
            "%24select=subject,isRead&$top=5&$filter=receivedDateTime+ge+2026-10-01T00:00:00Z",
        ));
        assert_eq!(q.select(), Some(vec!["subject".into(), "isRead".into()]));
        assert_eq!(q.usize_option("$top").ok().flatten(), Some(5));
        let f = parse_received_filter(q.get("$filter")).ok().flatten();
        assert!(f.is_some());
    }
}
