//! `qcbackup search` against the emulator: JSON and human output, filters, bad syntax.

mod common;

use common::{Env, json, run, stderr};
use qcb_graph_sim::{EmailAddress, NewMessage};

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_a_message_and_says_where_it_is() {
    let env = Env::new().await;
    let admin = env.sim.admin();
    let alice = admin
        .users()
        .into_iter()
        .find(|u| u.user_principal_name.starts_with("alice"))
        .unwrap();
    let inbox = admin
        .folders(&alice.id)
        .into_iter()
        .find(|f| f.path == "Inbox")
        .unwrap();
    let id = admin.add_message(
        &alice.id,
        &inbox.id,
        NewMessage {
            subject: "Albatross migration plan".into(),
            body: "Pack the xylophones before Friday.".into(),
            from: Some(EmailAddress {
                name: "Greta Holm".into(),
                address: "greta@example.org".into(),
            }),
            received_date_time: Some("2026-04-02T10:00:00Z".into()),
            ..Default::default()
        },
    );
    json(&run(&env, "pw", &["--json", "repo", "init"]).await);
    json(&run(&env, "pw", &["--json", "backup", "--categories", "mail"]).await);

    let found = json(&run(&env, "pw", &["--json", "search", "xylophones"]).await);
    assert_eq!(found["total"], 1);
    let hit = &found["hits"][0];
    assert_eq!(hit["itemId"], id.as_str());
    assert_eq!(hit["subject"], "Albatross migration plan");
    assert_eq!(hit["from"], "Greta Holm <greta@example.org>");
    assert!(hit["snippet"].as_str().unwrap().contains("«xylophones»"));
    assert_eq!(
        hit["places"][0]["path"],
        format!("/{}/Mail/Inbox/{id}", alice.user_principal_name)
    );

    let filtered = json(
        &run(
            &env,
            "pw",
            &[
                "--json",
                "search",
                "albatross",
                "--mailbox",
                &alice.user_principal_name,
                "--folder",
                "Inbox",
                "--category",
                "mail",
                "--from",
                "2026-04-01",
                "--to",
                "2026-04-02",
                "--snapshot",
                "latest",
                "--limit",
                "5",
            ],
        )
        .await,
    );
    assert_eq!(filtered["total"], 1);
    let none = json(
        &run(
            &env,
            "pw",
            &["--json", "search", "albatross", "--has-attachments"],
        )
        .await,
    );
    assert_eq!(none["total"], 0);

    let human = run(&env, "pw", &["search", "from:greta@example.org"]).await;
    assert!(human.status.success(), "{}", stderr(&human));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("Albatross migration plan"), "{text}");
    assert!(text.contains("1 matching item"), "{text}");

    let bad = run(&env, "pw", &["--json", "search", "\"unclosed"]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    let err: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(err["error"]["code"], "invalid_input", "{err}");
}
