//! Connecting a backup set to a tenant, as the desktop wizard does it: sign in (an Entra app
//! with a client secret or certificate, or a person by device code or browser), keep what the
//! sign-in needs later in the secret store, and list the tenant's mailboxes and a mailbox's
//! folders to choose from.

use std::sync::Arc;

use qcb_graph::{
    DeviceCodePrompt, GraphClient, GraphConfig, InteractiveOptions, MemoryTokenStore,
    RefreshTokenStore, SignIn,
};
use serde::{Deserialize, Serialize};

use crate::api::blocking;
use crate::error::{EngineError, Result};
use crate::secrets::SecretStore;
use crate::sets::{AuthMethod, ConnectionForm, SecretKind, SetConnection, connection_client};

/// A secret typed into the wizard. `Debug` shows only which fields are set.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct AppSecret {
    pub client_secret: Option<String>,
    pub certificate_pem: Option<String>,
}

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecret")
            .field("client_secret", &self.client_secret.is_some())
            .field("certificate_pem", &self.certificate_pem.is_some())
            .finish()
    }
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignedIn {
    /// The person who signed in (delegated), or `None` for an app.
    pub account: Option<String>,
    pub display_name: String,
}

/// A mailbox of the tenant, for the wizard's list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MailboxChoice {
    pub id: String,
    pub address: String,
    pub display_name: String,
    pub shared: bool,
}

/// One mail folder of a lazily loaded tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FolderChoice {
    pub id: String,
    pub name: String,
    /// The folder's path of display names (`Inbox/Projects`), as folder filters take it.
    pub path: String,
    pub child_count: u32,
    pub item_count: u32,
}

fn config(c: &SetConnection) -> GraphConfig {
    GraphConfig::endpoints(&c.graph_url, &c.authority, &c.tenant_id, &c.client_id)
}

fn checked(form: &ConnectionForm) -> Result<SetConnection> {
    let c = SetConnection::from(form);
    let bad = |m: &str| Err(EngineError::InvalidInput(m.to_string()));
    if c.tenant_id.is_empty() {
        return bad("enter the tenant (its id or a domain such as contoso.onmicrosoft.com)");
    }
    if c.client_id.is_empty() {
        return bad("enter the application (client) id of the Entra app");
    }
    for (what, u) in [
        ("Graph URL", &c.graph_url),
        ("sign-in authority", &c.authority),
    ] {
        if url::Url::parse(u).is_err() {
            return Err(EngineError::InvalidInput(format!(
                "the {what} {u:?} is not a URL"
            )));
        }
    }
    Ok(c)
}

/// A client for a connection whose secret is already in `secrets`.
pub async fn client(form: &ConnectionForm, secrets: Arc<dyn SecretStore>) -> Result<GraphClient> {
    let c = checked(form)?;
    connection_client(secrets, &c, |kind, _| {
        EngineError::MissingSecret(format!(
            "no {} for this connection in the keychain: sign in again",
            kind.as_str().replace('-', " ")
        ))
    })
    .await
}

async fn keep(secrets: &Arc<dyn SecretStore>, entry: String, value: String) -> Result<()> {
    let secrets = secrets.clone();
    blocking(move || secrets.set(&entry, &value)).await
}

