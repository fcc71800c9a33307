//! Actors: created, renamed, given accounts, merged and split, each change
//! an event; a refused change writes nothing.

use vigil_store::{
    AccountEventKind, AccountFilter, AccountId, ActorChange, ActorEventKind, ActorKind, ActorOutcome, ActorRecord,
    NewSuccessor, ReviewOutcome, SuccessorReview, TimelineEntry,
};

use crate::data::{note, snapshot, telegram};
use crate::harness::Engine;

conformance!(
    actors_are_created_renamed_and_listed,
    accounts_move_between_actors_with_an_event_on_each_side,
    a_merge_moves_every_account_and_retires_the_source,
    a_split_moves_the_named_accounts_to_a_new_actor,
    a_refused_change_writes_nothing,
    the_timeline_holds_actor_and_account_events_newest_first,
    a_confirmed_successor_joins_its_predecessors_actor,
);

async fn accounts(engine: &Engine, count: usize) -> Vec<AccountId> {
    let mut ids = Vec::new();
    for n in 0..count {
        let handle = format!("member_{n}_example");
        let stored = engine.store.record_profile_snapshot(snapshot(telegram(&handle), "Member", 100 + n as i64)).await;
        ids.push(stored.unwrap().account.id);
    }
    ids
}

async fn create(engine: &Engine, name: &str, accounts: Vec<AccountId>, at: i64) -> ActorRecord {
    let change = ActorChange::Create { name: name.into(), kind: ActorKind::Outlet, accounts };
    match engine.store.change_actors(change, note(at)).await.unwrap() {
        ActorOutcome::Changed(actor, None) => actor,
        other => panic!("actor created: {other:?}"),
    }
}

async fn members(engine: &Engine, actor: i64) -> Vec<AccountId> {
    let view = engine.store.actor(actor, 100).await.unwrap().unwrap();
    view.accounts.iter().map(|a| a.id).collect()
}

fn actor_events(entries: &[TimelineEntry]) -> Vec<(ActorEventKind, Option<AccountId>)> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            TimelineEntry::Actor(event) => Some((event.kind, event.account_id)),
            TimelineEntry::Account(_) => None,
        })
        .collect()
}

async fn actors_are_created_renamed_and_listed(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 2).await;
    let media = create(&engine, "Média exemple", ids.clone(), 1_000).await;
    assert_eq!((media.name.as_str(), media.kind, media.created_at), ("Média exemple", ActorKind::Outlet, 1_000));
    assert_eq!((media.merged_into, media.account_count), (None, 2));
    let empty = create(&engine, "Réseau vide", vec![], 1_100).await;
    assert_eq!(empty.account_count, 0);
    assert!(empty.id > media.id);

    let renamed = store
        .change_actors(ActorChange::Rename { actor: media.id, name: "Média exemple (nouveau nom)".into() }, note(1_200))
        .await
        .unwrap();
    let ActorOutcome::Changed(renamed, None) = renamed else { panic!("renamed: {renamed:?}") };
    assert_eq!((renamed.id, renamed.name.as_str()), (media.id, "Média exemple (nouveau nom)"));

    let view = store.actor(media.id, 10).await.unwrap().unwrap();
    assert_eq!(view.actor, renamed);
    assert_eq!(view.accounts.iter().map(|a| a.id).collect::<Vec<_>>(), ids);
    assert!(view.accounts.iter().all(|a| a.actor_id == Some(media.id)));
    let TimelineEntry::Actor(newest) = &view.timeline[0] else { panic!("the rename is newest: {view:?}") };
    assert_eq!(
        (newest.kind, newest.name.as_deref(), newest.at),
        (ActorEventKind::Renamed, Some("Média exemple (nouveau nom)"), 1_200)
    );
    assert_eq!(newest.changed_by, "analyst-a");

    assert_eq!(store.list_actors(None, false, 10).await.unwrap(), vec![renamed.clone(), empty.clone()]);
    assert_eq!(store.list_actors(Some(media.id), false, 10).await.unwrap(), vec![empty.clone()]);
    assert_eq!(store.list_actors(None, false, 1).await.unwrap(), vec![renamed]);
    assert!(store.actor(987_654, 10).await.unwrap().is_none());
}

