//! API keys and the audit log: keys are found by the hash of their token
//! and revoked for good; every audited write appends to one chain, which a
//! change made behind the store's back breaks.

use vigil_store::audit::{APPEND_ONLY_MESSAGE, ChainBreak};
use vigil_store::{
    AccountSelector, AccountStatus, ActorChange, ActorKind, KeyRevocation, NewApiKey, Role, SiteChange, SiteSelector,
    StatusChange,
};

use crate::data::{audit_log, ingested, key, note, post, snapshot, telegram, verify};
use crate::harness::Engine;

conformance!(
    keys_are_found_by_token_and_revoked_for_good,
    audited_writes_form_one_chain,
    a_tampered_audit_log_is_caught,
    a_client_certificate_stands_for_one_key
);

async fn a_client_certificate_stands_for_one_key(engine: Engine) {
    let store = &engine.store;
    let bound =
        NewApiKey { client_certificate_sha256: Some([9; 32]), ..new_key("crawler-tls", Role::Partner, None, 1) };
    let created = store.create_api_key(bound).await.unwrap().unwrap();
    assert_eq!(created.client_certificate_sha256, Some([9; 32]));
    assert_eq!(store.api_key_by_client_certificate([9; 32]).await.unwrap(), Some(created.clone()));
    assert_eq!(store.api_key_by_client_certificate([8; 32]).await.unwrap(), None);
    assert_eq!(store.api_key_by_token([1; 32]).await.unwrap(), Some(created), "the key's token works too");
    // A certificate stands for one key only; the second is refused whole.
    let again =
        NewApiKey { client_certificate_sha256: Some([9; 32]), ..new_key("crawler-two", Role::Partner, None, 2) };
    assert!(store.create_api_key(again).await.is_err());
    assert_eq!(store.list_api_keys().await.unwrap().len(), 1);
    let audit = store.audit_entries(0, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].entry.detail.ends_with(&format!("client certificate sha256:{}", "09".repeat(32))), "{audit:?}");
}

fn new_key(name: &str, role: Role, platform: Option<&str>, token: u8) -> NewApiKey {
    NewApiKey {
        name: name.into(),
        role,
        platform: platform.map(str::to_owned),
        token_sha256: [token; 32],
        client_certificate_sha256: None,
        created_at: 1_700_000_000,
        created_by: "admin-a".into(),
    }
}

async fn keys_are_found_by_token_and_revoked_for_good(engine: Engine) {
    let store = &engine.store;
    let partner = store.create_api_key(new_key("platform-x", Role::Partner, Some("telegram"), 1)).await.unwrap();
    let partner = partner.expect("a new name is stored");
    assert_eq!((partner.role, partner.platform.as_deref()), (Role::Partner, Some("telegram")));
    let analyst = store.create_api_key(new_key("analyst-a", Role::Analyst, None, 2)).await.unwrap().unwrap();
    assert_eq!(store.create_api_key(new_key("analyst-a", Role::Admin, None, 3)).await.unwrap(), None);

    assert_eq!(store.api_key_by_token([2; 32]).await.unwrap(), Some(analyst.clone()));
    assert_eq!(store.api_key_by_token([3; 32]).await.unwrap(), None, "a refused key is not stored");
    let names: Vec<String> = store.list_api_keys().await.unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["platform-x", "analyst-a"]);

    let revoked = store.revoke_api_key("analyst-a".into(), "admin-a".into(), 1_700_000_100).await.unwrap();
    let KeyRevocation::Revoked(revoked) = revoked else { panic!("{revoked:?}") };
    assert_eq!((revoked.revoked_at, revoked.revoked_by.as_deref()), (Some(1_700_000_100), Some("admin-a")));
    assert_eq!(store.api_key_by_token([2; 32]).await.unwrap(), Some(revoked.clone()), "found, and shown revoked");
    let again = store.revoke_api_key("analyst-a".into(), "admin-b".into(), 1_700_000_200).await.unwrap();
    assert_eq!(again, KeyRevocation::AlreadyRevoked(revoked));
    let missing = store.revoke_api_key("nobody".into(), "admin-a".into(), 1_700_000_200).await.unwrap();
    assert_eq!(missing, KeyRevocation::NoSuchKey);

    let entries = audit_log(store.as_ref()).await;
    let actions: Vec<(&str, &str)> =
        entries.iter().map(|e| (e.entry.action.as_str(), e.entry.actor.as_str())).collect();
    assert_eq!(actions, [("key.create", "admin-a"), ("key.create", "admin-a"), ("key.revoke", "admin-a")]);
    assert_eq!(entries[1].entry.records, format!("api_key:{}", analyst.id));
}

