//! Contacts, calendars, To Do tasks and mailbox settings: the mailbox items besides mail.
//! Items come back as Graph's full JSON, which is what a backup stores for them. The writes a
//! restore makes (creating, updating and deleting these items, and deleting a message it
//! replaces) are here too.

use reqwest::Method;
use serde_json::Value;

use crate::client::{GraphClient, enc};
use crate::error::{GraphError, Result};
use crate::model::DeltaPage;

impl GraphClient {
    /// Every contact folder (the default one and all nested ones), parents before children.
    pub async fn contact_folders(&self, user_id: &str) -> Result<Vec<Value>> {
        let u = enc(user_id);
        let mut out = Vec::new();
        let mut queue = self
            .collect_pages(&format!("/users/{u}/contactFolders?$top=100"))
            .await?;
        while let Some(f) = queue.pop() {
            let id = f["id"].as_str().unwrap_or_default().to_string();
            let kids = self
                .collect_pages(&format!(
                    "/users/{u}/contactFolders/{}/childFolders?$top=100",
                    enc(&id)
                ))
                .await?;
            queue.extend(kids);
            out.push(f);
        }
        Ok(out)
    }

    /// One page of a contact folder's delta (first round when `link` is `None`).
    pub async fn contacts_delta(
        &self,
        user_id: &str,
        folder_id: &str,
        link: Option<&str>,
        page_size: u32,
    ) -> Result<DeltaPage> {
        let url = match link {
            Some(l) => l.to_string(),
            None => format!(
                "/users/{}/contactFolders/{}/contacts/delta",
                enc(user_id),
                enc(folder_id)
            ),
        };
        self.delta_page(
            &url,
            page_size,
            &format!("contacts delta of folder {folder_id}"),
        )
        .await
    }

    /// A contact's full JSON.
    pub async fn contact(&self, user_id: &str, contact_id: &str) -> Result<Value> {
        self.get_json(
            &format!("/users/{}/contacts/{}", enc(user_id), enc(contact_id)),
            &[],
        )
        .await
    }

    /// A contact's photo bytes, or `None` when it has none.
    pub async fn contact_photo(&self, user_id: &str, contact_id: &str) -> Result<Option<Vec<u8>>> {
        self.get_bytes_optional(&format!(
            "/users/{}/contacts/{}/photo/$value",
            enc(user_id),
            enc(contact_id)
        ))
        .await
    }

