//! `PATCH /users/{id}/mailboxSettings` (Microsoft Graph,
//! api-reference/v1.0/api/user-update-mailboxsettings.md): the writable
//! settings are automaticRepliesSetting, dateFormat,
//! delegateMeetingMessageDeliveryOptions, language, timeFormat, timeZone and
//! workingHours. A complex value is merged into the current one (properties
//! not sent keep their values); the answer is 200 with the updated
//! properties (whole, after the merge), as the doc's examples show. The
//! whole body is validated before anything is stored. Permission
//! (`MailboxSettings.ReadWrite`) is checked by the protocol layer, as for
//! every write.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::St;
use super::pim::{json_object, mailbox_index, ok_json, respond, unknown_property};
use crate::error::GraphError;
use crate::pim::json::mailbox_settings_json;

/// The properties PATCH may set, as Graph spells them.
const WRITABLE: &[&str] = &[
    "automaticRepliesSetting",
    "dateFormat",
    "delegateMeetingMessageDeliveryOptions",
    "language",
    "timeFormat",
    "timeZone",
    "workingHours",
];

/// Properties of mailboxSettings that are read only.
const READ_ONLY: &[&str] = &["userPurpose", "archiveFolder"];

const REPLY_STATUS: &[&str] = &["disabled", "alwaysEnabled", "scheduled"];
const EXTERNAL_AUDIENCE: &[&str] = &["none", "contactsOnly", "all"];
const DELEGATE_OPTIONS: &[&str] = &[
    "sendToDelegateAndInformationToPrincipal",
    "sendToDelegateAndPrincipal",
    "sendToDelegateOnly",
];

/// IANA areas accepted for a time zone name of the form `Area/City`.
const IANA_AREAS: &[&str] = &[
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
    "Etc",
];

/// Display names of a few locales (`localeInfo.displayName`); others keep
/// the locale as their display name.
const LOCALES: &[(&str, &str)] = &[
    ("en-US", "English (United States)"),
    ("en-GB", "English (United Kingdom)"),
    ("de-DE", "German (Germany)"),
    ("de-AT", "German (Austria)"),
    ("de-CH", "German (Switzerland)"),
    ("fr-FR", "French (France)"),
    ("es-ES", "Spanish (Spain)"),
    ("it-IT", "Italian (Italy)"),
    ("nl-NL", "Dutch (Netherlands)"),
    ("ja-JP", "Japanese (Japan)"),
];

/// `PATCH /users/{id}/mailboxSettings`.
pub(crate) async fn update(State(shared): St, Path(uid): Path<String>, body: Body) -> Response {
    respond(
        async {
            let input = json_object(body).await?;
            let mut t = shared.lock();
            let i = mailbox_index(&t, &uid)?;
            let mbx = &mut t.mailboxes[i];
            let current = mailbox_settings_json(mbx);
            let mut updated = Map::new();
            for (k, v) in &input {
                if k.starts_with('@') {
                    continue; // @odata.context, @odata.type
                }
                if let Some(r) = READ_ONLY.iter().find(|r| r.eq_ignore_ascii_case(k)) {
                    return Err(GraphError::invalid_request(format!(
                        "The property '{r}' of 'microsoft.graph.mailboxSettings' is read-only and cannot be updated."
                    )));
                }
                let Some(name) = WRITABLE.iter().find(|w| w.eq_ignore_ascii_case(k)) else {
                    return Err(unknown_property(k, "mailboxSettings"));
                };
                let cur = current.get(*name).cloned().unwrap_or(Value::Null);
                updated.insert(name.to_string(), setting(name, v, cur)?);
            }
            for (k, v) in &updated {
                mbx.pim.settings.insert(k.clone(), v.clone());
            }
            let c = format!(
                "{}/$metadata#users('{}')/mailboxSettings",
                shared.graph_url(),
                mbx.user.id
            );
            Ok(ok_json(
                StatusCode::OK,
                crate::routes::with_context(c, Value::Object(updated)),
                &[],
            ))
        }
        .await,
    )
}

