//! What a backup takes from a tenant: which mailboxes ([`MailboxSelection`]) and, inside each,
//! which mail folders ([`FolderFilter`]).

use serde::{Deserialize, Serialize};

/// Which mailboxes a backup includes: the union of every part that is set. A selection with
/// nothing set means every user of the directory (or, signed in as a person, their own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MailboxSelection {
    /// Every user object of the directory (user, shared, room and equipment mailboxes).
    #[serde(default)]
    pub all_users: bool,
    /// Named mailboxes: user principal names, addresses or ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Users matching this OData `$filter` on `/users`, e.g. `userType eq 'Member'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Every shared mailbox (`mailboxSettings.userPurpose` is `shared`).
    #[serde(default)]
    pub shared: bool,
}

impl MailboxSelection {
    /// The named mailboxes only.
    pub fn users(users: Vec<String>) -> Self {
        MailboxSelection {
            users,
            ..Default::default()
        }
    }

    /// Nothing chosen: every mailbox the sign-in can see.
    pub fn is_everything(&self) -> bool {
        !self.all_users && self.users.is_empty() && self.filter.is_none() && !self.shared
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(f) = &self.filter
            && f.trim().is_empty()
        {
            return Err(
                "the mailbox filter is empty; leave it out or write an OData $filter \
                        such as userType eq 'Member'"
                    .into(),
            );
        }
        if let Some(u) = self.users.iter().find(|u| u.trim().is_empty()) {
            return Err(format!("a mailbox name is empty ({u:?})"));
        }
        Ok(())
    }
}

/// Which mail folders a backup includes, by their path of display names (`Inbox/Projects`),
/// compared without regard to case. A pattern names a folder and everything below it; `*` and
/// `?` match within one name, `**` any number of names. Exclusions win over inclusions; an
/// empty include list includes every folder. The folders above an included folder are kept
/// as empty containers so the tree keeps its shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FolderFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

/// What a filter says about one folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderVerdict {
    /// Back up the folder and its items.
    Include,
    /// Keep the folder as an empty container: an included folder lies below it.
    Container,
    /// Leave it out.
    Exclude,
}

impl FolderFilter {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub fn validate(&self) -> Result<(), String> {
        for p in self.include.iter().chain(&self.exclude) {
            if p.trim().is_empty() {
                return Err("a folder pattern is empty".into());
            }
            if p.split('/').any(|s| s.trim().is_empty()) {
                return Err(format!(
                    "folder pattern {p:?} has an empty name: write paths such as Inbox/Projects"
                ));
            }
        }
        Ok(())
    }

    /// The verdict for the folder at `path` (display names from the top).
    pub fn verdict(&self, path: &[&str]) -> FolderVerdict {
        if self.exclude.iter().any(|p| covers(p, path)) {
            return FolderVerdict::Exclude;
        }
        if self.include.is_empty() || self.include.iter().any(|p| covers(p, path)) {
            return FolderVerdict::Include;
        }
        if self.include.iter().any(|p| is_above(p, path)) {
            return FolderVerdict::Container;
        }
        FolderVerdict::Exclude
    }
}

/// Whether `pattern` names `path` or a folder above it.
fn covers(pattern: &str, path: &[&str]) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    (1..=path.len()).any(|n| match_segments(&pat, &path[..n]))
}

/// Whether `path` lies above something `pattern` could name (a strict prefix of a match).
fn is_above(pattern: &str, path: &[&str]) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    prefix_match(&pat, path)
}

fn match_segments(pat: &[&str], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|k| match_segments(rest, &path[k..])),
        Some((p, rest)) => match path.split_first() {
            Some((name, tail)) => glob(p, name) && match_segments(rest, tail),
            None => false,
        },
    }
}

/// Whether `path` can be extended into a match of `pat` (and is shorter than a match).
fn prefix_match(pat: &[&str], path: &[&str]) -> bool {
    match (pat.split_first(), path.split_first()) {
        (_, None) => !pat.is_empty(),
        (None, Some(_)) => false,
        (Some((&"**", _)), Some(_)) => true,
        (Some((p, rest)), Some((name, tail))) => glob(p, name) && prefix_match(rest, tail),
    }
}

/// `*` and `?` within one folder name, case-insensitive.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.trim().to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(include: &[&str], exclude: &[&str]) -> FolderFilter {
        FolderFilter {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn an_empty_filter_includes_everything() {
        assert_eq!(f(&[], &[]).verdict(&["Inbox", "A"]), FolderVerdict::Include);
    }

    #[test]
    fn a_pattern_covers_the_folder_and_its_subtree_without_regard_to_case() {
        let filter = f(&["inbox"], &[]);
        assert_eq!(filter.verdict(&["Inbox"]), FolderVerdict::Include);
        assert_eq!(filter.verdict(&["Inbox", "Sub"]), FolderVerdict::Include);
        assert_eq!(filter.verdict(&["Sent Items"]), FolderVerdict::Exclude);
        assert_eq!(filter.verdict(&["Inboxes"]), FolderVerdict::Exclude);
    }

    #[test]
    fn folders_above_an_included_one_are_containers() {
        let filter = f(&["Inbox/Projects"], &[]);
        assert_eq!(filter.verdict(&["Inbox"]), FolderVerdict::Container);
        assert_eq!(
            filter.verdict(&["Inbox", "Projects"]),
            FolderVerdict::Include
        );
        assert_eq!(
            filter.verdict(&["Inbox", "Projects", "2026"]),
            FolderVerdict::Include
        );
        assert_eq!(filter.verdict(&["Inbox", "Other"]), FolderVerdict::Exclude);
        let deep = f(&["**/Archive"], &[]);
        assert_eq!(deep.verdict(&["Inbox"]), FolderVerdict::Container);
        assert_eq!(deep.verdict(&["Inbox", "Archive"]), FolderVerdict::Include);
        assert_eq!(deep.verdict(&["Archive"]), FolderVerdict::Include);
    }

    #[test]
    fn exclusions_win_and_globs_match_within_a_name() {
        let filter = f(&[], &["Junk*", "Inbox/Private"]);
        assert_eq!(filter.verdict(&["Junk Email"]), FolderVerdict::Exclude);
        assert_eq!(filter.verdict(&["Inbox"]), FolderVerdict::Include);
        assert_eq!(
            filter.verdict(&["Inbox", "Private", "X"]),
            FolderVerdict::Exclude
        );
        let both = f(&["Inbox"], &["Inbox/Private"]);
        assert_eq!(both.verdict(&["Inbox", "Private"]), FolderVerdict::Exclude);
        assert_eq!(both.verdict(&["Inbox", "Public"]), FolderVerdict::Include);
        assert!(glob("pro?ects", "Projects"));
        assert!(!glob("pro?ects", "Proects"));
        assert!(glob("*", ""));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(f(&["Inbox//A"], &[]).validate().is_err());
        assert!(f(&[], &[" "]).validate().is_err());
        assert!(f(&["Inbox/A"], &["Junk Email"]).validate().is_ok());
    }
}
