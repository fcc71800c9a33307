//! Imports: indicators, accounts and sightings taken from a STIX bundle or a
//! MISP event, each object keyed by its source and its id there, so that a
//! second import changes nothing. A record already stored keeps its row and
//! takes the stricter of its marking and the import's; a sighting of an
//! indicator vigil does not hold is skipped. Every import that imports
//! something is one audit entry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_store::audit::AuditEntry;
use vigil_store::{
    AccountEventKind, AccountId, AccountKey, AccountRecord, AccountSelector, AccountStatus, ChangeNote, ImportFormat,
    ImportOutcome, ImportRecord, ImportSource, IndicatorKey, IndicatorKind, IndicatorRecord, IndicatorReport, Known,
    Markings, Store, Tlp, UnixSeconds,
};

use crate::data::{audit_log, ingested, key, post, sighting, telegram, verify};
use crate::harness::Engine;

conformance!(
    an_import_creates_indicators_accounts_and_sightings,
    the_same_import_again_changes_nothing,
    a_second_import_of_a_source_takes_only_its_new_objects,
    a_stored_record_keeps_its_row_and_takes_the_stricter_marking,
    markings_answer_in_the_order_asked,
    a_sighting_of_an_unknown_indicator_is_skipped,
    the_known_keys_find_imported_records,
    a_reopened_store_knows_imported_keys,
);

conformance!(multi_thread two_stores_importing_one_source_at_once_import_it_once);

/// When the tests import: after every document they store.
const IMPORTED_AT: UnixSeconds = 5_000;

/// Made-up STIX bundle ids.
const BUNDLE: &str = "bundle--6f1c2a52-0000-4000-8000-000000000001";
const OTHER_BUNDLE: &str = "bundle--6f1c2a52-0000-4000-8000-000000000002";

const SHA256: &str = "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef";

fn source(id: &str, format: ImportFormat, at: UnixSeconds) -> ImportSource {
    ImportSource {
        source: id.into(),
        title: "Exemple de partage".into(),
        format,
        tlp: Some(Tlp::Amber),
        imported: ChangeNote { changed_by: "analyst-a".into(), note: None, at },
    }
}

fn bundle(at: UnixSeconds) -> ImportSource {
    source(BUNDLE, ImportFormat::Stix, at)
}

fn indicator(object_id: &str, key: IndicatorKey, tlp: Option<Tlp>) -> ImportRecord {
    ImportRecord::Indicator { object_id: object_id.into(), key, tlp, first_seen: None, last_seen: None }
}

fn account(object_id: &str, key: AccountKey, tlp: Option<Tlp>) -> ImportRecord {
    ImportRecord::Account { object_id: object_id.into(), key, tlp }
}

fn sighting_of(object_id: &str, indicator: IndicatorKey, seen_at: UnixSeconds, count: u64) -> ImportRecord {
    ImportRecord::Sighting { object_id: object_id.into(), indicator, seen_at, count }
}

fn on_x(handle: Option<&str>, platform_account_id: Option<&str>) -> AccountKey {
    AccountKey {
        platform: "x".into(),
        handle: handle.map(Into::into),
        platform_account_id: platform_account_id.map(Into::into),
    }
}

/// What [`bundle_records`] holds, by key.
fn bundle_indicators() -> Vec<IndicatorKey> {
    vec![
        key(IndicatorKind::Domain, "import.example.org"),
        key(IndicatorKind::Ipv4, "192.0.2.44"),
        key(IndicatorKind::Url, "https://example.com/appel"),
        key(IndicatorKind::Sha256, SHA256),
        key(IndicatorKind::Email, "contact@example.org"),
    ]
}

fn bundle_accounts() -> Vec<AccountKey> {
    vec![telegram("import_example_a"), on_x(None, Some("4242424242")), on_x(Some("import_example_c"), Some("77001"))]
}

