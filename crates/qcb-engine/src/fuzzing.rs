//! Entry points for the fuzz targets in `fuzz/` (not an API): each runs one of the engine's
//! handlers of outside data on arbitrary input, the way restore and export use it.

/// Splits `raw` as restore does (headers, body, attachments, and each attached message as
/// restore turns it into an item attachment) and reads its headers as properties.
pub fn mime(raw: &[u8]) {
    if let Ok(parts) = crate::mime::split(raw) {
        for a in &parts.attachments {
            if a.content_type == "message/rfc822" {
                let _ = crate::mime::split(&a.bytes);
                let _ = crate::mime::headers_meta(&a.bytes);
            }
        }
    }
    let _ = crate::mime::headers_meta(raw);
}

/// Writes `json` (Graph's JSON of an event, a task or a contact, as backed up) the way export
/// does: as a VEVENT, a VTODO and a vCard, and checks that every line of the output is folded
/// to at most 75 octets and that no value breaks out of its line.
pub fn ics_vcf(json: &[u8]) {
    let Ok(item) = serde_json::from_slice::<serde_json::Value>(json) else {
        return;
    };
    let mut calendar = crate::export::ics::Calendar::default();
    let _ = calendar.add_event(&item);
    let _ = calendar.add_task(&item);
    let ics = calendar.finish("fuzz");
    let mut vcard = crate::export::lines::Lines::default();
    crate::export::vcf::contact(&mut vcard, &item, None);
    for text in [ics.as_str(), vcard.out.as_str()] {
        for line in text.split("\r\n") {
            assert!(line.len() <= 76, "unfolded line of {} octets", line.len());
            assert!(!line.contains(['\r', '\n']), "bare line break in {line:?}");
        }
    }
}
