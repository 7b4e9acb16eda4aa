//! Word lists for realistic-looking mail: people, subjects and bodies in
//! several languages and scripts.

/// First and last names for generated tenant users after alice and bob.
pub(crate) const USER_NAMES: &[(&str, &str)] = &[
    ("Chloé", "Dubois"),
    ("Jürgen", "Weiß"),
    ("Yuki", "Tanaka"),
    ("Mateo", "García"),
    ("Aisha", "Khan"),
    ("Lars", "Østergaard"),
    ("Zoë", "Ångström"),
    ("Wei", "Zhang"),
    ("Siobhán", "O'Connor"),
    ("Dmitri", "Volkov"),
];

pub(crate) const JOB_TITLES: &[&str] = &[
    "Account Manager",
    "Software Engineer",
    "Head of Finance",
    "Projektleiterin",
    "IT Administrator",
    "Sales Director",
];

pub(crate) const OFFICES: &[&str] = &["Berlin", "München", "Seattle", "Tokyo", "Paris", "Remote"];

/// External correspondents: (display name, address, language).
pub(crate) const EXTERNAL: &[(&str, &str, Lang)] = &[
    (
        "Jürgen Müller",
        "juergen.mueller@lieferant.example.de",
        Lang::De,
    ),
    (
        "Anja Schäfer",
        "a.schaefer@kanzlei-schaefer.example.de",
        Lang::De,
    ),
    ("山田 太郎", "taro.yamada@example.jp", Lang::Ja),
    ("佐藤 花子", "hanako.sato@example.co.jp", Lang::Ja),
    ("François Dupont", "f.dupont@example.fr", Lang::En),
    ("Priya Natarajan", "priya.n@example.in", Lang::En),
    ("O'Brien, Pat", "pat.obrien@partner.example.com", Lang::En),
    (
        "Newsletter 📰 Weekly",
        "news@weekly.example.com",
        Lang::Emoji,
    ),
    ("Contoso IT Helpdesk", "helpdesk@contoso.example", Lang::En),
    ("Δημήτρης Παπαδόπουλος", "dimitris@example.gr", Lang::En),
    ("GitHub", "noreply@github.example.com", Lang::En),
    (
        "Online-Shop Bestellungen",
        "bestellung@shop.example.de",
        Lang::Receipt,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    De,
    Ja,
    Emoji,
    Receipt,
}

pub(crate) fn subjects(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => &[
            "Project Phoenix status update",
            "Re: Budget 2027 draft",
            "FW: Customer escalation – Fabrikam",
            "Weekly report, week {n}",
            "Action required: review the Q4 forecast",
            "Meeting notes from Tuesday",
            "Re: Re: Contract renewal {n}",
            "Lunch on Thursday?",
            "Security advisory {n}: please update your laptop",
            "Welcome to the team!",
        ],
        Lang::De => &[
            "Angebot für Q4 – bitte prüfen",
            "Grüße aus München",
            "Terminbestätigung: Besprechung am {n}. November",
            "Änderungen am Vertrag (Entwurf {n})",
            "AW: Rückfrage zur Lieferung",
            "Übergabe der Unterlagen",
            "WG: Protokoll der Sitzung vom Dienstag",
        ],
        Lang::Ja => &[
            "会議の議事録 第{n}回",
            "来週の打ち合わせについて",
            "【重要】システムメンテナンスのお知らせ",
            "Re: 見積書の件",
            "資料送付のご連絡",
        ],
        Lang::Emoji => &[
            "🎉 Launch party on Friday!",
            "Quarterly numbers 📈 look great",
            "☕ Coffee chat?",
            "Your weekly digest 📰 #{n}",
            "🚀 Release {n} is live",
        ],
        Lang::Receipt => &[
            "Ihre Bestellung Nr. {n} wurde versandt",
            "Rechnung Nr. {n} für Oktober",
            "Your receipt #{n}",
            "Zahlungsbestätigung {n}",
        ],
    }
}

pub(crate) fn sentences(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En | Lang::Emoji => &[
            "Thanks for the quick turnaround on this.",
            "Please find the latest numbers below.",
            "Can we move the review to next week?",
            "I have attached the document we discussed.",
            "Let me know if anything is unclear.",
            "The deadline is the end of the month.",
            "We agreed to revisit the pricing in January.",
            "Looping in the rest of the team for visibility.",
            "Great work, everyone! 🎉",
            "The dashboard now shows 12% growth quarter over quarter.",
            "Line one\tindented with a tab and trailing spaces   ",
            "A line with an equals sign: a=b and 100% sure.",
        ],
        Lang::De => &[
            "Vielen Dank für Ihre schnelle Rückmeldung.",
            "Anbei finden Sie die überarbeiteten Unterlagen.",
            "Könnten wir den Termin auf Donnerstag verschieben?",
            "Die Lieferung erfolgt voraussichtlich Ende der Woche.",
            "Bei Rückfragen stehe ich gern zur Verfügung.",
            "Größere Änderungen sind nicht mehr möglich.",
            "Mit freundlichen Grüßen aus Köln.",
        ],
        Lang::Ja => &[
            "いつもお世話になっております。",
            "添付の資料をご確認ください。",
            "来週の火曜日にお打ち合わせをお願いできますでしょうか。",
            "ご不明な点がございましたらお知らせください。",
            "どうぞよろしくお願いいたします。",
        ],
        Lang::Receipt => &[
            "Vielen Dank für Ihren Einkauf.",
            "Ihre Rechnung finden Sie im Anhang als PDF.",
            "Gesamtbetrag: 149,90 € inkl. MwSt.",
            "Order total: $1,234.56",
            "Die Zahlung wurde per Lastschrift eingezogen.",
        ],
    }
}

pub(crate) const CATEGORIES: &[&str] = &[
    "Red category",
    "Blue category",
    "Projekt Phönix",
    "Kunde",
    "Follow up 📌",
];

pub(crate) const FILE_NAMES_PDF: &[&str] = &[
    "Angebot_Q4.pdf",
    "Übersicht Q4 2026.pdf",
    "請求書_2026-10.pdf",
    "contract-draft-v3.pdf",
    "Rechnung.pdf",
];

pub(crate) const FILE_NAMES_CSV: &[&str] = &["export.csv", "Umsätze_Oktober.csv", "forecast.csv"];

pub(crate) const FILE_NAMES_PNG: &[&str] = &["screenshot.png", "Diagramm 📊.png", "photo.png"];

/// ASCII transliteration for user principal names.
pub(crate) fn ascii_fold(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' | 'ë' | 'É' => out.push('e'),
            'á' | 'à' | 'â' | 'Á' => out.push('a'),
            'å' | 'Å' => out.push('a'),
            'ø' | 'Ø' => out.push('o'),
            'í' | 'ì' => out.push('i'),
            'ó' | 'ò' => out.push('o'),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}
