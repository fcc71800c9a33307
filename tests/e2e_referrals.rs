//! Referrals end to end, through the generated Rust client against the real
//! binary: a referral drafted by one analyst and approved by another, its
//! steps feeding account and site status, its exports validated by the
//! OASIS STIX validator and loaded by PyMISP, the recipient's clearance
//! enforced, and the urgent lane a threat opens pushed to a watching
//! analyst.

mod support;

use std::path::Path;
use std::time::Duration;

use support::{Authed, Vigil};
use tonic::Code;
use vigil_proto::prost_types;
use vigil_proto::tonic;
use vigil_proto::v1::account_selector::Selector;
use vigil_proto::v1::admin_client::AdminClient;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::referral_item_request::Subject;
use vigil_proto::v1::referrals_client::ReferralsClient;
use vigil_proto::v1::tracking_client::TrackingClient;
use vigil_proto::v1::*;

const TEXT: &str =
    "Nouvelle chaîne : https://example.org/appel et don au portefeuille 0x52908400098527886e0f7030069857d2e4169ee7";

fn post(id: &str, text: &str) -> Post {
    Post {
        platform: "telegram".into(),
        platform_post_id: id.into(),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: "canal_exemple".into(),
            ..AccountRef::default()
        }),
        url: format!("https://t.me/canal_exemple/{id}"),
        text: text.into(),
        posted_at: Some(prost_types::Timestamp { seconds: 1_767_225_600, nanos: 0 }),
        media_sha256: Vec::new(),
    }
}

async fn ingest(vigil: &Vigil, posts: Vec<Post>) {
    IntakeClient::new(vigil.channel_as("crawler-example").await)
        .ingest_posts(tokio_stream::iter(vec![IngestPostsRequest { posts }]))
        .await
        .unwrap();
}

fn referrals(channel: Authed) -> ReferralsClient<Authed> {
    ReferralsClient::new(channel)
}

