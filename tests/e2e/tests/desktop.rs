//! Drives the real QCBackup Manager window: create a repository, back up the embedded demo
//! tenant with live progress, and find the new snapshot in the list and its mailboxes in the
//! browser.

use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use qcb_e2e::{Driver, app_binary, http_get, http_post};

const WAIT: Duration = Duration::from_secs(60);

async fn session(driver: &Driver) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app_binary() }),
    );
    // tauri-driver accepts connections before its WebKitWebDriver is ready; on a busy machine
    // the first session request can be dropped. Retry that (and only that) a few times.
    let mut last = None;
    for attempt in 0..5 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&driver.url())
            .await
        {
            Ok(c) => return c,
            Err(
                e @ (fantoccini::error::NewSessionError::Lost(_)
                | fantoccini::error::NewSessionError::Failed(_)
                | fantoccini::error::NewSessionError::FailedC(_)),
            ) => {
                eprintln!("WebDriver session attempt {attempt} failed: {e}; retrying");
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
            }
            Err(e) => panic!("WebDriver session: {e:?}"),
        }
    }
    panic!("WebDriver session: {last:?}")
}

async fn text(c: &fantoccini::Client, css: &str) -> String {
    element(c, css).await.text().await.expect("text")
}

/// Waits for the element (invoke is async: never sleep, wait for the DOM).
async fn element(c: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

async fn click(c: &fantoccini::Client, css: &str) {
    let e = element(c, css).await;
    e.click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &fantoccini::Client, css: &str, keys: &str) {
    let e = element(c, css).await;
    e.send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

fn screenshot_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("QCB_E2E_SCREENSHOTS").map(std::path::PathBuf::from)
}

async fn shot(c: &fantoccini::Client, name: &str) {
    if let Some(dir) = screenshot_dir() {
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_from_the_window_shows_up_in_the_snapshot_list() {
    let driver = Driver::start();
    let c = session(&driver).await;

    // First run: create a repository with a password.
    let path_input = element(&c, "#repo-path").await;
    let default_path = path_input
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert!(
        default_path.starts_with(driver.data_dir().to_str().unwrap()),
        "default repository path {default_path:?} is in the app's data folder"
    );
    click(&c, "#mode-create").await;
    type_into(&c, "#repo-password", "e2e correct horse battery").await;
    type_into(&c, "#repo-password-confirm", "e2e correct horse battery").await;
    shot(&c, "01-create-repository").await;
    click(&c, "#repo-submit").await;
    // A new repository opens on the dashboard; "Back up now" of the whole tenant is on the
    // snapshots screen.
    element(&c, "#dashboard").await;
    click(&c, "#nav-snapshots").await;

    // Back up the demo tenant and watch the progress bar move: record every value the bar
    // shows while the backup runs.
    let button = element(&c, "#backup-now").await;
    c.execute(
        r#"window.__progress = [];
           const seen = () => {
             const p = document.querySelector('#backup-progress');
             if (!p) return;
             const v = [Number(p.getAttribute('value') ?? p.value), Number(p.getAttribute('max') ?? p.max)];
             const last = window.__progress[window.__progress.length - 1];
             if (!last || last[0] !== v[0] || last[1] !== v[1]) window.__progress.push(v);
           };
           new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true });"#,
        vec![],
    )
    .await
    .expect("install progress recorder");
    button.click().await.expect("click backup");
    let report = text(&c, "#backup-report").await;
    assert!(!report.is_empty(), "finished report shown");
    let seen = c
        .execute("return window.__progress;", vec![])
        .await
        .expect("progress values");
    let seen: Vec<(u64, u64)> = serde_json::from_value(seen).expect("pairs");
    assert!(
        seen.len() >= 3,
        "the bar moved through several values: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[1].0 >= w[0].0),
        "progress never goes back: {seen:?}"
    );
    let (last_value, last_max) = *seen.last().unwrap();
    assert!(
        last_max >= 300 && last_value == last_max,
        "the bar reached 100% of the demo tenant's 300 messages: {seen:?}"
    );
    shot(&c, "02-backup-finished").await;

    // The snapshot list shows exactly the snapshot the backup made.
    let rows = element(&c, "#snapshot-list .snapshot-row").await;
    let id = rows
        .attr("data-snapshot-id")
        .await
        .expect("attr")
        .expect("row has an id");
    let all = c
        .find_all(Locator::Css("#snapshot-list .snapshot-row"))
        .await
        .expect("rows");
    assert_eq!(all.len(), 1, "one backup, one snapshot");
    assert_eq!(id.len(), 64, "full snapshot id on the row: {id}");
    assert!(
        report.contains(&id[..8]),
        "the report {report:?} names the snapshot {id}"
    );
    let repo_snapshots = std::fs::read_dir(
        driver
            .data_dir()
            .join("com.qcbackup.manager/repository/snapshots"),
    )
    .expect("repository snapshots folder")
    .count();
    assert_eq!(
        repo_snapshots, 1,
        "the repository on disk holds the snapshot"
    );

    // Browse it: the demo tenant's mailboxes, then a folder with messages.
    rows.find(Locator::Css("button"))
        .await
        .expect("row's open button")
        .click()
        .await
        .expect("open snapshot");
    let first = element(&c, "#browser .folder-row").await;
    let folders = c
        .find_all(Locator::Css("#browser .folder-row"))
        .await
        .expect("rows");
    let mut names = Vec::new();
    for f in &folders {
        names.push(f.attr("data-path").await.expect("attr").unwrap_or_default());
    }
    assert!(
        names.iter().any(|n| n == "/alice@contoso.example"),
        "mailboxes listed: {names:?}"
    );
    first.click().await.expect("open mailbox");
    // A mailbox holds one folder per kind of item: Mail, Contacts, Calendars, Tasks, Settings.
    let mail = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(
            "#browser .folder-row[data-path='/alice@contoso.example/Mail']",
        ))
        .await
        .expect("Mail row");
    for kind in ["Contacts", "Calendars", "Tasks", "Settings"] {
        c.find(Locator::Css(&format!(
            "#browser .folder-row[data-path='/alice@contoso.example/{kind}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("{kind} row: {e}"));
    }
    mail.click().await.expect("open mail");
    let inbox = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(
            "#browser .folder-row[data-path='/alice@contoso.example/Mail/Inbox']",
        ))
        .await
        .expect("Inbox row");
    inbox.click().await.expect("open inbox");
    let row = element(&c, "#browser .item-row").await;
    let row_subject = row
        .find(Locator::Css(".subject"))
        .await
        .expect("row subject")
        .prop("textContent")
        .await
        .expect("textContent")
        .unwrap_or_default();
    shot(&c, "03-snapshot-browser").await;

    // Preview a message: the engine parses it from the repository; HTML goes into a frame
    // that may run nothing.
    row.click().await.expect("select message");
    let subject = text(&c, "#preview-subject").await;
    assert!(!subject.is_empty(), "preview shows a subject");
    assert_eq!(
        subject.trim(),
        row_subject.trim(),
        "the preview shows the selected message"
    );
    let from = text(&c, "#preview-from").await;
    assert!(from.contains('@'), "sender shown: {from:?}");
    if let Ok(frame) = c.find(Locator::Css("#preview iframe")).await {
        assert_eq!(
            frame.attr("sandbox").await.expect("attr").as_deref(),
            Some(""),
            "mail HTML is shown in a fully sandboxed frame"
        );
    }
    shot(&c, "04-message-preview").await;
    c.close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_are_saved_by_the_app_and_bad_values_refused() {
    let driver = Driver::start();
    let c = session(&driver).await;
    element(&c, "#repo-path").await;
    click(&c, "#nav-settings").await;
    element(&c, "#settings-form").await;
    click(&c, "#theme-dark").await;
    let concurrency = element(&c, "#settings-concurrency").await;
    concurrency.clear().await.expect("clear");
    concurrency.send_keys("7").await.expect("type");
    click(&c, "#settings-start-at-login").await;
    click(&c, "#settings-save").await;
    // The note's live region is always there; wait for its text (the save has finished).
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(
            "//*[@id='settings-saved'][contains(., 'Settings saved')]",
        ))
        .await
        .expect("the settings are saved");
    // Start at login: an autostart entry in the desktop session's autostart folder
    // (~/.config/autostart: the autostart library reads $HOME, not XDG_CONFIG_HOME).
    let autostart = driver.home.path().join(".config/autostart");
    let entries: Vec<String> = std::fs::read_dir(&autostart)
        .map(|rd| {
            rd.flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e.contains("[Desktop Entry]") && e.contains("qcbackup-desktop")),
        "an autostart entry in {}: {entries:?}",
        autostart.display()
    );
    // The engine wrote them to the app's config folder; nothing secret is in there.
    let path = driver
        .config_dir()
        .join("com.qcbackup.manager/settings.json");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("settings file"))
            .expect("settings JSON");
    assert_eq!(saved["theme"], "dark");
    assert_eq!(saved["concurrency"], 7);
    assert_eq!(saved["startAtLogin"], true);
    let theme = c
        .execute(
            "return document.documentElement.dataset.theme || getComputedStyle(document.documentElement).colorScheme;",
            vec![],
        )
        .await
        .expect("theme");
    assert!(theme.to_string().contains("dark"), "theme applied: {theme}");
    shot(&c, "05-settings").await;

    // An out-of-range value is refused in the form, and the saved file stays as it was.
    let concurrency = element(&c, "#settings-concurrency").await;
    concurrency.clear().await.expect("clear");
    concurrency.send_keys("0").await.expect("type");
    element(&c, "#settings-concurrency-error").await;
    let save_disabled = element(&c, "#settings-save")
        .await
        .prop("disabled")
        .await
        .expect("disabled");
    assert_eq!(save_disabled.as_deref(), Some("true"));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("settings file")).unwrap();
    assert_eq!(again["concurrency"], 7);
    c.close().await.expect("close session");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_password_shows_a_clear_error_in_the_window() {
    let driver = Driver::start();
    let c = session(&driver).await;
    element(&c, "#repo-path").await;
    // Opening a folder that holds no repository reports it, with the code the UI shows.
    click(&c, "#mode-open").await;
    type_into(&c, "#repo-password", "whatever").await;
    click(&c, "#repo-submit").await;
    let err = text(&c, "#error").await;
    assert!(
        err.contains("not a QCBackup repository"),
        "error banner: {err:?}"
    );
    c.close().await.expect("close session");
}

/// Records every value a progress bar (`css`) shows, in `window.__bar`.
async fn record_bar(c: &fantoccini::Client, css: &str) {
    c.execute(
        r#"const css = arguments[0];
           window.__bar = [];
           const seen = () => {
             const p = document.querySelector(css);
             if (!p) return;
             const v = [Number(p.getAttribute('value') ?? p.value), Number(p.getAttribute('max') ?? p.max)];
             const last = window.__bar[window.__bar.length - 1];
             if (!last || last[0] !== v[0] || last[1] !== v[1]) window.__bar.push(v);
           };
           new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true });"#,
        vec![serde_json::json!(css)],
    )
    .await
    .expect("install progress recorder");
}