/// Signs in as the Entra app of `form` (client secret or certificate). A secret given here is
/// tried first and kept in `secrets` only once it works; without one, the stored one is used.
pub async fn sign_in_app(
    form: &ConnectionForm,
    secret: AppSecret,
    secrets: Arc<dyn SecretStore>,
) -> Result<SignedIn> {
    let c = checked(form)?;
    let given = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let (graph, new_secret) = match c.auth {
        AuthMethod::ClientSecret => match given(&secret.client_secret) {
            Some(s) => {
                let conn = crate::Connection {
                    graph_url: c.graph_url.clone(),
                    authority: c.authority.clone(),
                    tenant_id: c.tenant_id.clone(),
                    client_id: c.client_id.clone(),
                    client_secret: s.trim().to_string(),
                };
                (
                    conn.client()?,
                    Some((SecretKind::ClientSecret, s.trim().to_string())),
                )
            }
            None => (client(form, secrets.clone()).await?, None),
        },
        AuthMethod::Certificate => match given(&secret.certificate_pem) {
            Some(pem) if c.certificate.is_none() => {
                let cert = qcb_graph::ClientCertificate::from_pem(&pem)?;
                let g = GraphClient::with_credentials(
                    config(&c),
                    qcb_graph::Credentials::Certificate(cert),
                )?;
                (g, Some((SecretKind::ClientCertificate, pem)))
            }
            Some(_) => {
                return Err(EngineError::InvalidInput(
                    "give the certificate either as a file or pasted, not both".into(),
                ));
            }
            None => (client(form, secrets.clone()).await?, None),
        },
        AuthMethod::Delegated => {
            return Err(EngineError::InvalidInput(
                "a person signs in with a device code or in the browser, not with app credentials"
                    .into(),
            ));
        }
    };
    graph.sign_in_now().await?;
    if let Some((kind, value)) = new_secret {
        let entry = c.secret_entry(kind).unwrap_or_default();
        keep(&secrets, entry, value).await?;
    }
    tracing::info!(tenant = %c.tenant_id, client = %c.client_id, "app sign-in succeeded");
    Ok(SignedIn {
        account: None,
        display_name: format!("App {} in tenant {}", c.client_id, c.tenant_id),
    })
}

/// Finishes a person's sign-in: asks Graph who signed in and files the refresh token under
/// that account.
async fn finish_delegated(
    c: &SetConnection,
    credentials: qcb_graph::Credentials,
    tokens: Arc<MemoryTokenStore>,
    secrets: Arc<dyn SecretStore>,
) -> Result<SignedIn> {
    let graph = GraphClient::with_credentials(config(c), credentials)?;
    let me = graph.me().await?;
    let token = tokens
        .load()
        .map_err(|e| EngineError::Internal(format!("reading the new sign-in: {e}")))?
        .ok_or_else(|| EngineError::Internal("the sign-in gave no refresh token".into()))?;
    let account = me.user_principal_name.clone();
    let entry = crate::secrets::refresh_token_entry(&c.tenant_id, &c.client_id, &account);
    keep(&secrets, entry, token.expose().to_string()).await?;
    tracing::info!(tenant = %c.tenant_id, "delegated sign-in succeeded");
    Ok(SignedIn {
        display_name: me.display_name.unwrap_or_else(|| account.clone()),
        account: Some(account),
    })
}

/// A person signs in with a device code: `prompt` gets the code to show; this returns once
/// they approved (their refresh token is then in `secrets`).
pub async fn sign_in_device(
    form: &ConnectionForm,
    secrets: Arc<dyn SecretStore>,
    prompt: impl FnOnce(&DeviceCodePrompt),
) -> Result<SignedIn> {
    let c = checked(form)?;
    let tokens = Arc::new(MemoryTokenStore::new());
    let creds = SignIn::new(&config(&c))?
        .device_code(tokens.clone(), prompt)
        .await?;
    finish_delegated(&c, creds, tokens, secrets).await
}

/// A person signs in in the browser (auth code + PKCE, loopback redirect); `open_browser`
/// opens the sign-in URL.
pub async fn sign_in_browser(
    form: &ConnectionForm,
    secrets: Arc<dyn SecretStore>,
    open_browser: impl FnOnce(&str) -> std::io::Result<()>,
) -> Result<SignedIn> {
    let c = checked(form)?;
    let tokens = Arc::new(MemoryTokenStore::new());
    let creds = SignIn::new(&config(&c))?
        .interactive(tokens.clone(), &InteractiveOptions::default(), open_browser)
        .await?;
    finish_delegated(&c, creds, tokens, secrets).await
}