/// Five indicators of five kinds (seen ranges given whole, in part and not
/// at all), three accounts (by handle, by platform id, by both) and two
/// sightings of the indicators imported.
fn bundle_records() -> Vec<ImportRecord> {
    let [domain, ipv4, url, sha256, email] = <[_; 5]>::try_from(bundle_indicators()).unwrap();
    let [by_handle, by_id, by_both] = <[_; 3]>::try_from(bundle_accounts()).unwrap();
    vec![
        ImportRecord::Indicator {
            object_id: "indicator--01".into(),
            key: domain.clone(),
            tlp: Some(Tlp::Amber),
            first_seen: Some(1_000),
            last_seen: Some(2_000),
        },
        indicator("indicator--02", ipv4.clone(), None),
        ImportRecord::Indicator {
            object_id: "indicator--03".into(),
            key: url,
            tlp: Some(Tlp::Green),
            first_seen: Some(1_500),
            last_seen: None,
        },
        indicator("indicator--04", sha256, Some(Tlp::Red)),
        indicator("indicator--05", email, Some(Tlp::AmberStrict)),
        account("identity--01", by_handle, Some(Tlp::Amber)),
        account("identity--02", by_id, None),
        account("identity--03", by_both, Some(Tlp::Clear)),
        sighting_of("sighting--01", domain, 1_900, 3),
        sighting_of("sighting--02", ipv4, 2_100, 1),
    ]
}

/// An account the import created at `at`, as the store reads it back.
fn imported_account(id: AccountId, key: &AccountKey, at: UnixSeconds) -> AccountRecord {
    AccountRecord {
        id,
        platform: key.platform.clone(),
        handle: key.handle.clone(),
        platform_account_id: key.platform_account_id.clone(),
        first_seen: at,
        last_seen: at,
        document_count: 0,
        status: AccountStatus::Active,
        status_changed_at: at,
        display_name: None,
        avatar_sha256: None,
        actor_id: None,
    }
}

async fn an_import_creates_indicators_accounts_and_sightings(engine: Engine) {
    let store = &engine.store;
    let outcome = store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let accounts = accounts_of(store.as_ref(), &bundle_accounts()).await;
    let ids: Vec<AccountId> = accounts.iter().map(|account| account.id).collect();
    assert_eq!(
        outcome,
        ImportOutcome {
            imported: 10,
            already_imported: 0,
            indicators_created: 5,
            accounts_created: 3,
            sightings_skipped: 0,
            first_seen_accounts: ids.clone(),
        }
    );

    // Unset ends of the seen range are the import's time; nothing imported
    // counts as a sighting in a vigil document.
    let seen = [
        (1_000, 2_000),
        (IMPORTED_AT, IMPORTED_AT),
        // Seen once, as far as the source says: not again at the import.
        (1_500, 1_500),
        (IMPORTED_AT, IMPORTED_AT),
        (IMPORTED_AT, IMPORTED_AT),
    ];
    let expected: Vec<IndicatorRecord> = bundle_indicators()
        .into_iter()
        .zip(seen)
        .map(|(key, (first_seen, last_seen))| IndicatorRecord {
            kind: key.kind,
            value: key.value,
            first_seen,
            last_seen,
            sighting_count: 0,
        })
        .collect();
    for record in &expected {
        assert_eq!(
            report(store.as_ref(), &key(record.kind, &record.value)).await,
            Some(IndicatorReport { indicator: record.clone(), recent_documents: vec![], accounts: vec![] })
        );
    }
    let mut asked = bundle_indicators();
    asked.push(key(IndicatorKind::Domain, "never.example.com"));
    assert_eq!(sorted(store.known_indicators(asked).await.unwrap()), sorted(expected));

    for (account, key) in accounts.iter().zip(bundle_accounts()) {
        assert_eq!(account, &imported_account(account.id, &key, IMPORTED_AT));
        let history = store.account_history(AccountSelector::Id(account.id), 10).await.unwrap().unwrap();
        let events: Vec<(AccountEventKind, UnixSeconds)> =
            history.events.iter().map(|event| (event.kind, event.at)).collect();
        assert_eq!(events, vec![(AccountEventKind::FirstSeen, IMPORTED_AT)], "{key:?}");
    }
    // The account known by both keys is found by either.
    let by_either = store.known_accounts(vec![on_x(Some("import_example_c"), None), on_x(None, Some("77001"))]);
    let by_either: Vec<Option<AccountId>> =
        by_either.await.unwrap().into_iter().map(|found| found.map(|account| account.id)).collect();
    assert_eq!(by_either, vec![Some(ids[2]), Some(ids[2])]);

    let domain = Some(bundle_indicators()[0].clone());
    let ipv4 = Some(bundle_indicators()[1].clone());
    let sightings: Vec<ImportObject> =
        import_objects(&engine).await.into_iter().filter(|object| object.seen_at.is_some()).collect();
    assert_eq!(
        sightings,
        vec![
            ImportObject::sighting(BUNDLE, "sighting--01", domain, 1_900, 3),
            ImportObject::sighting(BUNDLE, "sighting--02", ipv4, 2_100, 1),
        ]
    );
    assert_eq!(import_objects(&engine).await.len(), 10);

    let entries = audit_log(store.as_ref()).await;
    let [entry] = &entries[..] else { panic!("one audit entry: {entries:?}") };
    let source_id = import_source_id(&engine, BUNDLE).await;
    assert_eq!(
        (entry.entry.action.as_str(), entry.entry.actor.as_str(), entry.entry.at),
        ("import", "analyst-a", IMPORTED_AT)
    );
    assert_eq!(entry.entry.records, format!("import_source:{source_id}"));
    assert_eq!(
        entry.entry.detail,
        format!(
            "stix {BUNDLE} \"Exemple de partage\": 10 objects imported, 0 already imported, \
             5 indicators and 3 accounts created"
        )
    );
    assert_eq!(verify(&entries), Ok(1));

    let markings = store.markings(bundle_indicators(), ids).await.unwrap();
    assert_eq!(
        markings,
        Markings {
            indicators: vec![Some(Tlp::Amber), None, Some(Tlp::Green), Some(Tlp::Red), Some(Tlp::AmberStrict)],
            accounts: vec![Some(Tlp::Amber), None, Some(Tlp::Clear)],
        }
    );
}

