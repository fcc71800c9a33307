//! Sites: created when first named, their status, abuse contacts and
//! takedown requests, each change an event.

use vigil_store::{IndicatorKind, SiteChange, SiteEventKind, SiteSelector, SiteStatus};

use crate::data::{key, note};
use crate::harness::Engine;

conformance!(
    a_site_is_created_when_first_named_and_keeps_its_history,
    an_unknown_site_id_changes_nothing,
    list_sites_filters_by_status_and_pages,
);

fn contacts(host: Option<&str>, registrar: Option<&str>) -> SiteChange {
    SiteChange::Contacts {
        host_abuse_contact: host.map(str::to_owned),
        registrar_abuse_contact: registrar.map(str::to_owned),
    }
}

async fn a_site_is_created_when_first_named_and_keeps_its_history(engine: Engine) {
    let store = &engine.store;
    let domain = SiteSelector::Key(key(IndicatorKind::Domain, "example.org"));
    let created = store
        .change_site(domain.clone(), contacts(Some("abuse@example.net"), None), note(1_000))
        .await
        .unwrap()
        .unwrap();
    assert!(created.first_seen);
    let site = created.site;
    assert_eq!(site.key, key(IndicatorKind::Domain, "example.org"));
    assert_eq!((site.status, site.status_changed_at, site.first_seen), (SiteStatus::Online, 1_000, 1_000));
    assert_eq!(
        (site.host_abuse_contact.as_deref(), site.registrar_abuse_contact.as_deref()),
        (Some("abuse@example.net"), None)
    );
    assert_eq!(site.takedown_requests, 0);

    // A contact left out keeps its value.
    let changed = store.change_site(domain.clone(), contacts(None, Some("abuse@example.com")), note(1_100)).await;
    let changed = changed.unwrap().unwrap();
    assert!(!changed.first_seen);
    assert_eq!(changed.site.id, site.id);
    assert_eq!(changed.site.host_abuse_contact.as_deref(), Some("abuse@example.net"));
    assert_eq!(changed.site.registrar_abuse_contact.as_deref(), Some("abuse@example.com"));
    // No contact at all: nothing to record.
    store.change_site(domain.clone(), contacts(None, None), note(1_150)).await.unwrap().unwrap();

    let requested = SiteChange::TakedownRequested { sent_to: "abuse@example.net".into() };
    store.change_site(SiteSelector::Id(site.id), requested.clone(), note(1_200)).await.unwrap().unwrap();
    let twice = store.change_site(domain.clone(), requested, note(1_300)).await.unwrap().unwrap();
    assert_eq!(twice.site.takedown_requests, 2);
    let down = store.change_site(domain.clone(), SiteChange::Status(SiteStatus::TakenDown), note(1_400)).await;
    let down = down.unwrap().unwrap().site;
    assert_eq!((down.status, down.status_changed_at, down.first_seen), (SiteStatus::TakenDown, 1_400, 1_000));

    let (record, events) = store.site_history(domain.clone(), 10).await.unwrap().unwrap();
    assert_eq!(record, down);
    let kinds: Vec<_> = events.iter().map(|e| (e.kind, e.at)).collect();
    assert_eq!(
        kinds,
        [
            (SiteEventKind::StatusChanged, 1_400),
            (SiteEventKind::TakedownRequested, 1_300),
            (SiteEventKind::TakedownRequested, 1_200),
            (SiteEventKind::ContactsChanged, 1_100),
            (SiteEventKind::ContactsChanged, 1_000),
            (SiteEventKind::FirstSeen, 1_000),
        ]
    );
    assert_eq!((events[0].status, events[0].changed_by.as_str()), (Some(SiteStatus::TakenDown), "analyst-a"));
    assert!(events[1].note.as_deref().is_some_and(|n| n.contains("abuse@example.net")), "{:?}", events[1]);
    let (_, newest) = store.site_history(SiteSelector::Id(site.id), 2).await.unwrap().unwrap();
    assert_eq!(newest, events[..2]);

    // A URL and a domain with the same text are two sites.
    let url = SiteSelector::Key(key(IndicatorKind::Url, "example.org"));
    let other = store.change_site(url, SiteChange::Status(SiteStatus::Offline), note(2_000)).await.unwrap().unwrap();
    assert!(other.first_seen);
    assert_ne!(other.site.id, site.id);
    assert_eq!(other.site.key.kind, IndicatorKind::Url);
    assert_eq!((other.site.status, other.site.first_seen), (SiteStatus::Offline, 2_000));
    let (_, events) = store.site_history(SiteSelector::Id(other.site.id), 10).await.unwrap().unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [SiteEventKind::StatusChanged, SiteEventKind::FirstSeen]);
}

async fn an_unknown_site_id_changes_nothing(engine: Engine) {
    let store = &engine.store;
    let outcome = store.change_site(SiteSelector::Id(987_654), SiteChange::Status(SiteStatus::Offline), note(1_000));
    assert_eq!(outcome.await.unwrap(), None);
    assert!(store.site_history(SiteSelector::Id(987_654), 10).await.unwrap().is_none());
    let unknown = SiteSelector::Key(key(IndicatorKind::Domain, "example.com"));
    assert!(store.site_history(unknown, 10).await.unwrap().is_none(), "a look-up creates nothing");
    assert!(store.list_sites(vec![], None, 10).await.unwrap().is_empty());
}

async fn list_sites_filters_by_status_and_pages(engine: Engine) {
    let store = &engine.store;
    let statuses =
        [SiteStatus::Online, SiteStatus::TakenDown, SiteStatus::Offline, SiteStatus::TakenDown, SiteStatus::Online];
    let mut ids = Vec::new();
    for (n, status) in statuses.iter().enumerate() {
        let site = SiteSelector::Key(key(IndicatorKind::Domain, &format!("site{n}.example.org")));
        let changed =
            store.change_site(site, SiteChange::Status(*status), note(1_000 + n as i64)).await.unwrap().unwrap();
        ids.push(changed.site.id);
    }
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    let listed = |statuses: Vec<SiteStatus>, after, limit| {
        let store = store.clone();
        async move { store.list_sites(statuses, after, limit).await.unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>() }
    };
    assert_eq!(listed(vec![], None, 10).await, ids);
    assert_eq!(listed(vec![SiteStatus::TakenDown], None, 10).await, [ids[1], ids[3]]);
    assert_eq!(listed(vec![SiteStatus::Offline, SiteStatus::TakenDown], None, 10).await, [ids[1], ids[2], ids[3]]);
    assert_eq!(listed(SiteStatus::ALL.to_vec(), None, 10).await, ids);
    assert_eq!(listed(vec![SiteStatus::Online], Some(ids[0]), 10).await, [ids[4]]);
    assert_eq!(listed(vec![], Some(ids[1]), 2).await, [ids[2], ids[3]]);
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = listed(vec![], after, 2).await;
        let Some(&last) = page.last() else { break };
        after = Some(last);
        walked.extend(page);
    }
    assert_eq!(walked, ids);
}
