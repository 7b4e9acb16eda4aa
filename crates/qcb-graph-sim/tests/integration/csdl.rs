//! Conformance with Microsoft's v1.0 metadata: every property the emulator
//! emits for user, mailFolder, message, fileAttachment, itemAttachment,
//! referenceAttachment, uploadSession, recipient, emailAddress, itemBody,
//! followupFlag (and the extended properties), and the mailbox export API's
//! mailboxFolder, mailboxItem, exportItemResponse, mailboxItemImportSession exists
//! on that type (following BaseType chains) with a compatible JSON type;
//! enum values are members of their enum.

use std::collections::HashMap;

use serde_json::Value;

use super::common::{self, IMMUTABLE};

const CSDL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/graph/v1.0-Prod.csdl"
);

#[derive(Default)]
struct Model {
    /// type name → (base type, property name → type)
    types: HashMap<String, (Option<String>, HashMap<String, String>)>,
    enums: HashMap<String, Vec<String>>,
}

fn local(t: &str) -> String {
    t.trim_start_matches("microsoft.graph.")
        .trim_start_matches("graph.")
        .to_string()
}

fn load() -> Model {
    let text = std::fs::read_to_string(CSDL).unwrap_or_else(|e| panic!("read {CSDL}: {e}"));
    let doc = roxmltree::Document::parse(&text).expect("CSDL is XML");
    let mut m = Model::default();
    let schema = doc
        .descendants()
        .find(|n| n.has_tag_name("Schema") && n.attribute("Namespace") == Some("microsoft.graph"))
        .expect("microsoft.graph schema");
    for node in schema.children().filter(|n| n.is_element()) {
        let Some(name) = node.attribute("Name") else {
            continue;
        };
        match node.tag_name().name() {
            "EntityType" | "ComplexType" => {
                let props = node
                    .children()
                    .filter(|c| c.has_tag_name("Property") || c.has_tag_name("NavigationProperty"))
                    .filter_map(|c| {
                        Some((
                            c.attribute("Name")?.to_string(),
                            c.attribute("Type")?.to_string(),
                        ))
                    })
                    .collect();
                m.types.insert(
                    name.to_string(),
                    (node.attribute("BaseType").map(local), props),
                );
            }
            "EnumType" => {
                let members = node
                    .children()
                    .filter(|c| c.has_tag_name("Member"))
                    .filter_map(|c| c.attribute("Name").map(str::to_string))
                    .collect();
                m.enums.insert(name.to_string(), members);
            }
            _ => {}
        }
    }
    m
}

impl Model {
    fn property(&self, ty: &str, name: &str) -> Option<String> {
        let mut cur = Some(ty.to_string());
        while let Some(t) = cur {
            let (base, props) = self.types.get(&t)?;
            if let Some(p) = props.get(name) {
                return Some(p.clone());
            }
            cur = base.clone();
        }
        None
    }

    fn derives_from(&self, ty: &str, ancestor: &str) -> bool {
        let mut cur = Some(ty.to_string());
        while let Some(t) = cur {
            if t == ancestor {
                return true;
            }
            cur = self.types.get(&t).and_then(|(b, _)| b.clone());
        }
        false
    }