async fn the_same_import_again_changes_nothing(engine: Engine) {
    let store = &engine.store;
    store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let before = everything(&engine).await;

    // Later, as a second run of the same file would be.
    let again = store.import(bundle(IMPORTED_AT + 600), bundle_records()).await.unwrap();
    assert_eq!(again, ImportOutcome { already_imported: 10, ..ImportOutcome::default() });
    assert_eq!(everything(&engine).await, before);

    // Given in another order, or in part, it is still the same objects.
    let mut reversed = bundle_records();
    reversed.reverse();
    reversed.truncate(4);
    let part = store.import(bundle(IMPORTED_AT + 1_200), reversed).await.unwrap();
    assert_eq!(part, ImportOutcome { already_imported: 4, ..ImportOutcome::default() });
    assert_eq!(everything(&engine).await, before);
}

async fn a_second_import_of_a_source_takes_only_its_new_objects(engine: Engine) {
    let store = &engine.store;
    store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let before = everything(&engine).await;
    let source_id = import_source_id(&engine, BUNDLE).await;

    let later = IMPORTED_AT + 3_600;
    let new_indicator = key(IndicatorKind::Domain, "neu.example.org");
    let new_account = telegram("import_example_d");
    let mut records = bundle_records();
    // A new object naming an indicator the source gave before: only the new
    // object is imported, the indicator is not created again.
    records.push(indicator("indicator--06", bundle_indicators()[1].clone(), None));
    records.push(indicator("indicator--07", new_indicator.clone(), Some(Tlp::Green)));
    records.push(account("identity--04", new_account.clone(), None));
    records.push(sighting_of("sighting--03", new_indicator.clone(), later, 2));
    // An object given twice in one import is imported once.
    records.push(indicator("indicator--07", new_indicator.clone(), Some(Tlp::Red)));
    let outcome = store.import(bundle(later), records).await.unwrap();
    let [added] = <[_; 1]>::try_from(accounts_of(store.as_ref(), std::slice::from_ref(&new_account)).await).unwrap();
    assert_eq!(
        outcome,
        ImportOutcome {
            imported: 4,
            already_imported: 11,
            indicators_created: 1,
            accounts_created: 1,
            sightings_skipped: 0,
            first_seen_accounts: vec![added.id],
        }
    );
    assert_eq!(added, imported_account(added.id, &new_account, later));
    let created = report(store.as_ref(), &new_indicator).await.unwrap().indicator;
    assert_eq!((created.first_seen, created.last_seen, created.sighting_count), (later, later, 0));
    let marked = store.markings(vec![new_indicator.clone()], vec![]).await.unwrap();
    assert_eq!(marked.indicators, vec![Some(Tlp::Green)], "the second giving of indicator--07 is not taken");

    // What was there is as it was; the source is the same row.
    let after = everything(&engine).await;
    assert_eq!(after.reports, before.reports);
    assert_eq!(after.accounts, before.accounts);
    assert_eq!(after.histories, before.histories);
    assert_eq!(after.markings, before.markings);
    assert_eq!(after.objects.len(), before.objects.len() + 4);
    assert_eq!(after.audit.len(), before.audit.len() + 1);
    let entry = &after.audit.last().unwrap().entry;
    assert_eq!(entry.records, format!("import_source:{source_id}"));
    assert_eq!(
        entry.detail,
        format!(
            "stix {BUNDLE} \"Exemple de partage\": 4 objects imported, 11 already imported, \
             1 indicators and 1 accounts created"
        )
    );
    assert_eq!(verify(&after.audit), Ok(2));

    // Object ids are a source's own: another source's "indicator--01" is
    // another object.
    let other = store
        .import(
            source(OTHER_BUNDLE, ImportFormat::Stix, later),
            vec![indicator("indicator--01", bundle_indicators()[0].clone(), None)],
        )
        .await
        .unwrap();
    assert_eq!(other, ImportOutcome { imported: 1, ..ImportOutcome::default() });
    let other_id = import_source_id(&engine, OTHER_BUNDLE).await;
    assert_ne!(other_id, source_id);
    let last = audit_log(store.as_ref()).await.pop().unwrap();
    assert_eq!(last.entry.records, format!("import_source:{other_id}"));
}