async fn bar_values(c: &fantoccini::Client) -> Vec<(f64, f64)> {
    let seen = c
        .execute("return window.__bar;", vec![])
        .await
        .expect("bar values");
    serde_json::from_value(seen).expect("pairs")
}

/// The emulator the app runs on: its admin API's base URL (from the header's Graph URL).
async fn emulator(c: &fantoccini::Client) -> String {
    let title = element(c, "#tenant-info")
        .await
        .attr("title")
        .await
        .expect("attr")
        .unwrap_or_default();
    let url = title
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the header names the demo tenant's URL: {title:?}"));
    url.trim_end_matches("/v1.0").to_string()
}

/// Alice's user id and her Inbox's folder id in the demo tenant (its `/_sim` API).
fn alice_inbox(sim: &str) -> (String, String) {
    let users: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{sim}/_sim/users"))).expect("users");
    let uid = users
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|u| u["user_principal_name"] == "alice@contoso.example")
        })
        .and_then(|u| u["id"].as_str())
        .expect("alice")
        .to_string();
    let folders: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{sim}/_sim/users/{uid}/folders")))
            .expect("folders");
    let inbox = folders
        .as_array()
        .and_then(|a| a.iter().find(|f| f["path"] == "Inbox"))
        .and_then(|f| f["id"].as_str())
        .expect("Inbox")
        .to_string();
    (uid, inbox)
}