    fn check(&self, v: &Value, ty: &str, path: &str, errors: &mut Vec<String>) {
        if v.is_null() {
            return;
        }
        if let Some(inner) = ty
            .strip_prefix("Collection(")
            .and_then(|t| t.strip_suffix(')'))
        {
            match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item, inner, &format!("{path}[{i}]"), errors);
                    }
                }
                None => errors.push(format!("{path}: expected an array for {ty}, got {v}")),
            }
            return;
        }
        let ok = match ty {
            // Edm.Stream: inline base64 (exportItemResponse.data)
            "Edm.String" | "Edm.DateTimeOffset" | "Edm.Binary" | "Edm.Guid" | "Edm.Date"
            | "Edm.Duration" | "Edm.TimeOfDay" | "Edm.Stream" => v.is_string(),
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Int16" | "Edm.Int32" | "Edm.Int64" | "Edm.Double" | "Edm.Single"
            | "Edm.Decimal" | "Edm.Byte" => v.is_number(),
            t => {
                let name = local(t);
                if let Some(members) = self.enums.get(&name) {
                    match v.as_str() {
                        Some(s) if members.iter().any(|m| m == s) => true,
                        _ => {
                            errors.push(format!(
                                "{path}: {v} is not a member of enum {name} {members:?}"
                            ));
                            return;
                        }
                    }
                } else if self.types.contains_key(&name) {
                    self.check_object(v, &name, path, errors);
                    return;
                } else {
                    errors.push(format!("{path}: unknown type {t}"));
                    return;
                }
            }
        };
        if !ok {
            errors.push(format!("{path}: {v} is not compatible with {ty}"));
        }
    }

    fn check_object(&self, v: &Value, ty: &str, path: &str, errors: &mut Vec<String>) {
        let Some(obj) = v.as_object() else {
            errors.push(format!("{path}: expected an object of type {ty}, got {v}"));
            return;
        };
        let mut ty = ty.to_string();
        if let Some(derived) = obj.get("@odata.type").and_then(Value::as_str) {
            let d = local(derived.trim_start_matches('#'));
            if !self.derives_from(&d, &ty) {
                errors.push(format!("{path}: @odata.type {d} does not derive from {ty}"));
                return;
            }
            ty = d;
        }
        for (k, val) in obj {
            if k.starts_with('@') || k.contains("@odata.") {
                continue; // instance annotations
            }
            match self.property(&ty, k) {
                Some(pt) => self.check(val, &pt, &format!("{path}.{k}"), errors),
                None => errors.push(format!("{path}: property '{k}' does not exist on {ty}")),
            }
        }
    }
}