/// The new value of one writable setting (`cur`: its value now).
fn setting(name: &str, v: &Value, cur: Value) -> Result<Value, GraphError> {
    match name {
        "automaticRepliesSetting" => automatic_replies(v, cur),
        "dateFormat" => format_string(name, v, &['d', 'M', 'y']),
        "timeFormat" => format_string(name, v, &['h', 'H']),
        "delegateMeetingMessageDeliveryOptions" => {
            enum_value(name, "mailboxSettings", v, DELEGATE_OPTIONS)
        }
        "language" => language(v, cur),
        "timeZone" => match v.as_str() {
            Some(z) if time_zone_ok(z) => Ok(json!(z.trim())),
            _ => Err(invalid_time_zone()),
        },
        _ => working_hours(v, cur),
    }
}

fn bad_value(name: &str, entity: &str, v: &Value) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value '{}' for property '{name}' of type 'microsoft.graph.{entity}'.",
        v.as_str().map_or_else(|| v.to_string(), str::to_string)
    ))
}

/// One of `allowed` (case-insensitive, as Graph reads enum members),
/// spelled as Graph does.
fn enum_value(name: &str, entity: &str, v: &Value, allowed: &[&str]) -> Result<Value, GraphError> {
    v.as_str()
        .and_then(|s| allowed.iter().find(|a| a.eq_ignore_ascii_case(s.trim())))
        .map(|a| json!(a))
        .ok_or_else(|| bad_value(name, entity, v))
}

/// A .NET short date or short time pattern: a string with one of `needs`.
fn format_string(name: &str, v: &Value, needs: &[char]) -> Result<Value, GraphError> {
    match v.as_str() {
        Some(s) if s.len() <= 64 && s.contains(needs) => Ok(json!(s)),
        _ => Err(bad_value(name, "mailboxSettings", v)),
    }
}

/// A complex value as an object (else 400).
fn object<'a>(name: &str, v: &'a Value) -> Result<&'a Map<String, Value>, GraphError> {
    v.as_object().ok_or_else(|| {
        GraphError::bad_request(format!(
            "The property '{name}' must be an object of its complex type."
        ))
    })
}

/// The current value as an object (empty if it is none).
fn base(cur: Value) -> Map<String, Value> {
    match cur {
        Value::Object(o) => o,
        _ => Map::new(),
    }
}

fn automatic_replies(v: &Value, cur: Value) -> Result<Value, GraphError> {
    const E: &str = "automaticRepliesSetting";
    let input = object(E, v)?;
    let mut out = base(cur);
    for (k, x) in input {
        match k.as_str() {
            k if k.starts_with('@') => {}
            "status" => {
                out.insert(k.clone(), enum_value(k, E, x, REPLY_STATUS)?);
            }
            "externalAudience" => {
                out.insert(k.clone(), enum_value(k, E, x, EXTERNAL_AUDIENCE)?);
            }
            "internalReplyMessage" | "externalReplyMessage" => {
                let s = x.as_str().ok_or_else(|| bad_value(k, E, x))?;
                out.insert(k.clone(), json!(s));
            }
            "scheduledStartDateTime" | "scheduledEndDateTime" => {
                out.insert(k.clone(), date_time_time_zone(k, x)?);
            }
            other => return Err(unknown_property(other, E)),
        }
    }
    let at = |k: &str| {
        out.get(k)
            .and_then(|d| d.get("dateTime"))
            .and_then(Value::as_str)
            .and_then(crate::pim::time::parse_local)
    };
    if out.get("status").and_then(Value::as_str) == Some("scheduled")
        && let (Some(start), Some(end)) = (at("scheduledStartDateTime"), at("scheduledEndDateTime"))
        && start >= end
    {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidTimeSettings",
            "The scheduled start time should occur before the scheduled end time.",
        ));
    }
    Ok(Value::Object(out))
}

/// `dateTimeTimeZone`: a parseable `dateTime` and a known `timeZone`.
fn date_time_time_zone(name: &str, v: &Value) -> Result<Value, GraphError> {
    let o = object(name, v)?;
    let dt = o
        .get("dateTime")
        .and_then(Value::as_str)
        .and_then(crate::pim::time::parse_local)
        .ok_or_else(|| bad_value(name, "automaticRepliesSetting", v))?;
    let zone = o.get("timeZone").and_then(Value::as_str).unwrap_or("UTC");
    if !time_zone_ok(zone) {
        return Err(invalid_time_zone());
    }
    Ok(json!({
        "dateTime": crate::pim::time::graph_local(&dt),
        "timeZone": zone.trim(),
    }))
}