/// The issue's "done when": a person who never saw the app creates a backup set on the demo
/// tenant with the wizard, backs it up watching progress reach 100%, finds a message by
/// searching, and restores it into a new folder, which the emulator then holds.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_user_creates_a_set_backs_it_up_finds_a_message_and_restores_it() {
    let driver = Driver::start();
    let c = session(&driver).await;
    click(&c, "#mode-create").await;
    type_into(&c, "#repo-password", "e2e wizard horse battery").await;
    type_into(&c, "#repo-password-confirm", "e2e wizard horse battery").await;
    click(&c, "#repo-submit").await;
    element(&c, "#dashboard").await;
    let sim = emulator(&c).await;
    shot(&c, "10-dashboard-empty").await;

    // The wizard: name, the demo tenant in one click, the permission check, alice only.
    click(&c, "#sets-create-empty").await;
    type_into(&c, "#wizard-name", "Alice mail").await;
    click(&c, "#wizard-next").await;
    click(&c, "#wizard-use-demo").await;
    let status = text(&c, "#signin-status").await;
    assert!(!status.is_empty(), "signed in: {status:?}");
    shot(&c, "11-wizard-signin").await;
    // Then as alice herself, with a device code (delegated: the app keeps a refresh token),
    // approved in the emulator as she would on microsoft.com/devicelogin.
    click(&c, "#signin-device").await;
    click(&c, "#signin-submit").await;
    let code = text(&c, "#device-user-code").await;
    http_post(
        &format!("{sim}/_sim/devicecode/approve"),
        &serde_json::json!({"user_code": code.trim(), "user": "alice@contoso.example"}).to_string(),
    );
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#signin-submit:not([aria-busy=true])"))
        .await
        .expect("the device sign-in ends");
    let status = text(&c, "#signin-status").await;
    assert!(status.contains("alice"), "signed in as alice: {status:?}");
    click(&c, "#wizard-next").await;
    element(&c, "#permissions-table").await;
    let rows = c
        .find_all(Locator::Css("[data-testid=permission-row]"))
        .await
        .expect("rows");
    assert!(!rows.is_empty(), "one row per mailbox and category");
    shot(&c, "12-wizard-permissions").await;
    click(&c, "#wizard-next").await;
    // Nothing is chosen until the person picks: this set takes one mailbox.
    type_into(&c, "#mailbox-search", "alice").await;
    click(
        &c,
        "li[data-address='alice@contoso.example'] [data-testid=mailbox-check]",
    )
    .await;
    shot(&c, "13-wizard-mailboxes").await;
    // Destination (the open repository), schedule and retention keep their defaults.
    for _ in 0..4 {
        click(&c, "#wizard-next").await;
    }
    let summary = text(&c, "#wizard-summary").await;
    assert!(
        summary.contains("alice@contoso.example"),
        "summary: {summary}"
    );
    record_bar(&c, "[data-testid=set-progress-bar]").await;
    click(&c, "#wizard-save-run").await;

    // The run: progress to 100%, then the report.
    let report = text(&c, "[data-testid=set-report]").await;
    assert!(!report.is_empty());
    let seen = bar_values(&c).await;
    assert!(seen.len() >= 2, "the bar moved: {seen:?}");
    let (v, max) = *seen.last().unwrap();
    assert!(max > 0.0 && v == max, "the bar reached 100%: {seen:?}");
    // The keychain holds the set's secrets; the app's files hold none of them.
    let data = driver.data_dir().join("com.qcbackup.manager");
    assert!(data.join("sets.sqlite").is_file());

    // A message of alice's inbox, by a word of its subject.
    let (uid, inbox) = alice_inbox(&sim);
    let messages: serde_json::Value = serde_json::from_str(&http_get(&format!(
        "{sim}/_sim/users/{uid}/mailFolders/{inbox}/messages"
    )))
    .expect("messages");
    let subject = messages
        .as_array()
        .and_then(|a| a.first())
        .and_then(|m| m["subject"].as_str())
        .expect("a message")
        .to_string();
    // The dashboard settles: the run is recorded as succeeded, with its size.
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(
            "[data-testid=set-card] [data-testid=status-badge][data-status=succeeded]",
        ))
        .await
        .expect("the set's last run shows as succeeded");
    let last = text(&c, "[data-testid=set-card] [data-testid=set-last-run]").await;
    assert!(
        !last.contains("Never"),
        "the card shows the last run: {last:?}"
    );
    element(&c, "#sets-refresh:not([disabled])").await;
    // Let the window paint the refreshed card before the picture.
    tokio::time::sleep(Duration::from_millis(500)).await;
    shot(&c, "14-set-backed-up").await;
    // The history has the run, with its own log.
    click(&c, "#nav-history").await;
    click(&c, "[data-testid=history-open]").await;
    let run_log = text(&c, "#history-log").await;
    assert!(run_log.contains("backup finished"), "run log: {run_log}");
    shot(&c, "15-history").await;

    // Search: the subject as a phrase finds the message.
    click(&c, "#nav-search").await;
    type_into(&c, "#search-query", &format!("subject:\"{subject}\"")).await;
    click(&c, "#search-submit").await;
    let hit = element(&c, "#search-results .hit-row").await;
    let hit_subject = hit
        .find(Locator::Css(".subject"))
        .await
        .expect("hit subject")
        .prop("textContent")
        .await
        .expect("textContent")
        .unwrap_or_default();
    assert_eq!(
        hit_subject.trim(),
        subject,
        "the hit is the message searched for"
    );
    hit.click().await.expect("select hit");
    element(&c, "#search-hit-actions").await;
    shot(&c, "20-search").await;
    click(&c, "#search-restore-hit").await;

    // The restore wizard: into a new folder, review (a dry run), run, report.
    element(&c, "#restore-dialog").await;
    click(&c, "#restore-next").await;
    click(&c, "#target-folder").await;
    let name = element(&c, "#target-folder-name").await;
    name.clear().await.expect("clear");
    name.send_keys("E2E restored").await.expect("type");
    shot(&c, "21-restore-target").await;
    click(&c, "#restore-next").await;
    click(&c, "#restore-next").await;
    element(&c, "#restore-summary[aria-busy=false] .plan-mailbox").await;
    shot(&c, "22-restore-summary").await;
    click(&c, "#restore-run").await;
    let restored = text(&c, "#restore-report .report-mailbox .report-restored").await;
    assert!(restored.contains('1'), "one message restored: {restored:?}");
    shot(&c, "23-restore-report").await;

    // The emulator holds it in the new folder, below which the original hierarchy is kept
    // (the hit may be a copy of that subject in another folder than the Inbox).
    let folders: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{sim}/_sim/users/{uid}/folders")))
            .expect("folders");
    let mut subjects = Vec::new();
    for f in folders.as_array().expect("list") {
        let path = f["path"].as_str().unwrap_or("");
        if path == "E2E restored" || !path.starts_with("E2E restored/") {
            continue;
        }
        let messages: serde_json::Value = serde_json::from_str(&http_get(&format!(
            "{sim}/_sim/users/{uid}/mailFolders/{}/messages",
            f["id"].as_str().unwrap()
        )))
        .expect("messages");
        for m in messages.as_array().expect("list") {
            subjects.push(m["subject"].as_str().unwrap_or("").to_string());
        }
    }
    assert_eq!(
        subjects,
        std::slice::from_ref(&subject),
        "restored below E2E restored: {folders}"
    );

    // The app logged the run to its daily log file, and no secret is in any of its files:
    // not the repository password, not the demo app's client secret.
    let logs = data.join("logs");
    let log_text: String = std::fs::read_dir(&logs)
        .unwrap_or_else(|e| panic!("log folder {}: {e}", logs.display()))
        .map(|e| std::fs::read_to_string(e.expect("entry").path()).unwrap_or_default())
        .collect();
    assert!(log_text.contains("backup set run finished"), "{log_text}");
    let apps: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{sim}/_sim/apps"))).expect("apps");
    let mut secrets = vec!["e2e wizard horse battery".to_string()];
    secrets.extend(
        apps.as_array()
            .expect("apps")
            .iter()
            .filter_map(|a| a["client_secret"].as_str().map(str::to_string)),
    );
    assert!(secrets.len() >= 2, "the demo app's secret is known: {apps}");
    // Everything the keychain holds for the app (the repository password, the demo app's
    // secret, alice's refresh token) must be in the keychain only.
    let found = std::process::Command::new("secret-tool")
        .args(["search", "--all", "application", "rust-keyring"])
        .env("DBUS_SESSION_BUS_ADDRESS", driver.bus_address())
        .output()
        .expect("secret-tool");
    let listing = String::from_utf8_lossy(&found.stdout).into_owned()
        + &String::from_utf8_lossy(&found.stderr);
    let kept: Vec<String> = listing
        .lines()
        .filter_map(|l| l.strip_prefix("secret = "))
        .map(str::to_string)
        .collect();
    assert!(
        kept.iter().any(|s| s.len() > 100),
        "a refresh token is in the keychain: {} secrets",
        kept.len()
    );
    secrets.extend(kept);
    // The app's own data, config and cache folders (the keyring's files are elsewhere), which
    // hold its logs, database, settings and the webview's storage.
    for dir in ["data", "config", "cache"] {
        for file in walk(&driver.home.path().join(dir)) {
            let bytes = std::fs::read(&file).expect("read");
            let text = String::from_utf8_lossy(&bytes);
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a secret is in {}",
                    file.display()
                );
            }
        }
    }
    c.close().await.expect("close session");
}