/// Each step imports the stored indicator and account again, from a source
/// of its own, with these markings; the markings expected after it.
struct MarkingStep {
    source: &'static str,
    indicator: Option<Tlp>,
    account: Option<Tlp>,
    indicator_after: Option<Tlp>,
    account_after: Option<Tlp>,
}

async fn a_stored_record_keeps_its_row_and_takes_the_stricter_marking(engine: Engine) {
    let store = &engine.store;
    let stored_indicator = key(IndicatorKind::Domain, "stored.example.org");
    let author = telegram("example_channel");
    let mut document = post("1", "un message", 1_000);
    document.sightings = vec![sighting(IndicatorKind::Domain, "stored.example.org")];
    store.insert_posts(vec![document], ingested()).await.unwrap();
    let [stored_account] =
        <[_; 1]>::try_from(accounts_of(store.as_ref(), std::slice::from_ref(&author)).await).unwrap();
    let before =
        everything_about(store.as_ref(), std::slice::from_ref(&stored_indicator), std::slice::from_ref(&author)).await;
    assert_eq!(before.reports[0].as_ref().unwrap().indicator.sighting_count, 1);
    let unmarked = Markings { indicators: vec![None], accounts: vec![None] };
    assert_eq!(store.markings(vec![stored_indicator.clone()], vec![stored_account.id]).await.unwrap(), unmarked);

    let steps = [
        MarkingStep {
            source: "misp-event-0001",
            indicator: Some(Tlp::Amber),
            account: Some(Tlp::Green),
            indicator_after: Some(Tlp::Amber),
            account_after: Some(Tlp::Green),
        },
        // Less strict: the stricter stays.
        MarkingStep {
            source: "misp-event-0002",
            indicator: Some(Tlp::Green),
            account: Some(Tlp::Clear),
            indicator_after: Some(Tlp::Amber),
            account_after: Some(Tlp::Green),
        },
        // Unmarked: the marking stays.
        MarkingStep {
            source: "misp-event-0003",
            indicator: None,
            account: None,
            indicator_after: Some(Tlp::Amber),
            account_after: Some(Tlp::Green),
        },
        // Stricter: it is raised.
        MarkingStep {
            source: "misp-event-0004",
            indicator: Some(Tlp::AmberStrict),
            account: Some(Tlp::Red),
            indicator_after: Some(Tlp::AmberStrict),
            account_after: Some(Tlp::Red),
        },
        MarkingStep {
            source: "misp-event-0005",
            indicator: Some(Tlp::Red),
            account: Some(Tlp::Amber),
            indicator_after: Some(Tlp::Red),
            account_after: Some(Tlp::Red),
        },
    ];
    for (index, step) in steps.iter().enumerate() {
        let at = IMPORTED_AT + index as UnixSeconds;
        let records = vec![
            // A seen range the stored row does not take.
            ImportRecord::Indicator {
                object_id: "attribute-1".into(),
                key: stored_indicator.clone(),
                tlp: step.indicator,
                first_seen: Some(10),
                last_seen: Some(9_000),
            },
            account("attribute-2", author.clone(), step.account),
        ];
        let outcome = store.import(source(step.source, ImportFormat::Misp, at), records).await.unwrap();
        assert_eq!(outcome, ImportOutcome { imported: 2, ..ImportOutcome::default() }, "{}", step.source);
        let markings = store.markings(vec![stored_indicator.clone()], vec![stored_account.id]).await.unwrap();
        let expected = Markings { indicators: vec![step.indicator_after], accounts: vec![step.account_after] };
        assert_eq!(markings, expected, "after {}", step.source);
    }

    // The rows, their counts and the account's history are as the document
    // left them; each import is audited.
    let after =
        everything_about(store.as_ref(), std::slice::from_ref(&stored_indicator), std::slice::from_ref(&author)).await;
    assert_eq!(after.reports, before.reports);
    assert_eq!(after.accounts, before.accounts);
    assert_eq!(after.histories, before.histories);
    let imports: Vec<&AuditEntry> = after.audit.iter().filter(|entry| entry.entry.action == "import").collect();
    assert_eq!(imports.len(), steps.len());
    assert!(imports[0].entry.detail.starts_with("misp misp-event-0001 "), "{:?}", imports[0].entry.detail);
    assert_eq!(verify(&after.audit), Ok(after.audit.len() as u64));
}

