//! The mailbox export API over contacts, calendars and tasks: their folders
//! in folder delta (IPF.Contact, IPF.Appointment, IPF.Task), their items in
//! item delta (IPM.Contact, IPM.Appointment, IPM.Task) with removals,
//! exportItems and the import URL (create and update) round trips.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, Harness, IMMUTABLE, json_created, json_ok, send};

const ALICE: &str = "alice@contoso.example";

async fn mailbox_id(h: &Harness, user: &str) -> String {
    let v = h
        .get_json(&format!("/users/{user}/settings/exchange"))
        .await;
    v["primaryMailboxId"]
        .as_str()
        .expect("primaryMailboxId")
        .to_string()
}

fn admin_path(mbx: &str, rest: &str) -> String {
    format!("/admin/exchange/mailboxes/{mbx}{rest}")
}

/// Follows a delta round to its deltaLink: (entries, deltaLink).
async fn round(h: &Harness, url: &str) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut next = h.url(url);
    loop {
        let v = json_ok(
            h.get(&next)
                .header("Prefer", IMMUTABLE)
                .header("Prefer", "odata.maxpagesize=4"),
        )
        .await;
        out.extend(v["value"].as_array().expect("value").iter().cloned());
        if let Some(n) = v["@odata.nextLink"].as_str() {
            next = n.to_string();
        } else {
            return (
                out,
                v["@odata.deltaLink"].as_str().expect("deltaLink").into(),
            );
        }
    }
}

fn ids(v: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = v
        .iter()
        .map(|x| x["id"].as_str().expect("id").to_string())
        .collect();
    out.sort();
    out
}

fn named<'a>(folders: &'a [Value], name: &str) -> &'a Value {
    folders
        .iter()
        .find(|f| f["displayName"] == name)
        .unwrap_or_else(|| panic!("no folder {name}"))
}

#[tokio::test]
async fn folder_delta_lists_contact_calendar_and_task_folders() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;
    let (folders, _) = round(&h, &admin_path(&mbx, "/folders/delta")).await;
    let root = h
        .get_json(&format!("/users/{ALICE}/mailFolders/msgfolderroot"))
        .await;
    let root_id = root["id"].as_str().expect("root id");

    // Contact folders: the same ids as contactFolders, IPF.Contact.
    let graph_contacts = h.get_all(&format!("/users/{ALICE}/contactFolders")).await;
    let contacts = named(&folders, "Contacts");
    assert_eq!(contacts["type"], "IPF.Contact");
    assert_eq!(contacts["parentFolderId"], root_id);
    let default_contacts = h
        .get_json(&format!("/users/{ALICE}/contactFolders/contacts"))
        .await;
    assert_eq!(contacts["id"], default_contacts["id"]);
    let team = named(&folders, "Team 👥");
    assert_eq!(team["type"], "IPF.Contact");
    assert_eq!(
        team["parentFolderId"], contacts["id"],
        "a child of Contacts"
    );
    assert_eq!(named(&folders, "Lieferanten")["type"], "IPF.Contact");
    assert!(
        graph_contacts
            .iter()
            .all(|g| folders.iter().any(|f| f["id"] == g["id"]))
    );
    let n = h
        .get_all(&format!(
            "/users/{ALICE}/contactFolders/{}/contacts?$top=100",
            contacts["id"].as_str().expect("id")
        ))
        .await
        .len();
    assert_eq!(contacts["totalItemCount"], n);

    // Calendars: IPF.Appointment below msgfolderroot.
    let calendars = h.get_all(&format!("/users/{ALICE}/calendars")).await;
    for c in &calendars {
        let f = folders
            .iter()
            .find(|f| f["id"] == c["id"])
            .unwrap_or_else(|| panic!("calendar {} missing", c["name"]));
        assert_eq!(f["type"], "IPF.Appointment");
        assert_eq!(f["displayName"], c["name"]);
        assert_eq!(f["parentFolderId"], root_id);
    }
    assert!(calendars.len() >= 3);

    // To Do lists: Tasks below msgfolderroot, the other lists below Tasks;
    // "Flagged email" is a view, not a folder.
    let lists = h.get_all(&format!("/users/{ALICE}/todo/lists")).await;
    let tasks = named(&folders, "Tasks");
    assert_eq!(tasks["type"], "IPF.Task");
    assert_eq!(tasks["parentFolderId"], root_id);
    let shopping = named(&folders, "Einkauf 🛒");
    assert_eq!(shopping["type"], "IPF.Task");
    assert_eq!(shopping["parentFolderId"], tasks["id"]);
    assert!(folders.iter().all(|f| f["displayName"] != "Flagged email"));
    let default_list = lists
        .iter()
        .find(|l| l["wellknownListName"] == "defaultList")
        .expect("default list");
    assert_eq!(tasks["id"], default_list["id"]);
    assert!(named(&folders, "Inbox")["type"] == "IPF.Note");

    // childFolders/delta below Contacts and below Tasks.
    let (children, _) = round(
        &h,
        &admin_path(
            &mbx,
            &format!(
                "/folders/{}/childFolders/delta",
                contacts["id"].as_str().expect("id")
            ),
        ),
    )
    .await;
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["displayName"], "Team 👥");
    assert_eq!(contacts["childFolderCount"], 1);
    let (children, _) = round(&h, &admin_path(&mbx, "/folders/tasks/childFolders/delta")).await;
    assert!(children.iter().any(|f| f["displayName"] == "Einkauf 🛒"));

    // Beta names the well-known ones.
    let beta = json_ok(
        h.get(&format!(
            "{}/beta{}",
            h.sim.base_url(),
            admin_path(&mbx, "/folders/delta")
        ))
        .header("Prefer", "odata.maxpagesize=200"),
    )
    .await;
    let beta = beta["value"].as_array().expect("value").clone();
    assert_eq!(named(&beta, "Contacts")["wellKnownName"], "contacts");
    assert_eq!(named(&beta, "Calendar")["wellKnownName"], "calendar");
    assert_eq!(named(&beta, "Tasks")["wellKnownName"], "tasks");
    assert_eq!(named(&beta, "Lieferanten")["wellKnownName"], Value::Null);

    // A new contact folder shows up in the next round.
    let (_, link) = round(&h, &admin_path(&mbx, "/folders/delta")).await;
    h.sim
        .admin()
        .create_contact_folder(&h.alice().id, None, "Restored contacts")
        .expect("folder");
    let (changes, _) = round(&h, &link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["displayName"], "Restored contacts");
    assert_eq!(changes[0]["type"], "IPF.Contact");
}

