//! A tenant generated mailbox by mailbox on first touch, with at most N
//! unchanged mailboxes in memory, serves exactly what the eagerly generated
//! tenant of the same seed serves; dropped mailboxes come back identical
//! (delta tokens stay valid) and changed ones are kept.

use reqwest::Method;
use serde_json::{Value, json};

use super::common::{self, Harness, IMMUTABLE, json_ok};
use qcb_graph_sim::{MemoryConfig, SimOptions, TenantSpec};

fn spec() -> TenantSpec {
    TenantSpec {
        seed: 21,
        users: 3,
        messages_per_user: 40,
        shared_mailboxes: None,
    }
}

fn resident(n: usize) -> SimOptions {
    SimOptions {
        memory: MemoryConfig {
            resident_mailboxes: Some(n),
        },
        ..Default::default()
    }
}

/// Follows a delta round to its deltaLink: (entries, deltaLink).
async fn delta_round(h: &Harness, url: &str) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut next = h.url(url);
    loop {
        let v = json_ok(
            h.get(&next)
                .header("Prefer", IMMUTABLE)
                .header("Prefer", "odata.maxpagesize=7"),
        )
        .await;
        out.extend(v["value"].as_array().expect("value").iter().cloned());
        if let Some(n) = v["@odata.nextLink"].as_str() {
            next = n.to_string();
        } else {
            let d = v["@odata.deltaLink"].as_str().expect("deltaLink");
            return (out, d.to_string());
        }
    }
}

/// Every folder and every message (id, changeKey, subject) of a mailbox
/// through delta, plus the MIME of its first message.
async fn enumerate(h: &Harness, user: &str) -> Value {
    let (folders, _) = delta_round(h, &format!("/users/{user}/mailFolders/delta")).await;
    let mut out = Vec::new();
    let mut first_mime = None;
    for f in &folders {
        let fid = f["id"].as_str().expect("folder id");
        let (msgs, _) = delta_round(
            h,
            &format!(
                "/users/{user}/mailFolders/{fid}/messages/delta?$select=subject,changeKey,receivedDateTime"
            ),
        )
        .await;
        for m in &msgs {
            if first_mime.is_none() {
                let id = m["id"].as_str().expect("id");
                first_mime = Some(
                    String::from_utf8_lossy(
                        &h.get_bytes(&format!("/users/{user}/messages/{id}/$value"))
                            .await,
                    )
                    .into_owned(),
                );
            }
        }
        out.push(json!({"folder": f["displayName"], "id": fid, "messages": msgs}));
    }
    json!({"folders": out, "mime": first_mime})
}

#[tokio::test]
async fn a_lazy_tenant_serves_what_the_eager_one_does_and_keeps_memory_bounded() {
    let eager = common::start(spec()).await;
    let lazy = common::start_with(spec(), resident(1)).await;
    let users: Vec<String> = eager
        .sim
        .admin()
        .users()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(
        users,
        lazy.sim
            .admin()
            .users()
            .into_iter()
            .map(|u| u.id)
            .collect::<Vec<_>>()
    );
    let before = lazy.sim.admin().residency();
    assert_eq!(before.mailboxes, 3);
    assert_eq!(
        before.resident, 0,
        "nothing is generated before it is needed"
    );
    assert_eq!(eager.sim.admin().residency().resident, 3);

    // Mailbox 0, 1, 2 and 0 again: the second visit regenerates it.
    for u in users.iter().chain(users.first()) {
        let a = enumerate(&eager, u).await;
        let b = enumerate(&lazy, u).await;
        assert!(a["folders"].as_array().is_some_and(|f| f.len() > 10));
        assert_eq!(a, b, "mailbox {u} differs");
        let r = lazy.sim.admin().residency();
        assert!(
            r.resident <= 2,
            "at most the limit plus the one in use: {r:?}"
        );
    }
    let r = lazy.sim.admin().residency();
    assert!(
        r.generations >= 4,
        "mailbox 0 was dropped and generated again: {r:?}"
    );
    assert_eq!(eager.sim.admin().residency().generations, 0);
}

#[tokio::test]
async fn dropped_mailboxes_keep_their_delta_tokens_and_changed_ones_stay() {
    let h = common::start_with(spec(), resident(1)).await;
    let users: Vec<String> = h.sim.admin().users().into_iter().map(|u| u.id).collect();
    let alice = &users[0];
    let (msgs, link) = delta_round(
        &h,
        &format!("/users/{alice}/mailFolders/inbox/messages/delta?$select=subject,categories"),
    )
    .await;
    assert!(!msgs.is_empty());
    let touch_others = || async {
        for u in &users[1..] {
            h.get_json(&format!("/users/{u}/mailFolders/inbox/messages?$top=3"))
                .await;
        }
    };
    touch_others().await;
    let generations = h.sim.admin().residency().generations;

    // Alice's mailbox was dropped; her delta link still works and sees no change.
    let (changes, link) = delta_round(&h, &link).await;
    assert!(changes.is_empty(), "no changes: {changes:?}");
    assert!(
        h.sim.admin().residency().generations > generations,
        "regenerated"
    );

    // A client changes a message: the mailbox is kept from now on.
    let id = msgs[0]["id"].as_str().expect("id");
    json_ok(
        h.req(Method::PATCH, &format!("/users/{alice}/messages/{id}"))
            .header("Prefer", IMMUTABLE)
            .json(&json!({"categories": ["changed while others were read"]})),
    )
    .await;
    touch_others().await;
    touch_others().await;
    let r = h.sim.admin().residency();
    assert!(r.resident >= 2, "alice's changed mailbox stays: {r:?}");
    let (changes, _) = delta_round(&h, &link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["id"], id);
    assert_eq!(
        changes[0]["categories"],
        json!(["changed while others were read"])
    );
    let m = h
        .get_json(&format!("/users/{alice}/messages/{id}?$select=categories"))
        .await;
    assert_eq!(m["categories"], json!(["changed while others were read"]));
}

#[tokio::test]
async fn large_tenants_are_lazy_by_default_and_small_ones_are_not() {
    // 20 users x 10,000 messages (+ 2 shared mailboxes) is above the
    // threshold: starting it generates nothing.
    let big = TenantSpec {
        seed: 1,
        users: 20,
        messages_per_user: 10_000,
        shared_mailboxes: None,
    };
    let h = common::start(big).await;
    let r = h.sim.admin().residency();
    assert_eq!((r.mailboxes, r.resident, r.generations), (22, 0, 0));
    let users = h.get_all("/users?$select=id,accountEnabled&$top=999").await;
    assert_eq!(users.len(), 22);
    assert_eq!(
        h.sim.admin().residency().resident,
        0,
        "the directory needs no mailbox"
    );
    let small = common::start(common::small()).await;
    let r = small.sim.admin().residency();
    assert_eq!(r.resident, r.mailboxes);
}