fn refused<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, message: &str) {
    let status = result.expect_err("the call is refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(message), "{:?} does not contain {message:?}", status.message());
}

fn item(subject: Subject) -> ReferralItemRequest {
    ReferralItemRequest { subject: Some(subject), tlp: 0 }
}

/// Runs the validator script over the files; the test fails with its
/// output, or with how to install what it needs.
fn check_exports(stix: &[&Path], misp: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/support/check_exports.py");
    let mut command = std::process::Command::new("python3");
    command.arg(script);
    for file in stix {
        command.arg("--stix").arg(file);
    }
    for file in misp {
        command.arg("--misp").arg(file);
    }
    let output =
        command.output().expect("python3 runs (the checks need python3 -m pip install stix2-validator pymisp)");
    assert!(
        output.status.success(),
        "export checks failed (python3 -m pip install stix2-validator pymisp if a module is missing):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The id of the posts' author, telegram:canal_exemple.
async fn author_id(vigil: &Vigil) -> String {
    QueryClient::new(vigil.channel().await)
        .lookup_indicator(LookupIndicatorRequest {
            kind: IndicatorKind::Account as i32,
            value: "telegram:canal_exemple".into(),
            max_documents: 1,
        })
        .await
        .unwrap()
        .into_inner()
        .accounts[0]
        .account_id
        .clone()
}

async fn account_status(vigil: &Vigil, handle: &str) -> i32 {
    let selector = AccountSelector {
        selector: Some(Selector::Ref(AccountRef {
            platform: "telegram".into(),
            handle: handle.into(),
            ..AccountRef::default()
        })),
    };
    TrackingClient::new(vigil.channel().await)
        .get_account(GetAccountRequest { account: Some(selector), max_events: 0 })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap()
        .status
}

#[tokio::test]
async fn a_referral_goes_from_draft_to_actioned_under_four_eyes() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    ingest(&vigil, vec![post("1", TEXT)]).await;

    let mut query = QueryClient::new(vigil.channel().await);
    let hit = query.search(SearchRequest { query: "portefeuille".into(), ..SearchRequest::default() }).await;
    let document = hit.unwrap().into_inner().hits.remove(0).document.unwrap();
    let account_id = author_id(&vigil).await;
    let site = TrackingClient::new(vigil.channel().await)
        .record_site(RecordSiteRequest {
            site: Some(SiteSelector { selector: Some(site_selector::Selector::Domain("example.org".into())) }),
            ..RecordSiteRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .site
        .unwrap();

    let start = TEXT.find("https://").unwrap() as u32;
    let end = start + "https://example.org/appel".len() as u32;
    let draft = CreateReferralRequest {
        recipient: "Example Platform abuse desk".into(),
        recipient_kind: RecipientKind::Platform as i32,
        reason: "A channel collecting donations for the group.".into(),
        categories: vec![Category::Financing as i32],
        priority: ReferralPriority::High as i32,
        tlp: Tlp::Amber as i32,
        items: vec![
            item(Subject::AccountId(account_id.clone())),
            item(Subject::SiteId(site.site_id.clone())),
            item(Subject::Indicator(IndicatorRef {
                kind: IndicatorKind::Eth as i32,
                value: "0x52908400098527886E0F7030069857D2E4169EE7".into(),
            })),
            item(Subject::Excerpt(ExcerptRef {
                document_id: document.document_id.clone(),
                span: Some(Span { start, end }),
            })),
            // For the analysts' eyes only: withheld from the platform.
            ReferralItemRequest {
                subject: Some(Subject::Indicator(IndicatorRef {
                    kind: IndicatorKind::Url as i32,
                    value: "hxxps://example[.]org/appel".into(),
                })),
                tlp: Tlp::Red as i32,
            },
        ],
        note: String::new(),
    };
    let created = referrals(vigil.channel().await).create_referral(draft).await.unwrap().into_inner();
    let referral = created.referral.unwrap();
    let id = referral.referral_id.clone();
    assert_eq!((referral.status, referral.drafted_by.as_str()), (ReferralStatus::Draft as i32, "analyst-a"));
    assert_eq!(created.items.len(), 5);
    let Some(referral_item::Entity::Excerpt(excerpt)) = &created.items[3].entity else { panic!("an excerpt") };
    assert_eq!(excerpt.text, "https://example.org/appel");
    assert_eq!(excerpt.document.as_ref().unwrap().text_sha256, document.text_sha256);
    assert_eq!(excerpt.document_text, TEXT);
    assert_eq!(created.items[4].tlp, Tlp::Red as i32);

    // Nothing leaves before a second analyst approves.
    let export = |format: ExportFormat, clearance: Tlp| ExportReferralRequest {
        referral_id: id.clone(),
        format: format as i32,
        recipient_clearance: clearance as i32,
    };
    refused(
        referrals(vigil.channel().await).export_referral(export(ExportFormat::Stix, Tlp::Unspecified)).await,
        Code::FailedPrecondition,
        "only an approved referral leaves vigil",
    );
    let approve = ApproveReferralRequest { referral_id: id.clone(), note: String::new() };
    refused(
        referrals(vigil.channel().await).approve_referral(approve.clone()).await,
        Code::FailedPrecondition,
        "four eyes",
    );
    refused(
        referrals(vigil.channel().await)
            .mark_referral_sent(MarkReferralSentRequest { referral_id: id.clone(), note: String::new() })
            .await,
        Code::FailedPrecondition,
        "is draft: it cannot become sent",
    );
    let approved = referrals(vigil.channel_as("analyst-b").await).approve_referral(approve).await.unwrap();
    let approved = approved.into_inner().referral.unwrap();
    assert_eq!((approved.status, approved.approved_by.as_str()), (ReferralStatus::Approved as i32, "analyst-b"));
    refused(
        referrals(vigil.channel().await)
            .add_referral_items(AddReferralItemsRequest {
                referral_id: id.clone(),
                items: vec![item(Subject::AccountId(account_id.clone()))],
                note: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "items are added to drafts only",
    );

    // Exports: the RED item is withheld, RED clearance is refused.
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (format, name) in
        [(ExportFormat::Stix, "r.stix.json"), (ExportFormat::Misp, "r.misp.json"), (ExportFormat::Csv, "r.csv")]
    {
        let exported =
            referrals(vigil.channel().await).export_referral(export(format, Tlp::Unspecified)).await.unwrap();
        let exported = exported.into_inner();
        assert_eq!(exported.withheld.unwrap().indicators, 1, "{format:?}");
        let content = String::from_utf8(exported.content).unwrap();
        assert!(content.contains("0x52908400098527886e0f7030069857d2e4169ee7"), "{format:?}: {content}");
        assert!(content.contains("canal_exemple"), "{format:?}");
        let path = out.path().join(name);
        std::fs::write(&path, &content).unwrap();
        files.push(path);
    }
    check_exports(&[&files[0]], &[&files[1]]);
    let csv = std::fs::read_to_string(&files[2]).unwrap();
    assert!(csv.starts_with("record,"), "{csv}");
    refused(
        referrals(vigil.channel().await).export_referral(export(ExportFormat::Stix, Tlp::Red)).await,
        Code::InvalidArgument,
        "recipient_clearance",
    );
    // A recipient cleared for GREEN only may not have an AMBER referral.
    refused(
        referrals(vigil.channel().await).export_referral(export(ExportFormat::Misp, Tlp::Green)).await,
        Code::InvalidArgument,
        "recipient_clearance",
    );

    // Sent, acknowledged, actioned: each step feeds the tracking.
    referrals(vigil.channel().await)
        .mark_referral_sent(MarkReferralSentRequest { referral_id: id.clone(), note: "abuse form".into() })
        .await
        .unwrap();
    assert_eq!(account_status(&vigil, "canal_exemple").await, AccountStatus::Reported as i32);
    referrals(vigil.channel().await)
        .acknowledge_referral(AcknowledgeReferralRequest {
            referral_id: id.clone(),
            recipient_reference: "CASE-0001".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    refused(
        referrals(vigil.channel().await)
            .close_referral(CloseReferralRequest {
                referral_id: id.clone(),
                outcome: ReferralStatus::Sent as i32,
                note: String::new(),
            })
            .await,
        Code::InvalidArgument,
        "outcome is neither ACTIONED nor REJECTED",
    );
    let closed = referrals(vigil.channel().await)
        .close_referral(CloseReferralRequest {
            referral_id: id.clone(),
            outcome: ReferralStatus::Actioned as i32,
            note: "suspended by the platform".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.referral.as_ref().unwrap().recipient_reference, "CASE-0001");
    let events: Vec<(i32, &str)> = closed.events.iter().map(|event| (event.kind, event.by.as_str())).collect();
    use referral_event::Kind;
    assert_eq!(
        events,
        vec![
            (Kind::Drafted as i32, "analyst-a"),
            (Kind::Approved as i32, "analyst-b"),
            (Kind::Sent as i32, "analyst-a"),
            (Kind::Acknowledged as i32, "analyst-a"),
            (Kind::Actioned as i32, "analyst-a"),
        ]
    );
    assert_eq!(account_status(&vigil, "canal_exemple").await, AccountStatus::Suspended as i32);
    let site = TrackingClient::new(vigil.channel().await)
        .get_site(GetSiteRequest {
            site: Some(SiteSelector { selector: Some(site_selector::Selector::SiteId(site.site_id.clone())) }),
            max_events: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .site
        .unwrap();
    assert_eq!((site.status, site.takedown_requests), (SiteStatus::TakenDown as i32, 1));

    let listed = referrals(vigil.channel().await).list_referrals(ListReferralsRequest::default()).await.unwrap();
    assert_eq!(listed.into_inner().referrals[0].status, ReferralStatus::Actioned as i32);
    // Every step and every export is in the audit log, and the chain holds.
    let verified = AdminClient::new(vigil.channel_as("admin-a").await)
        .verify_audit_log(VerifyAuditLogRequest::default())
        .await
        .expect("the audit chain verifies")
        .into_inner();
    assert!(verified.entries >= 8, "{verified:?}");
    vigil.stop().await;
}

#[tokio::test]
async fn refused_referrals_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    ingest(&vigil, vec![post("1", "رسالة عن https://example.org/a")]).await;
    let base = CreateReferralRequest {
        recipient: "Example Hosting".into(),
        recipient_kind: RecipientKind::HostingProvider as i32,
        reason: "hosts the group's site".into(),
        tlp: Tlp::Green as i32,
        ..CreateReferralRequest::default()
    };
    let mut client = referrals(vigil.channel().await);
    refused(
        client.create_referral(CreateReferralRequest { tlp: 0, ..base.clone() }).await,
        Code::InvalidArgument,
        "tlp is unset",
    );
    refused(
        client.create_referral(CreateReferralRequest { reason: " ".into(), ..base.clone() }).await,
        Code::InvalidArgument,
        "reason is empty",
    );
    refused(
        client
            .create_referral(CreateReferralRequest {
                items: vec![
                    item(Subject::Indicator(IndicatorRef {
                        kind: IndicatorKind::Url as i32,
                        value: "https://example.org/a".into(),
                    })),
                    item(Subject::AccountId("999".into())),
                ],
                ..base.clone()
            })
            .await,
        Code::NotFound,
        "items[1]: account 999",
    );
    // Byte 1 is inside the first Arabic letter.
    refused(
        client
            .create_referral(CreateReferralRequest {
                items: vec![item(Subject::Excerpt(ExcerptRef {
                    document_id: "1".into(),
                    span: Some(Span { start: 1, end: 4 }),
                }))],
                ..base.clone()
            })
            .await,
        Code::InvalidArgument,
        "items[0].excerpt.span is 1..4",
    );
    refused(
        client
            .create_referral(CreateReferralRequest { items: vec![ReferralItemRequest::default()], ..base.clone() })
            .await,
        Code::InvalidArgument,
        "items[0] names nothing",
    );
    let listed = client.list_referrals(ListReferralsRequest::default()).await.unwrap().into_inner();
    assert!(listed.referrals.is_empty(), "{listed:?}");
    vigil.stop().await;
}

#[tokio::test]
async fn a_threat_opens_an_urgent_draft_and_alerts_watchers() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &["--urgent-recipient", "Example national police"]);
    vigil.wait_serving().await;
    let mut alerts = TrackingClient::new(vigil.channel().await)
        .watch_alerts(WatchAlertsRequest::default())
        .await
        .unwrap()
        .into_inner();
    ingest(&vigil, vec![post("1", "un message ordinaire"), post("2", "nous allons égorger https://example.org/x")])
        .await;
    let alert = tokio::time::timeout(Duration::from_secs(10), alerts.message())
        .await
        .expect("an alert within 10 s")
        .unwrap()
        .expect("the stream is open");
    let Some(alert::Detail::UrgentReferral(referral)) = alert.detail else { panic!("an urgent referral: {alert:?}") };
    assert_eq!(referral.priority, ReferralPriority::Urgent as i32);
    assert_eq!(referral.recipient, "Example national police");
    assert_eq!(referral.recipient_kind, RecipientKind::Authority as i32);
    assert_eq!(referral.drafted_by, "vigil");
    assert!(referral.categories.contains(&(Category::Threat as i32)));
    let view = referrals(vigil.channel().await)
        .get_referral(GetReferralRequest { referral_id: referral.referral_id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(
        view.items
            .iter()
            .any(|item| matches!(&item.entity, Some(referral_item::Entity::Excerpt(e)) if e.text.contains("égorger")))
    );
    // The machine drafted it; any analyst may approve it.
    referrals(vigil.channel().await)
        .approve_referral(ApproveReferralRequest { referral_id: referral.referral_id, note: String::new() })
        .await
        .unwrap();
    vigil.stop().await;
}

#[tokio::test]
async fn records_and_actors_export_for_their_recipients() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    ingest(&vigil, vec![post("1", TEXT)]).await;
    let exported = referrals(vigil.channel().await)
        .export_records(ExportRecordsRequest {
            indicators: vec![
                IndicatorRef { kind: IndicatorKind::Url as i32, value: "hxxps://example[.]org/appel".into() },
                IndicatorRef { kind: IndicatorKind::Domain as i32, value: "never-seen.example.net".into() },
            ],
            accounts: vec![
                AccountRef { platform: "telegram".into(), handle: "@Canal_Exemple".into(), ..AccountRef::default() },
                AccountRef { platform: "telegram".into(), handle: "jamais_vu".into(), ..AccountRef::default() },
            ],
            format: ExportFormat::Stix as i32,
            tlp: Tlp::Green as i32,
            recipient_clearance: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(exported.not_found.len(), 1);
    assert_eq!(exported.accounts_not_found[0].handle, "jamais_vu");
    assert_eq!(exported.media_type, "application/stix+json;version=2.1");
    let out = tempfile::tempdir().unwrap();
    let stix = out.path().join("indicators.stix.json");
    std::fs::write(&stix, &exported.content).unwrap();
    assert!(String::from_utf8_lossy(&exported.content).contains("https://example.org/appel"));

    let account_id = author_id(&vigil).await;
    let actor = TrackingClient::new(vigil.channel().await)
        .create_actor(CreateActorRequest {
            name: "Example outlet".into(),
            kind: ActorKind::Outlet as i32,
            account_ids: vec![account_id],
            ..CreateActorRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .actor
        .unwrap();
    let misp = referrals(vigil.channel().await)
        .export_actor(ExportActorRequest {
            actor_id: actor.actor_id,
            format: ExportFormat::Misp as i32,
            tlp: 0,
            recipient_clearance: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let misp_file = out.path().join("actor.misp.json");
    std::fs::write(&misp_file, &misp.content).unwrap();
    let text = String::from_utf8_lossy(&misp.content);
    assert!(text.contains("canal_exemple"), "{text}");
    // What the actor's account posted comes with it.
    assert!(text.contains("0x52908400098527886e0f7030069857d2e4169ee7"), "{text}");
    check_exports(&[&stix], &[&misp_file]);
    vigil.stop().await;
}

/// (kind, value, marking) of an indicator, or (platform, handle, marking)
/// of an account.
type Marked = (String, String, String);

/// Every indicator and every account in a STIX or MISP export.
fn contents(format: ExportFormat, content: &[u8]) -> (Vec<Marked>, Vec<Marked>) {
    let text = std::str::from_utf8(content).unwrap();
    let set = match format {
        ExportFormat::Stix => vigil_query::exchange::from_stix(text).unwrap(),
        _ => vigil_query::exchange::from_misp_event(text).unwrap(),
    };
    let marking = |tlp: Option<vigil_store::Tlp>| tlp.map_or("none", |tlp| tlp.as_str()).to_owned();
    let mut indicators: Vec<_> = set
        .indicators
        .iter()
        .map(|i| (i.record.key.kind.as_str().to_owned(), i.record.key.value.clone(), marking(i.tlp)))
        .collect();
    let mut accounts: Vec<_> = set
        .accounts
        .iter()
        .map(|a| (a.record.platform.clone(), a.record.handle.clone().unwrap_or_default(), marking(a.tlp)))
        .collect();
    indicators.sort();
    accounts.sort();
    (indicators, accounts)
}

fn vigil_import(data_dir: &Path, file: &Path) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["import", "--data-dir"])
        .arg(data_dir)
        .arg(file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn an_export_imported_elsewhere_keeps_every_indicator_account_and_marking() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    // Every kind extraction finds in a post: a URL and its domain, wallets,
    // an e-mail, a phone, an address, a hashtag, an account, a media hash.
    let text = format!(
        "{TEXT} ou bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4, contact@example.com, +44 20 7946 0018, \
         serveur 192.0.2.10:8080, #Appel, t.me/autre_canal"
    );
    let mut with_media = post("1", &text);
    with_media.media_sha256 = vec!["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()];
    ingest(&vigil, vec![with_media]).await;
    let account_id = author_id(&vigil).await;
    // The whole post as an excerpt names every indicator in it; each is then
    // referred under one of three markings.
    let draft = CreateReferralRequest {
        recipient: "Example CERT".into(),
        recipient_kind: RecipientKind::Authority as i32,
        reason: "financing channel".into(),
        tlp: Tlp::Green as i32,
        items: vec![
            item(Subject::AccountId(account_id)),
            item(Subject::Excerpt(ExcerptRef { document_id: "1".into(), span: None })),
        ],
        ..CreateReferralRequest::default()
    };
    let created = referrals(vigil.channel().await).create_referral(draft).await.unwrap().into_inner();
    let Some(referral_item::Entity::Excerpt(excerpt)) = &created.items[1].entity else { panic!("an excerpt") };
    let markings = [Tlp::Unspecified, Tlp::Amber, Tlp::AmberStrict];
    let items: Vec<ReferralItemRequest> = excerpt
        .indicators
        .iter()
        .enumerate()
        .map(|(index, indicator)| ReferralItemRequest {
            subject: Some(Subject::Indicator(indicator.clone())),
            tlp: markings[index % 3] as i32,
        })
        .collect();
    let kinds: std::collections::BTreeSet<i32> = items
        .iter()
        .filter_map(|item| match &item.subject {
            Some(Subject::Indicator(indicator)) => Some(indicator.kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.len(), 10, "{:?}", excerpt.indicators);
    let kind_name = |kind: i32| {
        let name = IndicatorKind::try_from(kind).unwrap().as_str_name();
        name.trim_start_matches("INDICATOR_KIND_").to_lowercase()
    };
    let marking_name = |tlp: Tlp| match tlp {
        Tlp::Unspecified => "green",
        Tlp::Amber => "amber",
        _ => "amber+strict",
    };
    let mut expected: Vec<Marked> = items
        .iter()
        .filter_map(|item| match &item.subject {
            Some(Subject::Indicator(indicator)) => Some((
                kind_name(indicator.kind),
                indicator.value.clone(),
                marking_name(Tlp::try_from(item.tlp).unwrap()).to_owned(),
            )),
            _ => None,
        })
        .collect();
    expected.sort();
    let referral_id = created.referral.unwrap().referral_id;
    referrals(vigil.channel().await)
        .add_referral_items(AddReferralItemsRequest { referral_id: referral_id.clone(), items, note: String::new() })
        .await
        .unwrap();
    referrals(vigil.channel_as("analyst-b").await)
        .approve_referral(ApproveReferralRequest { referral_id: referral_id.clone(), note: String::new() })
        .await
        .unwrap();
    let mut exports = Vec::new();
    for format in [ExportFormat::Stix, ExportFormat::Misp] {
        let exported = referrals(vigil.channel().await)
            .export_referral(ExportReferralRequest {
                referral_id: referral_id.clone(),
                format: format as i32,
                recipient_clearance: Tlp::AmberStrict as i32,
            })
            .await
            .unwrap()
            .into_inner();
        exports.push((format, exported.content));
    }
    vigil.stop().await;

    for (format, content) in exports {
        let (indicators, accounts) = contents(format, &content);
        assert_eq!(indicators, expected, "{format:?}");
        // The author as an account; in STIX, one user-account stands for an
        // account and its `account` indicator, under the stricter marking.
        assert!(
            accounts
                .iter()
                .any(|(platform, handle, _)| (platform.as_str(), handle.as_str()) == ("telegram", "canal_exemple")),
            "{format:?}: {accounts:?}"
        );

        let elsewhere = tempfile::tempdir().unwrap();
        let file = elsewhere.path().join("export.json");
        std::fs::write(&file, &content).unwrap();
        let data = elsewhere.path().join("data");
        let first = vigil_import(&data, &file);
        let imported = first.split(": ").nth(1).and_then(|rest| rest.split(' ').next()).unwrap().to_owned();
        assert!(first.contains(&format!("{imported} objects imported, 0 already imported")), "{format:?}: {first}");
        assert_ne!(imported, "0", "{format:?}: {first}");
        let again = vigil_import(&data, &file);
        assert!(again.contains(&format!("0 objects imported, {imported} already imported")), "{format:?}: {again}");

        let other = Vigil::start(&data, &[]);
        other.wait_serving().await;
        let request = ExportRecordsRequest {
            indicators: indicators
                .iter()
                .map(|(kind, value, _)| IndicatorRef {
                    kind: IndicatorKind::from_str_name(&format!("INDICATOR_KIND_{}", kind.to_uppercase())).unwrap()
                        as i32,
                    value: value.clone(),
                })
                .collect(),
            accounts: vec![AccountRef {
                platform: "telegram".into(),
                handle: "canal_exemple".into(),
                ..AccountRef::default()
            }],
            format: format as i32,
            // The least marking: what each record was imported under rules.
            tlp: Tlp::Clear as i32,
            recipient_clearance: Tlp::AmberStrict as i32,
        };
        let exported = referrals(other.channel().await).export_records(request).await.unwrap().into_inner();
        assert!(exported.not_found.is_empty() && exported.accounts_not_found.is_empty(), "{exported:?}");
        assert_eq!(contents(format, &exported.content), (indicators, accounts), "{format:?}");
        other.stop().await;
    }
}

/// A MISP feed directory: its manifest lists the events beside it; all are
/// imported, and a second run changes nothing.
#[tokio::test]
async fn a_misp_feed_directory_is_imported_once() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    ingest(&vigil, vec![post("1", TEXT), post("2", "miroir https://mirror.example.net/x #Relais")]).await;
    let feed = tempfile::tempdir().unwrap();
    let mut manifest = serde_json::Map::new();
    for (index, value) in ["https://example.org/appel", "https://mirror.example.net/x"].into_iter().enumerate() {
        let exported = referrals(vigil.channel().await)
            .export_records(ExportRecordsRequest {
                indicators: vec![IndicatorRef { kind: IndicatorKind::Url as i32, value: value.into() }],
                format: ExportFormat::Misp as i32,
                tlp: if index == 0 { Tlp::Green } else { Tlp::Amber } as i32,
                ..ExportRecordsRequest::default()
            })
            .await
            .unwrap()
            .into_inner();
        let event: serde_json::Value = serde_json::from_slice(&exported.content).unwrap();
        let uuid = event["Event"]["uuid"].as_str().unwrap().to_owned();
        std::fs::write(feed.path().join(format!("{uuid}.json")), &exported.content).unwrap();
        manifest.insert(uuid, serde_json::json!({"info": event["Event"]["info"], "timestamp": "1767225600"}));
    }
    vigil.stop().await;
    std::fs::write(feed.path().join("manifest.json"), serde_json::Value::Object(manifest).to_string()).unwrap();

    let data = tempfile::tempdir().unwrap();
    let first = vigil_import(data.path(), feed.path());
    assert_eq!(first.lines().count(), 2, "{first}");
    assert!(
        first.lines().all(|line| line.contains("1 indicators") && line.contains(", 0 already imported")),
        "{first}"
    );
    let again = vigil_import(data.path(), feed.path());
    assert!(again.lines().all(|line| line.contains(": 0 objects imported")), "{again}");

    let other = Vigil::start(data.path(), &[]);
    other.wait_serving().await;
    let exported = referrals(other.channel().await)
        .export_records(ExportRecordsRequest {
            indicators: vec![
                IndicatorRef { kind: IndicatorKind::Url as i32, value: "https://example.org/appel".into() },
                IndicatorRef { kind: IndicatorKind::Url as i32, value: "https://mirror.example.net/x".into() },
            ],
            format: ExportFormat::Misp as i32,
            tlp: Tlp::Clear as i32,
            // Cleared for GREEN: the AMBER event's indicator stays behind.
            recipient_clearance: Tlp::Green as i32,
            ..ExportRecordsRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(exported.not_found.is_empty(), "{exported:?}");
    assert_eq!(exported.withheld.unwrap().indicators, 1);
    let (indicators, _) = contents(ExportFormat::Misp, &exported.content);
    assert_eq!(indicators, vec![("url".into(), "https://example.org/appel".into(), "green".into())]);
    other.stop().await;
}

/// `vigil import` beside a running SQLite server: the server notices the
/// other process's commit and its content checks know the new indicator
/// within seconds, with no restart.
#[tokio::test]
async fn a_running_server_learns_what_vigil_import_stored() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    vigil.wait_for_log("known keys loaded").await;
    let check = || async {
        QueryClient::new(vigil.channel_as("crawler-example").await)
            .check_content(CheckContentRequest {
                text: "voir https://import.example.net/page".into(),
                ..CheckContentRequest::default()
            })
            .await
            .unwrap()
            .into_inner()
            .indicators
    };
    assert!(check().await.is_empty(), "nothing is known yet");
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--0b6a3c43-54d2-4f0e-9b57-4c9b1f7d2a11",
        "objects": [{
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--3c0f5e84-8c2a-4d61-a0f4-6f1b9e2d7c55",
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "pattern": "[url:value = 'https://import.example.net/page']",
            "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z"
        }]
    });
    let file = dir.path().join("partner.stix.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let imported = vigil_import(dir.path(), &file);
    assert!(imported.contains("1 objects imported"), "{imported}");
    let started = std::time::Instant::now();
    loop {
        let found = check().await;
        if found.iter().any(|indicator| indicator.value == "https://import.example.net/page") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the import is not known after 10 s: {found:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vigil.stop().await;
}
