//! Calendars and events: series, exceptions, cancelled occurrences,
//! instances, calendarView (+ delta), beta events delta, attachments, and
//! that creating or changing events never sends anything.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, IMMUTABLE, graph_error_code, json_ok, send};
use super::pim_contacts::delta_round;

const WINDOW: &str = "startDateTime=2026-08-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z";

fn master(events: &[Value], subject: &str) -> Value {
    events
        .iter()
        .find(|e| e["subject"] == json!(subject))
        .unwrap_or_else(|| panic!("no {subject}"))
        .clone()
}

#[tokio::test]
async fn series_masters_exceptions_cancellations_and_instances() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let cals = h.get_all(&format!("/users/{uid}/calendars")).await;
    assert_eq!(cals[0]["name"], json!("Calendar"));
    assert_eq!(cals[0]["isDefaultCalendar"], json!(true));
    assert_eq!(cals.len(), 3);

    let events = h.get_all(&format!("/users/{uid}/events?$top=50")).await;
    assert!(
        events
            .iter()
            .all(|e| e["type"] == json!("singleInstance") || e["type"] == json!("seriesMaster"))
    );
    let weekly = master(&events, "Weekly sync 🗓️");
    assert_eq!(weekly["type"], json!("seriesMaster"));
    assert_eq!(weekly["recurrence"]["pattern"]["type"], json!("weekly"));
    assert_eq!(
        weekly["recurrence"]["pattern"]["daysOfWeek"],
        json!(["monday"])
    );
    assert_eq!(
        weekly["recurrence"]["range"]["numberOfOccurrences"],
        json!(10)
    );
    assert_eq!(
        weekly["recurrence"]["range"]["recurrenceTimeZone"],
        json!("W. Europe Standard Time")
    );
    assert_eq!(weekly["hasAttachments"], json!(true));
    assert!(
        weekly.get("cancelledOccurrences").is_none(),
        "only on $select"
    );
    let id = weekly["id"].as_str().expect("id");

    let sel = h
        .get_json(&format!(
            "/users/{uid}/events/{id}?$select=subject,cancelledOccurrences"
        ))
        .await;
    let cancelled = sel["cancelledOccurrences"].as_array().expect("cancelled");
    assert_eq!(cancelled, &vec![json!(format!("OID.{id}.2026-11-02"))]);
    let exp = h
        .get_json(&format!(
            "/users/{uid}/events/{id}?$expand=exceptionOccurrences"
        ))
        .await;
    let exc = exp["exceptionOccurrences"].as_array().expect("exceptions");
    assert_eq!(exc.len(), 1);
    assert_eq!(exc[0]["type"], json!("exception"));
    assert_eq!(exc[0]["seriesMasterId"], json!(id));
    assert_eq!(exc[0]["originalStart"], json!("2026-10-19T08:00:00Z"));
    assert_eq!(
        exc[0]["start"]["dateTime"],
        json!("2026-10-20T12:00:00.0000000")
    );

    let inst = h
        .get_all(&format!(
            "/users/{uid}/events/{id}/instances?{WINDOW}&$top=5"
        ))
        .await;
    assert_eq!(inst.len(), 9, "10 occurrences, one cancelled");
    assert_eq!(
        inst.iter()
            .filter(|i| i["type"] == json!("exception"))
            .count(),
        1
    );
    assert!(
        inst.iter()
            .all(|i| i["seriesMasterId"] == json!(id) && i["recurrence"].is_null())
    );
    // 10:00 Berlin is 08:00 UTC in summer time and 09:00 UTC after it.
    assert_eq!(
        inst[0]["start"],
        json!({"dateTime": "2026-09-28T08:00:00.0000000", "timeZone": "UTC"})
    );
    let nov = inst
        .iter()
        .find(|i| {
            i["start"]["dateTime"]
                .as_str()
                .is_some_and(|s| s.starts_with("2026-11-09"))
        })
        .expect("nov");
    assert_eq!(
        nov["start"]["dateTime"],
        json!("2026-11-09T09:00:00.0000000")
    );
    assert_ne!(inst[0]["iCalUId"], weekly["iCalUId"]);
    // outlook.timezone
    let local = json_ok(
        h.get(&format!(
            "/users/{uid}/events/{id}/instances?{WINDOW}&$top=1"
        ))
        .header("prefer", "outlook.timezone=\"W. Europe Standard Time\""),
    )
    .await;
    assert_eq!(
        local["value"][0]["start"]["dateTime"],
        json!("2026-09-28T10:00:00.0000000")
    );
    // An occurrence by id.
    let occ = inst[1]["id"].as_str().expect("occ");
    let one = h.get_json(&format!("/users/{uid}/events/{occ}")).await;
    assert_eq!(one["type"], json!("occurrence"));

    let (st, body) = send(h.get(&format!("/users/{uid}/events/{id}/instances"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "ErrorInvalidParameter");
    let (st, _) = send(h.get(&format!("/users/{uid}/calendarView"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let view = h
        .get_all(&format!("/users/{uid}/calendarView?{WINDOW}&$top=100"))
        .await;
    assert!(view.iter().all(|e| e["type"] != json!("seriesMaster")));
    assert!(view.iter().any(|e| e["type"] == json!("occurrence")));

    // Attachments of the series master.
    let atts = h
        .get_json(&format!("/users/{uid}/events/{id}/attachments"))
        .await;
    let a = &atts["value"][0];
    assert_eq!(a["name"], json!("Agenda.csv"));
    let aid = a["id"].as_str().expect("aid");
    let bytes = h
        .get_bytes(&format!(
            "/users/{uid}/events/{id}/attachments/{aid}/$value"
        ))
        .await;
    assert_eq!(bytes.len() as u64, a["size"].as_u64().expect("size"));
    h.sim.shutdown().await;
}

#[tokio::test]
async fn occurrences_are_changed_and_cancelled_through_graph() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let project = h
        .sim
        .admin()
        .calendars(&uid)
        .into_iter()
        .find(|c| c.name == "Projekt Alpha")
        .expect("project calendar");
    let events = h
        .get_all(&format!(
            "/users/{uid}/calendars/{}/events?$top=50",
            project.id
        ))
        .await;
    assert!(
        events
            .iter()
            .all(|e| e["subject"] != json!("Weekly sync 🗓️"))
    );
    let id = master(&events, "Monatsabschluss")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let inst = h
        .get_all(&format!("/users/{uid}/events/{id}/instances?{WINDOW}"))
        .await;
    assert_eq!(inst.len(), 5, "the sixth (2027-01-29) is after the window");
    // Last Friday of each month.
    assert_eq!(
        inst[0]["start"]["dateTime"],
        json!("2026-08-28T14:00:00.0000000")
    );
    let occ = inst[2]["id"].as_str().expect("occ");
    let x = json_ok(
        h.req(Method::PATCH, &format!("/users/{uid}/events/{occ}"))
            .json(&json!({"subject": "Monatsabschluss (verschoben)"})),
    )
    .await;
    assert_eq!(x["type"], json!("exception"));
    let gone = inst[3]["id"].as_str().expect("occ");
    let resp = h
        .req(Method::DELETE, &format!("/users/{uid}/events/{gone}"))
        .send()
        .await
        .expect("del");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (st, _) = send(h.get(&format!("/users/{uid}/events/{gone}"))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let after = h
        .get_all(&format!("/users/{uid}/events/{id}/instances?{WINDOW}"))
        .await;
    assert_eq!(after.len(), 4);
    let sel = h
        .get_json(&format!(
            "/users/{uid}/events/{id}?$select=cancelledOccurrences"
        ))
        .await;
    assert_eq!(
        sel["cancelledOccurrences"].as_array().expect("list").len(),
        1
    );
    // The owner organizes it but it has no attendees: nothing to send.
    assert!(h.sim.admin().meeting_messages().is_empty());
    h.sim.shutdown().await;
}

#[tokio::test]
async fn creating_events_never_sends_and_records_what_exchange_would_send() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let admin = h.sim.admin();
    let post = |body: Value| {
        h.req(
            Method::POST,
            &format!("/users/{uid}/calendars/calendar/events"),
        )
        .header("prefer", IMMUTABLE)
        .json(&body)
    };
    let when = json!({"start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "W. Europe Standard Time"},
                      "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "W. Europe Standard Time"}});
    let mut plain = when.clone();
    plain["subject"] = json!("Alone");
    let (st, v) = send(post(plain)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["start"]["dateTime"], json!("2026-12-01T09:00:00.0000000"));
    assert_eq!(v["originalStartTimeZone"], json!("W. Europe Standard Time"));
    assert!(admin.meeting_messages().is_empty());

    // A restored attendee copy: asfMeeting | asfReceived.
    let mut copy = when.clone();
    copy["subject"] = json!("Restored meeting");
    copy["organizer"] = json!({"emailAddress": {"name": "Priya", "address": "priya.n@example.in"}});
    copy["attendees"] =
        json!([{"emailAddress": {"address": "alice@contoso.example"}, "type": "required"}]);
    copy["singleValueExtendedProperties"] = json!([
        {"id": "Integer {00062002-0000-0000-C000-000000000046} Id 0x8217", "value": "3"}
    ]);
    let (st, v) = send(post(copy)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["isOrganizer"], json!(false));
    assert_eq!(
        v["organizer"]["emailAddress"]["address"],
        json!("priya.n@example.in")
    );
    assert!(
        admin.meeting_messages().is_empty(),
        "{:?}",
        admin.meeting_messages()
    );
    let rid = v["id"].as_str().expect("id");
    let ext = h
        .get_json(&format!(
            "/users/{uid}/events/{rid}?$expand=singleValueExtendedProperties"
        ))
        .await;
    assert_eq!(ext["singleValueExtendedProperties"][0]["value"], json!("3"));

    // The owner organizes a meeting with attendees: Exchange would send a
    // request; the emulator records it and sends nothing.
    let mut meeting = when.clone();
    meeting["subject"] = json!("Organized");
    meeting["attendees"] =
        json!([{"emailAddress": {"address": "bob@contoso.example", "name": "Bob"}}]);
    meeting["recurrence"] = json!({"pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3}});
    let (st, v) = send(post(meeting)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["type"], json!("seriesMaster"));
    let mid = v["id"].as_str().expect("id").to_string();
    let sent = admin.meeting_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, "request");
    assert_eq!(sent[0].to, vec!["bob@contoso.example".to_string()]);
    assert_eq!(sent[0].event_id, mid);
    assert!(sent[0].cause.starts_with("POST /v1.0/users/"));
    let over_http: Vec<qcb_graph_sim::MeetingMessage> = h.sim_json("/meetingMessages").await;
    assert_eq!(over_http, sent);

    // Reminder changes send nothing; subject changes send an update; a
    // delete sends a cancellation.
    json_ok(
        h.req(Method::PATCH, &format!("/users/{uid}/events/{mid}"))
            .json(&json!({"reminderMinutesBeforeStart": 5})),
    )
    .await;
    assert_eq!(admin.meeting_messages().len(), 1);
    json_ok(
        h.req(Method::PATCH, &format!("/users/{uid}/events/{mid}"))
            .json(&json!({"subject": "Organized!"})),
    )
    .await;
    assert_eq!(admin.meeting_messages()[1].kind, "update");
    let resp = h
        .req(Method::DELETE, &format!("/users/{uid}/events/{mid}"))
        .send()
        .await
        .expect("del");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(admin.meeting_messages()[2].kind, "cancellation");
    admin.clear_meeting_messages();
    assert!(admin.meeting_messages().is_empty());

    // Bad input.
    let (st, body) = send(post(json!({"subject": "no times"}))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    graph_error_code(&body);
    let mut bad_tz = when.clone();
    bad_tz["start"]["timeZone"] = json!("Mars/Olympus");
    let (st, body) = send(post(bad_tz)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "TimeZoneNotSupportedException");
    let mut unknown = when;
    unknown["colour"] = json!("red");
    let (st, _) = send(post(unknown)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn calendar_view_delta_expands_and_tracks_changes() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let admin = h.sim.admin();
    let (st, body) = send(h.get(&format!("/users/{uid}/calendarView/delta"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "ErrorInvalidParameter");

    let url = format!("/users/{uid}/calendarView/delta?{WINDOW}");
    let pref = "odata.maxpagesize=4";
    let (items, link, pages) = delta_round(&h, &url, pref).await;
    assert!(pages > 2);
    let view = h
        .get_all(&format!("/users/{uid}/calendarView?{WINDOW}&$top=500"))
        .await;
    assert_eq!(items.len(), view.len());
    assert!(
        items
            .iter()
            .all(|e| e["@odata.type"] == json!("#microsoft.graph.event"))
    );
    assert!(items.iter().any(|e| e["type"] == json!("exception")));

    let (again, link, _) = delta_round(&h, &link, pref).await;
    assert!(again.is_empty());

    let events = admin.events(&uid, "calendar");
    let weekly = events
        .iter()
        .find(|e| e.subject.starts_with("Weekly sync"))
        .expect("weekly");
    let single = events
        .iter()
        .find(|e| e.kind == "singleInstance")
        .expect("single");
    admin
        .cancel_occurrence(&uid, &weekly.id, "2026-10-12")
        .expect("cancel");
    assert!(admin.delete_event(&uid, &single.id));
    let (changes, _, _) = delta_round(&h, &link, "").await;
    let removed: Vec<&str> = changes
        .iter()
        .filter(|c| c.get("@removed").is_some())
        .filter_map(|c| c["id"].as_str())
        .collect();
    // the single event (regular id) and the cancelled occurrence
    assert!(removed.len() >= 2, "{changes:?}");
    let single_regular = view
        .iter()
        .find(|v| v["iCalUId"] == json!(single.ical_uid))
        .map(|v| v["id"].as_str().expect("id").to_string());
    if let Some(sid) = single_regular {
        assert!(removed.contains(&sid.as_str()));
    }
    // The series' remaining instances come again (changed master).
    assert_eq!(
        changes
            .iter()
            .filter(|c| c["seriesMasterId"].is_string())
            .count(),
        8
    );

    // A token with its last character changed (to one it is not) is refused.
    let last = if link.ends_with('x') { "y" } else { "x" };
    let (st, body) = send(h.get(&format!("{}{last}", &link[..link.len() - 1]))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "syncStateNotFound");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn beta_events_delta_lists_masters_and_singles_without_a_window() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let admin = h.sim.admin();
    let cal = admin.calendars(&uid)[0].id.clone();
    let url = format!(
        "{}/beta/users/{uid}/calendars/{cal}/events/delta",
        h.sim.base_url()
    );
    let (items, link, _) =
        delta_round(&h, &url, "odata.maxpagesize=5, IdType=\"ImmutableId\"").await;
    assert!(link.starts_with(&format!("{}/beta/", h.sim.base_url())));
    assert_eq!(items.len(), admin.events(&uid, &cal).len());
    for e in &items {
        let mut keys: Vec<&str> = e
            .as_object()
            .expect("obj")
            .keys()
            .map(String::as_str)
            .filter(|k| !k.starts_with('@'))
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, vec!["end", "id", "start", "type"]);
    }
    assert!(items.iter().any(|e| e["type"] == json!("seriesMaster")));
    let victim = admin.events(&uid, &cal)[0].id.clone();
    assert!(admin.delete_event(&uid, &victim));
    let (changes, _, _) = delta_round(&h, &link, IMMUTABLE).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["id"], json!(victim));
    assert!(changes[0]["@removed"].is_object());
    let (st, _) = send(h.get(&format!("{url}?endDateTime=2027-01-01T00:00:00Z"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    h.sim.shutdown().await;
}