async fn markings_answer_in_the_order_asked(engine: Engine) {
    let store = &engine.store;
    let mut document = post("1", "un message", 1_000);
    document.sightings = vec![sighting(IndicatorKind::Hashtag, "#nonmarque")];
    store.insert_posts(vec![document], ingested()).await.unwrap();
    store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let ids: Vec<AccountId> =
        accounts_of(store.as_ref(), &bundle_accounts()).await.iter().map(|account| account.id).collect();
    let [unmarked_author] =
        <[_; 1]>::try_from(accounts_of(store.as_ref(), &[telegram("example_channel")]).await).unwrap();
    let [domain, ipv4, url, sha256, email] = <[_; 5]>::try_from(bundle_indicators()).unwrap();

    let check = async |indicators: Vec<IndicatorKey>, accounts: Vec<AccountId>, expected: Markings| {
        let found = store.markings(indicators.clone(), accounts.clone()).await.unwrap();
        assert_eq!(found, expected, "asked {indicators:?} and {accounts:?}");
    };
    check(vec![], vec![], Markings::default()).await;
    check(
        vec![
            email.clone(),
            key(IndicatorKind::Hashtag, "#nonmarque"),
            sha256,
            key(IndicatorKind::Url, "https://example.com/never"),
            ipv4,
            domain.clone(),
            url,
            email,
            // A known value under another kind is another indicator.
            key(IndicatorKind::Hashtag, &domain.value),
        ],
        vec![ids[2], 987_654, unmarked_author.id, ids[0], ids[1], ids[0]],
        Markings {
            indicators: vec![
                Some(Tlp::AmberStrict),
                None,
                Some(Tlp::Red),
                None,
                None,
                Some(Tlp::Amber),
                Some(Tlp::Green),
                Some(Tlp::AmberStrict),
                None,
            ],
            accounts: vec![Some(Tlp::Clear), None, None, Some(Tlp::Amber), None, Some(Tlp::Amber)],
        },
    )
    .await;
}