#[tokio::test]
async fn emitted_json_matches_the_v1_metadata() {
    let model = load();
    for t in [
        "user",
        "mailFolder",
        "message",
        "fileAttachment",
        "recipient",
        "emailAddress",
        "itemBody",
        "followupFlag",
    ] {
        assert!(model.types.contains_key(t), "{t} in CSDL");
    }
    let h = common::start(common::small()).await;
    let alice = h.alice();
    let uid = &alice.id;
    let mut errors = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut check = |v: &Value, ty: &'static str, errors: &mut Vec<String>| {
        *counts.entry(ty).or_default() += 1;
        model.check_object(v, ty, ty, errors);
    };

    for u in h.get_all("/users").await {
        check(&u, "user", &mut errors);
    }
    let all_user_props = "id,businessPhones,displayName,givenName,jobTitle,mail,mobilePhone,officeLocation,preferredLanguage,surname,userPrincipalName,accountEnabled,mailNickname,userType,createdDateTime";
    check(
        &h.get_json(&format!("/users/{uid}?$select={all_user_props}"))
            .await,
        "user",
        &mut errors,
    );

    let folders = h
        .get_all(&format!(
            "/users/{uid}/mailFolders?includeHiddenFolders=true"
        ))
        .await;
    for f in &folders {
        check(f, "mailFolder", &mut errors);
    }
    check(
        &h.get_json(&format!("/users/{uid}/mailFolders/inbox")).await,
        "mailFolder",
        &mut errors,
    );
    for f in h
        .get_all(&format!("/users/{uid}/mailFolders/inbox/childFolders"))
        .await
    {
        check(&f, "mailFolder", &mut errors);
    }

    let expand = "attachments,singleValueExtendedProperties";
    for folder in ["inbox", "sentitems", "drafts"] {
        for m in h
            .get_all(&format!(
                "/users/{uid}/mailFolders/{folder}/messages?$top=50&$expand={expand}"
            ))
            .await
        {
            check(&m, "message", &mut errors);
            let id = m["id"].as_str().expect("id");
            for a in common::json_ok(h.get(&format!("/users/{uid}/messages/{id}/attachments")))
                .await["value"]
                .as_array()
                .expect("value")
            {
                check(a, "fileAttachment", &mut errors);
                let aid = a["id"].as_str().expect("aid");
                check(
                    &h.get_json(&format!("/users/{uid}/messages/{id}/attachments/{aid}"))
                        .await,
                    "fileAttachment",
                    &mut errors,
                );
            }
        }
    }
    let every = "id,createdDateTime,lastModifiedDateTime,changeKey,categories,receivedDateTime,sentDateTime,hasAttachments,internetMessageId,subject,bodyPreview,importance,parentFolderId,conversationId,conversationIndex,isDeliveryReceiptRequested,isReadReceiptRequested,isRead,isDraft,webLink,inferenceClassification,body,sender,from,toRecipients,ccRecipients,bccRecipients,replyTo,flag,internetMessageHeaders";
    for m in h
        .get_all(&format!(
            "/users/{uid}/mailFolders/inbox/messages?$select={every}"
        ))
        .await
    {
        check(&m, "message", &mut errors);
    }
    // delta items and removals
    let admin = h.sim.admin();
    let first = common::json_ok(
        h.get(&format!("/users/{uid}/mailFolders/inbox/messages/delta"))
            .header("prefer", "odata.maxpagesize=500"),
    )
    .await;
    for m in first["value"].as_array().expect("value") {
        check(m, "message", &mut errors);
    }
    let victim = admin.messages(uid, "inbox").remove(0);
    admin.delete_message(uid, &victim.id);
    let link = first["@odata.deltaLink"].as_str().expect("deltaLink");
    let second = common::json_ok(h.get(link).header("prefer", IMMUTABLE)).await;
    for m in second["value"].as_array().expect("value") {
        check(m, "message", &mut errors);
    }
    // created messages
    let created =
        common::json_ok(h.get(&format!("/users/{uid}/mailFolders/drafts/messages?$top=1"))).await;
    for m in created["value"].as_array().expect("value") {
        check(m, "message", &mut errors);
    }

    // item and reference attachments, an attached item, an upload session
    let made = common::json_created(
        h.req(reqwest::Method::POST, &format!("/users/{uid}/messages"))
            .json(&serde_json::json!({
                "subject": "attachment kinds",
                "attachments": [
                    {"@odata.type": "#microsoft.graph.itemAttachment",
                     "item": {"@odata.type": "#microsoft.graph.message", "subject": "inner",
                              "toRecipients": [{"emailAddress": {"address": "bob@contoso.example"}}]}},
                    {"@odata.type": "#microsoft.graph.referenceAttachment", "name": "Plan.docx"}
                ]
            })),
    )
    .await;
    let mid = made["id"].as_str().expect("id");
    for a in h
        .get_json(&format!("/users/{uid}/messages/{mid}/attachments"))
        .await["value"]
        .as_array()
        .expect("value")
    {
        check(a, "attachment", &mut errors);
        if a["@odata.type"] == "#microsoft.graph.itemAttachment" {
            let aid = a["id"].as_str().expect("aid");
            let mut expanded = h
                .get_json(&format!(
                    "/users/{uid}/messages/{mid}/attachments/{aid}?$expand=microsoft.graph.itemattachment/item"
                ))
                .await;
            let item = expanded
                .as_object_mut()
                .and_then(|o| o.remove("item"))
                .expect("item");
            check(&expanded, "attachment", &mut errors);
            check(&item, "message", &mut errors);
        }
    }
    let session = common::json_created(
        h.req(
            reqwest::Method::POST,
            &format!("/users/{uid}/messages/{mid}/attachments/createUploadSession"),
        )
        .json(&serde_json::json!({"AttachmentItem": {"attachmentType": "file", "name": "big.bin", "size": 4_000_000}})),
    )
    .await;
    check(&session, "uploadSession", &mut errors);
    assert!(
        counts.get("attachment").copied().unwrap_or(0) >= 3
            && counts.get("uploadSession").copied().unwrap_or(0) == 1,
        "{counts:?}"
    );

    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    assert!(
        counts["message"] > 20
            && counts["fileAttachment"] > 2
            && counts["mailFolder"] > 10
            && counts["user"] >= 4,
        "{counts:?}"
    );
    h.sim.shutdown().await;
}

