//! Content lines as iCalendar (RFC 5545) and vCard (RFC 6350, and 2426 for 3.0) write them:
//! `NAME;PARAM=value:value`, CRLF line ends, folded at 75 octets without splitting a character.

/// Escapes a TEXT value: backslash, semicolon, comma and line breaks.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value (`mailto:` of ORGANIZER and ATTENDEE): it has no escapes, so control characters,
/// which no address holds and which would end the line early, are dropped.
pub fn uri(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// A parameter value: quoted when it holds `:`, `;` or `,`; double quotes and control
/// characters (which a parameter cannot hold) are dropped.
pub fn param(value: &str) -> String {
    let clean: String = value
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// Collects content lines into a CRLF-terminated, folded text.
#[derive(Default)]
pub struct Lines {
    pub out: String,
}

impl Lines {
    /// Adds `line` (name, parameters, `:` and an already escaped value), folded.
    pub fn raw(&mut self, line: &str) {
        let mut width = 0;
        for c in line.chars() {
            let n = c.len_utf8();
            if width + n > 75 {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += n;
        }
        self.out.push_str("\r\n");
    }

    /// `NAME:value` with the value escaped as TEXT; nothing when the value is empty.
    pub fn text(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.raw(&format!("{name}:{}", escape(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_folding() {
        assert_eq!(escape("a;b,c\\d\r\ne\nf"), "a\\;b\\,c\\\\d\\ne\\nf");
        assert_eq!(param("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(param("Jane \"JD\" Doe"), "Jane JD Doe");
        let mut l = Lines::default();
        l.text("SUMMARY", &"ü".repeat(80));
        for line in l.out.split("\r\n").filter(|x| !x.is_empty()) {
            assert!(line.len() <= 75, "{}", line.len());
        }
        let unfolded = l.out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{}\r\n", "ü".repeat(80)));
    }
}