async fn a_sighting_of_an_unknown_indicator_is_skipped(engine: Engine) {
    let store = &engine.store;
    let stored = key(IndicatorKind::Domain, "seen.example.org");
    let unknown = key(IndicatorKind::Domain, "never.example.com");
    let imported = key(IndicatorKind::Ipv4, "192.0.2.45");
    let mut document = post("1", "un message", 1_000);
    document.sightings = vec![sighting(IndicatorKind::Domain, "seen.example.org")];
    store.insert_posts(vec![document], ingested()).await.unwrap();
    let stored_before = report(store.as_ref(), &stored).await.unwrap();
    let audited = audit_log(store.as_ref()).await.len();

    let records = vec![
        indicator("indicator--01", imported.clone(), None),
        sighting_of("sighting--01", unknown.clone(), 2_000, 5),
        sighting_of("sighting--02", stored.clone(), 2_100, 2),
        sighting_of("sighting--03", imported.clone(), 2_200, 1),
    ];
    let outcome = store.import(bundle(IMPORTED_AT), records.clone()).await.unwrap();
    assert_eq!(
        outcome,
        ImportOutcome { imported: 3, indicators_created: 1, sightings_skipped: 1, ..ImportOutcome::default() }
    );
    assert_eq!(report(store.as_ref(), &unknown).await, None);
    assert_eq!(store.known_indicators(vec![unknown.clone()]).await.unwrap(), vec![]);
    assert_eq!(store.markings(vec![unknown.clone()], vec![]).await.unwrap().indicators, vec![None]);
    // A source's sighting is not a document's.
    assert_eq!(report(store.as_ref(), &stored).await.unwrap(), stored_before);
    assert_eq!(report(store.as_ref(), &imported).await.unwrap().indicator.sighting_count, 0);
    let objects = import_objects(&engine).await;
    assert_eq!(
        objects,
        vec![
            ImportObject::indicator(BUNDLE, "indicator--01", imported.clone()),
            ImportObject::sighting(BUNDLE, "sighting--02", Some(stored.clone()), 2_100, 2),
            ImportObject::sighting(BUNDLE, "sighting--03", Some(imported.clone()), 2_200, 1),
        ]
    );
    let entries = audit_log(store.as_ref()).await;
    assert_eq!(entries.len(), audited + 1);
    assert!(entries[audited].entry.detail.contains(": 3 objects imported, 0 already imported"), "{entries:?}");

    // The skipped sighting was not imported, so a second run skips it again
    // and writes nothing.
    let again = store.import(bundle(IMPORTED_AT + 600), records.clone()).await.unwrap();
    assert_eq!(again, ImportOutcome { already_imported: 3, sightings_skipped: 1, ..ImportOutcome::default() });
    assert_eq!(import_objects(&engine).await, objects);
    assert_eq!(audit_log(store.as_ref()).await.len(), audited + 1);

    // An import of nothing but unknown sightings writes nothing either.
    let only_unknown = vec![sighting_of("sighting--09", key(IndicatorKind::Ipv4, "192.0.2.99"), 2_300, 1)];
    let outcome = store.import(source(OTHER_BUNDLE, ImportFormat::Stix, IMPORTED_AT), only_unknown).await.unwrap();
    assert_eq!(outcome, ImportOutcome { sightings_skipped: 1, ..ImportOutcome::default() });
    assert_eq!(import_objects(&engine).await, objects);
    assert_eq!(audit_log(store.as_ref()).await.len(), audited + 1);
}

async fn the_known_keys_find_imported_records(engine: Engine) {
    let store = &engine.store;
    wait_until_complete(store.as_ref()).await;
    let hashes_before = store.known_keys_state().hashes;
    let outcome = store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let state = store.known_keys_state();
    // Five indicators, and four account keys (one account has two).
    assert!(state.complete && state.hashes >= hashes_before + 9, "{state:?}");
    assert_knows(store.as_ref(), &outcome.first_seen_accounts).await;
}

async fn a_reopened_store_knows_imported_keys(engine: Engine) {
    let outcome = engine.store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let reopened = engine.reopen().await;
    wait_until_complete(reopened.as_ref()).await;
    assert_knows(reopened.as_ref(), &outcome.first_seen_accounts).await;
}