fn language(v: &Value, cur: Value) -> Result<Value, GraphError> {
    const E: &str = "localeInfo";
    let input = object("language", v)?;
    let mut out = base(cur);
    let locale = match input.get("locale") {
        None => None,
        Some(x) => {
            let s = x.as_str().map(str::trim).unwrap_or("");
            let mut parts = s.split('-');
            let lang = parts.next().unwrap_or("");
            let region = parts.next();
            let ok = (2..=3).contains(&lang.len())
                && lang.chars().all(|c| c.is_ascii_alphabetic())
                && region.is_none_or(|r| {
                    (2..=3).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric())
                })
                && parts.next().is_none();
            if !ok {
                return Err(bad_value("locale", E, x));
            }
            Some(s.to_string())
        }
    };
    for k in input.keys() {
        if !k.starts_with('@') && k != "locale" && k != "displayName" {
            return Err(unknown_property(k, E));
        }
    }
    if let Some(l) = locale {
        // displayName follows the locale (Exchange computes it).
        let display = LOCALES
            .iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(&l))
            .map_or_else(|| l.clone(), |(_, d)| d.to_string());
        out.insert("locale".into(), json!(l));
        out.insert("displayName".into(), json!(display));
    }
    Ok(Value::Object(out))
}

fn working_hours(v: &Value, cur: Value) -> Result<Value, GraphError> {
    const E: &str = "workingHours";
    let input = object(E, v)?;
    let mut out = base(cur);
    for (k, x) in input {
        match k.as_str() {
            k if k.starts_with('@') => {}
            "daysOfWeek" => {
                let days = x.as_array().ok_or_else(|| bad_value(k, E, x))?;
                let mut names = Vec::new();
                for d in days {
                    let s = d.as_str().unwrap_or("");
                    let day = crate::pim::time::parse_weekday(s).ok_or_else(|| {
                        GraphError::new(
                            StatusCode::BAD_REQUEST,
                            "InvalidArguments",
                            format!("Requested value '{s}' was not found."),
                        )
                    })?;
                    names.push(json!(crate::pim::time::weekday_name(day)));
                }
                out.insert(k.clone(), Value::Array(names));
            }
            "startTime" | "endTime" => {
                let s = x.as_str().unwrap_or("");
                let t = time_of_day(s).ok_or_else(|| {
                    GraphError::new(
                        StatusCode::BAD_REQUEST,
                        "RequestBodyRead",
                        format!(
                            "Cannot convert the literal '{s}' to the expected type 'Edm.TimeOfDay'."
                        ),
                    )
                })?;
                out.insert(k.clone(), json!(t.format("%H:%M:%S.0000000").to_string()));
            }
            "timeZone" => {
                let tz = object(k, x)?;
                let custom = tz
                    .get("@odata.type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.customTimeZone"));
                let name = tz.get("name").and_then(Value::as_str).unwrap_or("");
                if !custom && !time_zone_ok(name) {
                    return Err(invalid_time_zone());
                }
                if custom && !tz.get("bias").is_none_or(Value::is_i64) {
                    return Err(invalid_time_zone());
                }
                out.insert(k.clone(), x.clone());
            }
            other => return Err(unknown_property(other, E)),
        }
    }
    let at = |k: &str| out.get(k).and_then(Value::as_str).and_then(time_of_day);
    if let (Some(start), Some(end)) = (at("startTime"), at("endTime"))
        && start >= end
    {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidTimeSettings",
            "Start Time should occur before End Time.",
        ));
    }
    Ok(Value::Object(out))
}

/// `Edm.TimeOfDay`: `HH:MM:SS` with optional fractional seconds.
fn time_of_day(s: &str) -> Option<chrono::NaiveTime> {
    chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f").ok()
}

/// A Windows time zone name (`… Standard Time`, `UTC`, one the emulator
/// knows) or an IANA one (`Area/City` of a known area).
fn time_zone_ok(z: &str) -> bool {
    let z = z.trim();
    if crate::pim::time::zone(z).is_some()
        || z.eq_ignore_ascii_case("UTC")
        || z.eq_ignore_ascii_case("Coordinated Universal Time")
    {
        return true;
    }
    if let Some(prefix) = z.strip_suffix(" Standard Time") {
        return !prefix.trim().is_empty() && z.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    }
    match z.split_once('/') {
        Some((area, city)) => {
            IANA_AREAS.contains(&area)
                && !city.is_empty()
                && city
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+/".contains(c))
        }
        None => false,
    }
}

fn invalid_time_zone() -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "InvalidTimeZone",
        "Time Zone settings provided are invalid.",
    )
}