async fn audited_writes_form_one_chain(engine: Engine) {
    let store = &engine.store;
    let posts = vec![post("1", "texte un", 100), post("2", "texte deux", 100)];
    store.insert_posts(posts.clone(), ingested()).await.unwrap();
    // A replay stores nothing, so it audits nothing.
    store.insert_posts(posts, ingested()).await.unwrap();
    let change = StatusChange {
        account: AccountSelector::Key(telegram("example_channel")),
        status: AccountStatus::Suspended,
        reported_to: None,
        at: 200,
        changed_by: "analyst-a".into(),
        note: None,
    };
    let (account, _) = store.change_account_status(change).await.unwrap().unwrap();
    store.record_profile_snapshot(snapshot(telegram("example_relay"), "Relais", 300)).await.unwrap();
    let site = SiteSelector::Key(key(vigil_store::IndicatorKind::Domain, "example.org"));
    store
        .change_site(site, SiteChange::TakedownRequested { sent_to: "abuse@example.net".into() }, note(400))
        .await
        .unwrap();
    let create =
        ActorChange::Create { name: "Example network".into(), kind: ActorKind::Network, accounts: vec![account.id] };
    store.change_actors(create, note(500)).await.unwrap();
    // A refused change writes nothing, so it audits nothing.
    store.change_actors(ActorChange::Rename { actor: 999_999, name: "x".into() }, note(600)).await.unwrap();

    let entries = audit_log(store.as_ref()).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(actions, ["posts.ingest", "account.status", "account.snapshot", "site.takedown", "actor.create"]);
    assert_eq!(entries[0].entry.actor, "crawler-a");
    assert_eq!(entries[0].entry.detail, "2 posts stored, 0 duplicates");
    assert!(entries[0].entry.records.starts_with("document:"), "{:?}", entries[0].entry.records);
    assert_eq!((entries[1].entry.actor.as_str(), entries[1].entry.detail.as_str()), ("analyst-a", "suspended"));
    assert_eq!(entries[1].entry.records, format!("account:{}", account.id));
    assert!(entries[4].entry.records.ends_with(&format!("account:{}", account.id)), "{:?}", entries[4].entry.records);
    assert_eq!(verify(&entries), Ok(5));

    // Another process appends to the same chain.
    let other = engine.reopen().await;
    other.insert_posts(vec![post("3", "texte trois", 700)], ingested()).await.unwrap();
    assert_eq!(verify(&audit_log(store.as_ref()).await), Ok(6));
}

async fn a_tampered_audit_log_is_caught(engine: Engine) {
    let store = &engine.store;
    for (index, status) in
        [AccountStatus::Reported, AccountStatus::Suspended, AccountStatus::Active].into_iter().enumerate()
    {
        let change = StatusChange {
            account: AccountSelector::Key(telegram("example_channel")),
            status,
            reported_to: None,
            at: 100 * index as i64,
            changed_by: "analyst-a".into(),
            note: None,
        };
        store.record_profile_snapshot(snapshot(telegram("example_channel"), "Canal", 1)).await.unwrap();
        store.change_account_status(change).await.unwrap();
    }
    let before = audit_log(store.as_ref()).await;
    assert_eq!(verify(&before), Ok(6));
    let target = before[3].id;

    // Through SQL the log refuses changes; an intruder who drops the guard
    // can change an entry, and the chain shows it.
    let edit = format!("UPDATE audit_entry SET detail = 'active' WHERE id = {target}");
    let delete = format!("DELETE FROM audit_entry WHERE id = {}", before[1].id);
    let refused = sql(&engine, &[&edit]).await.expect_err("the trigger refuses an edit");
    assert!(refused.contains(APPEND_ONLY_MESSAGE), "{refused}");
    let drop_guards = match engine.postgres_schema() {
        Some(_) => "DROP TRIGGER audit_entry_no_change ON audit_entry",
        None => "DROP TRIGGER audit_entry_no_update",
    };
    sql(&engine, &[drop_guards, &edit]).await.expect("the edit goes through once the trigger is gone");
    assert_eq!(verify(&audit_log(store.as_ref()).await), Err(ChainBreak::Hash { id: target }));

    if engine.postgres_schema().is_none() {
        sql(&engine, &["DROP TRIGGER audit_entry_no_delete"]).await.unwrap();
    }
    sql(&engine, &[&delete]).await.expect("the deletion goes through once the trigger is gone");
    let after = audit_log(store.as_ref()).await;
    assert_eq!(
        verify(&after),
        Err(ChainBreak::Gap { id: before[2].id, expected_previous: before[1].id, found: before[0].id })
    );
}

/// Runs statements on the engine's database behind the store, as someone
/// with access to the database files or server would; the error as text.
async fn sql(engine: &Engine, statements: &[&str]) -> Result<(), String> {
    match (engine.postgres_schema(), engine.sqlite_path()) {
        (Some((url, schema)), _) => {
            let client = crate::harness::connect_admin(&url).await;
            client.batch_execute(&format!("SET search_path TO {schema}")).await.unwrap();
            for statement in statements {
                client.batch_execute(statement).await.map_err(|error| {
                    error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned())
                })?;
            }
            Ok(())
        }
        (None, Some(path)) => {
            let connection = rusqlite::Connection::open(path).unwrap();
            for statement in statements {
                connection.execute_batch(statement).map_err(|error| error.to_string())?;
            }
            Ok(())
        }
        (None, None) => unreachable!("an engine is SQLite or PostgreSQL"),
    }
}