/// Another replica learns the imported keys from the writer's notice.
#[tokio::test]
async fn another_replica_hears_of_imported_keys() {
    let engine = crate::harness::postgres().await;
    let follower = engine.reopen().await;
    wait_until_complete(follower.as_ref()).await;
    let outcome = engine.store.import(bundle(IMPORTED_AT), bundle_records()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let known = follower.known(bundle_indicators(), bundle_accounts()).await.unwrap();
        if known.indicators.len() == 5 && known.accounts.iter().all(Option::is_some) {
            break;
        }
        assert!(Instant::now() < deadline, "the follower did not learn the imported keys within 5 s: {known:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_knows(follower.as_ref(), &outcome.first_seen_accounts).await;
}

/// Two stores on one database (two replicas, or two processes) import one
/// source at once: each object is imported once, by one of them.
async fn two_stores_importing_one_source_at_once_import_it_once(engine: Engine) {
    let first = engine.store.clone();
    let second = engine.reopen().await;
    let run =
        |store: Arc<dyn Store>| tokio::spawn(async move { store.import(bundle(IMPORTED_AT), bundle_records()).await });
    let (one, other) = tokio::join!(run(first), run(second));
    let (one, other) = (one.unwrap().unwrap(), other.unwrap().unwrap());
    let (winner, loser) = if one.imported > 0 { (one, other) } else { (other, one) };
    assert_eq!((winner.imported, winner.already_imported), (10, 0), "{winner:?} and {loser:?}");
    assert_eq!(loser, ImportOutcome { already_imported: 10, ..ImportOutcome::default() });
    assert_eq!((winner.indicators_created, winner.accounts_created), (5, 3));

    let accounts = accounts_of(engine.store.as_ref(), &bundle_accounts()).await;
    for account in &accounts {
        let history = engine.store.account_history(AccountSelector::Id(account.id), 10).await.unwrap().unwrap();
        assert_eq!(history.events.len(), 1, "one first_seen event for {account:?}");
    }
    assert_eq!(import_objects(&engine).await.len(), 10);
    let imports = audit_log(engine.store.as_ref()).await;
    assert_eq!(imports.len(), 1, "{imports:?}");
}

/// An imported object as the store keeps it: the indicator it names (by
/// key), the account (by id), and a sighting's time and count.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ImportObject {
    source: String,
    object_id: String,
    indicator: Option<IndicatorKey>,
    account: Option<AccountId>,
    seen_at: Option<UnixSeconds>,
    count: Option<i64>,
}

impl ImportObject {
    fn indicator(source: &str, object_id: &str, indicator: IndicatorKey) -> ImportObject {
        ImportObject {
            source: source.into(),
            object_id: object_id.into(),
            indicator: Some(indicator),
            account: None,
            seen_at: None,
            count: None,
        }
    }

    fn sighting(
        source: &str,
        object_id: &str,
        indicator: Option<IndicatorKey>,
        seen_at: UnixSeconds,
        count: i64,
    ) -> ImportObject {
        ImportObject {
            source: source.into(),
            object_id: object_id.into(),
            indicator,
            account: None,
            seen_at: Some(seen_at),
            count: Some(count),
        }
    }
}

const IMPORT_OBJECTS: &str = "SELECT s.source, o.object_id, i.kind, i.value, o.account_id, o.seen_at, o.count
     FROM import_object o JOIN import_source s ON s.id = o.import_source_id
     LEFT JOIN indicator i ON i.id = o.indicator_id
     ORDER BY s.source, o.object_id";

/// Every imported object, read behind the store (no read of the contract
/// returns them), by source and object id.
async fn import_objects(engine: &Engine) -> Vec<ImportObject> {
    let indicator = |kind: Option<String>, value: Option<String>| {
        kind.zip(value).map(|(kind, value)| {
            let kind = IndicatorKind::from_name(&kind).unwrap_or_else(|| panic!("a stored kind: {kind}"));
            key(kind, &value)
        })
    };
    match (engine.postgres_schema(), engine.sqlite_path()) {
        (Some((url, schema)), _) => {
            let client = crate::harness::connect_admin(&url).await;
            client.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
            let rows = client.query(IMPORT_OBJECTS, &[]).await.unwrap();
            rows.iter()
                .map(|row| ImportObject {
                    source: row.get(0),
                    object_id: row.get(1),
                    indicator: indicator(row.get(2), row.get(3)),
                    account: row.get(4),
                    seen_at: row.get(5),
                    count: row.get(6),
                })
                .collect()
        }
        (None, Some(path)) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            let mut statement = connection.prepare(IMPORT_OBJECTS).unwrap();
            statement
                .query_map([], |row| {
                    Ok(ImportObject {
                        source: row.get(0)?,
                        object_id: row.get(1)?,
                        indicator: indicator(row.get(2)?, row.get(3)?),
                        account: row.get(4)?,
                        seen_at: row.get(5)?,
                        count: row.get(6)?,
                    })
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        (None, None) => unreachable!("an engine is SQLite or PostgreSQL"),
    }
}

/// The row id of an import source, which its audit entry names.
async fn import_source_id(engine: &Engine, source: &str) -> i64 {
    let query = "SELECT id FROM import_source WHERE source = ";
    match (engine.postgres_schema(), engine.sqlite_path()) {
        (Some((url, schema)), _) => {
            let client = crate::harness::connect_admin(&url).await;
            client.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
            client.query_one(&format!("{query}$1"), &[&source]).await.unwrap().get(0)
        }
        (None, Some(path)) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            connection.query_row(&format!("{query}?1"), [source], |row| row.get(0)).unwrap()
        }
        (None, None) => unreachable!("an engine is SQLite or PostgreSQL"),
    }
}

/// What an import could change, read through the store and behind it.
#[derive(Debug, PartialEq)]
struct Everything {
    reports: Vec<Option<IndicatorReport>>,
    accounts: Vec<Option<AccountRecord>>,
    histories: Vec<Option<vigil_store::AccountHistory>>,
    markings: Markings,
    objects: Vec<ImportObject>,
    audit: Vec<AuditEntry>,
}

/// [`Everything`] about the records of [`bundle_records`].
async fn everything(engine: &Engine) -> Everything {
    let mut found = everything_about(engine.store.as_ref(), &bundle_indicators(), &bundle_accounts()).await;
    found.objects = import_objects(engine).await;
    found
}

async fn everything_about(store: &dyn Store, indicators: &[IndicatorKey], accounts: &[AccountKey]) -> Everything {
    let mut reports = Vec::new();
    for indicator in indicators {
        reports.push(report(store, indicator).await);
    }
    let accounts = store.known_accounts(accounts.to_vec()).await.unwrap();
    let mut histories = Vec::new();
    for account in &accounts {
        let history = match account {
            Some(account) => store.account_history(AccountSelector::Id(account.id), 100).await.unwrap(),
            None => None,
        };
        histories.push(history);
    }
    let ids = accounts.iter().flatten().map(|account| account.id).collect();
    let markings = store.markings(indicators.to_vec(), ids).await.unwrap();
    Everything { reports, accounts, histories, markings, objects: vec![], audit: audit_log(store).await }
}

async fn report(store: &dyn Store, indicator: &IndicatorKey) -> Option<IndicatorReport> {
    store.indicator_report(indicator.kind, indicator.value.clone(), 10).await.unwrap()
}

/// The stored account of each key; panics when one is not stored.
async fn accounts_of(store: &dyn Store, keys: &[AccountKey]) -> Vec<AccountRecord> {
    let found = store.known_accounts(keys.to_vec()).await.unwrap();
    found.into_iter().zip(keys).map(|(account, key)| account.unwrap_or_else(|| panic!("{key:?} is stored"))).collect()
}

fn sorted(mut records: Vec<IndicatorRecord>) -> Vec<IndicatorRecord> {
    records.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
    records
}

/// `known` finds every record [`bundle_records`] imported, by each of its
/// keys, and none of the keys asked between them that were never written;
/// the accounts are those the import created, `created` in key order.
async fn assert_knows(store: &dyn Store, created: &[AccountId]) {
    let mut asked_indicators = Vec::new();
    for (index, indicator) in bundle_indicators().into_iter().enumerate() {
        asked_indicators.push(key(IndicatorKind::Url, &format!("https://example.com/never-{index}")));
        asked_indicators.push(indicator);
    }
    let unknown = |key: &AccountKey| AccountKey { platform: "unknown-platform".into(), ..key.clone() };
    let [by_handle, by_id, by_both] = <[_; 3]>::try_from(bundle_accounts()).unwrap();
    let asked_accounts = vec![
        unknown(&by_handle),
        by_handle,
        unknown(&by_id),
        by_id,
        unknown(&by_both),
        by_both.clone(),
        AccountKey { platform_account_id: None, ..by_both.clone() },
        AccountKey { handle: None, ..by_both },
        telegram("never_example"),
    ];
    let Known { indicators, accounts } = store.known(asked_indicators, asked_accounts).await.unwrap();
    let found: Vec<IndicatorKey> =
        sorted(indicators).into_iter().map(|record| key(record.kind, &record.value)).collect();
    let mut expected = bundle_indicators();
    expected.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
    assert_eq!(found, expected);
    let found: Vec<Option<AccountId>> = accounts.into_iter().map(|found| found.map(|account| account.id)).collect();
    let [handle, id, both] = <[_; 3]>::try_from(created).unwrap();
    assert_eq!(found, vec![None, Some(handle), None, Some(id), None, Some(both), Some(both), Some(both), None]);
}

async fn wait_until_complete(store: &dyn Store) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.known_keys_state().complete {
        assert!(Instant::now() < deadline, "the known keys were not loaded within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