    pub async fn calendars(&self, user_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!("/users/{}/calendars?$top=100", enc(user_id)))
            .await
    }

    /// Every event of a calendar: single events and series masters, with the masters'
    /// modified occurrences (`exceptionOccurrences`) expanded.
    pub async fn calendar_events(&self, user_id: &str, calendar_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/calendars/{}/events?$top=50&$expand=exceptionOccurrences",
            enc(user_id),
            enc(calendar_id)
        ))
        .await
    }

    /// One page of a calendar's event delta (the beta `calendars/{id}/events/delta`: series
    /// masters and single events, each only id, type, start and end; v1.0 has only
    /// `calendarView/delta`, which needs a window and expands series). First round when `link`
    /// is `None`.
    pub async fn events_delta(
        &self,
        user_id: &str,
        calendar_id: &str,
        link: Option<&str>,
        page_size: u32,
    ) -> Result<DeltaPage> {
        let url = match link {
            Some(l) => l.to_string(),
            None => format!(
                "{}/users/{}/calendars/{}/events/delta",
                self.beta_url(),
                enc(user_id),
                enc(calendar_id)
            ),
        };
        self.delta_page(
            &url,
            page_size,
            &format!("events delta of calendar {calendar_id}"),
        )
        .await
    }

    /// An event's full JSON, a series master with its modified occurrences expanded.
    pub async fn event(&self, user_id: &str, event_id: &str) -> Result<Value> {
        self.get_json(
            &format!(
                "/users/{}/events/{}?$expand=exceptionOccurrences",
                enc(user_id),
                enc(event_id)
            ),
            &[],
        )
        .await
    }

    /// The cancelled occurrences of a series master (only returned when selected).
    pub async fn cancelled_occurrences(&self, user_id: &str, event_id: &str) -> Result<Value> {
        let v = self
            .get_json(
                &format!(
                    "/users/{}/events/{}?$select=cancelledOccurrences",
                    enc(user_id),
                    enc(event_id)
                ),
                &[],
            )
            .await?;
        Ok(v.get("cancelledOccurrences")
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// An event's attachments with their content (`contentBytes` for file attachments).
    pub async fn event_attachments(&self, user_id: &str, event_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/events/{}/attachments",
            enc(user_id),
            enc(event_id)
        ))
        .await
    }

    pub async fn todo_lists(&self, user_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!("/users/{}/todo/lists?$top=100", enc(user_id)))
            .await
    }

    /// One page of a To Do list's task delta (first round when `link` is `None`).
    pub async fn tasks_delta(
        &self,
        user_id: &str,
        list_id: &str,
        link: Option<&str>,
        page_size: u32,
    ) -> Result<DeltaPage> {
        let url = match link {
            Some(l) => l.to_string(),
            None => format!(
                "/users/{}/todo/lists/{}/tasks/delta",
                enc(user_id),
                enc(list_id)
            ),
        };
        self.delta_page(&url, page_size, &format!("tasks delta of list {list_id}"))
            .await
    }

    pub async fn mailbox_settings(&self, user_id: &str) -> Result<Value> {
        self.get_json(&format!("/users/{}/mailboxSettings", enc(user_id)), &[])
            .await
    }

    /// `PATCH /users/{id}/mailboxSettings` (needs `MailboxSettings.ReadWrite`) with the writable
    /// settings to change (automaticRepliesSetting, dateFormat,
    /// delegateMeetingMessageDeliveryOptions, language, timeFormat, timeZone, workingHours);
    /// answers the updated settings.
    pub async fn update_mailbox_settings(&self, user_id: &str, settings: &Value) -> Result<Value> {
        let url = format!("/users/{}/mailboxSettings", enc(user_id));
        self.write_json(Method::PATCH, &url, settings, &[]).await
    }

    pub async fn inbox_rules(&self, user_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/mailFolders/inbox/messageRules",
            enc(user_id)
        ))
        .await
    }

    /// Contacts of one folder, each with the extended property `ext_id` when it has one.
    pub async fn contacts_with_property(
        &self,
        user_id: &str,
        folder_id: &str,
        ext_id: &str,
    ) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/contactFolders/{}/contacts?$top=100&$select=id,displayName&$expand={}",
            enc(user_id),
            enc(folder_id),
            expand_property(ext_id)
        ))
        .await
    }

    /// Creates a contact folder at the top (`parent` `None`) or inside another one.
    pub async fn create_contact_folder(
        &self,
        user_id: &str,
        parent: Option<&str>,
        display_name: &str,
    ) -> Result<Value> {
        let url = match parent {
            Some(p) => format!(
                "/users/{}/contactFolders/{}/childFolders",
                enc(user_id),
                enc(p)
            ),
            None => format!("/users/{}/contactFolders", enc(user_id)),
        };
        self.write_json(
            Method::POST,
            &url,
            &serde_json::json!({ "displayName": display_name }),
            &[],
        )
        .await
    }

    pub async fn create_contact(
        &self,
        user_id: &str,
        folder_id: &str,
        contact: &Value,
    ) -> Result<Value> {
        let url = format!(
            "/users/{}/contactFolders/{}/contacts",
            enc(user_id),
            enc(folder_id)
        );
        self.write_json(Method::POST, &url, contact, &[]).await
    }

    /// Sets a contact's photo (`PUT …/photo/$value`).
    pub async fn set_contact_photo(
        &self,
        user_id: &str,
        contact_id: &str,
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        let url = format!(
            "/users/{}/contacts/{}/photo/$value",
            enc(user_id),
            enc(contact_id)
        );
        self.send(Method::PUT, &url, Some((content_type, bytes)), &[])
            .await?;
        Ok(())
    }

    pub async fn delete_contact(&self, user_id: &str, contact_id: &str) -> Result<()> {
        self.delete(&format!(
            "/users/{}/contacts/{}",
            enc(user_id),
            enc(contact_id)
        ))
        .await
    }

    /// Deletes a contact folder with everything in it.
    pub async fn delete_contact_folder(&self, user_id: &str, folder_id: &str) -> Result<()> {
        self.delete(&format!(
            "/users/{}/contactFolders/{}",
            enc(user_id),
            enc(folder_id)
        ))
        .await
    }

    /// Deletes a To Do list with its tasks.
    pub async fn delete_todo_list(&self, user_id: &str, list_id: &str) -> Result<()> {
        self.delete(&format!(
            "/users/{}/todo/lists/{}",
            enc(user_id),
            enc(list_id)
        ))
        .await
    }

    pub async fn create_calendar(&self, user_id: &str, name: &str) -> Result<Value> {
        self.write_json(
            Method::POST,
            &format!("/users/{}/calendars", enc(user_id)),
            &serde_json::json!({ "name": name }),
            &[],
        )
        .await
    }

    /// The events of a calendar (series masters and single events) with the properties a
    /// restore decides by, and the extended property `ext_id` when they have it.
    pub async fn events_with_property(
        &self,
        user_id: &str,
        calendar_id: &str,
        ext_id: &str,
    ) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/calendars/{}/events?$top=50&$select=id,subject,isOrganizer,attendees&$expand={}",
            enc(user_id),
            enc(calendar_id),
            expand_property(ext_id)
        ))
        .await
    }

    /// Creates an event. With `zone`, Graph returns its start and end in that time zone.
    pub async fn create_event(
        &self,
        user_id: &str,
        calendar_id: &str,
        event: &Value,
        zone: Option<&str>,
    ) -> Result<Value> {
        let url = format!(
            "/users/{}/calendars/{}/events",
            enc(user_id),
            enc(calendar_id)
        );
        let prefer = zone.map(|z| format!("outlook.timezone=\"{z}\""));
        let prefer: Vec<&str> = prefer.iter().map(String::as_str).collect();
        self.write_json(Method::POST, &url, event, &prefer).await
    }

    /// Updates an event, an occurrence or an exception.
    pub async fn update_event(
        &self,
        user_id: &str,
        event_id: &str,
        patch: &Value,
    ) -> Result<Value> {
        let url = format!("/users/{}/events/{}", enc(user_id), enc(event_id));
        self.write_json(Method::PATCH, &url, patch, &[]).await
    }

    /// Deletes an event; deleting an occurrence cancels it in its series.
    pub async fn delete_event(&self, user_id: &str, event_id: &str) -> Result<()> {
        self.delete(&format!("/users/{}/events/{}", enc(user_id), enc(event_id)))
            .await
    }

    /// The occurrences and exceptions of a series between two UTC instants (RFC 3339), their
    /// start and end in `zone`.
    pub async fn event_instances(
        &self,
        user_id: &str,
        event_id: &str,
        from: &str,
        to: &str,
        zone: &str,
    ) -> Result<Vec<Value>> {
        let url = format!(
            "/users/{}/events/{}/instances?startDateTime={}&endDateTime={}&$top=100",
            enc(user_id),
            enc(event_id),
            enc(from),
            enc(to)
        );
        let prefer = format!("outlook.timezone=\"{zone}\"");
        let mut out = Vec::new();
        let mut next = Some(url);
        while let Some(u) = next {
            let page = self.get_json(&u, &[&prefer]).await?;
            if let Some(Value::Array(items)) = page.get("value") {
                out.extend(items.iter().cloned());
            }
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Ok(out)
    }

    /// Adds a file attachment to an event.
    pub async fn add_event_attachment(
        &self,
        user_id: &str,
        event_id: &str,
        attachment: &Value,
    ) -> Result<Value> {
        let url = format!(
            "/users/{}/events/{}/attachments",
            enc(user_id),
            enc(event_id)
        );
        self.write_json(Method::POST, &url, attachment, &[]).await
    }

    pub async fn create_todo_list(&self, user_id: &str, display_name: &str) -> Result<Value> {
        self.write_json(
            Method::POST,
            &format!("/users/{}/todo/lists", enc(user_id)),
            &serde_json::json!({ "displayName": display_name }),
            &[],
        )
        .await
    }

    /// Every task of a To Do list.
    pub async fn tasks(&self, user_id: &str, list_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/todo/lists/{}/tasks?$top=100",
            enc(user_id),
            enc(list_id)
        ))
        .await
    }

    /// One task's JSON.
    pub async fn task(&self, user_id: &str, list_id: &str, task_id: &str) -> Result<Value> {
        self.get_json(
            &format!(
                "/users/{}/todo/lists/{}/tasks/{}",
                enc(user_id),
                enc(list_id),
                enc(task_id)
            ),
            &[],
        )
        .await
    }

    /// Every task of a To Do list with its `linkedResources` (where a restore notes the
    /// backed-up task it came from).
    pub async fn tasks_with_links(&self, user_id: &str, list_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/todo/lists/{}/tasks?$top=100&$expand=linkedResources",
            enc(user_id),
            enc(list_id)
        ))
        .await
    }

    pub async fn create_task(&self, user_id: &str, list_id: &str, task: &Value) -> Result<Value> {
        let url = format!("/users/{}/todo/lists/{}/tasks", enc(user_id), enc(list_id));
        self.write_json(Method::POST, &url, task, &[]).await
    }

    pub async fn update_task(
        &self,
        user_id: &str,
        list_id: &str,
        task_id: &str,
        patch: &Value,
    ) -> Result<Value> {
        let url = format!(
            "/users/{}/todo/lists/{}/tasks/{}",
            enc(user_id),
            enc(list_id),
            enc(task_id)
        );
        self.write_json(Method::PATCH, &url, patch, &[]).await
    }

    pub async fn create_inbox_rule(&self, user_id: &str, rule: &Value) -> Result<Value> {
        let url = format!("/users/{}/mailFolders/inbox/messageRules", enc(user_id));
        self.write_json(Method::POST, &url, rule, &[]).await
    }

    pub async fn delete_inbox_rule(&self, user_id: &str, rule_id: &str) -> Result<()> {
        self.delete(&format!(
            "/users/{}/mailFolders/inbox/messageRules/{}",
            enc(user_id),
            enc(rule_id)
        ))
        .await
    }

    /// Adds a file attachment of up to 3 MB to a message.
    pub async fn add_message_attachment(
        &self,
        user_id: &str,
        message_id: &str,
        attachment: &Value,
    ) -> Result<Value> {
        let url = format!(
            "/users/{}/messages/{}/attachments",
            enc(user_id),
            enc(message_id)
        );
        self.write_json(Method::POST, &url, attachment, &[]).await
    }

    /// Attaches a file of 3 MB to 150 MB to a message through an upload session: the ranges are
    /// PUT in order to the session's pre-authenticated URL, which takes no bearer token.
    pub async fn upload_message_attachment(
        &self,
        user_id: &str,
        message_id: &str,
        file: &UploadFile<'_>,
    ) -> Result<()> {
        self.upload_attachment(user_id, "messages", message_id, file)
            .await
    }

    /// Attaches a file of 3 MB to 150 MB to an event through an upload session.
    pub async fn upload_event_attachment(
        &self,
        user_id: &str,
        event_id: &str,
        file: &UploadFile<'_>,
    ) -> Result<()> {
        self.upload_attachment(user_id, "events", event_id, file)
            .await
    }

    async fn upload_attachment(
        &self,
        user_id: &str,
        collection: &str,
        item_id: &str,
        file: &UploadFile<'_>,
    ) -> Result<()> {
        let url = format!(
            "/users/{}/{collection}/{}/attachments/createUploadSession",
            enc(user_id),
            enc(item_id)
        );
        let session = self
            .write_json(
                Method::POST,
                &url,
                &serde_json::json!({ "AttachmentItem": {
                    "attachmentType": "file", "name": file.name, "size": file.bytes.len(),
                    "contentType": file.content_type, "isInline": file.is_inline,
                    "contentId": file.content_id,
                }}),
                &[],
            )
            .await?;
        let upload_url = session["uploadUrl"]
            .as_str()
            .ok_or_else(|| GraphError::Malformed {
                what: format!("POST {url}"),
                detail: "no uploadUrl".into(),
            })?
            .to_string();
        // Not the client's own connection pool: the URL is pre-authenticated and must not get
        // the Authorization header.
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(15))
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| GraphError::Config(e.to_string()))?;
        let total = file.bytes.len();
        // Graph asks for ranges in multiples of 320 KiB.
        const RANGE: usize = 320 * 1024 * 12;
        let path = "attachment upload session".to_string();
        let mut start = 0;
        while start < total {
            let end = (start + RANGE).min(total);
            let mut attempt = 0u32;
            let resp = loop {
                attempt += 1;
                // A chunk counts against the mailbox like any request, and its bytes against
                // the mailbox's upload limit: it waits its turn, and a 429's Retry-After.
                self.await_slot(&url).await;
                let sent = http
                    .put(&upload_url)
                    .header(
                        "Content-Range",
                        format!("bytes {start}-{}/{total}", end - 1),
                    )
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(file.bytes[start..end].to_vec())
                    .send()
                    .await;
                match sent {
                    // Other writes to the mailbox may keep filling its upload window: a chunk
                    // is given several windows' worth of tries.
                    Ok(r)
                        if crate::client::is_retried(r.status().as_u16(), true)
                            && attempt < self.max_attempts() * 3 =>
                    {
                        tracing::warn!(
                            status = r.status().as_u16(),
                            attempt,
                            "upload chunk throttled or refused; waiting"
                        );
                        self.back_off(&url, &r, attempt).await;
                        continue;
                    }
                    Ok(r) => break r,
                    Err(e) if attempt < 4 && (e.is_connect() || e.is_timeout()) => {}
                    Err(e) => {
                        return Err(GraphError::Unreachable {
                            url: path,
                            detail: crate::client::error_chain(&e),
                        });
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(500 * u64::from(attempt)))
                    .await;
            };
            let status = resp.status().as_u16();
            if !resp.status().is_success() {
                let text = resp.text().await.unwrap_or_default();
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                return Err(GraphError::Api {
                    method: "PUT".into(),
                    path,
                    status,
                    code: v["error"]["code"].as_str().unwrap_or_default().to_string(),
                    message: v["error"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                });
            }
            start = end;
        }
        Ok(())
    }

    /// Deletes a message (a restore that overwrites replaces it with the backed-up one).
    pub async fn delete_message(&self, user_id: &str, message_id: &str) -> Result<()> {
        self.delete(&format!(
            "/users/{}/messages/{}",
            enc(user_id),
            enc(message_id)
        ))
        .await
    }

    /// Changes properties of a message (`PATCH`; on a received message only flags, categories,
    /// read state, importance and extended properties can change).
    pub async fn update_message(
        &self,
        user_id: &str,
        message_id: &str,
        patch: &Value,
    ) -> Result<Value> {
        let url = format!("/users/{}/messages/{}", enc(user_id), enc(message_id));
        self.write_json(Method::PATCH, &url, patch, &[]).await
    }

    async fn write_json(
        &self,
        method: Method,
        url: &str,
        body: &Value,
        prefer: &[&str],
    ) -> Result<Value> {
        let bytes = serde_json::to_vec(body).expect("json");
        let what = format!("{method} {url}");
        let resp = self
            .send(method, url, Some(("application/json", bytes)), prefer)
            .await?;
        resp.json().await.map_err(|e| GraphError::Malformed {
            what,
            detail: e.to_string(),
        })
    }

    async fn delete(&self, url: &str) -> Result<()> {
        self.send(Method::DELETE, url, None, &[]).await?;
        Ok(())
    }

    async fn get_bytes_optional(&self, url: &str) -> Result<Option<Vec<u8>>> {
        match self.get_bytes(url, &[]).await {
            Ok((_, bytes)) => Ok(Some(bytes)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `singleValueExtendedProperties($filter=id eq '…')`, URL-encoded.
fn expand_property(ext_id: &str) -> String {
    enc(&format!(
        "singleValueExtendedProperties($filter=id eq '{}')",
        ext_id.replace('\'', "''")
    ))
}

/// A file to attach through an upload session.
#[derive(Debug)]
pub struct UploadFile<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub is_inline: bool,
    pub content_id: Option<&'a str>,
    pub bytes: &'a [u8],
}
