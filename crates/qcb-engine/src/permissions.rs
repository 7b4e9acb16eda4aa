//! "Test connection": signs in and reports, per mailbox and per category, what can be read
//! and written, and for everything missing the exact Microsoft Graph permission and the admin
//! step that grants it (Entra admin consent, or the Exchange RBAC for Applications scope that
//! leaves a mailbox out). Reads are probed with one cheap request each; writes are judged from
//! the permissions the token carries, since probing them would change the mailbox.

use std::sync::Arc;

use qcb_graph::{GraphClient, GraphError, User};
use serde::Serialize;

use crate::categories::Categories;
use crate::error::{EngineError, Result};
use crate::selection::MailboxSelection;

/// What to test.
#[derive(Debug, Clone, Default)]
pub struct ConnectionTest {
    /// Named mailboxes, added to `selection` (nothing at all: every mailbox, as for a backup).
    pub mailboxes: Vec<String>,
    pub selection: MailboxSelection,
    pub categories: Categories,
    /// At most this many mailboxes are probed (0: all); the report says how many were left.
    pub limit: usize,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    Ok,
    /// Refused (403): `missing` and `fix` say what to do.
    Missing,
    /// Could not be told (the token does not list its permissions).
    Unknown,
    /// Something else went wrong (`detail` says what), e.g. the user has no mailbox.
    Error,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct CategoryAccess {
    /// `mail`, `contacts`, `calendars`, `tasks`, `settings` or `rules`.
    pub category: String,
    pub read: Access,
    pub write: Access,
    /// Permissions to grant, by their exact names.
    pub missing: Vec<String>,
    /// What an administrator does about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MailboxAccess {
    pub mailbox: String,
    pub categories: Vec<CategoryAccess>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionReport {
    /// `application` (an Entra app on its own) or `delegated` (a person's sign-in).
    pub sign_in: String,
    /// Permissions in the token, when it can be read.
    pub granted: Option<Vec<String>>,
    /// Reading the directory (`/users`, or `/me` for a person).
    pub directory: CategoryAccess,
    pub mailboxes: Vec<MailboxAccess>,
    /// Mailboxes chosen but not probed (over `limit`).
    pub not_tested: usize,
    /// How many checks are not `ok`.
    pub problems: usize,
}

/// One category's probe and permission names.
struct Probe {
    category: &'static str,
    /// Relative to `/users/{id}`.
    path: &'static str,
    /// Application permissions (read, write) and the Exchange RBAC for Applications role that
    /// scopes the read one, if Exchange has one.
    app: (&'static str, &'static str, Option<&'static str>),
    /// Delegated permissions for one's own mailbox (read, write).
    own: (&'static str, &'static str),
    /// Delegated permissions for someone else's mailbox that was shared with the person.
    shared: (&'static str, &'static str),
}

const PROBES: &[Probe] = &[
    Probe {
        category: "mail",
        path: "mailFolders?$top=1",
        app: ("Mail.Read", "Mail.ReadWrite", Some("Application Mail.Read")),
        own: ("Mail.Read", "Mail.ReadWrite"),
        shared: ("Mail.Read.Shared", "Mail.ReadWrite.Shared"),
    },
    Probe {
        category: "contacts",
        path: "contactFolders?$top=1",
        app: (
            "Contacts.Read",
            "Contacts.ReadWrite",
            Some("Application Contacts.Read"),
        ),
        own: ("Contacts.Read", "Contacts.ReadWrite"),
        shared: ("Contacts.Read.Shared", "Contacts.ReadWrite.Shared"),
    },
    Probe {
        category: "calendars",
        path: "calendars?$top=1",
        app: (
            "Calendars.Read",
            "Calendars.ReadWrite",
            Some("Application Calendars.Read"),
        ),
        own: ("Calendars.Read", "Calendars.ReadWrite"),
        shared: ("Calendars.Read.Shared", "Calendars.ReadWrite.Shared"),
    },
    Probe {
        category: "tasks",
        path: "todo/lists?$top=1",
        app: ("Tasks.Read.All", "Tasks.ReadWrite.All", None),
        own: ("Tasks.Read", "Tasks.ReadWrite"),
        shared: ("Tasks.Read.Shared", "Tasks.ReadWrite.Shared"),
    },
    Probe {
        category: "settings",
        path: "mailboxSettings",
        app: (
            "MailboxSettings.Read",
            "MailboxSettings.ReadWrite",
            Some("Application MailboxSettings.Read"),
        ),
        own: ("MailboxSettings.Read", "MailboxSettings.ReadWrite"),
        shared: ("MailboxSettings.Read", "MailboxSettings.ReadWrite"),
    },
    Probe {
        category: "rules",
        path: "mailFolders/inbox/messageRules?$top=1",
        app: (
            "MailboxSettings.Read",
            "MailboxSettings.ReadWrite",
            Some("Application MailboxSettings.Read"),
        ),
        own: ("MailboxSettings.Read", "MailboxSettings.ReadWrite"),
        shared: ("MailboxSettings.Read", "MailboxSettings.ReadWrite"),
    },
];

fn chosen(c: &Categories, category: &str) -> bool {
    match category {
        "mail" => c.mail,
        "contacts" => c.contacts,
        "calendars" => c.calendars,
        "tasks" => c.tasks,
        _ => c.settings,
    }
}

fn has(granted: &Option<Vec<String>>, names: &[&str]) -> Option<bool> {
    granted.as_ref().map(|g| {
        g.iter()
            .any(|p| names.iter().any(|n| p.eq_ignore_ascii_case(n)))
    })
}

fn consent_step(client_id: &str, delegated: bool, perm: &str) -> String {
    if delegated {
        format!(
            "Sign in again and accept {perm}, or have an administrator grant consent for the \
             organisation (Entra admin center > Enterprise applications > {client_id} > \
             Permissions > Grant admin consent)."
        )
    } else {
        format!(
            "In the Microsoft Entra admin center: App registrations > {client_id} > API \
             permissions > Add a permission > Microsoft Graph > Application permissions > \
             {perm}, then Grant admin consent for the tenant."
        )
    }
}

/// Tests the connection `graph` makes; `client_id` names the app in the fix texts.
pub async fn test_connection(
    graph: Arc<GraphClient>,
    client_id: &str,
    test: ConnectionTest,
) -> Result<ConnectionReport> {
    // A sign-in that fails is an error, not a report: nothing else can be tested.
    graph.sign_in_now().await?;
    let delegated = graph.is_delegated();
    let granted = graph.granted_permissions().await?;
    let (dir_probe, dir_perm) = if delegated {
        ("/me?$select=id", "User.Read")
    } else {
        ("/users?$top=1&$select=id", "User.Read.All")
    };
    let mut directory = CategoryAccess {
        category: "directory".into(),
        read: Access::Ok,
        write: Access::Unknown,
        missing: vec![],
        fix: None,
        detail: None,
    };
    let mut users: Vec<User> = Vec::new();
    match graph.probe(dir_probe).await {
        Ok(()) => {
            match crate::backup::resolve_users(&graph, &test.mailboxes, &test.selection).await {
                Ok(u) => users = u,
                Err(e @ EngineError::NotFound(_)) => return Err(e),
                Err(e) => {
                    directory.read = Access::Error;
                    directory.detail = Some(e.to_string());
                }
            }
        }
        Err(e) if e.status() == Some(403) => {
            directory.read = Access::Missing;
            directory.missing = vec![dir_perm.into()];
            directory.fix = Some(consent_step(client_id, delegated, dir_perm));
        }
        Err(e) => return Err(e.into()),
    }
    let me = if delegated {
        graph.me().await.ok().map(|u| u.id)
    } else {
        None
    };
    let not_tested = if test.limit > 0 && users.len() > test.limit {
        users.len() - test.limit
    } else {
        0
    };
    users.truncate(users.len() - not_tested);
    let mut mailboxes = Vec::new();
    for user in users {
        let own = me.as_deref() == Some(user.id.as_str());
        let mut categories = Vec::new();
        for p in PROBES
            .iter()
            .filter(|p| chosen(&test.categories, p.category))
        {
            categories
                .push(probe_category(&graph, client_id, &user, p, delegated, own, &granted).await?);
        }
        mailboxes.push(MailboxAccess {
            mailbox: user.user_principal_name,
            categories,
        });
    }
    let problems = mailboxes
        .iter()
        .flat_map(|m| &m.categories)
        .chain(std::iter::once(&directory))
        .filter(|c| c.read != Access::Ok || c.write == Access::Missing)
        .count();
    Ok(ConnectionReport {
        sign_in: if delegated {
            "delegated"
        } else {
            "application"
        }
        .into(),
        granted,
        directory,
        mailboxes,
        not_tested,
        problems,
    })
}

async fn probe_category(
    graph: &GraphClient,
    client_id: &str,
    user: &User,
    p: &Probe,
    delegated: bool,
    own: bool,
    granted: &Option<Vec<String>>,
) -> Result<CategoryAccess> {
    let (read_perm, write_perm) = match (delegated, own) {
        (false, _) => (p.app.0, p.app.1),
        (true, true) => p.own,
        (true, false) => p.shared,
    };
    let mut out = CategoryAccess {
        category: p.category.into(),
        read: Access::Ok,
        write: Access::Unknown,
        missing: vec![],
        fix: None,
        detail: None,
    };
    let path = format!("/users/{}/{}", qcb_graph::encode_segment(&user.id), p.path);
    match graph.probe(&path).await {
        Ok(()) => {}
        Err(e) if e.status() == Some(403) => {
            out.read = Access::Missing;
            out.detail = graph_detail(&e);
            let held = has(granted, &[read_perm, write_perm]);
            if held == Some(true) && !delegated {
                // The tenant granted the permission, yet Exchange refuses this mailbox.
                out.fix = Some(match p.app.2 {
                    Some(role) => format!(
                        "The app holds {read_perm}, but Exchange Online refuses this mailbox: \
                         an Exchange RBAC for Applications management scope (or an older \
                         application access policy) leaves it out. In Exchange Online \
                         PowerShell, add the mailbox to the scope of the app's \"{role}\" role \
                         assignment (Get-ManagementRoleAssignment -RoleAssignee <service \
                         principal>; New-ManagementScope / Set-ManagementScope), or remove the \
                         policy (Get-ApplicationAccessPolicy)."
                    ),
                    None => format!(
                        "The app holds {read_perm}, but the service refuses this mailbox: \
                         check that the user is licensed for the service and that no \
                         conditional-access or access policy blocks the app."
                    ),
                });
            } else if delegated && !own {
                out.missing = vec![read_perm.into()];
                out.fix = Some(format!(
                    "{} The mailbox owner (or an Exchange administrator) must also share \
                     the folders with this person or grant them FullAccess.",
                    consent_step(client_id, true, read_perm)
                ));
            } else {
                out.missing = vec![read_perm.into()];
                out.fix = Some(consent_step(client_id, delegated, read_perm));
            }
            out.write = if has(granted, &[write_perm]) == Some(false) {
                Access::Missing
            } else {
                Access::Unknown
            };
            if out.write == Access::Missing && !out.missing.iter().any(|m| m == write_perm) {
                out.missing.push(write_perm.into());
            }
            return Ok(out);
        }
        Err(e) if e.status() == Some(404) => {
            out.read = Access::Error;
            out.detail = Some(format!(
                "no such mailbox or folder (the user may have no Exchange Online mailbox): {}",
                graph_detail(&e).unwrap_or_default()
            ));
            return Ok(out);
        }
        Err(e) if e.status().is_some() => {
            out.read = Access::Error;
            out.detail = Some(e.to_string());
            return Ok(out);
        }
        Err(e) => return Err(e.into()),
    }
    out.write = match has(granted, &[write_perm]) {
        Some(true) => Access::Ok,
        Some(false) => {
            out.missing.push(write_perm.into());
            out.fix = Some(format!(
                "Backups work; restores into this mailbox need {write_perm}. {}",
                consent_step(client_id, delegated, write_perm)
            ));
            Access::Missing
        }
        None => Access::Unknown,
    };
    Ok(out)
}

fn graph_detail(e: &GraphError) -> Option<String> {
    e.code().map(|c| format!("Graph answered {c}"))
}
