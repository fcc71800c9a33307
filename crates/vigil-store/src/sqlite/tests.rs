//! What only the SQLite engine has: a database file that outlives the
//! process. The engine's behaviour as a store is checked, on both engines,
//! by the conformance suite in `tests/conformance`.

use super::*;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&SqliteOptions::in_directory(dir)).expect("store opens")
}

fn sighting(kind: IndicatorKind, value: &str) -> NewSighting {
    NewSighting { indicator: IndicatorKey { kind, value: value.to_owned() }, span: Some(Span { start: 0, end: 1 }) }
}

fn post(platform_post_id: &str, text: &str, observed_at: UnixSeconds, sightings: Vec<NewSighting>) -> NewDocument {
    NewDocument {
        kind: DocumentKind::Post,
        platform: Some("telegram".into()),
        platform_post_id: Some(platform_post_id.into()),
        author: Some(AccountKey {
            platform: "telegram".into(),
            handle: Some("example_channel".into()),
            platform_account_id: None,
        }),
        url: None,
        text: text.into(),
        text_sha256: "00".repeat(32),
        language: Some("fr".into()),
        observed_at,
        search_text: text.into(),
        sightings,
        categories: vec![],
        mentioned_accounts: vec![],
        sealed_text: None,
    }
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store
            .insert_posts(
                vec![post("1", "texte", 100, vec![sighting(IndicatorKind::Domain, "example.org")])],
                ingested(),
            )
            .await
            .unwrap();
        store.checkpoint().unwrap();
    }
    let store = open(dir.path());
    let known = store
        .known_indicators(vec![IndicatorKey { kind: IndicatorKind::Domain, value: "example.org".into() }])
        .await
        .unwrap();
    assert_eq!(known.len(), 1);
    let account =
        AccountKey { platform: "telegram".into(), handle: Some("example_channel".into()), platform_account_id: None };
    let accounts = store.known_accounts(vec![account]).await.unwrap();
    assert_eq!(accounts[0].as_ref().map(|a| a.document_count), Some(1));
}

fn ingested() -> ChangeNote {
    ChangeNote { changed_by: "crawler-a".into(), note: None, at: 1_700_000_000 }
}

/// A tip stored before receipt secrets keeps its whole-code SHA-256 under
/// the new column name and no secret hash, so its tipster's code still works.
#[tokio::test]
async fn tips_from_before_receipt_secrets_survive_the_migration() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let legacy_hash: [u8; 32] = Sha256::digest("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01").into();
    {
        let mut connection = Connection::open(dir.path().join("vigil.sqlite3")).unwrap();
        migrations::migrate_through(&mut connection, 5).unwrap();
        connection
            .execute_batch(
                "INSERT INTO document (id, kind, text, text_sha256, observed_at) VALUES (1, 'tip', 'un signalement', '00', 3600);
                 INSERT INTO tip (document_id, receipt_hash, status, follow_up_count) VALUES (1, x'00', 'under_review', 2);",
            )
            .unwrap();
        connection.execute("UPDATE tip SET receipt_hash = ?1", params![&legacy_hash[..]]).unwrap();
    }
    let store = open(dir.path());
    let found = store.tip_by_receipt(legacy_hash).await.unwrap().unwrap();
    assert_eq!(found.document, 1);
    assert_eq!(found.secret_hash, None);
    assert_eq!(found.state, TipState { status: TipStatus::UnderReview, follow_up_count: 2 });
    let added = store
        .add_tip_follow_up(
            1,
            NewDocument {
                kind: DocumentKind::Tip,
                platform: None,
                platform_post_id: None,
                author: None,
                ..post("unused", "la suite", 7_200, vec![])
            },
        )
        .await
        .unwrap();
    assert_eq!(added.map(|stored| stored.follow_up_count), Some(3));
}

/// Step 9 rebuilds the alert table: alerts raised before keep their ids and
/// read back as successor alerts, and new ones are numbered after them.
#[tokio::test]
async fn alerts_raised_before_referrals_survive_the_alert_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut connection = Connection::open(dir.path().join("vigil.sqlite3")).unwrap();
        migrations::migrate_through(&mut connection, 8).unwrap();
        connection
            .execute_batch(
                "INSERT INTO account (id, platform, handle, first_seen, last_seen, status_changed_at)
                     VALUES (1, 'telegram', 'abu_exemple', 10, 10, 10), (2, 'telegram', 'abu_exemple_2', 20, 20, 20);
                 INSERT INTO successor (id, account_id, predecessor_id, score, evidence, explanation, state, found_at)
                     VALUES (1, 2, 1, 0.9, 'handle', 'handle', 'pending', 30);
                 INSERT INTO alert (id, raised_at, successor_id) VALUES (7, 30, 1);",
            )
            .unwrap();
    }
    let store = open(dir.path());
    let alerts = store.alerts_after(0, 10).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].id, alerts[0].successor().map(|s| s.id)), (7, Some(1)));
    let proposal = NewSuccessor {
        account: 1,
        predecessor: 2,
        score: 0.8,
        evidence: vec![],
        explanation: String::new(),
        found_at: 40,
    };
    let raised = store.propose_successors(vec![proposal]).await.unwrap();
    assert_eq!(raised[0].id, 8);
}