/// Saves, before the app starts, a backup set of this machine ("Run on Client") that fails at
/// once when run: its repository password is not in the keychain. Returns the app's data
/// folder (which holds `sets.sqlite`).
fn save_set_without_password(driver: &Driver, name: &str, schedule: &str) -> std::path::PathBuf {
    use qcb_engine::sets::{SetForm, SetStore};
    let data = driver.data_dir().join("com.qcbackup.manager");
    std::fs::create_dir_all(&data).expect("app data folder");
    let store = SetStore::open(&data.join("sets.sqlite")).expect("sets database");
    let form: SetForm = serde_json::from_value(serde_json::json!({
        "name": name,
        "runOn": "client",
        "repository": data.join("no-such-repository").display().to_string(),
        "schedule": schedule,
        "connection": {
            "tenantId": "contoso", "clientId": "app", "auth": "client-secret",
            "certificate": null, "account": null,
            "graphUrl": "http://127.0.0.1:9/v1.0", "authority": "http://127.0.0.1:9"
        },
        "mailboxes": { "allUsers": true, "users": [], "filter": null, "shared": false },
        "categories": ["mail"],
        "folders": { "include": [], "exclude": [] },
        "retention": null
    }))
    .expect("form");
    store
        .save(
            &form.to_set(None).expect("valid set"),
            false,
            chrono::Utc::now(),
        )
        .expect("save set");
    data
}

