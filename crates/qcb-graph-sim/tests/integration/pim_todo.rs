//! To Do lists and tasks, inbox rules, mailbox settings, shared mailboxes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::common::{self, graph_error_code, json_ok, send};
use super::pim_contacts::delta_round;

#[tokio::test]
async fn todo_lists_tasks_and_delta() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let lists = h.get_all(&format!("/users/{uid}/todo/lists")).await;
    let names: Vec<&str> = lists
        .iter()
        .filter_map(|l| l["wellknownListName"].as_str())
        .collect();
    assert_eq!(names, vec!["defaultList", "flaggedEmails", "none"]);
    let lid = lists[0]["id"].as_str().expect("id").to_string();
    let (tasks, link, _) = delta_round(
        &h,
        &format!("/users/{uid}/todo/lists/{lid}/tasks/delta"),
        "odata.maxpagesize=2",
    )
    .await;
    assert_eq!(
        tasks.len(),
        h.get_all(&format!("/users/{uid}/todo/lists/{lid}/tasks"))
            .await
            .len()
    );
    assert!(
        tasks
            .iter()
            .all(|t| t["@odata.type"] == json!("#microsoft.graph.todoTask"))
    );

    let (st, created) = send(
        h.req(
            Method::POST,
            &format!("/users/{uid}/todo/lists/{lid}/tasks"),
        )
        .json(&json!({
            "title": "Restore test ✅",
            "importance": "high",
            "dueDateTime": {"dateTime": "2026-12-24T00:00:00", "timeZone": "UTC"},
            "body": {"content": "x", "contentType": "text"}
        })),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["dueDateTime"]["dateTime"],
        json!("2026-12-24T00:00:00.0000000")
    );
    let tid = created["id"].as_str().expect("id");
    let done = json_ok(
        h.req(
            Method::PATCH,
            &format!("/users/{uid}/todo/lists/{lid}/tasks/{tid}"),
        )
        .json(&json!({"status": "completed"})),
    )
    .await;
    assert!(done["completedDateTime"].is_object());
    let (st, _) = send(
        h.req(
            Method::POST,
            &format!("/users/{uid}/todo/lists/{lid}/tasks"),
        )
        .json(&json!({"status": "sleeping"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let admin = h.sim.admin();
    let victim = admin.tasks(&uid, "defaultList")[0].id.clone();
    assert!(admin.delete_task(&uid, &victim));
    let (changes, _, _) = delta_round(&h, &link, "").await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| c["id"] == json!(victim) && c["@removed"].is_object())
    );
    assert!(changes.iter().any(|c| c["id"] == json!(tid)));

    // lists delta, create and delete a list
    let (ls, link, _) = delta_round(&h, &format!("/users/{uid}/todo/lists/delta"), "").await;
    assert_eq!(ls.len(), 3);
    let (st, l) = send(
        h.req(Method::POST, &format!("/users/{uid}/todo/lists"))
            .json(&json!({"displayName": "Urlaub"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, body) = send(h.req(Method::DELETE, &format!("/users/{uid}/todo/lists/{lid}"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "default list");
    graph_error_code(&body);
    let (changes, _, _) = delta_round(&h, &link, "").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["id"], l["id"]);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn tasks_carry_linked_resources() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let lists = h.get_all(&format!("/users/{uid}/todo/lists")).await;
    let lid = lists[0]["id"].as_str().expect("id").to_string();
    let tasks = format!("/users/{uid}/todo/lists/{lid}/tasks");
    // Created with the task (the documented example), and shown in the answer with an id.
    let (st, created) = send(h.req(Method::POST, &tasks).json(&json!({
        "title": "A new task",
        "linkedResources": [{
            "webUrl": "http://microsoft.com",
            "applicationName": "Microsoft",
            "displayName": "Microsoft",
            "externalId": "ext-1"
        }]
    })))
    .await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let links = created["linkedResources"]
        .as_array()
        .expect("linkedResources");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["externalId"], "ext-1");
    assert!(links[0]["id"].as_str().is_some_and(|i| i.len() == 36));
    let tid = created["id"].as_str().expect("id").to_string();
    // A navigation property: not in a plain GET, in one with $expand, and as a collection.
    let plain = json_ok(h.req(Method::GET, &format!("{tasks}/{tid}"))).await;
    assert!(plain.get("linkedResources").is_none(), "{plain}");
    let expanded = json_ok(h.req(
        Method::GET,
        &format!("{tasks}/{tid}?$expand=linkedResources"),
    ))
    .await;
    assert_eq!(
        expanded["linkedResources"][0]["applicationName"],
        "Microsoft"
    );
    let listed = h.get_all(&format!("{tasks}?$expand=linkedResources")).await;
    let mine = listed
        .iter()
        .find(|t| t["id"] == json!(tid))
        .expect("listed");
    assert_eq!(mine["linkedResources"][0]["externalId"], "ext-1");
    assert!(
        listed.iter().all(|t| t["linkedResources"].is_array()),
        "every task gets the array, empty or not"
    );
    let (st, v) = send(h.req(Method::GET, &format!("{tasks}?$expand=attachments"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    graph_error_code(&v);
    // Added through the collection; an update of the task cannot set them.
    let (st, added) = send(
        h.req(Method::POST, &format!("{tasks}/{tid}/linkedResources"))
            .json(&json!({"applicationName": "QCBackup Manager", "externalId": "ext-2"})),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{added}");
    let all = json_ok(h.req(Method::GET, &format!("{tasks}/{tid}/linkedResources"))).await;
    let ext: Vec<&str> = all["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|l| l["externalId"].as_str())
        .collect();
    assert_eq!(ext, ["ext-1", "ext-2"]);
    let (st, v) = send(
        h.req(Method::PATCH, &format!("{tasks}/{tid}"))
            .json(&json!({"linkedResources": []})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    graph_error_code(&v);
    let (st, v) = send(h.req(Method::POST, &tasks).json(&json!({
        "title": "bad",
        "linkedResources": [{"nope": 1}]
    })))
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    graph_error_code(&v);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn inbox_rules_settings_and_shared_mailboxes() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let rules = h
        .get_json(&format!("/users/{uid}/mailFolders/inbox/messageRules"))
        .await;
    let rules = rules["value"].as_array().expect("value").clone();
    assert!(!rules.is_empty());
    assert_eq!(rules[0]["sequence"], json!(1));
    assert!(rules[0]["actions"]["moveToFolder"].is_string());
    let (st, v) = send(h.req(Method::POST, &format!("/users/{uid}/mailFolders/inbox/messageRules")).json(&json!({
        "displayName": "From partner",
        "sequence": 5,
        "isEnabled": true,
        "conditions": {"senderContains": ["partner"]},
        "actions": {"forwardTo": [{"emailAddress": {"name": "Bob", "address": "bob@contoso.example"}}], "stopProcessingRules": true}
    })))
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let rid = v["id"].as_str().expect("id");
    assert_eq!(
        h.get_json(&format!(
            "/users/{uid}/mailFolders/inbox/messageRules/{rid}"
        ))
        .await["displayName"],
        json!("From partner")
    );
    let (st, _) = send(
        h.req(
            Method::POST,
            &format!("/users/{uid}/mailFolders/inbox/messageRules"),
        )
        .json(&json!({
            "displayName": "bad", "actions": {"explode": true}
        })),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = send(h.get(&format!("/users/{uid}/mailFolders/drafts/messageRules"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = send(h.req(
        Method::DELETE,
        &format!("/users/{uid}/mailFolders/inbox/messageRules/{rid}"),
    ))
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert_eq!(h.sim.admin().message_rules(&uid).len(), rules.len());

    let s = h.get_json(&format!("/users/{uid}/mailboxSettings")).await;
    assert_eq!(s["userPurpose"], json!("user"));
    assert_eq!(s["workingHours"]["daysOfWeek"][0], json!("monday"));
    let tz = h
        .get_json(&format!("/users/{uid}/mailboxSettings?$select=timeZone"))
        .await;
    assert_eq!(tz.as_object().expect("obj").len(), 2, "{tz}");
    let ex = h.get_json(&format!("/users/{uid}/settings/exchange")).await;
    assert!(
        ex["primaryMailboxId"]
            .as_str()
            .expect("id")
            .starts_with("MBX:")
    );

    let shared = h
        .sim
        .admin()
        .add_shared_mailbox("Info Desk", "info")
        .expect("shared");
    assert_eq!(shared.mail, "info@contoso.example");
    let s = h
        .get_json("/users/info@contoso.example/mailboxSettings")
        .await;
    assert_eq!(s["userPurpose"], json!("shared"));
    let folders = h.get_all("/users/info@contoso.example/mailFolders").await;
    assert!(folders.iter().any(|f| f["displayName"] == json!("Inbox")));
    let contacts = h.get_all("/users/info@contoso.example/contacts").await;
    assert!(contacts.is_empty());
    assert!(h.sim.admin().add_shared_mailbox("again", "info").is_err());
    h.sim.shutdown().await;
}
