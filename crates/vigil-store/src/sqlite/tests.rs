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