/// Contacts, calendars, events (series, occurrences, exceptions, delta),
/// To Do, rules and settings against the v1.0 metadata.
#[tokio::test]
async fn pim_json_matches_the_v1_metadata() {
    let model = load();
    let h = common::start(common::small()).await;
    let uid = h.alice().id;
    let mut errors = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut check = |v: &Value, ty: &'static str, errors: &mut Vec<String>| {
        *counts.entry(ty).or_default() += 1;
        model.check_object(v, ty, ty, errors);
    };
    let admin = h.sim.admin();
    for f in h.get_all(&format!("/users/{uid}/contactFolders")).await {
        check(&f, "contactFolder", &mut errors);
    }
    for f in admin.contact_folders(&uid) {
        for c in h
            .get_all(&format!(
                "/users/{uid}/contactFolders/{}/contacts?$top=50",
                f.id
            ))
            .await
        {
            check(&c, "contact", &mut errors);
        }
        let d = common::json_ok(
            h.get(&format!(
                "/users/{uid}/contactFolders/{}/contacts/delta",
                f.id
            ))
            .header("prefer", "odata.maxpagesize=100"),
        )
        .await;
        for c in d["value"].as_array().expect("value") {
            check(c, "contact", &mut errors);
        }
        for c in admin
            .contacts(&uid, &f.id)
            .into_iter()
            .filter(|c| c.has_photo)
        {
            check(
                &h.get_json(&format!("/users/{uid}/contacts/{}/photo", c.id))
                    .await,
                "profilePhoto",
                &mut errors,
            );
        }
    }
    let window = "startDateTime=2026-08-01T00:00:00Z&endDateTime=2027-01-01T00:00:00Z";
    for c in h.get_all(&format!("/users/{uid}/calendars")).await {
        check(&c, "calendar", &mut errors);
        let cid = c["id"].as_str().expect("id");
        for e in h
            .get_all(&format!(
                "/users/{uid}/calendars/{cid}/events?$top=50&$expand=exceptionOccurrences,attachments,singleValueExtendedProperties"
            ))
            .await
        {
            check(&e, "event", &mut errors);
            let eid = e["id"].as_str().expect("id");
            let sel = h
                .get_json(&format!("/users/{uid}/events/{eid}?$select=cancelledOccurrences,subject"))
                .await;
            check(&sel, "event", &mut errors);
            for a in common::json_ok(h.get(&format!("/users/{uid}/events/{eid}/attachments"))).await
                ["value"]
                .as_array()
                .expect("value")
            {
                check(a, "fileAttachment", &mut errors);
            }
        }
        for e in h
            .get_all(&format!(
                "/users/{uid}/calendars/{cid}/calendarView?{window}&$top=100"
            ))
            .await
        {
            check(&e, "event", &mut errors);
        }
    }
    let d = common::json_ok(
        h.get(&format!("/users/{uid}/calendarView/delta?{window}"))
            .header("prefer", "odata.maxpagesize=500"),
    )
    .await;
    for e in d["value"].as_array().expect("value") {
        check(e, "event", &mut errors);
    }
    // One task with a linked resource, so the expanded form and the collection are checked.
    let first_list = h.get_all(&format!("/users/{uid}/todo/lists")).await[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (st, created) = common::send(
        h.req(
            reqwest::Method::POST,
            &format!("/users/{uid}/todo/lists/{first_list}/tasks"),
        )
        .json(&serde_json::json!({
            "title": "Linked",
            "linkedResources": [{"applicationName": "QCBackup Manager", "externalId": "x"}]
        })),
    )
    .await;
    assert_eq!(st, reqwest::StatusCode::CREATED, "{created}");
    check(&created, "todoTask", &mut errors);
    let tid = created["id"].as_str().expect("id");
    for r in h
        .get_all(&format!(
            "/users/{uid}/todo/lists/{first_list}/tasks/{tid}/linkedResources"
        ))
        .await
    {
        check(&r, "linkedResource", &mut errors);
    }
    for l in h.get_all(&format!("/users/{uid}/todo/lists")).await {
        check(&l, "todoTaskList", &mut errors);
        let lid = l["id"].as_str().expect("id");
        for t in h
            .get_all(&format!(
                "/users/{uid}/todo/lists/{lid}/tasks?$expand=linkedResources"
            ))
            .await
        {
            check(&t, "todoTask", &mut errors);
        }
    }
    for r in h
        .get_all(&format!("/users/{uid}/mailFolders/inbox/messageRules"))
        .await
    {
        check(&r, "messageRule", &mut errors);
    }
    check(
        &h.get_json(&format!("/users/{uid}/mailboxSettings")).await,
        "mailboxSettings",
        &mut errors,
    );
    check(
        &h.get_json(&format!("/users/{uid}/settings/exchange")).await,
        "exchangeSettings",
        &mut errors,
    );
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    for (ty, min) in [
        ("contactFolder", 2),
        ("contact", 10),
        ("profilePhoto", 1),
        ("calendar", 3),
        ("event", 20),
        ("fileAttachment", 1),
        ("todoTaskList", 3),
        ("todoTask", 3),
        ("linkedResource", 1),
        ("messageRule", 1),
        ("mailboxSettings", 1),
        ("exchangeSettings", 1),
    ] {
        assert!(
            counts.get(ty).copied().unwrap_or(0) >= min,
            "{ty}: {counts:?}"
        );
    }
    h.sim.shutdown().await;
}