async fn accounts_move_between_actors_with_an_event_on_each_side(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 3).await;
    let first = create(&engine, "Premier", vec![ids[0], ids[1]], 1_000).await;
    let second = create(&engine, "Second", vec![], 1_000).await;
    let moved = store
        .change_actors(ActorChange::Assign { actor: Some(second.id), accounts: vec![ids[1], ids[2]] }, note(2_000))
        .await
        .unwrap();
    let ActorOutcome::Changed(record, None) = moved else { panic!("assigned: {moved:?}") };
    assert_eq!((record.id, record.account_count), (second.id, 2));
    assert_eq!(members(&engine, first.id).await, [ids[0]]);
    assert_eq!(members(&engine, second.id).await, [ids[1], ids[2]]);

    let first_view = store.actor(first.id, 20).await.unwrap().unwrap();
    let events = actor_events(&first_view.timeline);
    assert_eq!(events[0], (ActorEventKind::AccountRemoved, Some(ids[1])));
    let second_view = store.actor(second.id, 20).await.unwrap().unwrap();
    let added: Vec<_> = actor_events(&second_view.timeline)
        .into_iter()
        .filter(|(kind, _)| *kind == ActorEventKind::AccountAdded)
        .map(|(_, account)| account)
        .collect();
    assert_eq!(added.len(), 2);
    assert!(added.contains(&Some(ids[1])) && added.contains(&Some(ids[2])));

    let by_actor = AccountFilter { statuses: vec![], platform: None, actor: Some(second.id), after: None, limit: 10 };
    let listed: Vec<_> = store.list_accounts(by_actor.clone()).await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(listed, [ids[1], ids[2]]);

    // Taken from their actors: left without one.
    let outcome = store
        .change_actors(ActorChange::Assign { actor: None, accounts: vec![ids[0], ids[2]] }, note(3_000))
        .await
        .unwrap();
    assert_eq!(outcome, ActorOutcome::Unassigned);
    assert!(members(&engine, first.id).await.is_empty());
    assert_eq!(members(&engine, second.id).await, [ids[1]]);
    let account = store.known_accounts(vec![telegram("member_0_example")]).await.unwrap().remove(0).unwrap();
    assert_eq!(account.actor_id, None);
    // Assigning an account to the actor it has changes nothing.
    let before = store.actor(second.id, 50).await.unwrap().unwrap().timeline.len();
    let same = store.change_actors(ActorChange::Assign { actor: Some(second.id), accounts: vec![ids[1]] }, note(4_000));
    assert!(matches!(same.await.unwrap(), ActorOutcome::Changed(..)));
    assert_eq!(store.actor(second.id, 50).await.unwrap().unwrap().timeline.len(), before);
}

async fn a_merge_moves_every_account_and_retires_the_source(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 3).await;
    let source = create(&engine, "Source", vec![ids[0], ids[1]], 1_000).await;
    let target = create(&engine, "Cible", vec![ids[2]], 1_000).await;
    assert_eq!(
        store.change_actors(ActorChange::Merge { source: source.id, target: source.id }, note(1_500)).await.unwrap(),
        ActorOutcome::SameActor
    );
    let merged = store.change_actors(ActorChange::Merge { source: source.id, target: target.id }, note(2_000)).await;
    let ActorOutcome::Changed(record, None) = merged.unwrap() else { panic!("merged") };
    assert_eq!((record.id, record.account_count), (target.id, 3));
    assert_eq!(members(&engine, target.id).await, ids);
    let retired = store.actor(source.id, 20).await.unwrap().unwrap();
    assert_eq!((retired.actor.merged_into, retired.actor.account_count), (Some(target.id), 0));
    let TimelineEntry::Actor(event) = &retired.timeline[0] else { panic!("merge event") };
    assert_eq!((event.kind, event.related_actor_id), (ActorEventKind::Merged, Some(target.id)));
    let target_view = store.actor(target.id, 20).await.unwrap().unwrap();
    assert!(target_view.timeline.iter().any(|entry| matches!(entry,
        TimelineEntry::Actor(e) if e.kind == ActorEventKind::Merged && e.related_actor_id == Some(source.id))));

    // A merged actor takes no more changes.
    let refused = [
        ActorChange::Rename { actor: source.id, name: "Encore".into() },
        ActorChange::Assign { actor: Some(source.id), accounts: vec![ids[0]] },
        ActorChange::Merge { source: target.id, target: source.id },
        ActorChange::Split { actor: source.id, accounts: vec![], name: "Part".into(), kind: ActorKind::Unknown },
    ];
    for change in refused {
        assert_eq!(store.change_actors(change, note(3_000)).await.unwrap(), ActorOutcome::ActorMerged(source.id));
    }
    assert_eq!(store.list_actors(None, false, 10).await.unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), [target.id]);
    let all: Vec<_> = store.list_actors(None, true, 10).await.unwrap().iter().map(|a| a.id).collect();
    assert_eq!(all, [source.id, target.id]);
}

