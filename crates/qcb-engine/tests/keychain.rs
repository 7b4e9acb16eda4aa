//! The OS keychain for real: gnome-keyring's Secret Service in a private D-Bus session.
//!
//! Each test re-runs itself inside `dbus-run-session` with a freshly unlocked gnome-keyring
//! (the recipe in shared/recipes.md), so it needs no session from whoever runs the suite and
//! leaves nothing behind. It fails, rather than skips, when those programs are missing.

use std::process::Command;

use qcb_engine::secrets::{KeychainStore, SecretStore};

const INSIDE: &str = "QCB_KEYCHAIN_TEST_INSIDE";

/// What the private session bus offers.
#[derive(Clone, Copy, PartialEq)]
enum Keychain {
    /// No Secret Service at all.
    Missing,
    /// gnome-keyring with its login collection unlocked.
    Unlocked,
    /// gnome-keyring whose login collection is locked, and no display to ask for its password.
    Locked,
}

/// Runs `test` of this binary again inside a private session bus with `keychain`.
fn rerun_inside_session(test: &str, keychain: Keychain) {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let unlocked = r#"eval "$(printf qcb-test | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null; eval "$(gnome-keyring-daemon --start --components=secrets)" >/dev/null; export GNOME_KEYRING_CONTROL;"#;
    let lock = r#"gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets --method org.freedesktop.Secret.Service.Lock "[objectpath '/org/freedesktop/secrets/collection/login']" >/dev/null;"#;
    let start = match keychain {
        Keychain::Missing => String::new(),
        Keychain::Unlocked => unlocked.to_string(),
        Keychain::Locked => format!("{unlocked} {lock}"),
    };
    let script = format!(r#"{start} exec "$0" --exact "$1" --nocapture"#);
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .arg(&exe)
        .arg(test)
        .env(INSIDE, "1")
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("dbus-run-session could not start ({e}); run scripts/bootstrap.sh test")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inside the session:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the test did not run inside:\n{text}"
    );
}

#[test]
fn secrets_round_trip_through_gnome_keyring() {
    if std::env::var_os(INSIDE).is_none() {
        return rerun_inside_session(
            "secrets_round_trip_through_gnome_keyring",
            Keychain::Unlocked,
        );
    }
    let store = KeychainStore::new("com.qcbackup.manager.test");
    assert_eq!(store.get("repository:/nowhere").unwrap(), None);
    store
        .set("repository:/srv/backup", "correct horse ✓")
        .unwrap();
    assert_eq!(
        store.get("repository:/srv/backup").unwrap().as_deref(),
        Some("correct horse ✓")
    );
    store.set("repository:/srv/backup", "rotated").unwrap();
    assert_eq!(
        store.get("repository:/srv/backup").unwrap().as_deref(),
        Some("rotated")
    );
    // A repository's remembered key goes beside its password, and opens it from there.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let handle = qcb_engine::RepoHandle::create(
        &repo,
        "rotated",
        qcb_engine::KdfParams::insecure_for_tests(),
        &dir.path().join("cache"),
    )
    .unwrap();
    let key = handle.repository().remembered_key(b"rotated");
    let entry = "repository-key:/srv/backup";
    assert!(
        !store
            .set_beside("repository:/elsewhere", entry, key.expose())
            .unwrap()
    );
    assert_eq!(store.get(entry).unwrap(), None);
    assert!(
        store
            .set_beside("repository:/srv/backup", entry, key.expose())
            .unwrap()
    );
    let text = store.get(entry).unwrap().unwrap();
    let location = qcb_engine::Location::Local(repo);
    let cache = dir.path().join("cache");
    let (_, renewed) =
        qcb_engine::RepoHandle::open_remembering(&location, "rotated", Some(&text), &cache)
            .unwrap();
    assert!(renewed.is_none(), "opened with the remembered key");
    store.delete(entry).unwrap();
    // A refresh token is long.
    let token = "0.A".repeat(1500);
    store.set("refresh-token:alice", &token).unwrap();
    assert_eq!(store.get("refresh-token:alice").unwrap(), Some(token));
    // Another service's entries are separate.
    let other = KeychainStore::new("com.qcbackup.other");
    assert_eq!(other.get("repository:/srv/backup").unwrap(), None);
    store.delete("repository:/srv/backup").unwrap();
    store.delete("repository:/srv/backup").unwrap();
    assert_eq!(store.get("repository:/srv/backup").unwrap(), None);
}

#[test]
fn a_session_without_a_keychain_gives_a_clear_error() {
    if std::env::var_os(INSIDE).is_none() {
        return rerun_inside_session(
            "a_session_without_a_keychain_gives_a_clear_error",
            Keychain::Missing,
        );
    }
    let store = KeychainStore::new("com.qcbackup.manager.test");
    let e = store.set("repository:/srv/backup", "pw").unwrap_err();
    assert_eq!(e.code(), "keychain");
    let text = e.to_string();
    assert!(
        text.contains("not available") || text.contains("locked"),
        "{text}"
    );
    assert!(text.contains("QCBACKUP_PASSWORD"), "{text}");
    assert!(!text.contains("\"pw\""), "{text}");
}

#[test]
fn a_locked_keychain_gives_a_clear_error_with_the_fix() {
    if std::env::var_os(INSIDE).is_none() {
        return rerun_inside_session(
            "a_locked_keychain_gives_a_clear_error_with_the_fix",
            Keychain::Locked,
        );
    }
    let store = KeychainStore::new("com.qcbackup.manager.test");
    // Remembering a password needs the collection unlocked, and nothing can ask for its
    // password here.
    let e = store.set("repository:/srv/backup", "pw").unwrap_err();
    assert_eq!(e.code(), "keychain");
    let text = e.to_string();
    assert!(text.contains("locked"), "{text}");
    assert!(text.contains("unlock the keychain"), "{text}");
    assert!(!text.contains("\"pw\""), "{text}");
}
