//! What a connection can see: the permission check, the tenant's mailboxes and a mailbox's
//! folders (for the wizard).

use qcb_engine::ConnectionReport;
use qcb_engine::connect::{FolderChoice, MailboxChoice};
use qcb_engine::sets::{ConnectionForm, MailboxesForm};
use tauri::State;

use crate::error::ApiResult;
use crate::state::AppState;

#[tauri::command]
pub async fn connection_test(
    state: State<'_, AppState>,
    connection: ConnectionForm,
    mailboxes: MailboxesForm,
    categories: Vec<String>,
) -> ApiResult<ConnectionReport> {
    Ok(
        qcb_engine::connect::test(&connection, mailboxes, categories, state.secrets.clone())
            .await?,
    )
}

#[tauri::command]
pub async fn directory_mailboxes(
    state: State<'_, AppState>,
    connection: ConnectionForm,
) -> ApiResult<Vec<MailboxChoice>> {
    let graph = qcb_engine::connect::client(&connection, state.secrets.clone()).await?;
    Ok(qcb_engine::connect::mailboxes(&graph).await?)
}

#[tauri::command]
pub async fn directory_folders(
    state: State<'_, AppState>,
    connection: ConnectionForm,
    mailbox: String,
    parent_id: Option<String>,
) -> ApiResult<Vec<FolderChoice>> {
    let graph = qcb_engine::connect::client(&connection, state.secrets.clone()).await?;
    Ok(qcb_engine::connect::folders(&graph, &mailbox, parent_id.as_deref()).await?)
}
