//! Tracking end to end, through the generated Rust client against the real
//! binary: an account's lifecycle, a suspended account re-created under a
//! near-identical name, the alert pushed to a watching analyst, the
//! analyst's review, and a watch resumed after a disconnection.

mod support;

use std::time::Duration;

use support::Vigil;
use tonic::Code;
use vigil_proto::tonic;
use vigil_proto::v1::account_selector::Selector;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::tracking_client::TrackingClient;
use vigil_proto::v1::*;

const AVATAR: &str = "5f1d7b2a9c3e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

fn telegram(handle: &str) -> AccountRef {
    AccountRef { platform: "telegram".into(), handle: handle.into(), platform_account_id: String::new() }
}

fn by_ref(handle: &str) -> Option<AccountSelector> {
    Some(AccountSelector { selector: Some(Selector::Ref(telegram(handle))) })
}

fn snapshot(handle: &str, display_name: &str, bio: &str) -> RecordProfileSnapshotRequest {
    RecordProfileSnapshotRequest {
        account: Some(telegram(handle)),
        display_name: display_name.into(),
        bio: bio.into(),
        avatar_sha256: AVATAR.into(),
        observed_at: None,
        changed_by: String::new(),
    }
}

/// The platform suspends an account, with its own partner key.
async fn suspend(vigil: &Vigil, handle: &str) -> UpdateAccountStatusResponse {
    TrackingClient::new(vigil.channel_as("platform-example").await)
        .update_account_status(UpdateAccountStatusRequest {
            account: by_ref(handle),
            status: AccountStatus::Suspended as i32,
            reported_to: String::new(),
            at: None,
            changed_by: String::new(),
            note: "observed gone".into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn next_alert(alerts: &mut tonic::Streaming<Alert>) -> Alert {
    tokio::time::timeout(Duration::from_secs(10), alerts.message())
        .await
        .expect("an alert arrives within 10 s")
        .expect("the stream is healthy")
        .expect("the stream is open")
}

fn successor_of(alert: &Alert) -> &Successor {
    match &alert.detail {
        Some(alert::Detail::Successor(successor)) => successor,
        _ => panic!("not a successor alert: {alert:?}"),
    }
}

#[tokio::test]
async fn a_recreated_account_is_alerted_reviewed_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut tracking = TrackingClient::new(channel.clone());

    // A crawler records the original account, then the platform suspends it.
    let first = tracking
        .record_profile_snapshot(snapshot("abu_exemple", "Abu Exemple", "canal officiel hxxps://t[.]me/relais_exemple"))
        .await
        .unwrap()
        .into_inner();
    assert!(first.first_seen);
    assert!(first.successors.is_empty());
    let original_id = first.account.unwrap().account_id;
    let suspended = suspend(&vigil, "abu_exemple").await;
    assert_eq!(suspended.account.unwrap().status, AccountStatus::Suspended as i32);
    assert_eq!(suspended.event.unwrap().changed_by, "platform-example");

    // An analyst is watching when the account comes back.
    let mut alerts =
        tracking.watch_alerts(WatchAlertsRequest { resume_token: String::new() }).await.unwrap().into_inner();
    let recreated = tracking
        .record_profile_snapshot(snapshot(
            "abu_exemple_2",
            "Abu Exemple",
            "nouveau canal hxxps://t[.]me/relais_exemple",
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(recreated.first_seen);
    assert_eq!(recreated.successors.len(), 1, "{recreated:?}");
    let alert = next_alert(&mut alerts).await;
    let proposed = successor_of(&alert);
    assert_eq!(proposed.predecessor.as_ref().unwrap().account_id, original_id);
    assert_eq!(proposed.account.as_ref().unwrap().handle, "abu_exemple_2");
    assert_eq!(proposed.state, SuccessorState::Pending as i32);
    assert!(proposed.explanation.contains("abu_exemple"), "{}", proposed.explanation);
    assert!(proposed.evidence.len() >= 2, "{:?}", proposed.evidence);

    // Both accounts show the link, and the old one's history says why.
    let history = tracking
        .get_account(GetAccountRequest { account: by_ref("abu_exemple"), max_events: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.successors.len(), 1);
    let kinds: Vec<i32> = history.events.iter().map(|event| event.kind).collect();
    assert_eq!(
        kinds,
        [
            account_event::Kind::SuccessorProposed as i32,
            account_event::Kind::StatusChanged as i32,
            account_event::Kind::ProfileSnapshot as i32,
            account_event::Kind::FirstSeen as i32,
        ]
    );

    // The analyst confirms: the original is now REAPPEARED; a second
    // decision on the same pair is refused.
    let review = |decision: review_successor_request::Decision| ReviewSuccessorRequest {
        successor_id: proposed.successor_id.clone(),
        decision: decision as i32,
        reviewed_by: "analyst-a".into(),
        note: String::new(),
    };
    let confirmed = tracking
        .review_successor(review(review_successor_request::Decision::Confirm))
        .await
        .unwrap()
        .into_inner()
        .successor
        .unwrap();
    assert_eq!(confirmed.state, SuccessorState::Confirmed as i32);
    assert_eq!(confirmed.predecessor.unwrap().status, AccountStatus::Reappeared as i32);
    let twice = tracking.review_successor(review(review_successor_request::Decision::Reject)).await.unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "{twice:?}");
    assert!(twice.message().contains("successor_id"), "{}", twice.message());

    // The analyst's tool drops off; meanwhile the account comes back again,
    // this time named in a public tip. Resuming from the last token it saw
    // brings that alert, and nothing twice.
    let token = alert.resume_token.clone();
    drop(alerts);
    suspend(&vigil, "abu_exemple_2").await;
    IntakeClient::new(channel.clone())
        .submit_tip(SubmitTipRequest {
            text: "Le compte revient encore sur Telegram : @abu_exemple_3, même avatar.".into(),
            language_hint: String::new(),
            urls: vec![],
        })
        .await
        .unwrap();
    let mut resumed = tracking.watch_alerts(WatchAlertsRequest { resume_token: token }).await.unwrap().into_inner();
    let missed = next_alert(&mut resumed).await;
    assert_ne!(missed.alert_id, alert.alert_id);
    assert_eq!(successor_of(&missed).account.as_ref().unwrap().handle, "abu_exemple_3");

    // A watcher still connected does not hold shutdown up.
    vigil.stop().await;
}

#[tokio::test]
async fn unrelated_accounts_raise_nothing_and_bad_requests_name_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut tracking = TrackingClient::new(vigil.channel().await);

    tracking.record_profile_snapshot(snapshot("abu_exemple", "Abu Exemple", "https://example.org/a")).await.unwrap();
    suspend(&vigil, "abu_exemple").await;
    let mut unrelated = snapshot("jardin_du_quartier", "Jardin du quartier", "https://example.net/horaires");
    unrelated.avatar_sha256 = String::new();
    let outcome = tracking.record_profile_snapshot(unrelated).await.unwrap().into_inner();
    assert!(outcome.successors.is_empty(), "{outcome:?}");

    let refused = |status: tonic::Status, field: &str, code: Code| {
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(field), "{field} not named in {:?}", status.message());
    };
    let unknown = tracking
        .update_account_status(UpdateAccountStatusRequest {
            account: by_ref("personne_exemple"),
            status: AccountStatus::Suspended as i32,
            changed_by: "analyst-a".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    refused(unknown, "personne_exemple", Code::NotFound);
    let no_recipient = tracking
        .update_account_status(UpdateAccountStatusRequest {
            account: by_ref("abu_exemple"),
            status: AccountStatus::Reported as i32,
            changed_by: "analyst-a".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    refused(no_recipient, "reported_to", Code::InvalidArgument);
    let someone_else = tracking
        .update_account_status(UpdateAccountStatusRequest {
            account: by_ref("abu_exemple"),
            status: AccountStatus::Active as i32,
            changed_by: "analyst-b".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    refused(someone_else, "changed_by", Code::InvalidArgument);
    let mut bad_avatar = snapshot("autre_exemple", "", "");
    bad_avatar.avatar_sha256 = "not-a-hash".into();
    refused(tracking.record_profile_snapshot(bad_avatar).await.unwrap_err(), "avatar_sha256", Code::InvalidArgument);
    let page = tracking.list_accounts(ListAccountsRequest { page_size: 501, ..Default::default() }).await.unwrap_err();
    refused(page, "page_size", Code::InvalidArgument);
    let token = tracking.watch_alerts(WatchAlertsRequest { resume_token: "999".into() }).await.map(|_| ()).unwrap_err();
    refused(token, "resume_token", Code::InvalidArgument);

    // Nothing the refused requests carried was stored.
    let listed = tracking.list_accounts(ListAccountsRequest::default()).await.unwrap().into_inner();
    let handles: Vec<&str> = listed.accounts.iter().map(|account| account.handle.as_str()).collect();
    assert_eq!(handles, ["abu_exemple", "jardin_du_quartier"]);

    // Pages follow each other and end.
    let first = tracking.list_accounts(ListAccountsRequest { page_size: 1, ..Default::default() }).await.unwrap();
    let first = first.into_inner();
    assert_eq!(first.accounts.len(), 1);
    let second = tracking
        .list_accounts(ListAccountsRequest { page_size: 1, page_token: first.next_page_token, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.accounts[0].handle, "jardin_du_quartier");
    let suspended_only = tracking
        .list_accounts(ListAccountsRequest { statuses: vec![AccountStatus::Suspended as i32], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suspended_only.accounts.len(), 1);
    assert!(suspended_only.next_page_token.is_empty());
}

#[tokio::test]
async fn actors_group_accounts_and_sites_keep_their_takedown_history() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let mut tracking = TrackingClient::new(vigil.channel().await);
    let mut ids = Vec::new();
    for handle in ["relais_exemple", "relais_exemple_bis", "autre_exemple"] {
        let mut request = snapshot(handle, "", "");
        request.avatar_sha256 = String::new();
        ids.push(tracking.record_profile_snapshot(request).await.unwrap().into_inner().account.unwrap().account_id);
    }
    let create = |name: &str, accounts: &[String]| CreateActorRequest {
        name: name.into(),
        kind: ActorKind::Outlet as i32,
        account_ids: accounts.to_vec(),
        changed_by: "analyst-a".into(),
        note: String::new(),
    };
    let outlet = tracking.create_actor(create("Relais Exemple", &ids[..2])).await.unwrap().into_inner().actor.unwrap();
    assert_eq!(outlet.account_count, 2);
    let other = tracking.create_actor(create("Autre", &ids[2..])).await.unwrap().into_inner().actor.unwrap();

    // A request naming an unknown account changes nothing at all.
    let refused = tracking.create_actor(create("Fantôme", &[ids[0].clone(), "999999".into()])).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    let listed = tracking.list_actors(ListActorsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.actors.len(), 2);

    // Merge, then split one account off again: each step is in the timeline.
    let merged = tracking
        .merge_actors(MergeActorsRequest {
            source_actor_id: other.actor_id.clone(),
            target_actor_id: outlet.actor_id.clone(),
            changed_by: "analyst-a".into(),
            note: "same outlet".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .actor
        .unwrap();
    assert_eq!(merged.account_count, 3);
    let rename_merged = tracking
        .rename_actor(RenameActorRequest {
            actor_id: other.actor_id.clone(),
            name: "x".into(),
            changed_by: "analyst-a".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(rename_merged.code(), Code::FailedPrecondition, "{rename_merged:?}");
    // A second analyst splits the actor, with a key of their own.
    let split = TrackingClient::new(vigil.channel_as("analyst-b").await)
        .split_actor(SplitActorRequest {
            actor_id: outlet.actor_id.clone(),
            account_ids: vec![ids[2].clone()],
            new_actor_name: "Autre, à part".into(),
            new_actor_kind: ActorKind::Person as i32,
            changed_by: "analyst-b".into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(split.actor.unwrap().account_count, 2);
    assert_eq!(split.new_actor.unwrap().account_count, 1);
    let view = tracking
        .get_actor(GetActorRequest { actor_id: outlet.actor_id.clone(), max_events: 0 })
        .await
        .unwrap()
        .into_inner();
    let handles: Vec<&str> = view.accounts.iter().map(|account| account.handle.as_str()).collect();
    assert_eq!(handles, ["relais_exemple", "relais_exemple_bis"]);
    let actor_kinds: Vec<i32> = view
        .timeline
        .iter()
        .filter_map(|entry| match &entry.entry {
            Some(timeline_entry::Entry::ActorEvent(event)) => Some(event.kind),
            _ => None,
        })
        .collect();
    for kind in [actor_event::Kind::Created, actor_event::Kind::Merged, actor_event::Kind::Split] {
        assert!(actor_kinds.contains(&(kind as i32)), "{kind:?} missing from {actor_kinds:?}");
    }
    assert!(view.timeline.iter().any(|entry| matches!(entry.entry, Some(timeline_entry::Entry::AccountEvent(_)))));
    assert_eq!(view.accounts[0].actor_id, outlet.actor_id);
    let of_outlet = tracking
        .list_accounts(ListAccountsRequest { actor_id: outlet.actor_id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(of_outlet.accounts.len(), 2);

    // A site: recorded defanged, a takedown request, then taken down.
    let site =
        Some(SiteSelector { selector: Some(site_selector::Selector::Url("hxxps://miroir.example[.]org/v".into())) });
    let recorded = tracking
        .record_site(RecordSiteRequest {
            site: site.clone(),
            host_abuse_contact: "abuse@example.net".into(),
            registrar_abuse_contact: String::new(),
            changed_by: "analyst-a".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(recorded.first_seen);
    assert_eq!(recorded.site.unwrap().value, "https://miroir.example.org/v");
    tracking
        .record_takedown_request(RecordTakedownRequestRequest {
            site: site.clone(),
            sent_to: "abuse@example.net".into(),
            at: None,
            changed_by: "analyst-a".into(),
        })
        .await
        .unwrap();
    let taken_down = tracking
        .update_site_status(UpdateSiteStatusRequest {
            site: site.clone(),
            status: SiteStatus::TakenDown as i32,
            at: None,
            changed_by: "analyst-a".into(),
            note: "host confirmed".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .site
        .unwrap();
    assert_eq!((taken_down.status, taken_down.takedown_requests), (SiteStatus::TakenDown as i32, 1));
    let history = tracking.get_site(GetSiteRequest { site, max_events: 0 }).await.unwrap().into_inner();
    assert_eq!(history.events.len(), 4, "first seen, contacts, request, status: {:?}", history.events);
    let online = tracking
        .list_sites(ListSitesRequest { statuses: vec![SiteStatus::Online as i32], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(online.sites.is_empty());
    let bad = tracking
        .get_site(GetSiteRequest {
            site: Some(SiteSelector { selector: Some(site_selector::Selector::Domain("not a domain".into())) }),
            max_events: 0,
        })
        .await
        .unwrap_err();
    assert!(bad.message().contains("site.domain"), "{bad:?}");
}
