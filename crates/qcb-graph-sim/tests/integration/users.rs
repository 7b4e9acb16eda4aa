//! `/v1.0/users`: paging, select, lookup by id and UPN.

use reqwest::StatusCode;
use serde_json::Value;

use super::common::{self, graph_error_code, send};

#[tokio::test]
async fn users_paging_select_and_lookup() {
    let h = common::start(qcb_graph_sim::TenantSpec {
        seed: 3,
        users: 5,
        messages_per_user: 5,
        shared_mailboxes: None,
    })
    .await;
    let admin = h.sim.admin();
    let users = admin.users();
    assert_eq!(users.len(), 5);
    assert_eq!(users[0].user_principal_name, "alice@contoso.example");
    assert_eq!(users[1].user_principal_name, "bob@contoso.example");

    let first = h.get_json("/users?$top=2").await;
    assert!(
        first["@odata.context"]
            .as_str()
            .unwrap_or("")
            .ends_with("$metadata#users")
    );
    assert_eq!(first["value"].as_array().map(Vec::len), Some(2));
    let next = first["@odata.nextLink"].as_str().expect("nextLink");
    assert!(next.starts_with(&h.graph), "absolute nextLink: {next}");

    let all = h
        .get_all("/users?$top=2&$select=id,userPrincipalName")
        .await;
    assert_eq!(all.len(), 5);
    let ids: Vec<&str> = all.iter().filter_map(|u| u["id"].as_str()).collect();
    let expected: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, expected);
    for u in &all {
        let mut keys: Vec<&str> = u
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "userPrincipalName"]);
        // GUID ids
        assert_eq!(u["id"].as_str().map(str::len), Some(36));
    }

    let default = h.get_json("/users").await;
    assert_eq!(default["value"].as_array().map(Vec::len), Some(5));
    assert!(default.get("@odata.nextLink").is_none());
    let alice = &default["value"][0];
    for k in [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    ] {
        assert!(alice.get(k).is_some(), "default property {k}");
    }

    let by_upn = h.get_json("/users/alice@contoso.example").await;
    assert_eq!(by_upn["id"], users[0].id);
    let by_id = h.get_json(&format!("/users/{}", users[1].id)).await;
    assert_eq!(by_id["userPrincipalName"], "bob@contoso.example");
    assert_eq!(by_id["mail"], users[1].mail);

    let (status, v) = send(h.get("/users/nobody@contoso.example")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&v), "Request_ResourceNotFound");

    let (status, v) = send(h.get("/users?$select=nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "BadRequest");

    let (status, v): (StatusCode, Value) = send(h.get("/me/messages")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&v), "BadRequest");
    h.sim.shutdown().await;
}

#[tokio::test]
async fn users_filter_on_user_type_mail_and_account_enabled() {
    let h = common::start(common::small()).await;
    let admin = h.sim.admin();
    admin
        .add_shared_mailbox("Support", "support")
        .expect("shared");
    admin
        .add_shared_mailbox("Buchhaltung", "buchhaltung")
        .expect("shared");
    let mails = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|u| u["mail"].as_str().expect("mail").to_string())
            .collect()
    };
    let all = h.get_all("/users").await;
    assert_eq!(all.len(), 5);
    let members = h.get_all("/users?$filter=userType%20eq%20'Member'").await;
    assert_eq!(members.len(), 5);
    assert!(
        h.get_all("/users?$filter=userType eq 'Guest'")
            .await
            .is_empty()
    );
    let alice = h
        .get_all("/users?$filter=mail eq 'ALICE@contoso.example'")
        .await;
    assert_eq!(mails(&alice), ["alice@contoso.example"]);
    let s = h
        .get_all("/users?$filter=startswith(mail,'su') or startswith(mail,'bu')&$select=mail,accountEnabled")
        .await;
    assert_eq!(
        mails(&s),
        ["support@contoso.example", "buchhaltung@contoso.example"]
    );
    assert!(s.iter().all(|u| u["accountEnabled"] == false));
    // shared mailboxes are the disabled accounts
    let shared = h.get_all("/users?$filter=accountEnabled eq false").await;
    assert_eq!(shared.len(), 2);
    // paging goes on through the filtered list
    let v = h
        .get_json("/users?$filter=userType eq 'Member' and accountEnabled eq true&$top=2")
        .await;
    assert_eq!(v["value"].as_array().expect("value").len(), 2);
    let next = v["@odata.nextLink"].as_str().expect("nextLink");
    assert!(
        next.contains("%24filter=") || next.contains("$filter="),
        "{next}"
    );
    let v = h.get_json(next).await;
    assert_eq!(v["value"].as_array().expect("value").len(), 1);
    assert!(v.get("@odata.nextLink").is_none());
    // what the directory does not support without advanced queries
    for bad in [
        "mail ne 'x@contoso.example'",
        "endswith(mail,'example')",
        "jobTitle eq 'x'",
        "startswith(userType,'M')",
    ] {
        let (s, v) = send(h.get(&format!("/users?$filter={bad}"))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(graph_error_code(&v), "Request_UnsupportedQuery", "{bad}");
    }
    h.sim.shutdown().await;
}
