//! App-only sign-in with a certificate: the client assertion Microsoft documents, against the
//! emulator's check of it.

mod common;

use qcb_graph::{ClientCertificate, Credentials, GraphClient, GraphError};
use qcb_graph_sim::AuthConfig;

use common::{CERT, KEY, OTHER_KEY, config, start, token_calls};

#[tokio::test]
async fn certificate_sign_in_reads_the_directory_and_mail() {
    let sim = start(AuthConfig::default()).await;
    let c = sim.credentials();
    let x5t = sim
        .admin()
        .add_app_certificate(&c.client_id, CERT, None)
        .expect("register")
        .expect("thumbprint");
    // certificate and key in one PEM, as openssl writes them, and as two texts
    let bundle = format!("{KEY}\n{CERT}");
    let cert = ClientCertificate::from_pem(&bundle).expect("bundle");
    assert_eq!(cert.x5t(), x5t, "x5t is the SHA-1 of the certificate");
    assert_eq!(cert.thumbprint_hex().len(), 40);
    let parts = ClientCertificate::from_pem_parts(CERT, KEY).expect("parts");
    assert_eq!(parts.x5t(), x5t);

    let client = GraphClient::with_credentials(config(&sim), Credentials::Certificate(cert))
        .expect("client");
    assert!(!client.is_delegated());
    let users = client.users().await.expect("users with a certificate");
    assert_eq!(users.len(), 2);
    let folders = client.mail_folders(&users[0].id).await.expect("folders");
    assert!(folders.iter().any(|f| f.display_name == "Inbox"));
    // one assertion, one token, cached for the following requests
    assert_eq!(token_calls(&sim.admin().request_log()).len(), 1);

    // a second client signs in with a fresh assertion (a replayed jti would be refused)
    let again = GraphClient::with_credentials(config(&sim), Credentials::Certificate(parts))
        .expect("client");
    again.users().await.expect("second assertion accepted");
    // the key with the hex thumbprint Entra shows works too
    let by_thumb = ClientCertificate::from_key_and_thumbprint(
        KEY,
        &ClientCertificate::from_pem(&bundle)
            .expect("bundle")
            .thumbprint_hex(),
    )
    .expect("key and thumbprint");
    let third = GraphClient::with_credentials(config(&sim), Credentials::Certificate(by_thumb))
        .expect("client");
    third.users().await.expect("key + hex thumbprint");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_key_fails_clearly() {
    let sim = start(AuthConfig::default()).await;
    let c = sim.credentials();
    let x5t = sim
        .admin()
        .add_app_certificate(&c.client_id, CERT, None)
        .expect("register")
        .expect("thumbprint");

    // caught before any request: the key is not the certificate's
    let err = ClientCertificate::from_pem_parts(CERT, OTHER_KEY).expect_err("mismatch");
    assert!(
        matches!(&err, GraphError::Config(m) if m.contains("does not belong to the certificate")),
        "{err}"
    );
    // not even a key
    let err = ClientCertificate::from_pem(CERT).expect_err("no key");
    assert!(err.to_string().contains("no private key"), "{err}");

    // with a thumbprint only, Entra is the one to refuse: the signature does not verify
    let wrong = ClientCertificate::from_key_and_thumbprint(OTHER_KEY, &x5t).expect("key");
    let client =
        GraphClient::with_credentials(config(&sim), Credentials::Certificate(wrong)).expect("c");
    let err = client.users().await.expect_err("wrong key refused");
    match &err {
        GraphError::SignIn { code, message, .. } => {
            assert_eq!(code, "invalid_client");
            assert!(message.starts_with("AADSTS7000274"), "{message}");
            assert!(!message.contains("Trace ID"), "{message}");
        }
        other => panic!("expected a sign-in error, got {other:?}"),
    }
    assert!(err.is_fatal());

    // a certificate Entra does not know
    let unknown =
        ClientCertificate::from_key_and_thumbprint(KEY, "00112233445566778899AABBCCDDEEFF00112233")
            .expect("key");
    let client =
        GraphClient::with_credentials(config(&sim), Credentials::Certificate(unknown)).expect("c");
    let err = client.users().await.expect_err("unknown certificate");
    assert!(
        matches!(&err, GraphError::SignIn { message, .. } if message.starts_with("AADSTS700027")),
        "{err}"
    );
    // a thumbprint that is not one
    assert!(ClientCertificate::from_key_and_thumbprint(KEY, "nope").is_err());
    sim.shutdown().await;
}
