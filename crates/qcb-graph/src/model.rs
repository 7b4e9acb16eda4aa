//! The parts of Graph's entities this client reads, named as in Graph's v1.0 metadata.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailFolder {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub parent_folder_id: Option<String>,
    #[serde(default)]
    pub child_folder_count: u32,
    #[serde(default)]
    pub total_item_count: u32,
    #[serde(default)]
    pub unread_item_count: u32,
    #[serde(default)]
    pub is_hidden: Option<bool>,
    /// The well-known name the folder was fetched by (`recoverableitemsdeletions` ...); set by
    /// [`crate::GraphClient::well_known_folder`], not by Graph (v1.0 has no such property).
    #[serde(skip)]
    pub well_known_name: Option<String>,
}

/// One round of the mail folder hierarchy's delta query.
#[derive(Debug, Clone, Default)]
pub struct FolderDelta {
    /// Folders added or changed (all of them on a first round).
    pub changed: Vec<MailFolder>,
    /// Ids of folders reported as `@removed`.
    pub removed: Vec<String>,
    /// Where the next round starts.
    pub delta_link: String,
}

/// One page of a delta query.
#[derive(Debug, Clone)]
pub struct DeltaPage {
    /// Changed or new items, as full JSON objects.
    pub items: Vec<serde_json::Value>,
    /// Ids reported as `@removed` (deleted or moved out).
    pub removed: Vec<String>,
    /// The next page, while the round is not finished.
    pub next_link: Option<String>,
    /// Present on the last page: where the next round starts.
    pub delta_link: Option<String>,
}

/// The message properties a backup records next to the MIME source (what MIME does not carry,
/// and what a restore needs).
pub const MESSAGE_SELECT: &str = "id,changeKey,parentFolderId,subject,from,sender,toRecipients,ccRecipients,bccRecipients,replyTo,receivedDateTime,sentDateTime,createdDateTime,lastModifiedDateTime,isRead,isDraft,importance,flag,categories,hasAttachments,internetMessageId,conversationId,inferenceClassification";