async fn a_split_moves_the_named_accounts_to_a_new_actor(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 4).await;
    let network = create(&engine, "Réseau", vec![ids[0], ids[1], ids[2]], 1_000).await;
    let outside = create(&engine, "Ailleurs", vec![ids[3]], 1_000).await;
    let refused = ActorChange::Split {
        actor: network.id,
        accounts: vec![ids[1], ids[3]],
        name: "Branche".into(),
        kind: ActorKind::Network,
    };
    assert_eq!(store.change_actors(refused, note(2_000)).await.unwrap(), ActorOutcome::AccountNotInActor(ids[3]));
    let split = ActorChange::Split {
        actor: network.id,
        accounts: vec![ids[1], ids[2]],
        name: "Branche".into(),
        kind: ActorKind::Network,
    };
    let ActorOutcome::Changed(rest, Some(branch)) = store.change_actors(split, note(2_000)).await.unwrap() else {
        panic!("split into two");
    };
    assert_eq!((rest.id, rest.account_count), (network.id, 1));
    assert_eq!((branch.name.as_str(), branch.kind, branch.account_count), ("Branche", ActorKind::Network, 2));
    assert!(branch.id != network.id && branch.id != outside.id);
    assert_eq!(members(&engine, network.id).await, [ids[0]]);
    assert_eq!(members(&engine, branch.id).await, [ids[1], ids[2]]);
    for (actor, other) in [(network.id, branch.id), (branch.id, network.id)] {
        let view = store.actor(actor, 50).await.unwrap().unwrap();
        assert!(
            view.timeline.iter().any(|entry| matches!(entry,
                TimelineEntry::Actor(e) if e.kind == ActorEventKind::Split && e.related_actor_id == Some(other))),
            "{view:?}"
        );
    }
    assert_eq!(store.list_actors(None, false, 10).await.unwrap().len(), 3);
}

async fn a_refused_change_writes_nothing(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 2).await;
    let actor = create(&engine, "Acteur", vec![ids[0]], 1_000).await;
    let before = store.actor(actor.id, 100).await.unwrap().unwrap();
    let refusals = [
        (
            ActorChange::Create { name: "Fantôme".into(), kind: ActorKind::Person, accounts: vec![ids[1], 987_654] },
            ActorOutcome::AccountNotFound(987_654),
        ),
        (
            ActorChange::Assign { actor: Some(actor.id), accounts: vec![ids[1], 987_654] },
            ActorOutcome::AccountNotFound(987_654),
        ),
        (ActorChange::Assign { actor: None, accounts: vec![ids[0], 987_654] }, ActorOutcome::AccountNotFound(987_654)),
        (ActorChange::Assign { actor: Some(555_555), accounts: vec![ids[1]] }, ActorOutcome::ActorNotFound(555_555)),
        (ActorChange::Rename { actor: 555_555, name: "x".into() }, ActorOutcome::ActorNotFound(555_555)),
        (ActorChange::Merge { source: actor.id, target: 555_555 }, ActorOutcome::ActorNotFound(555_555)),
        (ActorChange::Merge { source: 555_555, target: actor.id }, ActorOutcome::ActorNotFound(555_555)),
        (
            ActorChange::Split {
                actor: actor.id,
                accounts: vec![ids[0], ids[1]],
                name: "x".into(),
                kind: ActorKind::Unknown,
            },
            ActorOutcome::AccountNotInActor(ids[1]),
        ),
        (
            ActorChange::Split { actor: actor.id, accounts: vec![987_654], name: "x".into(), kind: ActorKind::Unknown },
            ActorOutcome::AccountNotFound(987_654),
        ),
    ];
    for (change, expected) in refusals {
        assert_eq!(store.change_actors(change.clone(), note(2_000)).await.unwrap(), expected, "{change:?}");
    }
    assert_eq!(store.actor(actor.id, 100).await.unwrap().unwrap(), before, "the actor is as it was");
    assert_eq!(store.list_actors(None, true, 10).await.unwrap(), vec![before.actor.clone()], "no actor was created");
    let loose = store.known_accounts(vec![telegram("member_1_example")]).await.unwrap().remove(0).unwrap();
    assert_eq!(loose.actor_id, None);
    // The store still takes changes.
    let later = create(&engine, "Plus tard", vec![ids[1]], 3_000).await;
    assert_eq!(later.account_count, 1);
}