#[tokio::test]
async fn item_delta_lists_contacts_events_and_tasks_with_removals() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;

    // Contacts: the same immutable ids and changeKeys as the contacts API.
    let graph: Vec<Value> = {
        let mut out = Vec::new();
        let mut next = h.url(&format!(
            "/users/{ALICE}/contactFolders/contacts/contacts?$top=100"
        ));
        loop {
            let v = json_ok(h.get(&next).header("Prefer", IMMUTABLE)).await;
            out.extend(v["value"].as_array().expect("value").iter().cloned());
            match v["@odata.nextLink"].as_str() {
                Some(n) => next = n.to_string(),
                None => break,
            }
        }
        out
    };
    let (items, link) = round(&h, &admin_path(&mbx, "/folders/contacts/items/delta")).await;
    assert_eq!(ids(&items), ids(&graph));
    for i in &items {
        assert_eq!(i["@odata.type"], "#microsoft.graph.mailboxItem");
        assert_eq!(i["type"], "IPM.Contact");
        let g = graph.iter().find(|g| g["id"] == i["id"]).expect("same id");
        assert_eq!(i["changeKey"], g["changeKey"]);
        assert!(i["size"].as_u64().is_some_and(|s| s > 100));
    }
    // A deleted and a changed contact in the next round.
    let gone = graph[0]["id"].as_str().expect("id");
    let changed = graph[1]["id"].as_str().expect("id");
    let (s, _) = send(h.req(Method::DELETE, &format!("/users/{ALICE}/contacts/{gone}"))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    json_ok(
        h.req(Method::PATCH, &format!("/users/{ALICE}/contacts/{changed}"))
            .json(&json!({"jobTitle": "Restored"})),
    )
    .await;
    let (changes, _) = round(&h, &link).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == gone && c["@removed"]["reason"] == "deleted")
    );
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == changed && c["type"] == "IPM.Contact")
    );

    // Events: series masters and single events of the calendar, one item each.
    let events = h
        .get_all(&format!(
            "/users/{ALICE}/calendar/events?$top=100&$select=subject"
        ))
        .await;
    let (items, _) = round(&h, &admin_path(&mbx, "/folders/calendar/items/delta")).await;
    assert_eq!(items.len(), events.len());
    assert!(items.iter().all(|i| i["type"] == "IPM.Appointment"));

    // Tasks of the default list.
    let list = h.get_json(&format!("/users/{ALICE}/todo/lists")).await;
    let default_list = list["value"]
        .as_array()
        .expect("lists")
        .iter()
        .find(|l| l["wellknownListName"] == "defaultList")
        .expect("default")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let tasks = h
        .get_all(&format!(
            "/users/{ALICE}/todo/lists/{default_list}/tasks?$top=100"
        ))
        .await;
    let (items, _) = round(&h, &admin_path(&mbx, "/folders/tasks/items/delta")).await;
    assert_eq!(items.len(), tasks.len());
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i["type"] == "IPM.Task"));
}

