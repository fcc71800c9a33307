//! A PostgreSQL server that stops taking writes (a primary turned read-only,
//! as when it is demoted or an operator locks it): writes fail as
//! unavailable, naming the reason, nothing of them is stored, reads go on,
//! and writes work again once the server takes them, with no restart.

use std::time::{SystemTime, UNIX_EPOCH};

use vigil_store::{IndicatorKind, PostgresOptions, PostgresStore, PostsStored, Store, StoreError};

use crate::data::{ingested, post, sighting};
use crate::harness::{DEFAULT_PG_URL, connect_admin};

/// Attempts allowed for the pool to drop connections the server closed:
/// each dead connection fails one call, as unavailable, and is discarded.
const ATTEMPTS: usize = 12;

#[tokio::test]
async fn a_read_only_postgresql_refuses_writes_keeps_reads_and_recovers() {
    let base = std::env::var("VIGIL_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    let admin = connect_admin(&base).await;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    let database = format!("vigil_read_only_{}_{nanos}", std::process::id());
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await.expect("a database of the test's own");
    let outcome = tokio::spawn(exercise(url_for(&base, &database), database.clone())).await;
    // Dropped whatever happened, with the store's connections.
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await.expect("database dropped");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

async fn exercise(url: String, database: String) {
    let base = std::env::var("VIGIL_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    let admin = connect_admin(&base).await;
    let store = PostgresStore::connect(&PostgresOptions { max_connections: 4, ..PostgresOptions::new(&url) })
        .await
        .expect("the store connects");
    let mut first = post("1", "avant", 100);
    first.sightings = vec![sighting(IndicatorKind::Domain, "before.example.org")];
    store.insert_posts(vec![first], ingested()).await.expect("the server takes writes");

    // New sessions are read-only; the store's current ones are cut.
    let set_read_only = |on: bool| {
        let statement = if on {
            format!("ALTER DATABASE {database} SET default_transaction_read_only = on")
        } else {
            format!("ALTER DATABASE {database} RESET default_transaction_read_only")
        };
        let admin = &admin;
        let database = database.clone();
        async move {
            admin.batch_execute(&statement).await.expect("database setting changed");
            admin
                .execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", &[&database])
                .await
                .expect("sessions cut");
        }
    };
    set_read_only(true).await;

    let mut refused = None;
    for _ in 0..ATTEMPTS {
        match write_during(&store).await {
            Err(StoreError::Unavailable(reason)) if reason.contains("read-only") => {
                refused = Some(reason);
                break;
            }
            Err(StoreError::Unavailable(_)) => continue,
            other => panic!("a write to a read-only server must be unavailable, got {other:?}"),
        }
    }
    let reason = refused.expect("the server's refusal reached the caller");
    assert!(reason.contains("25006"), "the reason names the server's code: {reason}");

    for _ in 0..3 {
        let report = store
            .indicator_report(IndicatorKind::Domain, "before.example.org".into(), 10)
            .await
            .expect("reads go on while writes are refused");
        assert_eq!(report.expect("stored before").recent_documents.len(), 1);
        let nothing = store.indicator_report(IndicatorKind::Domain, "during.example.org".into(), 10).await.unwrap();
        assert!(nothing.is_none(), "nothing of a refused write is stored");
    }

    set_read_only(false).await;
    let mut stored = false;
    for _ in 0..ATTEMPTS {
        match write_during(&store).await {
            Ok(_) => {
                stored = true;
                break;
            }
            Err(StoreError::Unavailable(_)) => continue,
            Err(other) => panic!("a write after the server takes writes again: {other:?}"),
        }
    }
    assert!(stored, "writes work again without a restart");
    let report = store.indicator_report(IndicatorKind::Domain, "during.example.org".into(), 10).await.unwrap();
    assert_eq!(report.expect("stored now").recent_documents.len(), 1);
}

/// The write tried while the server is read-only, and again after.
async fn write_during(store: &PostgresStore) -> Result<PostsStored, StoreError> {
    let mut second = post("2", "pendant", 200);
    second.sightings = vec![sighting(IndicatorKind::Domain, "during.example.org")];
    store.insert_posts(vec![second], ingested()).await
}

/// The test server's URL with another database in its path.
fn url_for(base: &str, database: &str) -> String {
    let (address, query) = base.split_once('?').map_or((base, None), |(address, query)| (address, Some(query)));
    let root = match address.rfind('/') {
        Some(slash) if slash > address.find("://").map_or(0, |scheme| scheme + 2) => &address[..slash],
        _ => address,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}
