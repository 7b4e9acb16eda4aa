//! Contacts, calendars, To Do tasks and mailbox settings: the mailbox items besides mail.
//! Items come back as Graph's full JSON, which is what a backup stores for them.

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

    pub async fn inbox_rules(&self, user_id: &str) -> Result<Vec<Value>> {
        self.collect_pages(&format!(
            "/users/{}/mailFolders/inbox/messageRules",
            enc(user_id)
        ))
        .await
    }

    async fn get_bytes_optional(&self, url: &str) -> Result<Option<Vec<u8>>> {
        match self.send(reqwest::Method::GET, url, None, &[]).await {
            Ok(resp) => {
                let bytes = resp.bytes().await.map_err(|e| GraphError::Unreachable {
                    url: url.to_string(),
                    detail: e.to_string(),
                })?;
                Ok(Some(bytes.to_vec()))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