/// The mailboxes a sign-in can back up, by display name: every user and shared mailbox for
/// an app; the person's own for a delegated sign-in.
pub async fn mailboxes(graph: &GraphClient) -> Result<Vec<MailboxChoice>> {
    let users = if graph.is_delegated() {
        vec![graph.me().await?]
    } else {
        graph.users().await?
    };
    // Each user's purpose is one request: asked twenty to a JSON batch; a user without a
    // mailbox has no settings to read (no purpose) and is not a shared mailbox.
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let purposes = graph.user_purposes(&ids).await;
    let mut out = Vec::with_capacity(users.len());
    for (u, purpose) in users.into_iter().zip(purposes) {
        let shared = purpose?.as_deref() == Some("shared");
        out.push(MailboxChoice {
            address: u
                .mail
                .clone()
                .unwrap_or_else(|| u.user_principal_name.clone()),
            display_name: u
                .display_name
                .clone()
                .unwrap_or_else(|| u.user_principal_name.clone()),
            id: u.id,
            shared,
        });
    }
    out.sort_by_key(|m| m.display_name.to_lowercase());
    Ok(out)
}

/// One level of a mailbox's mail folders (`parent` `None`: the top), each with its path of
/// display names.
pub async fn folders(
    graph: &GraphClient,
    mailbox: &str,
    parent: Option<&str>,
) -> Result<Vec<FolderChoice>> {
    let prefix = match parent {
        None => String::new(),
        Some(id) => format!("{}/", folder_path(graph, mailbox, id).await?),
    };
    let mut out: Vec<FolderChoice> = graph
        .child_mail_folders(mailbox, parent)
        .await?
        .into_iter()
        .map(|f| FolderChoice {
            path: format!("{prefix}{}", f.display_name),
            id: f.id,
            name: f.display_name,
            child_count: f.child_folder_count,
            item_count: f.total_item_count,
        })
        .collect();
    out.sort_by_key(|f| f.name.to_lowercase());
    Ok(out)
}

/// The path of display names of a folder, read up to the top of the mailbox.
async fn folder_path(graph: &GraphClient, mailbox: &str, id: &str) -> Result<String> {
    let root = graph.mail_folder(mailbox, "msgfolderroot").await?.id;
    let mut names = Vec::new();
    let mut next = Some(id.to_string());
    while let Some(id) = next.filter(|i| *i != root) {
        if names.len() > 300 {
            return Err(EngineError::Internal(format!(
                "the folder {id:?} is more than 300 levels deep"
            )));
        }
        let f = graph.mail_folder(mailbox, &id).await?;
        names.push(f.display_name);
        next = f.parent_folder_id;
    }
    names.reverse();
    Ok(names.join("/"))
}

/// The permission check for a connection being set up: what it can read and write in the
/// chosen mailboxes (at most 50 probed) for the chosen categories.
pub async fn test(
    form: &ConnectionForm,
    mailboxes: crate::sets::MailboxesForm,
    categories: Vec<String>,
    secrets: Arc<dyn SecretStore>,
) -> Result<crate::ConnectionReport> {
    let categories = if categories.is_empty() {
        crate::Categories::default()
    } else {
        crate::Categories::parse(&categories.join(",")).map_err(EngineError::InvalidInput)?
    };
    let selection = crate::MailboxSelection {
        all_users: mailboxes.all_users,
        users: mailboxes.users,
        filter: mailboxes.filter.filter(|f| !f.trim().is_empty()),
        shared: mailboxes.shared,
    };
    selection.validate().map_err(EngineError::InvalidInput)?;
    let graph = Arc::new(client(form, secrets).await?);
    crate::test_connection(
        graph,
        form.client_id.trim(),
        crate::ConnectionTest {
            mailboxes: Vec::new(),
            selection,
            categories,
            limit: 50,
        },
    )
    .await
}