/// A scheduled run that fails shows a desktop notification: the app sends
/// `org.freedesktop.Notifications.Notify` on the session bus with the set's name, and the run
/// is in the job history. The set is saved before the app starts, due at once ("every 1m",
/// never run) and cannot run: its repository password is not in the keychain.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_scheduled_backup_sends_a_desktop_notification() {
    use qcb_engine::sets::SetStore;
    let driver = Driver::start();
    let data = save_set_without_password(&driver, "Nightly", "every 1m");

    // Record what the app sends to the notification service on its bus.
    let log = driver.home.path().join("notifications.log");
    let mut monitor = std::process::Command::new("dbus-monitor")
        .args([
            "--address",
            &driver.bus_address(),
            "type='method_call',interface='org.freedesktop.Notifications'",
        ])
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dbus-monitor");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let c = session(&driver).await;
    element(&c, "#repo-path").await;
    let deadline = std::time::Instant::now() + WAIT;
    let sent = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Backup of Nightly failed") {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notification within {WAIT:?}:\n{text}\n{}",
            driver.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = monitor.kill();
    let _ = monitor.wait();
    assert!(sent.contains("member=Notify"), "{sent}");
    assert!(
        sent.contains("repository password") || sent.contains("repository-password"),
        "the body says why: {sent}"
    );
    // The run is in the history as failed.
    let store = SetStore::open(&data.join("sets.sqlite")).expect("sets database");
    let runs = store.runs(Some("Nightly"), 0).expect("runs");
    assert_eq!(runs.len(), 1, "one scheduled run");
    assert_eq!(runs[0].trigger, "schedule");
    assert_eq!(runs[0].status, qcb_engine::sets::RunStatus::Failed);
    c.close().await.expect("close session");
}