async fn the_timeline_holds_actor_and_account_events_newest_first(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 1).await;
    let actor = create(&engine, "Acteur", vec![ids[0]], 1_000).await;
    let change = vigil_store::StatusChange {
        account: vigil_store::AccountSelector::Id(ids[0]),
        status: vigil_store::AccountStatus::Suspended,
        reported_to: None,
        at: 2_000,
        changed_by: "platform-example".into(),
        note: None,
    };
    store.change_account_status(change).await.unwrap().unwrap();
    store.change_actors(ActorChange::Rename { actor: actor.id, name: "Acteur 2".into() }, note(3_000)).await.unwrap();
    let view = store.actor(actor.id, 100).await.unwrap().unwrap();
    let times: Vec<i64> = view.timeline.iter().map(TimelineEntry::at).collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {times:?}");
    assert!(matches!(&view.timeline[0], TimelineEntry::Actor(e) if e.kind == ActorEventKind::Renamed));
    assert!(matches!(&view.timeline[1], TimelineEntry::Account(e) if e.kind == AccountEventKind::StatusChanged));
    let kinds: Vec<_> = view
        .timeline
        .iter()
        .map(|entry| match entry {
            TimelineEntry::Actor(e) => e.kind.as_str(),
            TimelineEntry::Account(e) => e.kind.as_str(),
        })
        .collect();
    // Snapshot and first sighting at 100, the actor at 1_000.
    for kind in ["created", "account_added", "profile_snapshot", "first_seen"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let newest_two = store.actor(actor.id, 2).await.unwrap().unwrap();
    assert_eq!(newest_two.timeline, view.timeline[..2]);
}

async fn a_confirmed_successor_joins_its_predecessors_actor(engine: Engine) {
    let store = &engine.store;
    let ids = accounts(&engine, 2).await;
    let actor = create(&engine, "Abu", vec![ids[0]], 1_000).await;
    let proposal = NewSuccessor {
        account: ids[1],
        predecessor: ids[0],
        score: 0.8,
        evidence: vec!["same avatar".into()],
        explanation: "same avatar".into(),
        found_at: 2_000,
    };
    let alerts = store.propose_successors(vec![proposal]).await.unwrap();
    let review = SuccessorReview {
        successor: alerts[0].successor().unwrap().id,
        confirm: true,
        reviewed_by: "analyst-a".into(),
        note: None,
        at: 3_000,
    };
    let ReviewOutcome::Reviewed(confirmed) = store.review_successor(review).await.unwrap() else { panic!("reviewed") };
    assert_eq!(confirmed.account.actor_id, Some(actor.id));
    assert_eq!(members(&engine, actor.id).await, ids);
    let view = store.actor(actor.id, 50).await.unwrap().unwrap();
    assert!(view.timeline.iter().any(|entry| matches!(entry,
        TimelineEntry::Actor(e) if e.kind == ActorEventKind::AccountAdded && e.account_id == Some(ids[1]) && e.at == 3_000)));
}
