//! `PATCH /users/{id}/mailboxSettings` (user-update-mailboxsettings.md):
//! the writable settings, merged into the current ones, answered with the
//! updated properties; userPurpose is read only; bad values are 400 with
//! the doc's codes; MailboxSettings.ReadWrite is required.

use qcb_graph_sim::AppRegistration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{self, Harness, graph_error_code, send};

const ALICE: &str = "alice@contoso.example";

/// A token of an app with `MailboxSettings.ReadWrite` (the tenant's own app
/// has `MailboxSettings.Read` only).
async fn writer_token(h: &Harness, permissions: &[&str]) -> String {
    let reg = h
        .sim
        .admin()
        .register_app(AppRegistration {
            client_secret: Some("s3cret".into()),
            application_permissions: permissions.iter().map(|p| p.to_string()).collect(),
            ..AppRegistration::default()
        })
        .expect("register");
    let (s, v) = send(h.http.post(h.sim.token_url()).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", reg.client_id.as_str()),
        ("client_secret", "s3cret"),
        ("scope", "https://graph.microsoft.com/.default"),
    ]))
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["access_token"].as_str().expect("token").to_string()
}

async fn patch(h: &Harness, token: &str, body: Value) -> (StatusCode, Value) {
    send(
        h.http
            .patch(h.url(&format!("/users/{ALICE}/mailboxSettings")))
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn mailbox_settings_patch_updates_and_get_shows_it() {
    let h = common::start(common::small()).await;
    let token = writer_token(&h, &["MailboxSettings.ReadWrite", "User.Read.All"]).await;
    let before = h.get_json(&format!("/users/{ALICE}/mailboxSettings")).await;

    // the doc's example 1: scheduled automatic replies (enum case-insensitive)
    let (s, v) = patch(
        &h,
        &token,
        json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Me/mailboxSettings",
            "automaticRepliesSetting": {
                "status": "Scheduled",
                "scheduledStartDateTime": {"dateTime": "2026-12-20T18:00:00.0000000", "timeZone": "UTC"},
                "scheduledEndDateTime": {"dateTime": "2026-12-28T18:00:00", "timeZone": "UTC"},
                "internalReplyMessage": "Out of office",
            }
        }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["@odata.context"]
            .as_str()
            .unwrap_or("")
            .ends_with("/mailboxSettings"),
        "{v}"
    );
    let ar = &v["automaticRepliesSetting"];
    assert_eq!(ar["status"], "scheduled");
    assert_eq!(ar["externalAudience"], "all", "kept: {v}");
    assert_eq!(ar["internalReplyMessage"], "Out of office");
    assert_eq!(
        ar["scheduledEndDateTime"]["dateTime"],
        "2026-12-28T18:00:00.0000000"
    );
    assert!(
        v.get("timeZone").is_none(),
        "only the updated properties: {v}"
    );

    // the doc's example 2 and the simple ones
    let (s, v) = patch(
        &h,
        &token,
        json!({
            "timeZone": "Pacific Standard Time",
            "dateFormat": "yyyy-MM-dd",
            "timeFormat": "HH:mm",
            "delegateMeetingMessageDeliveryOptions": "sendToDelegateAndPrincipal",
            "language": {"locale": "de-DE"},
            "workingHours": {
                "endTime": "18:30:00.0000000",
                "daysOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
                "timeZone": {
                    "@odata.type": "#microsoft.graph.customTimeZone",
                    "bias": -300,
                    "name": "Customized Time Zone",
                    "standardOffset": {"time": "02:00:00.0000000", "dayOccurrence": 2,
                        "dayOfWeek": "Sunday", "month": 10, "year": 0},
                    "daylightOffset": {"daylightBias": 100, "time": "02:00:00.0000000",
                        "dayOccurrence": 4, "dayOfWeek": "Sunday", "month": 5, "year": 0}
                }
            }
        }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["workingHours"]["startTime"], "08:00:00.0000000", "kept");
    assert_eq!(v["workingHours"]["endTime"], "18:30:00.0000000");
    assert_eq!(v["workingHours"]["daysOfWeek"][5], "saturday");
    assert_eq!(v["language"]["displayName"], "German (Germany)");

    // a later GET shows every change; userPurpose and archiveFolder stay
    let after = h.get_json(&format!("/users/{ALICE}/mailboxSettings")).await;
    assert_eq!(after["timeZone"], "Pacific Standard Time");
    assert_eq!(after["dateFormat"], "yyyy-MM-dd");
    assert_eq!(after["timeFormat"], "HH:mm");
    assert_eq!(
        after["delegateMeetingMessageDeliveryOptions"],
        "sendToDelegateAndPrincipal"
    );
    assert_eq!(after["language"]["locale"], "de-DE");
    assert_eq!(after["automaticRepliesSetting"]["status"], "scheduled");
    assert_eq!(
        after["workingHours"]["timeZone"]["name"],
        "Customized Time Zone"
    );
    assert_eq!(after["userPurpose"], before["userPurpose"]);
    assert_eq!(after["archiveFolder"], before["archiveFolder"]);
    let v = h
        .get_json(&format!("/users/{ALICE}/mailboxSettings/timeZone"))
        .await;
    assert_eq!(v["value"], "Pacific Standard Time");
    // another mailbox is unchanged
    let bob = h
        .get_json("/users/bob@contoso.example/mailboxSettings")
        .await;
    assert_eq!(bob["timeZone"], before["timeZone"]);
}

#[tokio::test]
async fn mailbox_settings_patch_refuses_bad_values_and_read_only_properties() {
    let h = common::start(common::small()).await;
    let token = writer_token(&h, &["MailboxSettings.ReadWrite"]).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"userPurpose": "shared"}), "ErrorInvalidRequest"),
        (json!({"archiveFolder": "x"}), "ErrorInvalidRequest"),
        (json!({"noSuchSetting": 1}), "BadRequest"),
        (
            json!({"automaticRepliesSetting": {"status": "sometimes"}}),
            "BadRequest",
        ),
        (
            json!({"automaticRepliesSetting": {"externalAudience": "everyone"}}),
            "BadRequest",
        ),
        (
            json!({"automaticRepliesSetting": {"status": "scheduled",
                "scheduledStartDateTime": {"dateTime": "2026-12-28T00:00:00", "timeZone": "UTC"},
                "scheduledEndDateTime": {"dateTime": "2026-12-20T00:00:00", "timeZone": "UTC"}}}),
            "ErrorInvalidTimeSettings",
        ),
        (
            json!({"delegateMeetingMessageDeliveryOptions": "sendToNobody"}),
            "BadRequest",
        ),
        (json!({"timeZone": "Mars Time"}), "InvalidTimeZone"),
        (json!({"dateFormat": 5}), "BadRequest"),
        (
            json!({"language": {"locale": "not a locale"}}),
            "BadRequest",
        ),
        (
            json!({"workingHours": {"startTime": "08"}}),
            "RequestBodyRead",
        ),
        (
            json!({"workingHours": {"startTime": "18:00:00", "endTime": "09:00:00"}}),
            "ErrorInvalidTimeSettings",
        ),
        (
            json!({"workingHours": {"daysOfWeek": ["RandomDay"]}}),
            "InvalidArguments",
        ),
        (
            json!({"workingHours": {"timeZone": {"name": "Nowhere Time"}}}),
            "InvalidTimeZone",
        ),
        // one bad property: nothing of the body is stored
        (
            json!({"timeZone": "UTC", "userPurpose": "user"}),
            "ErrorInvalidRequest",
        ),
    ];
    for (body, code) in cases {
        let (s, v) = patch(&h, &token, body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(graph_error_code(&v), code, "{body}: {v}");
    }
    let after = h.get_json(&format!("/users/{ALICE}/mailboxSettings")).await;
    assert_eq!(after["timeZone"], "W. Europe Standard Time");
    assert_eq!(after["userPurpose"], "user");
}

#[tokio::test]
async fn mailbox_settings_patch_needs_mailbox_settings_read_write() {
    let h = common::start(common::small()).await;
    // the tenant's own app: MailboxSettings.Read
    let (s, v) = send(
        h.req(Method::PATCH, &format!("/users/{ALICE}/mailboxSettings"))
            .json(&json!({"timeZone": "UTC"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(graph_error_code(&v), "ErrorAccessDenied");
    let token = writer_token(&h, &["MailboxSettings.Read", "Mail.ReadWrite"]).await;
    let (s, _) = patch(&h, &token, json!({"timeZone": "UTC"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let token = writer_token(&h, &["MailboxSettings.ReadWrite"]).await;
    let (s, v) = patch(&h, &token, json!({"timeZone": "Europe/Berlin"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["timeZone"], "Europe/Berlin");
}
