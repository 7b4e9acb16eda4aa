//! Graph contacts as vCard 3.0 (RFC 2426), the version every address book imports: names,
//! e-mail addresses, phones, postal addresses, organisation, title, birthday, notes,
//! categories and the photo (base64) when one was backed up.

use base64::Engine as _;
use serde_json::Value;

use super::lines::{Lines, escape};

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("").trim()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The image type of a photo, from its first bytes.
fn photo_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "PNG"
    } else if bytes.starts_with(b"GIF8") {
        "GIF"
    } else {
        "JPEG"
    }
}

/// The display name to use as FN (which vCard requires).
pub fn display_name(c: &Value) -> String {
    let shown = s(c, "displayName");
    if !shown.is_empty() {
        return shown.to_string();
    }
    let composed: Vec<&str> = [s(c, "givenName"), s(c, "middleName"), s(c, "surname")]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect();
    if !composed.is_empty() {
        return composed.join(" ");
    }
    for k in ["fileAs", "companyName"] {
        if !s(c, k).is_empty() {
            return s(c, k).to_string();
        }
    }
    c["emailAddresses"][0]["address"]
        .as_str()
        .unwrap_or("(no name)")
        .to_string()
}

/// Appends one contact's VCARD to `out`.
pub fn contact(out: &mut Lines, c: &Value, photo: Option<&[u8]>) {
    let l = out;
    l.raw("BEGIN:VCARD");
    l.raw("VERSION:3.0");
    if let Some(id) = c["id"].as_str() {
        l.raw(&format!("UID:{}", escape(id)));
    }
    l.raw(&format!("FN:{}", escape(&display_name(c))));
    let n: Vec<String> = ["surname", "givenName", "middleName", "title", "generation"]
        .iter()
        .map(|k| escape(s(c, k)))
        .collect();
    l.raw(&format!("N:{}", n.join(";")));
    l.text("NICKNAME", s(c, "nickName"));
    if !s(c, "fileAs").is_empty() {
        l.text("SORT-STRING", s(c, "fileAs"));
    }
    for (i, e) in c["emailAddresses"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let addr = e["address"].as_str().unwrap_or("").trim();
        if addr.is_empty() {
            continue;
        }
        let pref = if i == 0 { ",PREF" } else { "" };
        l.raw(&format!("EMAIL;TYPE=INTERNET{pref}:{}", escape(addr)));
    }
    if !s(c, "mobilePhone").is_empty() {
        l.raw(&format!(
            "TEL;TYPE=CELL,VOICE:{}",
            escape(s(c, "mobilePhone"))
        ));
    }
    for p in strings(&c["businessPhones"]) {
        l.raw(&format!("TEL;TYPE=WORK,VOICE:{}", escape(p)));
    }
    for p in strings(&c["homePhones"]) {
        l.raw(&format!("TEL;TYPE=HOME,VOICE:{}", escape(p)));
    }
    for (key, kind) in [
        ("homeAddress", "HOME"),
        ("businessAddress", "WORK"),
        ("otherAddress", "POSTAL"),
    ] {
        let a = &c[key];
        let parts = [
            "",
            "",
            s(a, "street"),
            s(a, "city"),
            s(a, "state"),
            s(a, "postalCode"),
            s(a, "countryOrRegion"),
        ];
        if parts.iter().all(|p| p.is_empty()) {
            continue;
        }
        let v: Vec<String> = parts.iter().map(|p| escape(p)).collect();
        l.raw(&format!("ADR;TYPE={kind}:{}", v.join(";")));
    }
    if !s(c, "companyName").is_empty() || !s(c, "department").is_empty() {
        l.raw(&format!(
            "ORG:{};{}",
            escape(s(c, "companyName")),
            escape(s(c, "department"))
        ));
    }
    l.text("TITLE", s(c, "jobTitle"));
    l.text("ROLE", s(c, "profession"));
    if let Some(d) = c["birthday"]
        .as_str()
        .and_then(|b| b.get(..10))
        .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
    {
        l.raw(&format!("BDAY;VALUE=DATE:{d}"));
    }
    l.text("URL", s(c, "businessHomePage"));
    l.text("NOTE", c["personalNotes"].as_str().unwrap_or(""));
    let cats: Vec<String> = strings(&c["categories"]).into_iter().map(escape).collect();
    if !cats.is_empty() {
        l.raw(&format!("CATEGORIES:{}", cats.join(",")));
    }
    for im in strings(&c["imAddresses"]) {
        l.text("X-MS-IMADDRESS", im);
    }
    l.text("X-ASSISTANT", s(c, "assistantName"));
    l.text("X-MANAGER", s(c, "manager"));
    l.text("X-SPOUSE", s(c, "spouseName"));
    l.text("X-MS-OFFICE-LOCATION", s(c, "officeLocation"));
    for child in strings(&c["children"]) {
        l.text("X-MS-CHILD", child);
    }
    if let Some(t) = c["lastModifiedDateTime"]
        .as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
    {
        l.raw(&format!("REV:{}", t.format("%Y-%m-%dT%H:%M:%SZ")));
    }
    if let Some(p) = photo.filter(|p| !p.is_empty()) {
        l.raw(&format!(
            "PHOTO;ENCODING=b;TYPE={}:{}",
            photo_type(p),
            base64::engine::general_purpose::STANDARD.encode(p)
        ));
    }
    l.raw("END:VCARD");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_addresses_and_escaping() {
        let mut l = Lines::default();
        contact(
            &mut l,
            &json!({
                "id": "c1", "displayName": "Müller, Jörg", "givenName": "Jörg", "surname": "Müller",
                "emailAddresses": [{"name": "J", "address": "joerg@example.de"}, {"address": "j2@example.de"}],
                "businessPhones": ["+49 30 1234"], "mobilePhone": "+49 170 1",
                "homeAddress": {"street": "Hauptstr. 1\nHinterhaus", "city": "Berlin", "postalCode": "10115",
                                "countryOrRegion": "Germany"},
                "companyName": "Contoso; GmbH", "jobTitle": "CTO", "birthday": "1980-05-17T00:00:00Z",
                "personalNotes": "likes tea,\nnot coffee",
            }),
            Some(b"\x89PNG\r\n\x1a\nrest"),
        );
        let t = l.out.replace("\r\n ", "");
        assert!(t.contains("FN:Müller\\, Jörg\r\n"));
        assert!(t.contains("N:Müller;Jörg;;;\r\n"));
        assert!(t.contains("EMAIL;TYPE=INTERNET,PREF:joerg@example.de\r\n"));
        assert!(t.contains("EMAIL;TYPE=INTERNET:j2@example.de\r\n"));
        assert!(t.contains("ADR;TYPE=HOME:;;Hauptstr. 1\\nHinterhaus;Berlin;;10115;Germany\r\n"));
        assert!(t.contains("ORG:Contoso\\; GmbH;\r\n"));
        assert!(t.contains("BDAY;VALUE=DATE:1980-05-17\r\n"));
        assert!(t.contains("NOTE:likes tea\\,\\nnot coffee\r\n"));
        assert!(t.contains("PHOTO;ENCODING=b;TYPE=PNG:iVBORw0KGgpyZXN0\r\n"));
    }
}