async fn export_one(h: &Harness, mbx: &str, id: &str) -> (String, String) {
    let v = json_ok(
        h.req(Method::POST, &admin_path(mbx, "/exportItems"))
            .json(&json!({"itemIds": [id]})),
    )
    .await;
    let e = &v["value"][0];
    (
        e["data"]
            .as_str()
            .unwrap_or_else(|| panic!("{e}"))
            .to_string(),
        e["changeKey"].as_str().expect("changeKey").to_string(),
    )
}

#[tokio::test]
async fn contacts_events_and_tasks_export_and_import_with_every_property() {
    let h = common::start(common::small()).await;
    let mbx = mailbox_id(&h, ALICE).await;
    let alice = h.alice().id;
    let admin = h.sim.admin();
    let session = json_ok(h.req(Method::POST, &admin_path(&mbx, "/createImportSession"))).await;
    let import_url = session["importUrl"]
        .as_str()
        .expect("importUrl")
        .to_string();

    // A contact with a photo, into a new contact folder.
    let folders = admin.contact_folders(&alice);
    let default = folders.iter().find(|f| f.is_default).expect("Contacts");
    let contacts = admin.contacts(&alice, &default.id);
    let with_photo = h
        .get_all(&format!(
            "/users/{ALICE}/contactFolders/contacts/contacts?$top=100&$select=displayName"
        ))
        .await;
    let mut original = None;
    for c in &with_photo {
        let id = c["id"].as_str().expect("id");
        let (s, _) = send(h.get(&format!("/users/{ALICE}/contacts/{id}/photo"))).await;
        if s == StatusCode::OK {
            original = Some(id.to_string());
            break;
        }
    }
    let original = original.expect("a contact with a photo");
    assert!(!contacts.is_empty());
    let (data, _) = export_one(&h, &mbx, &original).await;
    let target = admin
        .create_contact_folder(&alice, None, "Restored contacts")
        .expect("folder");
    // A contact does not go into a mail folder or a calendar.
    let (s, v) = send(h.http.post(&import_url).json(&json!({
        "FolderId": "inbox", "Mode": "create", "Data": data
    })))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let v = json_ok(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "create", "Data": data
    })))
    .await;
    let copy = v["itemId"].as_str().expect("itemId").to_string();
    let strip = |mut v: Value| {
        if let Some(o) = v.as_object_mut() {
            for k in [
                "id",
                "@odata.context",
                "@odata.etag",
                "changeKey",
                "parentFolderId",
                "lastModifiedDateTime",
            ] {
                o.remove(k);
            }
        }
        v
    };
    let a = h
        .get_json(&format!("/users/{ALICE}/contacts/{original}"))
        .await;
    let b = h.get_json(&format!("/users/{ALICE}/contacts/{copy}")).await;
    assert_eq!(strip(a.clone()), strip(b), "the copy has every property");
    let photo_a = h
        .get_bytes(&format!("/users/{ALICE}/contacts/{original}/photo/$value"))
        .await;
    let photo_b = h
        .get_bytes(&format!("/users/{ALICE}/contacts/{copy}/photo/$value"))
        .await;
    assert_eq!(photo_a, photo_b);

    // Update: the original is edited, then restored from its stream.
    let (_, ck) = export_one(&h, &mbx, &original).await;
    json_ok(
        h.req(
            Method::PATCH,
            &format!("/users/{ALICE}/contacts/{original}"),
        )
        .json(&json!({"jobTitle": "Edited after the backup"})),
    )
    .await;
    let (s, v) = send(h.http.post(&import_url).json(&json!({
        "FolderId": default.id, "Mode": "update", "Data": data,
        "ItemId": original, "ChangeKey": ck
    })))
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a stale changeKey: {v}");
    let (_, ck) = export_one(&h, &mbx, &original).await;
    let v = json_ok(h.http.post(&import_url).json(&json!({
        "FolderId": default.id, "Mode": "update", "Data": data,
        "ItemId": original, "ChangeKey": ck
    })))
    .await;
    assert_ne!(v["changeKey"], ck.as_str());
    let restored = h
        .get_json(&format!("/users/{ALICE}/contacts/{original}"))
        .await;
    assert_eq!(restored["jobTitle"], a["jobTitle"]);

    // A series with exceptions, cancelled occurrences and attachments.
    let calendars = admin.calendars(&alice);
    let (series, _) = calendars
        .iter()
        .flat_map(|c| {
            admin
                .events(&alice, &c.id)
                .into_iter()
                .map(move |e| (e, c.id.clone()))
        })
        .find(|(e, _)| {
            e.kind == "seriesMaster"
                && !e.exception_dates.is_empty()
                && !e.cancelled_dates.is_empty()
        })
        .expect("a series with an exception and a cancelled occurrence");
    let (data, _) = export_one(&h, &mbx, &series.id).await;
    let cal = json_created(
        h.req(Method::POST, &format!("/users/{ALICE}/calendars"))
            .json(&json!({"name": "Restored calendar"})),
    )
    .await;
    let cal_id = cal["id"].as_str().expect("calendar id").to_string();
    let v = json_ok(h.http.post(&import_url).json(&json!({
        "FolderId": cal_id, "Mode": "create", "Data": data
    })))
    .await;
    assert!(v["itemId"].is_string());
    let copies = admin.events(&alice, &cal_id);
    assert_eq!(copies.len(), 1);
    let copy = &copies[0];
    assert_eq!(copy.subject, series.subject);
    assert_eq!((&copy.start, &copy.end), (&series.start, &series.end));
    assert_eq!(copy.kind, "seriesMaster");
    assert_eq!(copy.exception_dates, series.exception_dates);
    assert_eq!(copy.cancelled_dates, series.cancelled_dates);
    assert_eq!(copy.attachment_names, series.attachment_names);
    assert_eq!(copy.attendees, series.attendees);
    assert_eq!(
        copy.ical_uid, series.ical_uid,
        "the meeting keeps its identity"
    );
    let recurrence = |id: &str| {
        let id = id.to_string();
        let h = &h;
        async move {
            h.get_json(&format!(
                "/users/{ALICE}/events/{id}?$select=recurrence,body,location"
            ))
            .await
        }
    };
    let (a, b) = (recurrence(&series.id).await, recurrence(&copy.id).await);
    assert_eq!(a["recurrence"], b["recurrence"]);
    assert_eq!(a["body"], b["body"]);
    // An event does not go into a contact folder.
    let (s, _) = send(h.http.post(&import_url).json(&json!({
        "FolderId": target, "Mode": "create", "Data": data
    })))
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A task, into another To Do list.
    let lists = admin.todo_lists(&alice);
    let default_list = lists
        .iter()
        .find(|l| l.wellknown_list_name == "defaultList")
        .expect("Tasks");
    let tasks = h
        .get_all(&format!(
            "/users/{ALICE}/todo/lists/{}/tasks?$top=100",
            default_list.id
        ))
        .await;
    let (items, _) = round(&h, &admin_path(&mbx, "/folders/tasks/items/delta")).await;
    let item_id = items[0]["id"].as_str().expect("id").to_string();
    let (data, _) = export_one(&h, &mbx, &item_id).await;
    let shopping = lists
        .iter()
        .find(|l| l.display_name == "Einkauf 🛒")
        .expect("list");
    let before = h
        .get_all(&format!(
            "/users/{ALICE}/todo/lists/{}/tasks?$top=100",
            shopping.id
        ))
        .await;
    json_ok(h.http.post(&import_url).json(&json!({
        "FolderId": shopping.id, "Mode": "create", "Data": data
    })))
    .await;
    let after = h
        .get_all(&format!(
            "/users/{ALICE}/todo/lists/{}/tasks?$top=100",
            shopping.id
        ))
        .await;
    // The list holds what it held and one task more, with a title of the
    // default list's.
    let mut added: Vec<Value> = after.iter().map(|t| t["title"].clone()).collect();
    for t in &before {
        if let Some(i) = added.iter().position(|x| *x == t["title"]) {
            added.remove(i);
        }
    }
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(tasks.iter().any(|t| t["title"] == added[0]), "{added:?}");
    assert_eq!(after.len(), shopping.task_count + 1);
}