/// The full-fidelity export API's entities against the v1.0 metadata.
#[tokio::test]
async fn mailbox_export_json_matches_the_v1_metadata() {
    let model = load();
    let h = common::start(common::small()).await;
    let mut errors = Vec::new();
    let ex = h
        .get_json("/users/alice@contoso.example/settings/exchange")
        .await;
    let mbx = ex["primaryMailboxId"].as_str().expect("mbx").to_string();
    let base = format!("/admin/exchange/mailboxes/{mbx}");
    let folders = h.get_all(&format!("{base}/folders/delta")).await;
    assert!(folders.len() > 10);
    for f in &folders {
        model.check_object(f, "mailboxFolder", "mailboxFolder", &mut errors);
    }
    let items = h
        .get_all(&format!("{base}/folders/inbox/items/delta"))
        .await;
    assert!(items.len() > 5);
    for i in &items {
        model.check_object(i, "mailboxItem", "mailboxItem", &mut errors);
    }
    let ids: Vec<&Value> = items.iter().take(3).map(|i| &i["id"]).collect();
    let exported = common::json_ok(
        h.req(reqwest::Method::POST, &format!("{base}/exportItems"))
            .json(&serde_json::json!({"itemIds": ids})),
    )
    .await;
    for e in exported["value"].as_array().expect("value") {
        model.check_object(e, "exportItemResponse", "exportItemResponse", &mut errors);
    }
    let session = common::json_ok(h.req(
        reqwest::Method::POST,
        &format!("{base}/createImportSession"),
    ))
    .await;
    model.check_object(
        &session,
        "mailboxItemImportSession",
        "mailboxItemImportSession",
        &mut errors,
    );
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
    h.sim.shutdown().await;
}
