//! JSON batching (`POST /$batch`) for small reads: twenty lookups to a round trip, each answer
//! the one its single request would give, and throttled sub-requests sent again on their own.

mod common;

use qcb_graph::GraphClient;
use qcb_graph_sim::{Fault, FaultConfig, FaultRule, SimOptions, SimServer, TenantSpec};

async fn start(users: usize, faults: FaultConfig) -> (SimServer, GraphClient) {
    let sim = SimServer::start_with(
        TenantSpec {
            seed: 3,
            users,
            messages_per_user: 1,
            shared_mailboxes: None,
        },
        SimOptions {
            faults,
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let g = GraphClient::new(common::app_config(&sim)).unwrap();
    (sim, g)
}

#[tokio::test(flavor = "multi_thread")]
async fn users_are_looked_up_twenty_to_a_batch_each_with_its_own_answer() {
    let (sim, g) = start(25, FaultConfig::default()).await;
    let admin = sim.admin();
    let users = admin.users();
    let mut names: Vec<String> = users
        .iter()
        .map(|u| u.user_principal_name.clone())
        .collect();
    names.insert(3, "nobody@contoso.example".into());
    admin.clear_request_log();

    let found = g.users_by_name(&names).await;
    assert_eq!(found.len(), names.len());
    for (name, r) in names.iter().zip(&found) {
        match r {
            Ok(u) => assert_eq!(&u.user_principal_name, name),
            Err(e) => {
                assert_eq!(name, "nobody@contoso.example");
                assert!(e.is_not_found(), "{e}");
            }
        }
    }
    assert_eq!(found.iter().filter(|r| r.is_err()).count(), 1);
    let log = admin.request_log();
    let batches = log
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/$batch"))
        .count();
    let singles = log
        .iter()
        .filter(|r| r.batch_id.is_none() && r.path.contains("/users/"))
        .count();
    assert_eq!((batches, singles), (2, 0), "26 lookups in 20 + 6: {log:#?}");

    // Purposes too: the generator adds a shared mailbox per ten users.
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let purposes: Vec<String> = g
        .user_purposes(&ids)
        .await
        .into_iter()
        .map(|p| p.expect("answered").expect("has a mailbox"))
        .collect();
    assert_eq!(purposes.len(), users.len());
    assert_eq!(purposes.iter().filter(|p| *p == "shared").count(), 2);
    assert!(purposes.iter().all(|p| p == "user" || p == "shared"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_sub_request_is_sent_again_on_its_own() {
    let (sim, g) = start(
        5,
        FaultConfig {
            rules: vec![
                FaultRule::nth(2, "/users/", Fault::TooManyRequests { retry_after: 1 }),
                FaultRule::nth(
                    4,
                    "/users/",
                    Fault::ServiceUnavailable { retry_after: None },
                ),
            ],
            ..Default::default()
        },
    )
    .await;
    let admin = sim.admin();
    let names: Vec<String> = admin
        .users()
        .iter()
        .map(|u| u.user_principal_name.clone())
        .collect();
    admin.clear_request_log();
    let found = g.users_by_name(&names).await;
    for (name, r) in names.iter().zip(&found) {
        assert_eq!(&r.as_ref().expect("found").user_principal_name, name);
    }
    let log = admin.request_log();
    let again: Vec<_> = log
        .iter()
        .filter(|r| r.batch_id.is_none() && r.path.contains("/users/"))
        .collect();
    assert_eq!(
        again.len(),
        2,
        "the two refused lookups, on their own: {log:#?}"
    );
    assert!(again.iter().all(|r| r.status == 200));
}
