//! A backup set as a desktop form edits it: the same content as [`BackupSet`], with the
//! schedule and spans as the text a person types, categories as a list, and camelCase names
//! (the TOML file keeps its kebab-case). `SetForm -> BackupSet` validates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{AuthMethod, BackupSet, CategoriesText, RunOn, Schedule, SetConnection};
use crate::categories::Categories;
use crate::error::{EngineError, Result};
use crate::selection::{FolderFilter, MailboxSelection};
use qcb_repo::{RetentionPolicy, Span};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ConnectionForm {
    pub tenant_id: String,
    pub client_id: String,
    pub auth: AuthMethod,
    pub certificate: Option<String>,
    pub account: Option<String>,
    pub graph_url: String,
    pub authority: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MailboxesForm {
    pub all_users: bool,
    pub users: Vec<String>,
    pub filter: Option<String>,
    pub shared: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct FoldersForm {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// Retention rules; spans as text (`30d`, `12w`, `1y`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct RetentionForm {
    pub keep_last: Option<u32>,
    pub keep_within: Option<String>,
    pub keep_hourly: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    pub keep_yearly: Option<u32>,
    pub deleted_item_retention: Option<String>,
}

/// A backup set as the desktop wizard shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SetForm {
    pub name: String,
    pub run_on: RunOn,
    pub repository: String,
    /// `manual`, `hourly`, `every 6h`, `daily 02:30`, `weekdays 22:00`, `weekly mon,thu 03:00`.
    pub schedule: String,
    pub connection: ConnectionForm,
    pub mailboxes: MailboxesForm,
    /// `mail`, `contacts`, `calendars`, `tasks`, `settings`.
    pub categories: Vec<String>,
    pub folders: FoldersForm,
    pub retention: Option<RetentionForm>,
    /// Categories of single mailboxes (by address or id) instead of `categories`. `None`:
    /// the form does not edit them (saving over a set keeps the stored ones).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub mailbox_categories: Option<BTreeMap<String, Vec<String>>>,
}

impl From<&SetConnection> for ConnectionForm {
    fn from(c: &SetConnection) -> Self {
        ConnectionForm {
            tenant_id: c.tenant_id.clone(),
            client_id: c.client_id.clone(),
            auth: c.auth,
            certificate: c.certificate.as_ref().map(|p| p.display().to_string()),
            account: c.account.clone(),
            graph_url: c.graph_url.clone(),
            authority: c.authority.clone(),
        }
    }
}

impl From<&ConnectionForm> for SetConnection {
    fn from(c: &ConnectionForm) -> Self {
        let text = |s: &Option<String>| {
            s.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        SetConnection {
            tenant_id: c.tenant_id.trim().to_string(),
            client_id: c.client_id.trim().to_string(),
            auth: c.auth,
            certificate: text(&c.certificate).map(PathBuf::from),
            account: text(&c.account),
            graph_url: c.graph_url.trim().to_string(),
            authority: c.authority.trim().to_string(),
        }
    }
}

/// The category names of `c`, in the order the UI lists them.
pub fn category_names(c: &Categories) -> Vec<String> {
    [
        (c.mail, "mail"),
        (c.contacts, "contacts"),
        (c.calendars, "calendars"),
        (c.tasks, "tasks"),
        (c.settings, "settings"),
    ]
    .into_iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| n.to_string())
    .collect()
}

impl From<&BackupSet> for SetForm {
    fn from(s: &BackupSet) -> Self {
        let r = s.retention.as_ref();
        SetForm {
            name: s.name.clone(),
            run_on: s.run_on,
            repository: s.repository.clone(),
            schedule: s.schedule.to_string(),
            connection: ConnectionForm::from(&s.connection),
            mailboxes: MailboxesForm {
                all_users: s.mailboxes.all_users,
                users: s.mailboxes.users.clone(),
                filter: s.mailboxes.filter.clone(),
                shared: s.mailboxes.shared,
            },
            categories: category_names(&s.categories),
            folders: FoldersForm {
                include: s.folders.include.clone(),
                exclude: s.folders.exclude.clone(),
            },
            retention: r.map(|r| RetentionForm {
                keep_last: r.keep_last,
                keep_within: r.keep_within.as_ref().map(Span::to_string),
                keep_hourly: r.keep_hourly,
                keep_daily: r.keep_daily,
                keep_weekly: r.keep_weekly,
                keep_monthly: r.keep_monthly,
                keep_yearly: r.keep_yearly,
                deleted_item_retention: r.deleted_item_retention.as_ref().map(Span::to_string),
            }),
            mailbox_categories: Some(
                s.mailbox_categories
                    .iter()
                    .map(|(k, v)| (k.clone(), category_names(&v.0)))
                    .collect(),
            ),
        }
    }
}

impl SetForm {
    /// The set this form describes, validated (every problem named, as for a TOML file).
    /// `stored` is the set saved under this name before, whose per-mailbox categories are
    /// kept when the form leaves them out.
    pub fn to_set(&self, stored: Option<&BackupSet>) -> Result<BackupSet> {
        let bad = |m: String| EngineError::InvalidInput(format!("backup set: {m}"));
        let schedule = Schedule::parse(self.schedule.trim()).map_err(bad)?;
        if self.categories.is_empty() {
            return Err(bad(
                "choose at least one category (mail, contacts ...)".into()
            ));
        }
        let categories = Categories::parse(&self.categories.join(",")).map_err(bad)?;
        let span = |what: &str, t: &Option<String>| -> Result<Option<Span>> {
            match t.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                Some(t) => Span::parse(t)
                    .map(Some)
                    .map_err(|e| bad(format!("{what} {t:?}: {e}"))),
            }
        };
        let retention = match &self.retention {
            None => None,
            Some(r) => Some(RetentionPolicy {
                keep_last: r.keep_last,
                keep_within: span("keep within", &r.keep_within)?,
                keep_hourly: r.keep_hourly,
                keep_daily: r.keep_daily,
                keep_weekly: r.keep_weekly,
                keep_monthly: r.keep_monthly,
                keep_yearly: r.keep_yearly,
                deleted_item_retention: span("deleted item retention", &r.deleted_item_retention)?,
            }),
        };
        let trimmed = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let mailbox_categories = match &self.mailbox_categories {
            None => stored
                .map(|s| s.mailbox_categories.clone())
                .unwrap_or_default(),
            Some(map) => {
                let mut out = BTreeMap::new();
                for (mailbox, names) in map {
                    let c = Categories::parse(&names.join(","))
                        .map_err(|e| bad(format!("categories of {mailbox}: {e}")))?;
                    out.insert(mailbox.trim().to_string(), CategoriesText(c));
                }
                out
            }
        };
        let m = &self.mailboxes;
        let set = BackupSet {
            name: self.name.clone(),
            run_on: self.run_on,
            repository: self.repository.trim().to_string(),
            schedule,
            connection: SetConnection::from(&self.connection),
            mailboxes: MailboxSelection {
                all_users: m.all_users,
                users: trimmed(&m.users),
                filter: m
                    .filter
                    .as_ref()
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty()),
                shared: m.shared,
            },
            categories,
            mailbox_categories,
            folders: FolderFilter {
                include: trimmed(&self.folders.include),
                exclude: trimmed(&self.folders.exclude),
            },
            retention,
        };
        set.validate()?;
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_survives_the_form_both_ways() {
        let set = super::super::tests::sample();
        let form = SetForm::from(&set);
        assert_eq!(form.to_set(None).expect("valid"), set);
        // A form that leaves per-mailbox categories out keeps the stored ones.
        let without = SetForm {
            mailbox_categories: None,
            ..form
        };
        assert!(
            without
                .to_set(None)
                .expect("valid")
                .mailbox_categories
                .is_empty()
        );
        assert_eq!(without.to_set(Some(&set)).expect("valid"), set);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut form = SetForm::from(&super::super::tests::sample());
        form.schedule = "sometimes".into();
        let e = form.to_set(None).expect_err("bad schedule").to_string();
        assert!(e.contains("sometimes"), "{e}");
        form.schedule = "daily 02:30".into();
        form.categories.clear();
        assert!(
            form.to_set(None)
                .expect_err("no category")
                .to_string()
                .contains("category")
        );
        form.categories = vec!["mail".into(), "journal".into()];
        assert!(
            form.to_set(None)
                .expect_err("bad category")
                .to_string()
                .contains("journal")
        );
        form.categories = vec!["mail".into()];
        form.retention = Some(RetentionForm {
            keep_within: Some("ten days".into()),
            ..Default::default()
        });
        assert!(
            form.to_set(None)
                .expect_err("bad span")
                .to_string()
                .contains("ten days")
        );
        form.retention = Some(RetentionForm::default());
        assert!(
            form.to_set(None)
                .expect_err("no rule")
                .to_string()
                .contains("keep rule")
        );
        form.retention = None;
        form.name = " padded".into();
        assert!(form.to_set(None).is_err());
    }
}
