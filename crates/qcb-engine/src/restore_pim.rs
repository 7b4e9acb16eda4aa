//! Restore of contacts, calendars, To Do tasks and inbox rules from their stored Graph JSON.
//!
//! - Contacts and events are created with their writable properties and an extended property
//!   holding the backed-up item's id ([`ORIGINAL_ID_PROPERTY`]); a later restore lists the
//!   container with that property expanded and so recognises the item (the original, by its
//!   immutable id, or an earlier restored copy).
//! - A contact's photo is put back after the contact (`PUT …/photo/$value`).
//! - An event is created with its recurrence; then its attachments are added, its exceptions
//!   re-applied by PATCHing the new series' occurrences at the same original start, and its
//!   cancelled occurrences deleted. An event keeps the time zone it was made in.
//! - No invitation, update or cancellation is sent to anyone. Graph has no switch for that:
//!   an organizer's event with attendees notifies them on create, on every change and on
//!   delete. So a meeting (an event with attendees) is created as the mailbox's own copy of a
//!   received meeting (`PidLidAppointmentStateFlags` = asfMeeting | asfReceived, with the
//!   original organizer and response), which Exchange never sends for. The price: a meeting
//!   the mailbox owner organized comes back with `isOrganizer` false. An event with no
//!   attendees comes back exactly as it was. A restore never overwrites (deletes) a meeting the
//!   mailbox organizes, since that would send a cancellation; it reports it as skipped.
//! - To Do tasks cannot carry extended properties in Graph, so a task is recognised by its
//!   title and body; overwriting one sets its other properties back.
//! - Inbox rules are recognised by name; a rule that moves or copies mail is pointed at the
//!   folder with the same path in the target mailbox. Mailbox settings are reported, not written.
//! - The items of a container are written with up to `Run::requests` in flight. A contact or
//!   event that could not be completed (photo, attachments, exceptions) is deleted again, so the
//!   next run does not take it for restored.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use qcb_graph::GraphClient;
use serde_json::{Map, Value, json};

use crate::error::{EngineError, Result};
use crate::progress::Phase;
use crate::restore::{
    Action, CategoryPlan, Job, ORIGINAL_ID_PROPERTY, OnConflict, RestoreTarget, Run,
    create_container, read_item, same_folder_name,
};

/// `PidLidAppointmentStateFlags` (PSETID_Appointment, 0x8217).
const APPOINTMENT_STATE_FLAGS: &str = "Integer {00062002-0000-0000-C000-000000000046} Id 0x8217";
/// Attachments of this size or more go through an upload session.
const LARGE_ATTACHMENT: usize = 3 * 1024 * 1024;
/// asfMeeting | asfReceived: a meeting received from its organizer.
const RECEIVED_MEETING: &str = "3";

/// The backed-up item's id stored on a restored copy, if any.
fn original_id(v: &Value) -> Option<&str> {
    v["singleValueExtendedProperties"]
        .as_array()?
        .iter()
        .find(|p| {
            p["id"]
                .as_str()
                .is_some_and(|id| id.eq_ignore_ascii_case(ORIGINAL_ID_PROPERTY))
        })?["value"]
        .as_str()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// Copies `keys` of `v` that are set.
fn pick(v: &Value, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| {
            v.get(*k)
                .filter(|x| !x.is_null())
                .map(|x| (k.to_string(), x.clone()))
        })
        .collect()
}

fn with_original_id(mut body: Map<String, Value>, id: &str) -> Map<String, Value> {
    let mut ext = body
        .remove("singleValueExtendedProperties")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default();
    ext.push(json!({ "id": ORIGINAL_ID_PROPERTY, "value": id }));
    body.insert("singleValueExtendedProperties".into(), Value::Array(ext));
    body
}

// ------------------------------------------------------------------------------ contacts

/// Properties of a contact Graph computes or that are not the contact's own.
const CONTACT_READ_ONLY: &[&str] = &[
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "parentFolderId",
    "photo",
    "extensions",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
];

fn contact_body(v: &Value, original: &str) -> Value {
    let body: Map<String, Value> = v
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !k.starts_with('@') && !CONTACT_READ_ONLY.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(with_original_id(body, original))
}