/// One instance: starting the app a second time (same user session) hands over to the running
/// one and exits, and the first window goes on working.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_launch_hands_over_to_the_running_app() {
    let driver = Driver::start();
    let c = session(&driver).await;
    element(&c, "#repo-path").await;
    let mut second = std::process::Command::new(app_binary())
        .envs(driver.app_env())
        .env_remove("QCBACKUP_TENANT_ID")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("second launch");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = second.try_wait().expect("wait") {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second launch kept running beside the first");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        status.success(),
        "the second launch exits cleanly: {status}"
    );
    // The first still answers.
    click(&c, "#nav-settings").await;
    element(&c, "#settings-form").await;
    c.close().await.expect("close session");
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A dbusmenu layout node: id, properties (label ...), children.
type MenuLayout = (
    i32,
    std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
    Vec<zbus::zvariant::OwnedValue>,
);

/// A StatusNotifierWatcher for the tray test: records which items register.
struct Watcher {
    items: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        self.items
            .lock()
            .unwrap()
            .push((sender, service.to_string()));
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .unwrap()
            .iter()
            .map(|(s, p)| format!("{s}{p}"))
            .collect()
    }
}

/// One entry of the tray menu as dbusmenu exports it.
#[derive(Debug)]
struct MenuEntry {
    id: i32,
    label: String,
    checked: bool,
}

/// The tray menu's entries, read over dbusmenu.
async fn menu_entries(menu: &zbus::Proxy<'_>) -> Vec<MenuEntry> {
    use std::collections::HashMap;
    use zbus::zvariant::OwnedValue;
    let (_rev, layout): (u32, MenuLayout) = menu
        .call("GetLayout", &(0_i32, -1_i32, Vec::<String>::new()))
        .await
        .expect("menu layout");
    layout
        .2
        .into_iter()
        .map(|child| {
            let (id, props, _): (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>) =
                child.try_into().expect("a menu entry");
            let label = props
                .get("label")
                .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
                .unwrap_or_default();
            let checked = props
                .get("toggle-state")
                .and_then(|v| i32::try_from(v.try_clone().ok()?).ok())
                == Some(1);
            MenuEntry { id, label, checked }
        })
        .collect()
}

/// Clicks the tray menu entry labelled `label`, as the desktop's tray host does.
async fn click_menu(menu: &zbus::Proxy<'_>, label: &str) -> zbus::Result<()> {
    let entries = menu_entries(menu).await;
    let entry = entries
        .iter()
        .find(|e| e.label == label)
        .unwrap_or_else(|| panic!("no {label:?} in the tray menu: {entries:?}"));
    menu.call(
        "Event",
        &(
            entry.id,
            "clicked",
            zbus::zvariant::Value::from(0_i32),
            0_u32,
        ),
    )
    .await
}

