//! File and folder names that are safe on Windows, macOS and Linux, made unique per folder.

use std::collections::HashSet;

/// The longest name component we write, in bytes of UTF-8 (ext4 and most file systems allow
/// 255; we leave room for a collision suffix and an extension, and for deep trees on Windows).
const MAX_STEM_BYTES: usize = 120;

/// Names Windows refuses for a file or folder, with or without an extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$",
];

fn is_reserved(stem: &str) -> bool {
    // Windows ignores everything from the first dot, and trailing spaces before it.
    let base = stem.split('.').next().unwrap_or("").trim_end_matches(' ');
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(base))
}

/// Makes `raw` usable as one name component (without extension) on every desktop system:
/// control characters, bidirectional controls and `<>:"/\|?*` become `_`, leading dots and spaces and trailing dots and
/// spaces go, Windows' reserved device names get a `_` appended, and the result is cut (at a
/// character boundary) to a length every file system takes. Never empty, never `.` or `..`.
pub fn safe_stem(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' => '_',
            // Tabs, line breaks and Unicode line and paragraph separators.
            c if c.is_whitespace() => ' ',
            c if c.is_control() => '_',
            // The BOM (zero-width no-break space).
            '\u{feff}' => '_',
            // Bidirectional marks, embeddings, overrides and isolates: `invoice<RLO>fdp.exe`
            // would show as `invoiceexe.pdf`.
            '\u{200e}'
            | '\u{200f}'
            | '\u{061c}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => '_',
            c => c,
        })
        .collect();
    // Collapse runs of whitespace so a folded subject does not leave wide gaps.
    s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = s.trim_start_matches(['.', ' ']);
    let mut s = truncate_bytes(trimmed, MAX_STEM_BYTES).to_string();
    while s.ends_with(['.', ' ']) {
        s.pop();
    }
    if s.is_empty() {
        return "_".into();
    }
    if is_reserved(&s) {
        // `CON.txt` is as reserved as `CON`: change the part before the first dot.
        let base = s
            .split('.')
            .next()
            .unwrap_or("")
            .trim_end_matches(' ')
            .len();
        s.insert(base, '_');
    }
    s
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The names already used in one output folder. Windows and macOS compare names without regard
/// to case, so two names that differ only in case collide too.
#[derive(Debug, Default)]
pub struct NameSet {
    taken: HashSet<String>,
}

impl NameSet {
    fn key(name: &str) -> String {
        name.to_lowercase()
    }

    /// Reserves a unique name `stem.ext` (or `stem` when `ext` is empty), made safe with
    /// [`safe_stem`]; a name already taken (or refused by `exists`, e.g. a file already on
    /// disk) gets a ` (2)`, ` (3)`… suffix.
    pub fn allocate(&mut self, raw_stem: &str, ext: &str, exists: impl Fn(&str) -> bool) -> String {
        let stem = safe_stem(raw_stem);
        let join = |s: &str| {
            if ext.is_empty() {
                s.to_string()
            } else {
                format!("{s}.{ext}")
            }
        };
        let mut n = 1u64;
        loop {
            let candidate = if n == 1 {
                join(&stem)
            } else {
                join(&format!("{stem} ({n})"))
            };
            if !self.taken.contains(&Self::key(&candidate)) && !exists(&candidate) {
                self.taken.insert(Self::key(&candidate));
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn forbidden_characters_and_controls_are_replaced() {
        assert_eq!(safe_stem(r#"a<b>c:d"e/f\g|h?i*j"#), "a_b_c_d_e_f_g_h_i_j");
        assert_eq!(safe_stem("tab\there\u{0}nul\u{2028}x"), "tab here_nul x");
        // A right-to-left override would make `invoice<RLO>fdp.exe` look like a PDF.
        assert_eq!(safe_stem("invoice\u{202e}fdp.exe"), "invoice_fdp.exe");
        assert_eq!(safe_stem("\u{2066}x\u{2069}\u{200f}"), "_x__");
        assert_eq!(safe_stem("line\r\nbreak"), "line break");
        assert_eq!(safe_stem("Re: Budget 2026?"), "Re_ Budget 2026_");
    }

    #[test]
    fn reserved_windows_names_are_changed_whatever_the_case_or_extension() {
        for r in ["CON", "con", "Nul", "aux", "COM1", "lpt9", "PRN", "COM¹"] {
            assert_eq!(safe_stem(r), format!("{r}_"), "{r}");
        }
        assert_eq!(safe_stem("con.txt"), "con_.txt");
        assert_eq!(safe_stem("NUL .tar"), "NUL_ .tar");
        // Only whole names are reserved.
        assert_eq!(safe_stem("CONTACTS"), "CONTACTS");
        assert_eq!(safe_stem("COM10"), "COM10");
        assert_eq!(safe_stem("console"), "console");
    }

    #[test]
    fn dots_and_spaces_at_the_ends_and_empty_names() {
        assert_eq!(safe_stem("name. . "), "name");
        assert_eq!(safe_stem("  .hidden"), "hidden");
        assert_eq!(safe_stem("."), "_");
        assert_eq!(safe_stem(".."), "_");
        assert_eq!(safe_stem(""), "_");
        assert_eq!(safe_stem("   "), "_");
        assert_eq!(safe_stem("a..b"), "a..b");
    }

    #[test]
    fn unicode_is_kept_and_cut_on_a_character_boundary() {
        assert_eq!(safe_stem("打ち合わせ 🍜"), "打ち合わせ 🍜");
        assert_eq!(safe_stem("Workshop Ümlaut-Test"), "Workshop Ümlaut-Test");
        let long = "é".repeat(200); // 400 bytes
        let s = safe_stem(&long);
        assert!(s.len() <= MAX_STEM_BYTES);
        assert!(s.chars().all(|c| c == 'é'));
        let emoji = "🍜".repeat(100);
        let s = safe_stem(&emoji);
        assert!(s.len() <= MAX_STEM_BYTES && s.len().is_multiple_of(4));
        // Cutting must not leave a trailing dot or space behind.
        let tricky = format!("{}. x", "a".repeat(MAX_STEM_BYTES - 1));
        assert_eq!(safe_stem(&tricky), "a".repeat(MAX_STEM_BYTES - 1));
    }

    #[test]
    fn collisions_get_a_suffix_case_insensitively() {
        let mut set = NameSet::default();
        assert_eq!(set.allocate("Report", "eml", none), "Report.eml");
        assert_eq!(set.allocate("Report", "eml", none), "Report (2).eml");
        assert_eq!(set.allocate("REPORT", "eml", none), "REPORT (3).eml");
        assert_eq!(set.allocate("Report", "", none), "Report");
        assert_eq!(set.allocate("report", "", none), "report (2)");
        // Names that only become equal once made safe collide as well.
        assert_eq!(set.allocate("a:b", "ics", none), "a_b.ics");
        assert_eq!(set.allocate("a?b", "ics", none), "a_b (2).ics");
        // Names that exist on disk are never reused.
        let on_disk = |n: &str| n == "Inbox.mbox" || n == "Inbox (2).mbox";
        assert_eq!(set.allocate("Inbox", "mbox", on_disk), "Inbox (3).mbox");
        // A reserved name and its safe form do not collide with each other's suffixes.
        assert_eq!(set.allocate("CON", "vcf", none), "CON_.vcf");
        assert_eq!(set.allocate("con", "vcf", none), "con_ (2).vcf");
    }
}
