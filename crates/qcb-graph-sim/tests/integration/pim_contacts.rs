//! Contacts: folders, lists, create/update/delete, photos, delta.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common::{self, IMMUTABLE, graph_error_code, json_ok, send};

#[tokio::test]
async fn contact_folders_lists_and_paging() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let roots = h.get_all(&format!("/users/{uid}/contactFolders")).await;
    let names: Vec<&str> = roots
        .iter()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert_eq!(names, vec!["Contacts", "Lieferanten"]);
    let default = roots[0]["id"].as_str().expect("id").to_string();
    assert!(
        default.starts_with("AQMkA"),
        "well-known folder id {default}"
    );
    let children = h
        .get_all(&format!(
            "/users/{uid}/contactFolders/{default}/childFolders"
        ))
        .await;
    assert_eq!(children.len(), 1);
    assert_eq!(children[0]["parentFolderId"], json!(default));

    // /contacts is the default folder; default page of 10 with a nextLink.
    let first = h.get_json(&format!("/users/{uid}/contacts?$top=3")).await;
    assert_eq!(first["value"].as_array().expect("value").len(), 3);
    assert!(
        first["@odata.nextLink"]
            .as_str()
            .expect("nextLink")
            .contains("$skip=3")
    );
    let all = h.get_all(&format!("/users/{uid}/contacts?$top=3")).await;
    let admin = h.sim.admin();
    assert_eq!(all.len(), admin.contacts(&uid, "contacts").len());
    assert!(all.iter().all(|c| c["parentFolderId"] == json!(default)));
    let c = &all[0];
    for k in [
        "givenName",
        "surname",
        "displayName",
        "emailAddresses",
        "businessPhones",
        "homeAddress",
        "changeKey",
        "@odata.etag",
    ] {
        assert!(c.get(k).is_some(), "{k} in {c}");
    }
    let sel = h
        .get_json(&format!(
            "/users/{uid}/contacts?$select=displayName,emailAddresses&$top=2"
        ))
        .await;
    let keys: Vec<&String> = sel["value"][0].as_object().expect("obj").keys().collect();
    assert_eq!(
        keys,
        vec!["@odata.etag", "id", "displayName", "emailAddresses"]
    );
    let (st, body) = send(h.get(&format!("/users/{uid}/contacts?$select=bogus"))).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    graph_error_code(&body);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn contacts_are_created_updated_deleted_and_photos_round_trip() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let folder = h.sim.admin().contact_folders(&uid)[1].id.clone();
    let created = json_ok_status(
        h.req(reqwest::Method::POST, &format!("/users/{uid}/contactFolders/{folder}/contacts"))
            .header("prefer", IMMUTABLE)
            .json(&json!({
                "givenName": "Zoë",
                "surname": "Ångström",
                "emailAddresses": [{"address": "zoe@example.se", "name": "Zoë Ångström"}],
                "businessAddress": {"city": "Malmö", "countryOrRegion": "Sweden"},
                "birthday": "1990-05-04T00:00:00Z",
                "singleValueExtendedProperties": [{"id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Origin", "value": "restore"}]
            })),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["displayName"], json!("Zoë Ångström"));
    assert_eq!(created["parentFolderId"], json!(folder));
    assert!(created["id"].as_str().expect("id").starts_with("AAkALg"));
    let id = created["id"].as_str().expect("id").to_string();
    let got = h
        .get_json(&format!(
            "/users/{uid}/contacts/{id}?$expand=singleValueExtendedProperties($filter=id eq 'String {{66f5a359-4659-4830-9070-00047ec6ac6e}} Name Origin')"
        ))
        .await;
    assert_eq!(
        got["singleValueExtendedProperties"][0]["value"],
        json!("restore")
    );
    assert_eq!(got["businessAddress"]["city"], json!("Malmö"));

    // Unknown property and wrong type: 400.
    let (st, body) = send(
        h.req(reqwest::Method::POST, &format!("/users/{uid}/contacts"))
            .json(&json!({"givenName": "X", "shoeSize": 44})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("shoeSize")
    );
    let (st, _) = send(
        h.req(reqwest::Method::POST, &format!("/users/{uid}/contacts"))
            .json(&json!({"businessPhones": "not a list"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // PATCH gives a new changeKey.
    let patched = json_ok(
        h.req(
            reqwest::Method::PATCH,
            &format!("/users/{uid}/contacts/{id}"),
        )
        .json(&json!({"jobTitle": "Chemist", "categories": ["Blue category"]})),
    )
    .await;
    assert_eq!(patched["jobTitle"], json!("Chemist"));
    assert_ne!(patched["changeKey"], created["changeKey"]);

    // Photo: none yet, then PUT a PNG, metadata and bytes come back.
    let (st, body) = send(h.get(&format!("/users/{uid}/contacts/{id}/photo"))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&body), "ErrorItemNotFound");
    let (st, _) = send(h.get(&format!("/users/{uid}/contacts/{id}/photo/$value"))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let png = {
        let with_photo = h
            .sim
            .admin()
            .contacts(&uid, &h.sim.admin().contact_folders(&uid)[2].id)
            .into_iter()
            .chain(h.sim.admin().contacts(&uid, "contacts"))
            .find(|c| c.has_photo)
            .expect("a generated contact with a photo");
        h.get_bytes(&format!(
            "/users/{uid}/contacts/{}/photo/$value",
            with_photo.id
        ))
        .await
    };
    assert!(png.starts_with(b"\x89PNG"));
    let resp = h
        .req(
            reqwest::Method::PUT,
            &format!("/users/{uid}/contacts/{id}/photo/$value"),
        )
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::OK);
    let meta = h
        .get_json(&format!("/users/{uid}/contacts/{id}/photo"))
        .await;
    assert_eq!(meta["@odata.mediaContentType"], json!("image/png"));
    assert!(meta["width"].as_u64().expect("width") >= 48);
    assert_eq!(
        h.get_bytes(&format!(
            "/users/{uid}/contactFolders/{folder}/contacts/{id}/photo/$value"
        ))
        .await,
        png
    );
    let (st, _) = send(
        h.req(
            reqwest::Method::PUT,
            &format!("/users/{uid}/contacts/{id}/photo/$value"),
        )
        .body(b"not an image".to_vec()),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // A contact addressed through another folder is not found.
    let (st, _) = send(h.get(&format!(
        "/users/{uid}/contactFolders/contacts/contacts/{id}"
    )))
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let resp = h
        .req(
            reqwest::Method::DELETE,
            &format!("/users/{uid}/contacts/{id}"),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (st, body) = send(h.get(&format!("/users/{uid}/contacts/{id}"))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&body), "ErrorItemNotFound");
    h.sim.shutdown().await;
}

async fn json_ok_status(rb: reqwest::RequestBuilder, want: StatusCode) -> Value {
    let (st, body) = send(rb).await;
    assert_eq!(st, want, "{body}");
    body
}

/// Pages a delta round to its deltaLink; returns (items, deltaLink, pages).
pub async fn delta_round(
    h: &common::Harness,
    url: &str,
    prefer: &str,
) -> (Vec<Value>, String, usize) {
    let mut items = Vec::new();
    let mut next = url.to_string();
    let mut pages = 0;
    loop {
        pages += 1;
        let v = json_ok(h.get(&next).header("prefer", prefer)).await;
        assert!(v["@odata.context"].is_string());
        items.extend(v["value"].as_array().expect("value").iter().cloned());
        if let Some(n) = v["@odata.nextLink"].as_str() {
            assert!(n.contains("$skiptoken="));
            next = n.to_string();
        } else {
            let d = v["@odata.deltaLink"].as_str().expect("deltaLink");
            assert!(d.contains("$deltatoken="));
            return (items, d.to_string(), pages);
        }
    }
}

#[tokio::test]
async fn contacts_delta_pages_then_reports_changes_and_removals() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let admin = h.sim.admin();
    let n = admin.contacts(&uid, "contacts").len();
    let url = format!("/users/{uid}/contactFolders/contacts/contacts/delta?$select=displayName");
    let pref = "odata.maxpagesize=3, IdType=\"ImmutableId\"";
    let (items, link, pages) = delta_round(&h, &url, pref).await;
    assert_eq!(items.len(), n);
    assert!(pages >= 2);
    assert!(
        items
            .iter()
            .all(|c| c["@odata.type"] == json!("#microsoft.graph.contact"))
    );
    assert!(
        items[0].get("surname").is_none(),
        "$select kept in the tokens"
    );

    // Nothing changed: an empty round.
    let (again, link, _) = delta_round(&h, &link, pref).await;
    assert!(again.is_empty(), "{again:?}");

    let victim = admin.contacts(&uid, "contacts")[0].id.clone();
    let edited = admin.contacts(&uid, "contacts")[1].id.clone();
    assert!(admin.delete_contact(&uid, &victim));
    assert!(admin.update_contact(
        &uid,
        &edited,
        qcb_graph_sim::ContactPatch {
            job_title: Some("CTO".into()),
            ..Default::default()
        }
    ));
    let new_id = admin
        .add_contact(
            &uid,
            "contacts",
            qcb_graph_sim::NewContact {
                given_name: "Neu".into(),
                surname: "Kontakt".into(),
                ..Default::default()
            },
        )
        .expect("add");
    let (changes, _, _) = delta_round(&h, &link, pref).await;
    let ids: Vec<&str> = changes.iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(ids.contains(&edited.as_str()) && ids.contains(&new_id.as_str()));
    let removed: Vec<&Value> = changes
        .iter()
        .filter(|c| c.get("@removed").is_some())
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["id"], json!(victim));
    assert_eq!(removed[0]["@removed"]["reason"], json!("deleted"));

    // Tampered and foreign tokens.
    let last = if link.ends_with('x') { "y" } else { "x" };
    let bad = format!("{}{last}", &link[..link.len() - 1]);
    let (st, body) = send(h.get(&bad)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "syncStateNotFound");
    let token = link.split("$deltatoken=").nth(1).expect("token");
    let other = admin.contact_folders(&uid)[1].id.clone();
    let (st, _) = send(h.get(&format!(
        "/users/{uid}/contactFolders/{other}/contacts/delta?$deltatoken={token}"
    )))
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    // A message delta token is not a contacts token.
    let (st, _) = send(h.get(&format!(
        "/users/{uid}/contactFolders/delta?$deltatoken={token}"
    )))
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    h.sim.shutdown().await;
}

#[tokio::test]
async fn contact_folder_delta_and_folder_create() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let (items, link, _) = delta_round(
        &h,
        &format!("/users/{uid}/contactFolders/delta"),
        "odata.maxpagesize=2",
    )
    .await;
    assert_eq!(items.len(), 3);
    let made = json_ok_status(
        h.req(
            reqwest::Method::POST,
            &format!("/users/{uid}/contactFolders/contacts/childFolders"),
        )
        .json(&json!({"displayName": "Familie"})),
        StatusCode::CREATED,
    )
    .await;
    let (st, body) = send(
        h.req(
            reqwest::Method::POST,
            &format!("/users/{uid}/contactFolders/contacts/childFolders"),
        )
        .json(&json!({"displayName": "familie"})),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(graph_error_code(&body), "ErrorFolderExists");
    let (changes, link, _) = delta_round(&h, &link, "").await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["id"], made["id"]);
    let id = made["id"].as_str().expect("id");
    let resp = h
        .req(
            reqwest::Method::DELETE,
            &format!("/users/{uid}/contactFolders/{id}"),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (changes, _, _) = delta_round(&h, &link, "").await;
    assert_eq!(changes[0]["@removed"]["reason"], json!("deleted"));
    h.sim.shutdown().await;
}

#[tokio::test]
async fn a_contact_list_expands_the_extended_properties_asked_for() {
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let prop = "String {7f3a4c1e-2b6d-4e8f-9a10-5c2d3e4f5a6b} Name OriginalId";
    let created = common::json_created(
        h.req(reqwest::Method::POST, &format!("/users/{uid}/contacts"))
            .json(&json!({
                "givenName": "Ext",
                "singleValueExtendedProperties": [{"id": prop, "value": "orig-1"}],
            })),
    )
    .await;
    let filter = format!("singleValueExtendedProperties($filter=id eq '{prop}')");
    let all = h
        .get_all(&format!("/users/{uid}/contacts?$top=100&$expand={filter}"))
        .await;
    let tagged: Vec<&Value> = all
        .iter()
        .filter(|c| c.get("singleValueExtendedProperties").is_some())
        .collect();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0]["id"], created["id"]);
    assert_eq!(
        tagged[0]["singleValueExtendedProperties"][0]["value"],
        json!("orig-1")
    );
    // Without $expand a list carries no extended properties.
    let plain = h.get_all(&format!("/users/{uid}/contacts?$top=100")).await;
    assert!(
        plain
            .iter()
            .all(|c| c.get("singleValueExtendedProperties").is_none())
    );
}
