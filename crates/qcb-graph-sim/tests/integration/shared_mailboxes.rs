//! Shared mailboxes in generated tenants: disabled, unlicensed user objects
//! listed in `/users`, with `mailboxSettings.userPurpose` `shared` and a
//! mailbox (mail, calendar, contacts, tasks) like anyone's.

use reqwest::StatusCode;
use serde_json::Value;

use super::common::{self, graph_error_code, send};
use qcb_graph_sim::TenantSpec;

#[tokio::test]
async fn the_demo_tenant_has_a_shared_mailbox_with_mail_and_a_calendar() {
    let h = common::start(TenantSpec::demo()).await;
    assert_eq!(TenantSpec::demo().shared_mailboxes(), 1);

    let all = h
        .get_all("/users?$select=id,userPrincipalName,accountEnabled,assignedLicenses,mail")
        .await;
    let upns: Vec<&str> = all
        .iter()
        .filter_map(|u| u["userPrincipalName"].as_str())
        .collect();
    assert_eq!(
        upns,
        [
            "alice@contoso.example",
            "bob@contoso.example",
            "support@contoso.example"
        ]
    );
    let support = &all[2];
    assert_eq!(support["accountEnabled"], Value::Bool(false));
    assert_eq!(support["assignedLicenses"], serde_json::json!([]));
    assert_eq!(support["mail"], "support@contoso.example");
    assert_eq!(all[0]["accountEnabled"], Value::Bool(true));
    assert_eq!(
        all[0]["assignedLicenses"].as_array().map(Vec::len),
        Some(1),
        "users are licensed"
    );
    let id = support["id"].as_str().expect("id").to_string();

    // The admin API lists it too.
    let users = h.sim.admin().users();
    assert_eq!(users.len(), 3);
    assert_eq!(users[2].id, id);

    // Reachable by id and by UPN (any case), as the same object.
    let by_id = h.get_json(&format!("/users/{id}")).await;
    let by_upn = h.get_json("/users/Support@Contoso.example").await;
    assert_eq!(by_id["id"], by_upn["id"]);
    assert_eq!(by_upn["displayName"], "Support");
    assert_eq!(by_upn["givenName"], Value::Null, "no first name");

    // The directory's filter for disabled accounts finds exactly it.
    let disabled = h
        .get_all("/users?$filter=accountEnabled eq false&$select=id")
        .await;
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0]["id"], id.as_str());

    // userPurpose, on the settings and as a property of its own.
    let settings = h.get_json(&format!("/users/{id}/mailboxSettings")).await;
    assert_eq!(settings["userPurpose"], "shared");
    let purpose = h
        .get_json("/users/support@contoso.example/mailboxSettings/userPurpose")
        .await;
    assert_eq!(purpose["value"], "shared");
    assert!(
        purpose["@odata.context"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!("users('{id}')/mailboxSettings/userPurpose")),
        "{purpose}"
    );
    let alice_purpose = h
        .get_json(&format!(
            "/users/{}/mailboxSettings/userPurpose",
            all[0]["id"].as_str().unwrap_or("")
        ))
        .await;
    assert_eq!(alice_purpose["value"], "user");
    let replies = h
        .get_json(&format!(
            "/users/{id}/mailboxSettings/automaticRepliesSetting"
        ))
        .await;
    assert_eq!(replies["status"], "disabled");
    let (status, body) = send(h.get(&format!("/users/{id}/mailboxSettings/nonsense"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "BadRequest");

    // Mail in its inbox and sent items, events in its calendar.
    let inbox = h
        .get_all(&format!(
            "/users/{id}/mailFolders/inbox/messages?$select=subject,toRecipients&$top=50"
        ))
        .await;
    assert!(!inbox.is_empty(), "the shared inbox has mail");
    assert!(
        inbox
            .iter()
            .any(|m| m["toRecipients"].as_array().is_some_and(|to| to
                .iter()
                .any(|r| r["emailAddress"]["address"] == "support@contoso.example"))),
        "mail addressed to the shared mailbox"
    );
    let sent = h
        .get_all(&format!(
            "/users/{id}/mailFolders/sentitems/messages?$select=from&$top=50"
        ))
        .await;
    assert!(!sent.is_empty());
    let events = h
        .get_all(&format!(
            "/users/{id}/calendar/events?$select=subject&$top=50"
        ))
        .await;
    assert!(!events.is_empty(), "the shared calendar has events");
    let contacts = h.get_all(&format!("/users/{id}/contacts?$top=50")).await;
    assert!(!contacts.is_empty());
    let settings = h.get_json(&format!("/users/{id}/settings/exchange")).await;
    assert!(
        settings["primaryMailboxId"]
            .as_str()
            .is_some_and(|s| s.starts_with("MBX:"))
    );
}

#[tokio::test]
async fn shared_mailboxes_scale_with_the_tenant_and_leave_small_tenants_alone() {
    assert_eq!(common::small().shared_mailboxes(), 0);
    let spec = TenantSpec {
        seed: 4,
        users: 20,
        messages_per_user: 3,
        shared_mailboxes: None,
    };
    assert_eq!(spec.shared_mailboxes(), 2);
    let h = common::start(spec).await;
    let all = h
        .get_all("/users?$select=userPrincipalName,accountEnabled&$top=7")
        .await;
    assert_eq!(all.len(), 22);
    let shared: Vec<&str> = all
        .iter()
        .filter(|u| u["accountEnabled"] == Value::Bool(false))
        .filter_map(|u| u["userPrincipalName"].as_str())
        .collect();
    assert_eq!(
        shared,
        ["support@contoso.example", "buchhaltung@contoso.example"]
    );
    for upn in shared {
        let p = h
            .get_json(&format!("/users/{upn}/mailboxSettings/userPurpose"))
            .await;
        assert_eq!(p["value"], "shared", "{upn}");
    }
    // Users' mailboxes do not change with the shared ones: the first
    // user's mail is the same as in a tenant of the same seed without them.
    let small = common::start(TenantSpec {
        seed: 4,
        users: 2,
        messages_per_user: 3,
        shared_mailboxes: None,
    })
    .await;
    let subjects = |h: &common::Harness| {
        let a = h.sim.admin();
        let u = a.users().remove(0);
        let inbox = h.folder(&u.id, "Inbox");
        a.messages(&u.id, &inbox.id)
            .into_iter()
            .map(|m| m.subject)
            .collect::<Vec<_>>()
    };
    assert_eq!(subjects(&h), subjects(&small));
}