fn image_type(b: &[u8]) -> &'static str {
    if b.starts_with(b"\x89PNG") {
        "image/png"
    } else if b.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "image/jpeg"
    }
}

pub(crate) async fn contacts(run: &mut Run, cat: &CategoryPlan) -> Result<()> {
    let graph = run.graph.clone();
    let uid = run.user_id.clone();
    // (id, parent id, display name)
    let mut folders: Vec<(String, Option<String>, String)> = graph
        .contact_folders(&uid)
        .await?
        .iter()
        .map(|f| {
            (
                id_of(f),
                f["parentFolderId"].as_str().map(str::to_string),
                f["displayName"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for c in &cat.containers {
        let path = run.nested_path(cat, c);
        let label = format!("{}/{}", cat.category, path.join("/"));
        run.event(Phase::Folder, Some(label.clone()));
        let mut parent: Option<String> = None;
        let mut folder: Option<String> = None;
        let mut new = false;
        for (depth, name) in path.iter().enumerate() {
            if depth > 0 && parent.is_none() {
                break;
            }
            let found = folders.iter().find(|(_, p, n)| {
                same_folder_name(n, name)
                    && match &parent {
                        Some(parent) => p.as_ref() == Some(parent),
                        None => p
                            .as_ref()
                            .is_none_or(|p| !folders.iter().any(|(id, ..)| id == p)),
                    }
            });
            folder = match found {
                Some((id, ..)) => Some(id.clone()),
                None if run.dry_run => {
                    let at = format!("{}/{}", cat.category, path[..=depth].join("/"));
                    if !run.planned.iter().any(|p| p.folder == at) {
                        run.plan("create-folder", "contactFolder", &at, "");
                    }
                    new = true;
                    None
                }
                None => {
                    let (g, uid, under) = (&graph, &uid, parent.as_deref());
                    let f = create_container(
                        || g.create_contact_folder(uid, under, name),
                        || async move {
                            let all = g.contact_folders(uid).await?;
                            let found = all.iter().find(|f| {
                                let p = f["parentFolderId"].as_str();
                                same_folder_name(f["displayName"].as_str().unwrap_or(""), name)
                                    && match under {
                                        Some(u) => p == Some(u),
                                        None => {
                                            p.is_none_or(|p| !all.iter().any(|o| id_of(o) == p))
                                        }
                                    }
                            });
                            Ok(found.cloned())
                        },
                    )
                    .await?;
                    run.folders_created += 1;
                    new = true;
                    folders.push((id_of(&f), parent.clone(), name.clone()));
                    Some(id_of(&f))
                }
            };
            parent = folder.clone();
        }
        let mut present: HashMap<String, String> = HashMap::new();
        if let (Some(fid), false) = (&folder, new) {
            for x in graph
                .contacts_with_property(&uid, fid, ORIGINAL_ID_PROPERTY)
                .await?
            {
                let id = id_of(&x);
                if let Some(o) = original_id(&x) {
                    present.insert(o.to_string(), id.clone());
                }
                present.insert(id.clone(), id);
            }
        }
        let mut jobs = Vec::new();
        for item in &c.items {
            let there = present.remove(&item.name);
            let Some(action) = run.decide("contact", &label, &item.name, there) else {
                continue;
            };
            let Some(fid) = folder.clone() else { continue };
            let (graph, repo, uid, item) =
                (graph.clone(), run.repo.clone(), uid.clone(), item.clone());
            jobs.push(Job {
                item_id: item.name.clone(),
                replaced: matches!(action, Action::Replace(_)),
                work: Box::pin(async move {
                    let (v, photo) = read_item(&repo, &item).await?;
                    if let Action::Replace(old) = &action {
                        graph.delete_contact(&uid, old).await?;
                    }
                    let created = graph
                        .create_contact(&uid, &fid, &contact_body(&v, &item.name))
                        .await?;
                    if let Some(photo) = photo {
                        let id = id_of(&created);
                        if let Err(e) = graph
                            .set_contact_photo(&uid, &id, image_type(&photo), photo)
                            .await
                        {
                            // Without its photo it would pass for restored next time.
                            if let Err(d) = graph.delete_contact(&uid, &id).await {
                                tracing::warn!(contact = %id, error = %d, "incomplete restored contact not removed");
                            }
                            return Err(e.into());
                        }
                    }
                    Ok(())
                }),
            });
        }
        run.run_jobs(&label, jobs).await?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------ calendars

/// The event properties a create (and, but for `recurrence`, an occurrence's update) takes.
const EVENT_WRITABLE: &[&str] = &[
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "location",
    "locations",
    "attendees",
    "importance",
    "sensitivity",
    "showAs",
    "categories",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
    "isOnlineMeeting",
    "recurrence",
];

fn has_attendees(v: &Value) -> bool {
    v["attendees"].as_array().is_some_and(|a| !a.is_empty())
}

fn event_body(v: &Value, original: &str) -> Value {
    let mut body = pick(v, EVENT_WRITABLE);
    if has_attendees(v) {
        // Created as the mailbox's copy of a received meeting: Exchange sends nothing for it.
        body.insert(
            "singleValueExtendedProperties".into(),
            json!([{ "id": APPOINTMENT_STATE_FLAGS, "value": RECEIVED_MEETING }]),
        );
        if let Some(o) = v.get("organizer").filter(|o| !o.is_null()) {
            body.insert("organizer".into(), o.clone());
        }
        if let Some(r) = v["responseStatus"]["response"].as_str() {
            body.insert("responseStatus".into(), json!({ "response": r }));
        }
    }
    Value::Object(with_original_id(body, original))
}

fn parse_instant(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A zone other than UTC that an event was made in.
fn own_zone(v: &Value) -> Option<String> {
    v["originalStartTimeZone"]
        .as_str()
        .filter(|z| !z.is_empty() && !z.eq_ignore_ascii_case("UTC") && !z.contains("/Utc"))
        .map(str::to_string)
}

async fn restore_event(
    graph: &GraphClient,
    uid: &str,
    calendar: &str,
    v: &Value,
    original: &str,
) -> Result<()> {
    let zone = own_zone(v);
    let created = graph
        .create_event(uid, calendar, &event_body(v, original), zone.as_deref())
        .await?;
    let id = id_of(&created);
    match finish_event(graph, uid, &id, &created, v, zone).await {
        Ok(()) => Ok(()),
        Err(e) => {
            // Half a series would be taken for the restored event by the next run (it carries
            // the original id): it goes, so that a re-run restores the event again. Deleting
            // it notifies nobody (it has no attendees, or is a received meeting).
            if let Err(d) = graph.delete_event(uid, &id).await {
                tracing::warn!(event = %id, error = %d, "incomplete restored event not removed");
            }
            Err(e)
        }
    }
}

/// Time zone, attachments, exceptions and cancelled occurrences of a created event.
async fn finish_event(
    graph: &GraphClient,
    uid: &str,
    id: &str,
    created: &Value,
    v: &Value,
    zone: Option<String>,
) -> Result<()> {
    let id = id.to_string();
    if let Some(z) = &zone
        && created["start"]["timeZone"].as_str() == Some(z.as_str())
    {
        // The same instants, expressed in the zone the event was made in (Graph returned them
        // converted): the event keeps its time zone.
        let mut patch =
            json!({ "start": { "dateTime": created["start"]["dateTime"], "timeZone": z } });
        if v["originalEndTimeZone"] == v["originalStartTimeZone"] {
            patch["end"] = json!({ "dateTime": created["end"]["dateTime"], "timeZone": z });
        }
        graph.update_event(uid, &id, &patch).await?;
    }
    for a in v["attachments"].as_array().into_iter().flatten() {
        let bytes = a["contentBytes"].as_str().and_then(|b| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        });
        match bytes {
            // 3 MB or more: through an upload session, as Graph requires.
            Some(bytes) if bytes.len() >= LARGE_ATTACHMENT => {
                let file = qcb_graph::UploadFile {
                    name: a["name"].as_str().unwrap_or("attachment"),
                    content_type: a["contentType"]
                        .as_str()
                        .unwrap_or("application/octet-stream"),
                    is_inline: a["isInline"] == true,
                    content_id: a["contentId"].as_str(),
                    bytes: &bytes,
                };
                graph.upload_event_attachment(uid, &id, &file).await?;
            }
            _ => {
                let body = Value::Object(pick(
                    a,
                    &[
                        "@odata.type",
                        "name",
                        "contentType",
                        "contentBytes",
                        "isInline",
                        "contentId",
                    ],
                ));
                graph.add_event_attachment(uid, &id, &body).await?;
            }
        }
    }
    let exceptions: Vec<&Value> = v["exceptionOccurrences"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let cancelled: Vec<NaiveDate> = v["cancelledOccurrences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str()?.rsplit('.').next())
        .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .collect();
    if exceptions.is_empty() && cancelled.is_empty() {
        return Ok(());
    }
    // The new series' occurrences around the ones to change, their times in the series' zone.
    let series_zone = v["recurrence"]["range"]["recurrenceTimeZone"]
        .as_str()
        .filter(|z| !z.is_empty())
        .or(v["originalStartTimeZone"].as_str())
        .unwrap_or("UTC")
        .to_string();
    let mut days: Vec<NaiveDate> = cancelled.clone();
    days.extend(
        exceptions
            .iter()
            .filter_map(|x| parse_instant(&x["originalStart"]))
            .map(|t| t.date_naive()),
    );
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        return Ok(());
    };
    let from = (first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::days(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let to = (last.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::days(3))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let instances = graph
        .event_instances(uid, &id, &from, &to, &series_zone)
        .await?;
    let missing = |what: String| {
        EngineError::Internal(format!(
            "the restored series has no occurrence {what}; its exceptions were not all re-applied"
        ))
    };
    for x in exceptions {
        let at = parse_instant(&x["originalStart"]);
        let occurrence = instances
            .iter()
            .find(|i| at.is_some() && parse_instant(&i["originalStart"]) == at)
            .ok_or_else(|| missing(format!("at {}", x["originalStart"])))?;
        let mut patch = pick(x, EVENT_WRITABLE);
        patch.remove("recurrence");
        graph
            .update_event(uid, &id_of(occurrence), &Value::Object(patch))
            .await?;
    }
    for day in cancelled {
        let date = day.format("%Y-%m-%d").to_string();
        let occurrence = instances
            .iter()
            .find(|i| {
                i["type"] == "occurrence"
                    && i["start"]["dateTime"]
                        .as_str()
                        .is_some_and(|s| s.starts_with(&date))
            })
            .ok_or_else(|| missing(format!("on {date}")))?;
        graph.delete_event(uid, &id_of(occurrence)).await?;
    }
    Ok(())
}

pub(crate) async fn calendars(run: &mut Run, cat: &CategoryPlan) -> Result<()> {
    let graph = run.graph.clone();
    let uid = run.user_id.clone();
    let mut calendars: Vec<(String, String)> = graph
        .calendars(&uid)
        .await?
        .iter()
        .map(|c| (id_of(c), c["name"].as_str().unwrap_or_default().to_string()))
        .collect();
    for c in &cat.containers {
        let name = run.flat_name(c);
        let label = format!("{}/{name}", cat.category);
        run.event(Phase::Folder, Some(label.clone()));
        let (calendar, new) = match calendars.iter().find(|(_, n)| same_folder_name(n, &name)) {
            Some((id, _)) => (Some(id.clone()), false),
            None if run.dry_run => {
                run.plan("create-folder", "calendar", &label, "");
                (None, true)
            }
            None => {
                let (g, uid, n) = (&graph, &uid, name.as_str());
                let created = create_container(
                    || g.create_calendar(uid, n),
                    || async move {
                        Ok(g.calendars(uid)
                            .await?
                            .into_iter()
                            .find(|c| same_folder_name(c["name"].as_str().unwrap_or(""), n)))
                    },
                )
                .await?;
                run.folders_created += 1;
                calendars.push((id_of(&created), name.clone()));
                (Some(id_of(&created)), true)
            }
        };
        // id → (id there, whether it is a meeting the mailbox organizes)
        let mut present: HashMap<String, (String, bool)> = HashMap::new();
        if let (Some(cid), false) = (&calendar, new) {
            for e in graph
                .events_with_property(&uid, cid, ORIGINAL_ID_PROPERTY)
                .await?
            {
                let id = id_of(&e);
                let organizes = e["isOrganizer"] == true && has_attendees(&e);
                if let Some(o) = original_id(&e) {
                    present.insert(o.to_string(), (id.clone(), organizes));
                }
                present.insert(id.clone(), (id, organizes));
            }
        }
        let mut jobs = Vec::new();
        for item in &c.items {
            let there = present.remove(&item.name);
            if there.as_ref().is_some_and(|t| t.1) && run.on_conflict == OnConflict::Overwrite {
                run.skip(
                    &label,
                    &item.name,
                    "a meeting this mailbox organizes is not overwritten: deleting it would send \
                     its attendees a cancellation"
                        .into(),
                );
                continue;
            }
            let Some(action) = run.decide("event", &label, &item.name, there.map(|t| t.0)) else {
                continue;
            };
            let Some(cid) = calendar.clone() else {
                continue;
            };
            let (graph, repo, uid, item) =
                (graph.clone(), run.repo.clone(), uid.clone(), item.clone());
            jobs.push(Job {
                item_id: item.name.clone(),
                replaced: matches!(action, Action::Replace(_)),
                work: Box::pin(async move {
                    let (v, _) = read_item(&repo, &item).await?;
                    if let Action::Replace(old) = &action {
                        graph.delete_event(&uid, old).await?;
                    }
                    restore_event(&graph, &uid, &cid, &v, &item.name).await
                }),
            });
        }
        run.run_jobs(&label, jobs).await?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------ tasks

const TASK_WRITABLE: &[&str] = &[
    "title",
    "body",
    "importance",
    "status",
    "categories",
    "isReminderOn",
    "dueDateTime",
    "startDateTime",
    "reminderDateTime",
    "completedDateTime",
    "recurrence",
];

/// What identifies a task across a restore: its title and body.
/// The `applicationName` of the linked resource a restore puts on each task it creates.
const RESTORE_LINK_APP: &str = "QCBackup Manager";

fn task_key(v: &Value) -> (String, String) {
    (
        v["title"].as_str().unwrap_or_default().to_string(),
        v["body"]["content"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
}

pub(crate) async fn tasks(run: &mut Run, cat: &CategoryPlan) -> Result<()> {
    let graph = run.graph.clone();
    let uid = run.user_id.clone();
    let mut lists: Vec<(String, String)> = graph
        .todo_lists(&uid)
        .await?
        .iter()
        .map(|l| {
            (
                id_of(l),
                l["displayName"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for c in &cat.containers {
        let name = run.flat_name(c);
        let label = format!("{}/{name}", cat.category);
        run.event(Phase::Folder, Some(label.clone()));
        let (list, new) = match lists.iter().find(|(_, n)| same_folder_name(n, &name)) {
            Some((id, _)) => (Some(id.clone()), false),
            None if run.dry_run => {
                run.plan("create-folder", "taskList", &label, "");
                (None, true)
            }
            None => {
                let (g, uid, n) = (&graph, &uid, name.as_str());
                let created = create_container(
                    || g.create_todo_list(uid, n),
                    || async move {
                        Ok(g.todo_lists(uid)
                            .await?
                            .into_iter()
                            .find(|l| same_folder_name(l["displayName"].as_str().unwrap_or(""), n)))
                    },
                )
                .await?;
                run.folders_created += 1;
                lists.push((id_of(&created), name.clone()));
                (Some(id_of(&created)), true)
            }
        };
        // Tasks already there: the original (same id), a copy an earlier restore made (its
        // linked resource names the original), or, for copies made before restores linked
        // them, one with the same title and body.
        let mut by_id: HashMap<String, String> = HashMap::new();
        let mut by_key: HashMap<(String, String), Vec<String>> = HashMap::new();
        if let (Some(lid), false) = (&list, new) {
            for t in graph.tasks_with_links(&uid, lid).await? {
                let id = id_of(&t);
                for l in t["linkedResources"].as_array().into_iter().flatten() {
                    if l["applicationName"] == RESTORE_LINK_APP
                        && let Some(original) = l["externalId"].as_str()
                    {
                        by_id.insert(original.to_string(), id.clone());
                    }
                }
                by_key.entry(task_key(&t)).or_default().push(id.clone());
                by_id.insert(id.clone(), id);
            }
        }
        let mut jobs = Vec::new();
        for item in &c.items {
            let v = match run.read_item(item).await {
                Ok((v, _)) => v,
                Err(e) => {
                    run.record(&label, &item.name, false, Err(e))?;
                    continue;
                }
            };
            let original = v["id"].as_str().unwrap_or(&item.name).to_string();
            let there = match by_id.remove(&original) {
                Some(id) => {
                    for ids in by_key.values_mut() {
                        ids.retain(|x| *x != id);
                    }
                    Some(id)
                }
                None => by_key.get_mut(&task_key(&v)).and_then(Vec::pop),
            };
            let Some(action) = run.decide("task", &label, &item.name, there) else {
                continue;
            };
            let Some(lid) = list.clone() else { continue };
            let mut body = Value::Object(pick(&v, TASK_WRITABLE));
            if !matches!(action, Action::Replace(_)) {
                // To Do tasks take no extended properties; a linked resource is the documented
                // place for "where this task came from" and lets the next restore find it.
                body["linkedResources"] = json!([{
                    "applicationName": RESTORE_LINK_APP,
                    "displayName": "Restored from a QCBackup snapshot",
                    "externalId": original,
                }]);
            }
            let (graph, uid) = (graph.clone(), uid.clone());
            jobs.push(Job {
                item_id: item.name.clone(),
                replaced: matches!(action, Action::Replace(_)),
                work: Box::pin(async move {
                    match &action {
                        Action::Replace(old) => graph.update_task(&uid, &lid, old, &body).await?,
                        _ => graph.create_task(&uid, &lid, &body).await?,
                    };
                    Ok(())
                }),
            });
        }
        run.run_jobs(&label, jobs).await?;
    }
    Ok(())
}

// ------------------------------------------------------------------------------ settings

pub(crate) async fn settings(run: &mut Run, cat: &CategoryPlan) -> Result<()> {
    let graph = run.graph.clone();
    let uid = run.user_id.clone();
    for c in &cat.containers {
        let label = format!("{}/{}", cat.category, c.path.join("/"));
        for item in &c.items {
            match item.name.as_str() {
                "inboxRules" => {
                    if let RestoreTarget::Folder(_) = run.target {
                        run.skip(
                            &label,
                            &item.name,
                            "inbox rules are restored only to their original place or another \
                             mailbox, not into a folder (they would act on the whole mailbox)"
                                .into(),
                        );
                        continue;
                    }
                    let (v, _) = run.read_item(item).await?;
                    let mut present: HashMap<String, String> = HashMap::new();
                    for r in graph.inbox_rules(&uid).await? {
                        if let Some(n) = r["displayName"].as_str() {
                            present.insert(n.to_string(), id_of(&r));
                        }
                    }
                    let mut target_folders = None;
                    for rule in v.as_array().into_iter().flatten() {
                        let name = rule["displayName"].as_str().unwrap_or_default().to_string();
                        let there = present.remove(&name);
                        let Some(action) = run.decide("rule", &label, &name, there) else {
                            continue;
                        };
                        let mut body = Value::Object(pick(
                            rule,
                            &[
                                "displayName",
                                "sequence",
                                "isEnabled",
                                "conditions",
                                "exceptions",
                                "actions",
                            ],
                        ));
                        // A rule that moves or copies mail names the folder by id: the folder at
                        // the same path in the target mailbox.
                        if FOLDER_ACTIONS
                            .iter()
                            .any(|k| body["actions"][*k].is_string())
                            && target_folders.is_none()
                        {
                            target_folders = Some(graph.mail_folders(&uid).await?);
                        }
                        if let Err(reason) = map_rule_folders(
                            &mut body,
                            &run.mail_folders,
                            target_folders.as_deref().unwrap_or_default(),
                        ) {
                            run.record(&label, &name, false, Err(EngineError::NotFound(reason)))?;
                            continue;
                        }
                        let replaced = matches!(action, Action::Replace(_));
                        let r = async {
                            if let Action::Replace(old) = &action {
                                graph.delete_inbox_rule(&uid, old).await?;
                            }
                            graph.create_inbox_rule(&uid, &body).await?;
                            Ok(())
                        }
                        .await;
                        run.record(&label, &name, replaced, r)?;
                    }
                }
                "mailboxSettings" => {
                    if let RestoreTarget::Folder(_) = run.target {
                        run.skip(
                            &label,
                            &item.name,
                            "mailbox settings are restored only to their original place or \
                             another mailbox, not into a folder (they apply to the whole mailbox)"
                                .into(),
                        );
                        continue;
                    }
                    let (v, _) = run.read_item(item).await?;
                    let body = Value::Object(pick(&v, MAILBOX_SETTINGS_WRITABLE));
                    let now = Value::Object(pick(
                        &graph.mailbox_settings(&uid).await?,
                        MAILBOX_SETTINGS_WRITABLE,
                    ));
                    if now == body {
                        run.skip(
                            &label,
                            &item.name,
                            "the mailbox settings are already as backed up".into(),
                        );
                        continue;
                    }
                    // A mailbox has one set of settings: they are replaced or left alone.
                    match run.on_conflict {
                        OnConflict::Skip | OnConflict::KeepBoth => {
                            run.skip(
                                &label,
                                &item.name,
                                "the mailbox's settings differ from the backed-up ones and a \
                                 mailbox has only one set; --on-conflict overwrite puts the \
                                 backed-up ones back"
                                    .into(),
                            );
                            continue;
                        }
                        OnConflict::Overwrite if run.dry_run => {
                            run.plan("overwrite", "mailboxSettings", &label, &item.name);
                            continue;
                        }
                        OnConflict::Overwrite => {}
                    }
                    let r = match graph.update_mailbox_settings(&uid, &body).await {
                        Ok(_) => Ok(()),
                        // Without the permission only this item fails, not the whole restore.
                        Err(e) if e.status() == Some(403) => {
                            Err(EngineError::InvalidInput(format!(
                                "writing mailbox settings needs the MailboxSettings.ReadWrite \
                                 permission: {e}"
                            )))
                        }
                        Err(e) => Err(e.into()),
                    };
                    run.record(&label, &item.name, true, r)?;
                }
                other => run.skip(
                    &label,
                    other,
                    format!("{other} is not a setting this version restores"),
                ),
            }
        }
    }
    Ok(())
}

/// The mailbox settings Graph lets a client write (`PATCH /users/{id}/mailboxSettings`);
/// `userPurpose` and the archive folder are read-only.
const MAILBOX_SETTINGS_WRITABLE: &[&str] = &[
    "automaticRepliesSetting",
    "dateFormat",
    "delegateMeetingMessageDeliveryOptions",
    "language",
    "timeFormat",
    "timeZone",
    "workingHours",
];

/// Rule actions that name a mail folder.
const FOLDER_ACTIONS: &[&str] = &["moveToFolder", "copyToFolder"];

/// Points a rule's folder actions at the folders with the same path in the target mailbox.
fn map_rule_folders(
    rule: &mut Value,
    source: &HashMap<String, Vec<String>>,
    target: &[qcb_graph::MailFolder],
) -> std::result::Result<(), String> {
    for key in FOLDER_ACTIONS {
        let Some(id) = rule["actions"][*key].as_str() else {
            continue;
        };
        let Some(path) = source.get(id) else {
            // Not a folder of the snapshot: left as it is (Graph says whether it exists).
            continue;
        };
        let mut parent: Option<String> = None;
        for name in path {
            match crate::restore::find_folder(target, parent.as_deref(), name) {
                Some(f) => parent = Some(f.id.clone()),
                None => {
                    return Err(format!(
                        "the folder {:?} this rule's {key} names is not in the mailbox (restore \
                         its mail first)",
                        path.join("/")
                    ));
                }
            }
        }
        rule["actions"][*key] = json!(parent);
    }
    Ok(())
}
