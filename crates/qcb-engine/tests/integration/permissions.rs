//! "Test connection" against the emulator: every missing permission is reported by its exact
//! name with the admin step that grants it, per mailbox and category; a mailbox left out of an
//! Exchange RBAC for Applications scope is told apart from a permission never granted.

use std::sync::Arc;

use qcb_engine::{Access, Categories, ConnectionReport, ConnectionTest, test_connection};

use super::support::{connection, world};

fn category<'a>(
    r: &'a ConnectionReport,
    mailbox: &str,
    cat: &str,
) -> &'a qcb_engine::CategoryAccess {
    r.mailboxes
        .iter()
        .find(|m| m.mailbox == mailbox)
        .unwrap_or_else(|| panic!("no mailbox {mailbox} in {r:#?}"))
        .categories
        .iter()
        .find(|c| c.category == cat)
        .unwrap_or_else(|| panic!("no category {cat}"))
}

async fn run(w: &super::support::World) -> ConnectionReport {
    let graph = Arc::new(connection(&w.sim).client().unwrap());
    test_connection(
        graph,
        &w.sim.credentials().client_id,
        ConnectionTest {
            categories: Categories::default(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_recommended_permissions_everything_reads_and_only_settings_writes_are_missing() {
    let w = world(2).await;
    let r = run(&w).await;
    assert_eq!(r.sign_in, "application");
    assert_eq!(r.directory.read, Access::Ok);
    assert_eq!(r.mailboxes.len(), 2);
    let alice = w.alice().user_principal_name;
    for cat in ["mail", "contacts", "calendars", "tasks"] {
        let c = category(&r, &alice, cat);
        assert_eq!((c.read, c.write), (Access::Ok, Access::Ok), "{cat}: {c:?}");
        assert!(c.missing.is_empty());
    }
    // The emulator's app has MailboxSettings.Read only: settings back up, but cannot be
    // restored, and the report says which permission that takes.
    for cat in ["settings", "rules"] {
        let c = category(&r, &alice, cat);
        assert_eq!(c.read, Access::Ok);
        assert_eq!(c.write, Access::Missing);
        assert_eq!(c.missing, ["MailboxSettings.ReadWrite"]);
        assert!(
            c.fix.as_deref().unwrap().contains("Grant admin consent"),
            "{c:?}"
        );
    }
    assert_eq!(r.problems, 4, "settings and rules writes of two mailboxes");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_missing_permission_is_named_with_the_step_that_grants_it() {
    let w = world(2).await;
    let app = w.sim.credentials().client_id;
    w.sim
        .admin()
        .set_app_permissions(
            &app,
            &["User.Read.All", "Mail.Read", "Calendars.ReadWrite"],
            &[],
        )
        .unwrap();
    let r = run(&w).await;
    let alice = w.alice().user_principal_name;
    let mail = category(&r, &alice, "mail");
    assert_eq!((mail.read, mail.write), (Access::Ok, Access::Missing));
    assert_eq!(mail.missing, ["Mail.ReadWrite"]);
    let cal = category(&r, &alice, "calendars");
    assert_eq!((cal.read, cal.write), (Access::Ok, Access::Ok));
    for (cat, read, write) in [
        ("contacts", "Contacts.Read", "Contacts.ReadWrite"),
        ("tasks", "Tasks.Read.All", "Tasks.ReadWrite.All"),
        (
            "settings",
            "MailboxSettings.Read",
            "MailboxSettings.ReadWrite",
        ),
    ] {
        let c = category(&r, &alice, cat);
        assert_eq!(
            (c.read, c.write),
            (Access::Missing, Access::Missing),
            "{cat}"
        );
        assert_eq!(c.missing, [read, write], "{cat}");
        let fix = c.fix.as_deref().unwrap();
        assert!(
            fix.contains(&format!("Application permissions > {read}")) && fix.contains(&app),
            "{fix}"
        );
    }

    // Without the directory permission nothing else can be listed, and that is said.
    w.sim
        .admin()
        .set_app_permissions(&app, &["Mail.ReadWrite"], &[])
        .unwrap();
    let r = run(&w).await;
    assert_eq!(r.directory.read, Access::Missing);
    assert_eq!(r.directory.missing, ["User.Read.All"]);
    assert!(r.mailboxes.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mailbox_outside_the_apps_exchange_scope_gets_the_rbac_step_not_a_consent_step() {
    let w = world(2).await;
    let app = w.sim.credentials().client_id;
    let alice = w.alice().user_principal_name;
    w.sim
        .admin()
        .set_app_mailbox_scope(&app, Some(&[alice.as_str()]))
        .unwrap();
    let r = run(&w).await;
    assert_eq!(category(&r, &alice, "mail").read, Access::Ok);
    let other = r
        .mailboxes
        .iter()
        .find(|m| m.mailbox != alice)
        .unwrap()
        .mailbox
        .clone();
    let mail = category(&r, &other, "mail");
    assert_eq!(mail.read, Access::Missing);
    assert!(
        mail.missing.is_empty(),
        "the permission is granted: {mail:?}"
    );
    let fix = mail.fix.as_deref().unwrap();
    assert!(
        fix.contains("RBAC for Applications") && fix.contains("Application Mail.Read"),
        "{fix}"
    );
    // A backup of that mailbox fails by name while the one in scope is backed up.
    let report = w.backup_via(&w.graph, 1).await.unwrap();
    assert_eq!(report.mailboxes, 1);
    assert!(
        report.failed.iter().any(|f| f.mailbox == other),
        "{:?}",
        report.failed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sign_in_is_an_error_with_its_code() {
    let w = world(1).await;
    let mut conn = connection(&w.sim);
    conn.client_secret = "wrong".into();
    let e = test_connection(
        Arc::new(conn.client().unwrap()),
        "x",
        ConnectionTest::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "sign_in", "{e}");
}