/// Waits until `check` holds for the tray menu.
async fn wait_menu(menu: &zbus::Proxy<'_>, what: &str, check: impl Fn(&[MenuEntry]) -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let entries = menu_entries(menu).await;
        if check(&entries) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the tray menu never showed {what}: {entries:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `f` is true.
async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !f() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The tray: the app registers a status notifier item with the desktop's watcher. Its menu
/// has a status line and Open, Back up all now, Pause schedules and Quit, and each works:
/// Pause is checked and the status says so; Back up all now runs the machine's sets (the run
/// is in the history); closing the window hides it to the tray while the app keeps running,
/// and Open shows it again; Quit ends the app.
#[tokio::test(flavor = "multi_thread")]
async fn the_tray_menu_pauses_backs_up_all_reopens_the_closed_window_and_quits() {
    use qcb_engine::sets::{RunStatus, SetStore};
    let driver = Driver::start();
    let data = save_set_without_password(&driver, "Mail", "manual");
    let items = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let bus = zbus::connection::Builder::address(driver.bus_address().as_str())
        .expect("address")
        .name("org.kde.StatusNotifierWatcher")
        .expect("name")
        .serve_at(
            "/StatusNotifierWatcher",
            Watcher {
                items: items.clone(),
            },
        )
        .expect("serve")
        .build()
        .await
        .expect("watcher on the app's bus");
    let c = session(&driver).await;
    element(&c, "#repo-path").await;
    let deadline = std::time::Instant::now() + WAIT;
    let (sender, path) = loop {
        if let Some(item) = items.lock().unwrap().first().cloned() {
            break item;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no tray item registered:\n{}",
            driver.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // libappindicator registers its object path; the item lives there on the app's connection.
    let path = if path.starts_with('/') {
        path
    } else {
        "/StatusNotifierItem".to_string()
    };
    let item = zbus::Proxy::new(
        &bus,
        sender.as_str(),
        path.as_str(),
        "org.kde.StatusNotifierItem",
    )
    .await
    .expect("item proxy");
    // libappindicator titles the item with the app's id (the binary's name).
    let title: String = item.get_property("Title").await.expect("Title");
    assert_eq!(title, "qcbackup-desktop");
    let menu_path: zbus::zvariant::OwnedObjectPath = item.get_property("Menu").await.expect("Menu");
    let menu = zbus::Proxy::new(
        &bus,
        sender.as_str(),
        menu_path.as_str(),
        "com.canonical.dbusmenu",
    )
    .await
    .expect("menu proxy");
    let labels: Vec<String> = menu_entries(&menu)
        .await
        .into_iter()
        .map(|e| e.label)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        labels,
        [
            "Idle",
            "Open QCBackup Manager",
            "Back up all now",
            "Pause schedules",
            "Quit"
        ]
    );

    click_menu(&menu, "Pause schedules")
        .await
        .expect("menu event");
    wait_menu(&menu, "schedules paused", |m| {
        m.iter().any(|e| e.label == "Pause schedules" && e.checked)
            && m.iter().any(|e| e.label == "Schedules paused")
    })
    .await;

    click_menu(&menu, "Back up all now")
        .await
        .expect("menu event");
    let store = SetStore::open(&data.join("sets.sqlite")).expect("sets database");
    wait_until("the tray's run is in the history", || {
        store
            .runs(Some("Mail"), 0)
            .is_ok_and(|r| r.len() == 1 && r[0].finished.is_some())
    })
    .await;
    let runs = store.runs(Some("Mail"), 0).expect("runs");
    assert_eq!(runs[0].trigger, "manual");
    assert_eq!(runs[0].status, RunStatus::Failed, "no password: {runs:?}");

    // Close the window as a window manager would: it hides, the app keeps running.
    let pid = driver.app_pid().expect("the app's process");
    let display = qcb_e2e::x11::Display::open();
    let window = display
        .window(pid, "QCBackup Manager")
        .expect("the app's window on the display");
    assert!(display.is_shown(window), "the window starts shown");
    display.request_close(window);
    wait_until("the closed window hides", || !display.is_shown(window)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(driver.app_pid(), Some(pid), "the app still runs");
    assert!(!display.is_shown(window), "the window stays hidden");
    click_menu(&menu, "Open QCBackup Manager")
        .await
        .expect("menu event");
    wait_until("Open shows the window again", || display.is_shown(window)).await;
    click(&c, "#nav-settings").await;
    element(&c, "#settings-form").await;

    // The app may exit before it answers the click.
    let _ = click_menu(&menu, "Quit").await;
    wait_until("Quit ends the app", || driver.app_pid().is_none()).await;
}

/// Selects the first message in the browser's list whose subject starts with `marker`; returns
/// the subject as the row shows it.
async fn open_item(c: &fantoccini::Client, marker: &str) -> String {
    for row in c
        .find_all(Locator::Css("#browser .item-row"))
        .await
        .expect("rows")
    {
        let text = row
            .find(Locator::Css(".subject"))
            .await
            .expect("subject")
            .prop("textContent")
            .await
            .expect("textContent")
            .unwrap_or_default();
        if text.trim().starts_with(marker) {
            row.click().await.expect("select");
            return text.trim().to_string();
        }
    }
    panic!("no message {marker} is listed");
}

/// Hostile mail rendered in the real window: subjects, sender names, attachment names and HTML
/// bodies full of scripts, event handlers, `javascript:` links, remote resources of every kind
/// and calls to the app's own commands. Each message is backed up and previewed; afterwards no
/// script has run (nothing set the markers the payloads set), no request reached the local
/// listener the payloads point at, no app command ran (the repository is still open), and
/// each hostile subject shows as the text it is.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_mail_runs_no_script_loads_nothing_remote_and_reaches_no_app_command() {
    // Everything the payloads try to load comes here; nothing may arrive.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = listener.local_addr().expect("addr").port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let hits = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if conn.is_ok() {
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
    }
    let leak = format!("http://127.0.0.1:{port}");
    let bodies = [
        format!(
            "<script>window.top.__xss='script';fetch('{leak}/fetch')</script>\
             <img src=x onerror=\"window.top.__xss='onerror'\">\
             <img src=\"{leak}/img\"><img srcset=\"{leak}/srcset 1x\">\
             <div style=\"background:url({leak}/css)\">styled</div>\
             <style>@import url({leak}/import); body {{ background: url('{leak}/bg') }}</style>\
             <link rel=stylesheet href=\"{leak}/link\"><link rel=prefetch href=\"{leak}/prefetch\">\
             <iframe src=\"{leak}/frame\"></iframe><object data=\"{leak}/object\"></object>\
             <embed src=\"{leak}/embed\"><video poster=\"{leak}/poster\" src=\"{leak}/video\"></video>\
             <audio src=\"{leak}/audio\" autoplay></audio>\
             <svg><image href=\"{leak}/svg\"/><script>window.top.__xss='svg'</script></svg>\
             <meta http-equiv=\"refresh\" content=\"0;url={leak}/refresh\">\
             <form action=\"{leak}/form\"><button autofocus onfocus=\"window.top.__xss='focus'\">x</button></form>\
             <a href=\"javascript:window.top.__xss='link'\">link</a>\
             <base href=\"{leak}/\"><img src=\"relative.png\">"
        ),
        "<img src=x onerror=\"window.top.__TAURI_INTERNALS__.invoke('repo_close')\">\
         <script>window.top.__TAURI_INTERNALS__.invoke('repo_close')</script>\
         <math><mtext><table><mglyph><style><img src=x onerror=\"window.top.__xss='mxss'\">"
            .to_string(),
        format!(
            "<body onload=\"window.top.__xss='onload'\"><details open ontoggle=\"window.top.__xss='toggle'\">\
             <summary>s</summary></details><input autofocus onfocus=\"window.top.__xss='input'\">\
             <noscript><p title=\"</noscript><img src=x onerror=window.top.__xss='noscript'>\"></noscript>\
             <table background=\"{leak}/table\"><tr><td>cell</td></tr></table></body>"
        ),
    ];
    let subjects = [
        "XSS-1 <script>window.__xss='subject'</script>",
        "XSS-2 <img src=x onerror=\"window.__xss='subject-img'\">",
        "XSS-3 \"><svg onload=\"window.__xss='subject-svg'\">",
    ];

    let driver = Driver::start();
    let c = session(&driver).await;
    click(&c, "#mode-create").await;
    type_into(&c, "#repo-password", "e2e xss horse battery").await;
    type_into(&c, "#repo-password-confirm", "e2e xss horse battery").await;
    click(&c, "#repo-submit").await;
    element(&c, "#dashboard").await;
    let sim = emulator(&c).await;
    let (uid, inbox) = alice_inbox(&sim);
    for (k, (subject, body)) in subjects.iter().zip(&bodies).enumerate() {
        let m = serde_json::json!({
            "subject": subject,
            "body_content_type": "html",
            "body": body,
            "from": {
                "name": format!("<img src=x onerror=\"window.__xss='from-{k}'\"> Mallory"),
                "address": "mallory@evil.example",
            },
            "to": [{"name": "Alice", "address": "alice@contoso.example"}],
            "attachments": [{
                "name": format!("<img src={leak}/att onerror=\"window.__xss='att-{k}'\">.pdf"),
                "content_type": "application/pdf",
                "content": "JVBERi0xLjQK",
            }],
        });
        http_post(
            &format!("{sim}/_sim/users/{uid}/mailFolders/{inbox}/messages"),
            &m.to_string(),
        );
    }
    // A harmless newsletter with one remote image: the control that shows the listener would
    // see a load, once the person asks for remote images.
    let newsletter = serde_json::json!({
        "subject": "CONTROL newsletter",
        "body_content_type": "html",
        "body": format!("<p>Our news</p><img alt=\"logo\" src=\"{leak}/logo.png\">"),
        "from": {"name": "News", "address": "news@contoso.example"},
    });
    http_post(
        &format!("{sim}/_sim/users/{uid}/mailFolders/{inbox}/messages"),
        &newsletter.to_string(),
    );

    // Back up, then open each hostile message in the snapshot browser.
    click(&c, "#nav-snapshots").await;
    click(&c, "#backup-now").await;
    let rows = element(&c, "#snapshot-list .snapshot-row").await;
    rows.find(Locator::Css("button"))
        .await
        .expect("row's open button")
        .click()
        .await
        .expect("open snapshot");
    for path in [
        "/alice@contoso.example",
        "/alice@contoso.example/Mail",
        "/alice@contoso.example/Mail/Inbox",
    ] {
        c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&format!(
                "#browser .folder-row[data-path='{path}']"
            )))
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .click()
            .await
            .expect("open folder");
    }
    element(&c, "#browser .item-row").await;
    for subject in subjects {
        let marker = subject.split(' ').next().expect("marker");
        let shown = open_item(&c, marker).await;
        assert_eq!(shown, subject, "the row shows the subject as text");
        let started = std::time::Instant::now();
        while !text(&c, "#preview-subject").await.starts_with(marker) {
            assert!(
                started.elapsed() < WAIT,
                "the preview of {marker} did not open"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(text(&c, "#preview-subject").await.trim(), subject);
        // Give the frame time to load (and anything in it time to try).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        shot(&c, &format!("60-xss-{marker}")).await;
    }

    let state = c
        .execute(
            "return [String(window.__xss), document.querySelectorAll('#preview-frame').length]",
            vec![],
        )
        .await
        .expect("read the page");
    assert_eq!(state[0], "undefined", "a payload ran: {state}");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a payload made the window load something from {leak}"
    );
    // The repository is still open (repo_close did not run): the browser is still there.
    element(&c, "#browser .item-row").await;
    // The control: remote images load only when asked for, and then the listener sees them.
    open_item(&c, "CONTROL").await;
    click(&c, "#show-remote").await;
    let started = std::time::Instant::now();
    while hits.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < WAIT,
            "the newsletter's remote image never loaded after 'show remote images'"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.close().await.expect("close session");
}
