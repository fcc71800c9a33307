//! Referrals: drafted with their items copied, refused whole when one item
//! is wrong, moved one step at a time (approved by someone other than its
//! authors), feeding the tracking of what was referred, and opened by the
//! urgent lane when a stored document has a `threat` category. Every write
//! is an event and an audit entry; every refusal leaves no trace.

use std::sync::Arc;

use vigil_store::audit::records_of;
use vigil_store::{
    AccountEventKind, AccountRecord, AccountSelector, AccountStatus, AlertRecord, AlertSubject, ChangeNote, DocumentId,
    IndicatorKind, NewDocument, NewReferral, NewReferralItem, NewSighting, NewSuccessor, PostOutcome, RecipientKind,
    ReferralEntity, ReferralEvent, ReferralEventKind, ReferralFilter, ReferralId, ReferralOutcome, ReferralPriority,
    ReferralRecord, ReferralStatus, ReferralStep, ReferralSubject, ReferralView, SiteChange, SiteEventKind, SiteRecord,
    SiteSelector, SiteStatus, Span, StatusChange, Store, Tlp, UrgentReferral,
};

use crate::data::{audit_log, ingested, key, note, post_by, snapshot, telegram, tip, verify};
use crate::harness::{self, Engine, EngineOptions};

conformance!(
    a_draft_copies_its_items,
    a_refused_item_changes_nothing,
    four_eyes_approve_a_draft,
    each_step_feeds_tracking_and_the_audit_log,
    a_subject_named_twice_is_changed_once,
    steps_out_of_order_are_refused,
    list_referrals_filters_and_pages,
    without_a_lane_no_referral_opens,
);

conformance!(multi_thread two_approvals_at_once_make_one, an_item_added_while_approving_keeps_four_eyes);

conformance!(with urgent_lane =>
    threat_documents_open_urgent_drafts,
    urgent_and_successor_alerts_share_one_order,
);

/// Where the referrals the tests draft go.
const RECIPIENT: &str = "abuse@example.com";

/// A post with indicators at known byte offsets, and one (a media hash)
/// found outside its text.
const POST_TEXT: &str = "Rendez-vous samedi devant la rédaction. Liste sur https://example.org/liste, \
                         dons bc1qexamplewallet0000000000000000000000 #soutien";
const URL: &str = "https://example.org/liste";
const BTC: &str = "bc1qexamplewallet0000000000000000000000";

/// Arabic: every letter is two bytes.
const ARABIC_TEXT: &str = "بيان عن الإعلام";

fn media_hash() -> String {
    "cd".repeat(32)
}

/// The byte span of `needle` in `text`.
fn span_of(text: &str, needle: &str) -> Span {
    let start = text.find(needle).unwrap_or_else(|| panic!("{needle:?} is in {text:?}"));
    Span { start, end: start + needle.len() }
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

fn note_by(changed_by: &str, at: i64) -> ChangeNote {
    ChangeNote { changed_by: changed_by.into(), note: None, at }
}

fn item(subject: ReferralSubject) -> NewReferralItem {
    NewReferralItem { subject, tlp: None }
}

fn new_referral(items: Vec<NewReferralItem>, drafted: ChangeNote) -> NewReferral {
    NewReferral {
        recipient: RECIPIENT.into(),
        recipient_kind: RecipientKind::Platform,
        reason: "threatens a journalist".into(),
        categories: vec!["threat".into(), "harassment".into()],
        priority: ReferralPriority::High,
        tlp: Tlp::Amber,
        items,
        drafted,
    }
}

fn step(referral: ReferralId, status: ReferralStatus, by: &str, at: i64) -> ReferralStep {
    ReferralStep {
        referral,
        status,
        note: ChangeNote { changed_by: by.into(), note: Some(format!("{} by {by}", status.as_str())), at },
        recipient_reference: None,
    }
}

fn changed(outcome: ReferralOutcome) -> ReferralView {
    match outcome {
        ReferralOutcome::Changed(view) => view,
        other => panic!("expected a change, got {other:?}"),
    }
}

fn every_referral() -> ReferralFilter {
    ReferralFilter { statuses: vec![], priority: None, before: None, limit: 1_000 }
}

/// The account an item names, as the view shows it now.
fn account_in(view: &ReferralView, id: i64) -> &AccountRecord {
    view.items
        .iter()
        .find_map(|item| match &item.entity {
            ReferralEntity::Account(account) if account.id == id => Some(account),
            _ => None,
        })
        .unwrap_or_else(|| panic!("account {id} is an item of {view:?}"))
}

fn site_in(view: &ReferralView) -> &SiteRecord {
    view.items
        .iter()
        .find_map(|item| match &item.entity {
            ReferralEntity::Site(site) => Some(site),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a site is an item of {view:?}"))
}

fn event_kinds(view: &ReferralView) -> Vec<ReferralEventKind> {
    view.events.iter().map(|event| event.kind).collect()
}

/// What the tests refer, stored through the store's own writes.
struct Seeded {
    /// The post of [`POST_TEXT`], by telegram:abu_example.
    post: DocumentId,
    author: AccountRecord,
    /// telegram:bravo_example, author of another post.
    other: AccountRecord,
    /// The domain example.org, with a host abuse contact.
    site: SiteRecord,
}

async fn seed(store: &Arc<dyn Store>) -> Seeded {
    let mut post = post_by("100", "abu_example", POST_TEXT, 1_000);
    post.text_sha256 = sha256_hex(POST_TEXT);
    post.sightings = vec![
        NewSighting { indicator: key(IndicatorKind::Url, URL), span: Some(span_of(POST_TEXT, URL)) },
        NewSighting { indicator: key(IndicatorKind::Btc, BTC), span: Some(span_of(POST_TEXT, BTC)) },
        NewSighting { indicator: key(IndicatorKind::Hashtag, "soutien"), span: Some(span_of(POST_TEXT, "#soutien")) },
        NewSighting { indicator: key(IndicatorKind::Sha256, &media_hash()), span: None },
    ];
    let other = post_by("101", "bravo_example", "Partagez.", 1_100);
    let stored = store.insert_posts(vec![post, other], ingested()).await.unwrap();
    let [PostOutcome::Stored(post), PostOutcome::Stored(_)] = stored.outcomes[..] else {
        panic!("both posts are new: {stored:?}");
    };
    let accounts = store.known_accounts(vec![telegram("abu_example"), telegram("bravo_example")]).await.unwrap();
    let [Some(author), Some(other)] = <[_; 2]>::try_from(accounts).unwrap() else { panic!("both authors are stored") };
    let contacts =
        SiteChange::Contacts { host_abuse_contact: Some("abuse@example.net".into()), registrar_abuse_contact: None };
    let site = SiteSelector::Key(key(IndicatorKind::Domain, "example.org"));
    let site = store.change_site(site, contacts, note(1_200)).await.unwrap().unwrap().site;
    Seeded { post, author, other, site }
}

async fn current_account(store: &Arc<dyn Store>, id: i64) -> AccountRecord {
    store.account_history(AccountSelector::Id(id), 0).await.unwrap().unwrap().account
}

async fn a_draft_copies_its_items(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    let audited = audit_log(store.as_ref()).await.len();
    let quoted = span_of(POST_TEXT, "Liste sur https://example.org/liste");
    let items = vec![
        item(ReferralSubject::Account(seeded.author.id)),
        NewReferralItem { subject: ReferralSubject::Site(seeded.site.id), tlp: Some(Tlp::Green) },
        NewReferralItem { subject: ReferralSubject::Indicator(key(IndicatorKind::Btc, BTC)), tlp: Some(Tlp::Red) },
        NewReferralItem {
            subject: ReferralSubject::Excerpt { document: seeded.post, span: Some(quoted) },
            tlp: Some(Tlp::AmberStrict),
        },
        item(ReferralSubject::Excerpt { document: seeded.post, span: None }),
    ];
    let drafted = ChangeNote { changed_by: "analyst-a".into(), note: Some("from the morning watch".into()), at: 2_000 };
    let view = changed(store.create_referral(new_referral(items, drafted)).await.unwrap());
    let id = view.referral.id;
    assert_eq!(
        view.referral,
        ReferralRecord {
            id,
            recipient: RECIPIENT.into(),
            recipient_kind: RecipientKind::Platform,
            reason: "threatens a journalist".into(),
            categories: vec!["threat".into(), "harassment".into()],
            priority: ReferralPriority::High,
            tlp: Tlp::Amber,
            status: ReferralStatus::Draft,
            status_changed_at: 2_000,
            drafted_by: "analyst-a".into(),
            drafted_at: 2_000,
            approved_by: None,
            approved_at: None,
            recipient_reference: None,
            opened_by_document: None,
            item_count: 5,
        }
    );

    // In the order given, each marked the stricter of its own marking and
    // the referral's.
    assert_eq!(view.items.len(), 5);
    assert!(view.items.windows(2).all(|pair| pair[0].id < pair[1].id), "{:?}", view.items);
    let tlps: Vec<Tlp> = view.items.iter().map(|item| item.tlp).collect();
    assert_eq!(tlps, [Tlp::Amber, Tlp::Amber, Tlp::Red, Tlp::AmberStrict, Tlp::Amber]);
    assert!(view.items.iter().all(|item| (item.added_by.as_str(), item.added_at) == ("analyst-a", 2_000)));
    let author = current_account(store, seeded.author.id).await;
    assert_eq!(view.items[0].entity, ReferralEntity::Account(author.clone()));
    assert_eq!(view.items[1].entity, ReferralEntity::Site(seeded.site.clone()));
    let btc = store.known_indicators(vec![key(IndicatorKind::Btc, BTC)]).await.unwrap();
    assert_eq!(view.items[2].entity, ReferralEntity::Indicator(btc[0].clone()));

    let ReferralEntity::Excerpt(excerpt) = &view.items[3].entity else { panic!("an excerpt: {:?}", view.items[3]) };
    assert_eq!(excerpt.span, Some(quoted));
    assert_eq!(excerpt.text, "Liste sur https://example.org/liste");
    assert_eq!(excerpt.text, POST_TEXT[quoted.start..quoted.end]);
    assert_eq!(excerpt.text_sha256, sha256_hex(&excerpt.text));
    assert_eq!((excerpt.document.id, excerpt.document.sealed), (seeded.post, false));
    assert_eq!(excerpt.document.text_sha256, sha256_hex(POST_TEXT), "the document's SHA-256 at intake");
    assert_eq!(excerpt.document_text, POST_TEXT);
    assert_eq!(excerpt.author.as_ref(), Some(&author));
    assert_eq!(excerpt.indicators, [key(IndicatorKind::Url, URL)], "only what was sighted within the span");

    let ReferralEntity::Excerpt(whole) = &view.items[4].entity else { panic!("an excerpt: {:?}", view.items[4]) };
    assert_eq!((whole.span, whole.text.as_str()), (None, POST_TEXT));
    assert_eq!(whole.text_sha256, sha256_hex(POST_TEXT));
    assert_eq!(whole.document, excerpt.document);
    assert_eq!(
        whole.indicators,
        [
            key(IndicatorKind::Sha256, &media_hash()),
            key(IndicatorKind::Url, URL),
            key(IndicatorKind::Btc, BTC),
            key(IndicatorKind::Hashtag, "soutien"),
        ],
        "the whole text has every indicator, the one found outside the text first"
    );

    assert_eq!(
        view.events,
        [ReferralEvent {
            id: view.events[0].id,
            kind: ReferralEventKind::Drafted,
            at: 2_000,
            by: "analyst-a".into(),
            note: Some("from the morning watch".into()),
        }]
    );
    assert_eq!(store.referral(id).await.unwrap(), Some(view.clone()));
    assert_eq!(store.list_referrals(every_referral()).await.unwrap(), std::slice::from_ref(&view.referral));
    assert_eq!(store.referral(id + 1_000).await.unwrap(), None);

    let entries = audit_log(store.as_ref()).await;
    assert_eq!(entries.len(), audited + 1);
    let entry = &entries[audited].entry;
    assert_eq!((entry.action.as_str(), entry.actor.as_str(), entry.at), ("referral.draft", "analyst-a", 2_000));
    assert_eq!(entry.records, format!("referral:{id}"));
    assert_eq!(entry.detail, format!("high referral to \"{RECIPIENT}\" (platform), TLP:AMBER, 5 items"));
    assert_eq!(verify(&entries), Ok(entries.len() as u64));
}

async fn a_refused_item_changes_nothing(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    let arabic = store.insert_posts(vec![post_by("102", "abu_example", ARABIC_TEXT, 1_300)], ingested()).await;
    let [PostOutcome::Stored(arabic)] = arabic.unwrap().outcomes[..] else { panic!("a new post") };
    let mut sealed = tip("", 1_400, [6; 32]);
    sealed.document.search_text = String::new();
    sealed.document.sealed_text = Some(vec![0, 159, 146, 150, 255]);
    let sealed = store.insert_tip(sealed).await.unwrap().document;
    let draft = changed(
        store
            .create_referral(new_referral(vec![item(ReferralSubject::Account(seeded.author.id))], note(2_000)))
            .await
            .unwrap(),
    );

    let post_bytes = POST_TEXT.len();
    let arabic_bytes = ARABIC_TEXT.len();
    let out_of_range = |document, start, end, text_bytes| {
        let span = Span { start, end };
        (
            ReferralSubject::Excerpt { document, span: Some(span) },
            ReferralOutcome::SpanOutOfRange { document, span, text_bytes },
        )
    };
    let not_found = |subject: ReferralSubject| (subject.clone(), ReferralOutcome::SubjectNotFound(subject));
    let sealed_excerpt =
        |span| (ReferralSubject::Excerpt { document: sealed, span }, ReferralOutcome::SealedDocument(sealed));
    let cases = [
        not_found(ReferralSubject::Account(987_654)),
        not_found(ReferralSubject::Site(987_654)),
        not_found(ReferralSubject::Indicator(key(IndicatorKind::Btc, "bc1qunknownexample"))),
        // Named, but not as this kind of indicator.
        not_found(ReferralSubject::Indicator(key(IndicatorKind::Domain, URL))),
        not_found(ReferralSubject::Excerpt { document: 987_654, span: None }),
        not_found(ReferralSubject::Excerpt { document: 987_654, span: Some(Span { start: 0, end: 1 }) }),
        out_of_range(seeded.post, 0, post_bytes + 1, post_bytes),
        out_of_range(seeded.post, post_bytes + 5, post_bytes + 9, post_bytes),
        out_of_range(seeded.post, 4, 4, post_bytes),
        out_of_range(seeded.post, 9, 4, post_bytes),
        // Inside the first letter, and ending inside the second.
        out_of_range(arabic, 1, 8, arabic_bytes),
        out_of_range(arabic, 0, 3, arabic_bytes),
        out_of_range(arabic, 0, arabic_bytes + 2, arabic_bytes),
        sealed_excerpt(None),
        sealed_excerpt(Some(Span { start: 0, end: 1 })),
    ];
    let audited = audit_log(store.as_ref()).await.len();
    for (subject, refusal) in cases {
        check_refused(store, &draft, audited, subject, refusal).await;
    }

    // On character boundaries, Arabic is quoted like any text.
    let word = span_of(ARABIC_TEXT, "الإعلام");
    let quoted = store
        .add_referral_items(
            draft.referral.id,
            vec![item(ReferralSubject::Excerpt { document: arabic, span: Some(word) })],
            note(3_000),
        )
        .await
        .unwrap();
    let quoted = changed(quoted);
    let ReferralEntity::Excerpt(excerpt) = &quoted.items[1].entity else { panic!("an excerpt: {quoted:?}") };
    assert_eq!((excerpt.text.as_str(), excerpt.document_text.as_str()), ("الإعلام", ARABIC_TEXT));
    assert_eq!(excerpt.text_sha256, sha256_hex("الإعلام"));
}

/// `subject` is refused, with `refusal`, whether a draft is created with it
/// or it is added to `draft`; after either, nothing was written.
async fn check_refused(
    store: &Arc<dyn Store>,
    draft: &ReferralView,
    audited: usize,
    subject: ReferralSubject,
    refusal: ReferralOutcome,
) {
    // The bad item after good ones: none of them is kept.
    let good = item(match &draft.items[0].entity {
        ReferralEntity::Account(account) => ReferralSubject::Account(account.id),
        other => panic!("the draft names an account: {other:?}"),
    });
    let items = vec![good.clone(), good, item(subject.clone())];
    let created = store.create_referral(new_referral(items.clone(), note_by("analyst-b", 3_000))).await.unwrap();
    assert_eq!(created, refusal, "a draft with {subject:?}");
    let added = store.add_referral_items(draft.referral.id, items, note_by("analyst-b", 3_000)).await.unwrap();
    assert_eq!(added, refusal, "{subject:?} added to a draft");
    assert_eq!(
        store.list_referrals(every_referral()).await.unwrap(),
        std::slice::from_ref(&draft.referral),
        "after {subject:?}"
    );
    assert_eq!(store.referral(draft.referral.id).await.unwrap().as_ref(), Some(draft), "after {subject:?}");
    assert_eq!(audit_log(store.as_ref()).await.len(), audited, "after {subject:?}");
}

async fn four_eyes_approve_a_draft(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    let drafted = new_referral(vec![item(ReferralSubject::Account(seeded.author.id))], note_by("analyst-a", 2_000));
    let draft = changed(store.create_referral(drafted).await.unwrap());
    let id = draft.referral.id;
    let audited = audit_log(store.as_ref()).await.len();
    let self_approval = ReferralOutcome::SelfApproval { drafted_by: "analyst-a".into() };
    let approve = |by: &str, at| store.change_referral_status(step(id, ReferralStatus::Approved, by, at));
    assert_eq!(approve("analyst-a", 2_100).await.unwrap(), self_approval, "the drafter may not approve");
    assert_eq!(store.referral(id).await.unwrap().as_ref(), Some(&draft));

    let more = vec![item(ReferralSubject::Account(seeded.other.id))];
    let added = changed(store.add_referral_items(id, more, note_by("analyst-b", 2_200)).await.unwrap());
    assert_eq!((added.referral.status, added.referral.item_count), (ReferralStatus::Draft, 2));
    assert_eq!(added.items[0], draft.items[0]);
    assert_eq!((added.items[1].added_by.as_str(), added.items[1].added_at), ("analyst-b", 2_200));
    assert_eq!(added.items[1].entity, ReferralEntity::Account(seeded.other.clone()));
    assert_eq!(event_kinds(&added), [ReferralEventKind::Drafted, ReferralEventKind::ItemsAdded]);
    assert_eq!((added.events[1].by.as_str(), added.events[1].at), ("analyst-b", 2_200));
    let entries = audit_log(store.as_ref()).await;
    assert_eq!(entries.len(), audited + 1);
    let entry = &entries[audited].entry;
    assert_eq!((entry.action.as_str(), entry.actor.as_str(), entry.at), ("referral.items", "analyst-b", 2_200));
    assert_eq!((entry.records.clone(), entry.detail.as_str()), (format!("referral:{id}"), "1 items added"));

    assert_eq!(approve("analyst-b", 2_300).await.unwrap(), self_approval, "who added items may not approve");
    assert_eq!(store.referral(id).await.unwrap().as_ref(), Some(&added));
    assert_eq!(audit_log(store.as_ref()).await.len(), audited + 1, "a refusal is not audited");

    let approved = changed(approve("analyst-c", 2_400).await.unwrap());
    assert_eq!(
        approved.referral,
        ReferralRecord {
            status: ReferralStatus::Approved,
            status_changed_at: 2_400,
            approved_by: Some("analyst-c".into()),
            approved_at: Some(2_400),
            ..added.referral.clone()
        }
    );
    assert_eq!(approved.items, added.items);
    assert_eq!(approved.events[..2], added.events[..]);
    assert_eq!(
        approved.events[2],
        ReferralEvent {
            id: approved.events[2].id,
            kind: ReferralEventKind::Approved,
            at: 2_400,
            by: "analyst-c".into(),
            note: Some("approved by analyst-c".into()),
        }
    );
    assert!(approved.events[1].id < approved.events[2].id);

    // What was approved is what is sent.
    let late = vec![item(ReferralSubject::Site(seeded.site.id))];
    assert_eq!(
        store.add_referral_items(id, late, note_by("analyst-c", 2_500)).await.unwrap(),
        ReferralOutcome::NotDraft(ReferralStatus::Approved)
    );
    assert_eq!(
        approve("analyst-d", 2_600).await.unwrap(),
        ReferralOutcome::WrongStatus { status: ReferralStatus::Approved, wanted: ReferralStatus::Approved }
    );
    assert_eq!(store.referral(id).await.unwrap(), Some(approved));
    let entries = audit_log(store.as_ref()).await;
    let actions: Vec<&str> = entries[audited..].iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(actions, ["referral.items", "referral.approved"]);
    assert_eq!((entries[audited + 1].entry.actor.as_str(), entries[audited + 1].entry.at), ("analyst-c", 2_400));
    assert_eq!(entries[audited + 1].entry.records, format!("referral:{id}"), "an approval changes nothing else");

    let unknown = 987_654;
    assert_eq!(
        store
            .add_referral_items(unknown, vec![item(ReferralSubject::Site(seeded.site.id))], note(2_700))
            .await
            .unwrap(),
        ReferralOutcome::NotFound
    );
    assert_eq!(
        store.change_referral_status(step(unknown, ReferralStatus::Approved, "analyst-c", 2_700)).await.unwrap(),
        ReferralOutcome::NotFound
    );
    assert_eq!(audit_log(store.as_ref()).await.len(), audited + 2);
}

async fn each_step_feeds_tracking_and_the_audit_log(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    let (author, site) = (seeded.author.id, seeded.site.id);
    // Already suspended: the referral's steps leave it as it is.
    let charlie = store.record_profile_snapshot(snapshot(telegram("charlie_example"), "Charlie", 1_500)).await;
    let charlie = charlie.unwrap().account.id;
    let suspended = StatusChange {
        account: AccountSelector::Id(charlie),
        status: AccountStatus::Suspended,
        reported_to: None,
        at: 1_600,
        changed_by: "analyst-a".into(),
        note: None,
    };
    store.change_account_status(suspended).await.unwrap().unwrap();
    let items = vec![
        item(ReferralSubject::Account(author)),
        item(ReferralSubject::Site(site)),
        item(ReferralSubject::Account(charlie)),
        item(ReferralSubject::Indicator(key(IndicatorKind::Url, URL))),
        item(ReferralSubject::Excerpt { document: seeded.post, span: None }),
    ];
    let id =
        changed(store.create_referral(new_referral(items, note_by("analyst-a", 2_000))).await.unwrap()).referral.id;
    changed(store.change_referral_status(step(id, ReferralStatus::Approved, "analyst-b", 2_100)).await.unwrap());
    let audited = audit_log(store.as_ref()).await.len();

    // Sent: active accounts are reported to the recipient; the site counts
    // a takedown request.
    let sent = changed(store.change_referral_status(step(id, ReferralStatus::Sent, "analyst-b", 2_200)).await.unwrap());
    assert_eq!((sent.referral.status, sent.referral.status_changed_at), (ReferralStatus::Sent, 2_200));
    assert_eq!(sent.referral.approved_by.as_deref(), Some("analyst-b"), "the approval stays");
    let reported = account_in(&sent, author);
    assert_eq!((reported.status, reported.status_changed_at), (AccountStatus::Reported, 2_200));
    assert_eq!(reported, &current_account(store, author).await);
    let history = store.account_history(AccountSelector::Id(author), 10).await.unwrap().unwrap();
    let event = &history.events[0];
    assert_eq!(
        (event.kind, event.status, event.at),
        (AccountEventKind::StatusChanged, Some(AccountStatus::Reported), 2_200)
    );
    assert_eq!((event.reported_to.as_deref(), event.changed_by.as_str()), (Some(RECIPIENT), "analyst-b"));
    assert_eq!(event.note, Some(format!("referral {id}")));
    let untouched = account_in(&sent, charlie);
    assert_eq!((untouched.status, untouched.status_changed_at), (AccountStatus::Suspended, 1_600));
    assert_eq!(site_in(&sent).takedown_requests, 1);
    assert_eq!(site_in(&sent).status, SiteStatus::Online);
    let (_, site_events) = store.site_history(SiteSelector::Id(site), 10).await.unwrap().unwrap();
    let event = &site_events[0];
    assert_eq!(
        (event.kind, event.at, event.changed_by.as_str()),
        (SiteEventKind::TakedownRequested, 2_200, "analyst-b")
    );
    assert_eq!(event.note, Some(format!("sent to {RECIPIENT}")));

    // Acknowledged: the recipient's reference is kept.
    let acknowledge = ReferralStep {
        recipient_reference: Some("EX-2024-0001".into()),
        ..step(id, ReferralStatus::Acknowledged, "analyst-b", 2_300)
    };
    let acknowledged = changed(store.change_referral_status(acknowledge).await.unwrap());
    assert_eq!(acknowledged.referral.status, ReferralStatus::Acknowledged);
    assert_eq!(acknowledged.referral.recipient_reference.as_deref(), Some("EX-2024-0001"));
    assert_eq!(acknowledged.items, sent.items, "an acknowledgement changes nothing referred");

    // Actioned: accounts suspended, sites taken down.
    let actioned =
        changed(store.change_referral_status(step(id, ReferralStatus::Actioned, "analyst-c", 2_400)).await.unwrap());
    assert_eq!((actioned.referral.status, actioned.referral.status_changed_at), (ReferralStatus::Actioned, 2_400));
    assert_eq!(actioned.referral.recipient_reference.as_deref(), Some("EX-2024-0001"), "the reference stays");
    let suspended = account_in(&actioned, author);
    assert_eq!((suspended.status, suspended.status_changed_at), (AccountStatus::Suspended, 2_400));
    let untouched = account_in(&actioned, charlie);
    assert_eq!((untouched.status, untouched.status_changed_at), (AccountStatus::Suspended, 1_600));
    let taken_down = site_in(&actioned);
    assert_eq!((taken_down.status, taken_down.status_changed_at), (SiteStatus::TakenDown, 2_400));
    assert_eq!(taken_down.takedown_requests, 1);
    let history = store.account_history(AccountSelector::Id(author), 10).await.unwrap().unwrap();
    let statuses: Vec<_> =
        history.events.iter().map(|e| (e.kind, e.status, e.at, e.reported_to.as_deref(), e.note.clone())).collect();
    assert_eq!(
        statuses,
        [
            (
                AccountEventKind::StatusChanged,
                Some(AccountStatus::Suspended),
                2_400,
                None,
                Some(format!("referral {id}"))
            ),
            (
                AccountEventKind::StatusChanged,
                Some(AccountStatus::Reported),
                2_200,
                Some(RECIPIENT),
                Some(format!("referral {id}"))
            ),
            (AccountEventKind::FirstSeen, None, 1_000, None, None),
        ]
    );
    let charlie_history = store.account_history(AccountSelector::Id(charlie), 10).await.unwrap().unwrap();
    assert_eq!(charlie_history.events[0].at, 1_600, "no event for an account already suspended");
    let (_, site_events) = store.site_history(SiteSelector::Id(site), 10).await.unwrap().unwrap();
    let event = &site_events[0];
    assert_eq!(
        (event.kind, event.status, event.at),
        (SiteEventKind::StatusChanged, Some(SiteStatus::TakenDown), 2_400)
    );
    assert_eq!((event.changed_by.as_str(), event.note.clone()), ("analyst-c", Some(format!("referral {id}"))));

    // The end: nothing follows `actioned`.
    assert_eq!(
        store.change_referral_status(step(id, ReferralStatus::Rejected, "analyst-c", 2_500)).await.unwrap(),
        ReferralOutcome::WrongStatus { status: ReferralStatus::Actioned, wanted: ReferralStatus::Rejected }
    );
    let view = store.referral(id).await.unwrap().unwrap();
    assert_eq!(view, actioned);
    let events: Vec<_> = view.events.iter().map(|e| (e.kind, e.at, e.by.as_str())).collect();
    assert_eq!(
        events,
        [
            (ReferralEventKind::Drafted, 2_000, "analyst-a"),
            (ReferralEventKind::Approved, 2_100, "analyst-b"),
            (ReferralEventKind::Sent, 2_200, "analyst-b"),
            (ReferralEventKind::Acknowledged, 2_300, "analyst-b"),
            (ReferralEventKind::Actioned, 2_400, "analyst-c"),
        ]
    );

    // Each step is an entry naming the referral and what it changed.
    let entries = audit_log(store.as_ref()).await;
    let steps: Vec<_> = entries[audited..]
        .iter()
        .map(|e| {
            (
                e.entry.action.as_str(),
                e.entry.actor.as_str(),
                e.entry.at,
                e.entry.records.clone(),
                e.entry.detail.as_str(),
            )
        })
        .collect();
    let changed_records = format!("referral:{id},{},{}", records_of("account", [author]), records_of("site", [site]));
    assert_eq!(
        steps,
        [
            ("referral.sent", "analyst-b", 2_200, changed_records.clone(), ""),
            (
                "referral.acknowledged",
                "analyst-b",
                2_300,
                format!("referral:{id}"),
                "recipient reference \"EX-2024-0001\""
            ),
            ("referral.actioned", "analyst-c", 2_400, changed_records, ""),
        ]
    );
    assert_eq!(verify(&entries), Ok(entries.len() as u64));
}

/// One referral is one request: an account or a site named by two of its
/// items is reported, counted and actioned once.
async fn a_subject_named_twice_is_changed_once(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    let (author, site) = (seeded.author.id, seeded.site.id);
    let items = vec![
        item(ReferralSubject::Account(author)),
        item(ReferralSubject::Site(site)),
        item(ReferralSubject::Account(author)),
        NewReferralItem { subject: ReferralSubject::Site(site), tlp: Some(Tlp::Red) },
    ];
    let id =
        changed(store.create_referral(new_referral(items, note_by("analyst-a", 2_000))).await.unwrap()).referral.id;
    changed(store.change_referral_status(step(id, ReferralStatus::Approved, "analyst-b", 2_100)).await.unwrap());
    let sent = changed(store.change_referral_status(step(id, ReferralStatus::Sent, "analyst-b", 2_200)).await.unwrap());
    let actioned =
        changed(store.change_referral_status(step(id, ReferralStatus::Actioned, "analyst-b", 2_300)).await.unwrap());
    assert_eq!(site_in(&actioned).status, SiteStatus::TakenDown);

    let history = store.account_history(AccountSelector::Id(author), 10).await.unwrap().unwrap();
    let account_events = |status| history.events.iter().filter(|e| e.status == Some(status)).count();
    let (_, site_events) = store.site_history(SiteSelector::Id(site), 10).await.unwrap().unwrap();
    let site_events = |kind| site_events.iter().filter(|e| e.kind == kind).count();
    // Counted together, so that a failure shows every count.
    let counts = [
        ("takedown requests once sent", site_in(&sent).takedown_requests as usize),
        ("account events reported", account_events(AccountStatus::Reported)),
        ("account events suspended", account_events(AccountStatus::Suspended)),
        ("site events takedown requested", site_events(SiteEventKind::TakedownRequested)),
        ("site events status changed", site_events(SiteEventKind::StatusChanged)),
    ];
    assert_eq!(counts, counts.map(|(what, _)| (what, 1)), "one change per step and subject");
    let audited = audit_log(store.as_ref()).await;
    let sent_entry = audited.iter().find(|e| e.entry.action == "referral.sent").unwrap();
    assert_eq!(sent_entry.entry.records, format!("referral:{id},account:{author},site:{site}"));
}

/// The legal moves, written out rather than taken from the store.
const LEGAL: [(ReferralStatus, ReferralStatus); 9] = {
    use ReferralStatus::*;
    [
        (Draft, Approved),
        (Draft, Rejected),
        (Approved, Sent),
        (Approved, Rejected),
        (Sent, Acknowledged),
        (Sent, Actioned),
        (Sent, Rejected),
        (Acknowledged, Actioned),
        (Acknowledged, Rejected),
    ]
};

async fn steps_out_of_order_are_refused(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    let mut at = 10_000;
    for &from in ReferralStatus::ALL {
        for &wanted in ReferralStatus::ALL {
            at += 10;
            check_step(store, seeded.author.id, from, wanted, at).await;
        }
    }
    let entries = audit_log(store.as_ref()).await;
    assert_eq!(verify(&entries), Ok(entries.len() as u64));
}

/// A referral brought to `from`, then asked to become `wanted`: a legal
/// move is taken, any other refused with nothing written.
async fn check_step(store: &Arc<dyn Store>, account: i64, from: ReferralStatus, wanted: ReferralStatus, at: i64) {
    use ReferralStatus::*;
    let drafted = new_referral(vec![item(ReferralSubject::Account(account))], note_by("analyst-a", at));
    let id = changed(store.create_referral(drafted).await.unwrap()).referral.id;
    let path: &[ReferralStatus] = match from {
        Draft => &[],
        Approved => &[Approved],
        Sent => &[Approved, Sent],
        Acknowledged => &[Approved, Sent, Acknowledged],
        Actioned => &[Approved, Sent, Actioned],
        Rejected => &[Rejected],
    };
    for &status in path {
        changed(store.change_referral_status(step(id, status, "analyst-b", at)).await.unwrap());
    }
    let before = store.referral(id).await.unwrap().unwrap();
    assert_eq!(before.referral.status, from);
    let audited = audit_log(store.as_ref()).await.len();
    let outcome = store.change_referral_status(step(id, wanted, "analyst-b", at + 1)).await.unwrap();
    if LEGAL.contains(&(from, wanted)) {
        let view = changed(outcome);
        assert_eq!((view.referral.status, view.referral.status_changed_at), (wanted, at + 1), "{from:?} -> {wanted:?}");
        assert_eq!(view.events.last().map(|e| e.kind), Some(ReferralEventKind::of_status(wanted)));
        assert_eq!(audit_log(store.as_ref()).await.len(), audited + 1, "{from:?} -> {wanted:?}");
    } else {
        assert_eq!(outcome, ReferralOutcome::WrongStatus { status: from, wanted }, "{from:?} -> {wanted:?}");
        assert_eq!(store.referral(id).await.unwrap(), Some(before), "{from:?} -> {wanted:?} changes nothing");
        assert_eq!(audit_log(store.as_ref()).await.len(), audited, "{from:?} -> {wanted:?} is not audited");
    }
}

async fn list_referrals_filters_and_pages(engine: Engine) {
    use ReferralPriority::*;
    use ReferralStatus::*;
    let store = &engine.store;
    let seeded = seed(store).await;
    let plan = [
        (Routine, &[][..]),
        (High, &[Approved][..]),
        (Urgent, &[Rejected][..]),
        (Routine, &[Approved, Sent][..]),
        (High, &[][..]),
        (Routine, &[Approved][..]),
    ];
    let mut ids = Vec::new();
    for (n, (priority, path)) in plan.iter().enumerate() {
        let at = 2_000 + 100 * n as i64;
        let drafted = NewReferral {
            priority: *priority,
            ..new_referral(vec![item(ReferralSubject::Site(seeded.site.id))], note_by("analyst-a", at))
        };
        let id = changed(store.create_referral(drafted).await.unwrap()).referral.id;
        for status in *path {
            changed(store.change_referral_status(step(id, *status, "analyst-b", at + 10)).await.unwrap());
        }
        ids.push(id);
    }
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "ids grow: {ids:?}");
    let listed = |filter: ReferralFilter| {
        let store = store.clone();
        async move { store.list_referrals(filter).await.unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>() }
    };
    let at = |indexes: &[usize]| indexes.iter().map(|&index| ids[index]).collect::<Vec<_>>();
    let all = every_referral();
    assert_eq!(listed(all.clone()).await, at(&[5, 4, 3, 2, 1, 0]), "newest first");
    assert_eq!(listed(ReferralFilter { statuses: vec![Draft], ..all.clone() }).await, at(&[4, 0]));
    assert_eq!(listed(ReferralFilter { statuses: vec![Approved, Sent], ..all.clone() }).await, at(&[5, 3, 1]));
    assert_eq!(
        listed(ReferralFilter { statuses: ReferralStatus::ALL.to_vec(), ..all.clone() }).await,
        at(&[5, 4, 3, 2, 1, 0])
    );
    assert!(listed(ReferralFilter { statuses: vec![Actioned, Acknowledged], ..all.clone() }).await.is_empty());
    assert_eq!(listed(ReferralFilter { priority: Some(Routine), ..all.clone() }).await, at(&[5, 3, 0]));
    assert_eq!(listed(ReferralFilter { priority: Some(Urgent), ..all.clone() }).await, at(&[2]));
    let routine_approved = ReferralFilter { statuses: vec![Approved], priority: Some(Routine), ..all.clone() };
    assert_eq!(listed(routine_approved).await, at(&[5]));
    assert_eq!(listed(ReferralFilter { before: Some(ids[3]), ..all.clone() }).await, at(&[2, 1, 0]));
    assert_eq!(listed(ReferralFilter { before: Some(ids[3]), limit: 2, ..all.clone() }).await, at(&[2, 1]));
    let high_before = ReferralFilter { priority: Some(High), before: Some(ids[4]), ..all.clone() };
    assert_eq!(listed(high_before).await, at(&[1]));
    assert!(listed(ReferralFilter { limit: 0, ..all.clone() }).await.is_empty());

    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let page = listed(ReferralFilter { before, limit: 4, ..all.clone() }).await;
        assert!(page.len() <= 4);
        let Some(&last) = page.last() else { break };
        before = Some(last);
        walked.extend(page);
    }
    assert_eq!(walked, at(&[5, 4, 3, 2, 1, 0]));

    // The records listed are the records viewed.
    for record in store.list_referrals(all).await.unwrap() {
        assert_eq!(store.referral(record.id).await.unwrap().unwrap().referral, record);
    }
}

async fn two_approvals_at_once_make_one(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    for round in 0..4 {
        let drafted =
            new_referral(vec![item(ReferralSubject::Account(seeded.author.id))], note_by("analyst-a", 2_000 + round));
        let id = changed(store.create_referral(drafted).await.unwrap()).referral.id;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let approvals = ["analyst-b", "analyst-c"].map(|by| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.change_referral_status(step(id, ReferralStatus::Approved, by, 3_000 + round)).await.unwrap()
            })
        });
        let mut outcomes = Vec::new();
        for approval in approvals {
            outcomes.push(approval.await.unwrap());
        }
        let winners: Vec<&ReferralView> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                ReferralOutcome::Changed(view) => Some(view),
                _ => None,
            })
            .collect();
        assert_eq!(winners.len(), 1, "exactly one approval is taken: {outcomes:?}");
        let refused =
            ReferralOutcome::WrongStatus { status: ReferralStatus::Approved, wanted: ReferralStatus::Approved };
        assert_eq!(outcomes.iter().filter(|outcome| **outcome == refused).count(), 1, "{outcomes:?}");
        let stored = store.referral(id).await.unwrap().unwrap();
        assert_eq!(&stored, winners[0]);
        assert_eq!(event_kinds(&stored), [ReferralEventKind::Drafted, ReferralEventKind::Approved]);
        assert_eq!(stored.referral.approved_by.as_deref(), Some(stored.events[1].by.as_str()));
    }
    let entries = audit_log(store.as_ref()).await;
    assert_eq!(entries.iter().filter(|e| e.entry.action == "referral.approved").count(), 4);
    assert_eq!(verify(&entries), Ok(entries.len() as u64));
}

/// An analyst adds an item while approving the same draft: either the item
/// is added first and the approval is refused as a self-approval, or the
/// approval comes first and the item is refused; never both taken.
async fn an_item_added_while_approving_keeps_four_eyes(engine: Engine) {
    let store = &engine.store;
    let seeded = seed(store).await;
    for round in 0..4 {
        let drafted =
            new_referral(vec![item(ReferralSubject::Account(seeded.author.id))], note_by("analyst-a", 2_000 + round));
        let id = changed(store.create_referral(drafted).await.unwrap()).referral.id;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let adding = {
            let (store, barrier) = (store.clone(), barrier.clone());
            let items = vec![item(ReferralSubject::Site(seeded.site.id))];
            tokio::spawn(async move {
                barrier.wait().await;
                store.add_referral_items(id, items, note_by("analyst-b", 3_000 + round)).await.unwrap()
            })
        };
        let approving = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .change_referral_status(step(id, ReferralStatus::Approved, "analyst-b", 3_000 + round))
                    .await
                    .unwrap()
            })
        };
        let (added, approved) = (adding.await.unwrap(), approving.await.unwrap());
        let stored = store.referral(id).await.unwrap().unwrap();
        match (&added, &approved) {
            (ReferralOutcome::Changed(_), ReferralOutcome::SelfApproval { drafted_by }) => {
                assert_eq!(drafted_by, "analyst-a");
                assert_eq!((stored.referral.status, stored.referral.item_count), (ReferralStatus::Draft, 2));
            }
            (ReferralOutcome::NotDraft(ReferralStatus::Approved), ReferralOutcome::Changed(_)) => {
                assert_eq!((stored.referral.status, stored.referral.item_count), (ReferralStatus::Approved, 1));
            }
            outcomes => panic!("one of the two is refused: {outcomes:?}"),
        }
    }
}

/// The lane the urgent-lane tests open their engines with.
fn lane() -> UrgentReferral {
    UrgentReferral {
        recipient: "duty-officer@example.org".into(),
        recipient_kind: RecipientKind::Authority,
        tlp: Tlp::AmberStrict,
        reason: "threat to life".into(),
    }
}

fn urgent_lane() -> EngineOptions {
    EngineOptions { urgent_lane: Some(lane()) }
}

const THREAT_TEXT: &str = "On sait où tu habites. https://example.org/cible #avertissement";

/// A post by telegram:abu_example with a `threat` category and two
/// indicators.
fn threat_post(platform_post_id: &str, observed_at: i64) -> NewDocument {
    let mut post = post_by(platform_post_id, "abu_example", THREAT_TEXT, observed_at);
    post.categories = vec![("propaganda".into(), 0.4), ("threat".into(), 0.9)];
    post.sightings = vec![
        NewSighting {
            indicator: key(IndicatorKind::Url, "https://example.org/cible"),
            span: Some(span_of(THREAT_TEXT, "https://example.org/cible")),
        },
        NewSighting {
            indicator: key(IndicatorKind::Hashtag, "avertissement"),
            span: Some(span_of(THREAT_TEXT, "#avertissement")),
        },
    ];
    post
}

async fn threat_documents_open_urgent_drafts(engine: Engine) {
    let store = &engine.store;
    let lane = lane();
    let mut calm = post_by("301", "abu_example", "Bonne journée à tous", 5_100);
    calm.categories = vec![("propaganda".into(), 0.7)];
    let stored = store.insert_posts(vec![threat_post("300", 5_000), calm], ingested()).await.unwrap();
    let [PostOutcome::Stored(threat), PostOutcome::Stored(_)] = stored.outcomes[..] else { panic!("{stored:?}") };
    let author = current_account(store, stored.post_authors[0].unwrap()).await;
    let listed = store.list_referrals(every_referral()).await.unwrap();
    assert_eq!(listed.len(), 1, "only the post with `threat` opens one: {listed:?}");
    let at = ingested().at;
    let view = store.referral(listed[0].id).await.unwrap().unwrap();
    let id = view.referral.id;
    assert_eq!(
        view.referral,
        ReferralRecord {
            id,
            recipient: lane.recipient.clone(),
            recipient_kind: RecipientKind::Authority,
            reason: lane.reason.clone(),
            categories: vec!["propaganda".into(), "threat".into()],
            priority: ReferralPriority::Urgent,
            tlp: Tlp::AmberStrict,
            status: ReferralStatus::Draft,
            status_changed_at: at,
            drafted_by: "vigil".into(),
            drafted_at: at,
            approved_by: None,
            approved_at: None,
            recipient_reference: None,
            opened_by_document: Some(threat),
            item_count: 4,
        }
    );
    assert_eq!(listed[0], view.referral);
    assert!(
        view.items
            .iter()
            .all(|item| (item.tlp, item.added_by.as_str(), item.added_at) == (Tlp::AmberStrict, "vigil", at))
    );
    let ReferralEntity::Excerpt(excerpt) = &view.items[0].entity else { panic!("the text first: {view:?}") };
    assert_eq!((excerpt.span, excerpt.text.as_str(), excerpt.document.id), (None, THREAT_TEXT, threat));
    assert_eq!(excerpt.text_sha256, sha256_hex(THREAT_TEXT));
    assert_eq!(excerpt.author.as_ref(), Some(&author));
    let indicators =
        [key(IndicatorKind::Url, "https://example.org/cible"), key(IndicatorKind::Hashtag, "avertissement")];
    assert_eq!(excerpt.indicators, indicators);
    assert_eq!(view.items[1].entity, ReferralEntity::Account(author.clone()));
    let known = store.known_indicators(indicators.to_vec()).await.unwrap();
    for (item, indicator) in view.items[2..].iter().zip(&indicators) {
        let record = known.iter().find(|record| record.kind == indicator.kind && record.value == indicator.value);
        assert_eq!(item.entity, ReferralEntity::Indicator(record.unwrap().clone()));
    }
    assert_eq!(
        view.events,
        [ReferralEvent {
            id: view.events[0].id,
            kind: ReferralEventKind::Drafted,
            at,
            by: "vigil".into(),
            note: Some(format!("opened by document {threat}")),
        }]
    );
    let alert_id = store.last_alert_id().await.unwrap();
    assert_eq!(
        store.alerts_after(0, 10).await.unwrap(),
        [AlertRecord { id: alert_id, raised_at: at, subject: AlertSubject::UrgentReferral(view.referral.clone()) }]
    );
    let entries = audit_log(store.as_ref()).await;
    let urgent: Vec<_> = entries.iter().filter(|e| e.entry.action == "referral.urgent").collect();
    assert_eq!(urgent.len(), 1, "{entries:?}");
    assert_eq!((urgent[0].entry.actor.as_str(), urgent[0].entry.at), ("vigil", at));
    assert_eq!(urgent[0].entry.records, format!("referral:{id}"));

    // A replay stores nothing, so it opens nothing.
    let replay = store.insert_posts(vec![threat_post("300", 5_000)], note_by("crawler-a", 5_500)).await.unwrap();
    assert_eq!(replay.outcomes, [PostOutcome::Duplicate(threat)]);
    assert_eq!(store.list_referrals(every_referral()).await.unwrap().len(), 1);
    assert_eq!(store.last_alert_id().await.unwrap(), alert_id);

    // A sealed tip is referred by its indicators: its text is not readable.
    let mut sealed = tip("", 6_000, [7; 32]);
    sealed.document.search_text = String::new();
    sealed.document.sealed_text = Some(vec![1, 2, 3, 4]);
    sealed.document.categories = vec![("threat".into(), 0.95)];
    let sealed = store.insert_tip(sealed).await.unwrap().document;
    let newest = store.list_referrals(ReferralFilter { limit: 1, ..every_referral() }).await.unwrap();
    let sealed_view = store.referral(newest[0].id).await.unwrap().unwrap();
    assert_eq!(sealed_view.referral.opened_by_document, Some(sealed));
    assert_eq!((sealed_view.referral.priority, sealed_view.referral.drafted_at), (ReferralPriority::Urgent, 6_000));
    let entities: Vec<_> = sealed_view.items.iter().map(|item| &item.entity).collect();
    assert!(
        matches!(&entities[..], [ReferralEntity::Indicator(url)] if url.value == "https://example.org/x"),
        "no excerpt, no author: {entities:?}"
    );

    // A follow-up with a threat opens its own.
    let mut follow_up = tip("Il a dit qu'il viendrait demain", 6_500, [8; 32]).document;
    follow_up.categories = vec![("threat".into(), 0.8)];
    let follow_up = store.add_tip_follow_up(sealed, follow_up).await.unwrap().unwrap().document;
    let newest = store.list_referrals(ReferralFilter { limit: 1, ..every_referral() }).await.unwrap();
    let follow_up_view = store.referral(newest[0].id).await.unwrap().unwrap();
    assert_eq!(follow_up_view.referral.opened_by_document, Some(follow_up));
    let ReferralEntity::Excerpt(excerpt) = &follow_up_view.items[0].entity else { panic!("{follow_up_view:?}") };
    assert_eq!((excerpt.text.as_str(), excerpt.author.as_ref()), ("Il a dit qu'il viendrait demain", None));
    assert_eq!(follow_up_view.items.len(), 2);

    let alerts = store.alerts_after(0, 10).await.unwrap();
    let opened: Vec<_> = alerts
        .iter()
        .map(|alert| match &alert.subject {
            AlertSubject::UrgentReferral(record) => (record.opened_by_document, alert.raised_at),
            other => panic!("an urgent referral: {other:?}"),
        })
        .collect();
    assert_eq!(opened, [(Some(threat), at), (Some(sealed), 6_000), (Some(follow_up), 6_500)]);

    // The drafter is vigil: any analyst may approve.
    let approved =
        changed(store.change_referral_status(step(id, ReferralStatus::Approved, "analyst-a", 7_000)).await.unwrap());
    assert_eq!(approved.referral.approved_by.as_deref(), Some("analyst-a"));
    let entries = audit_log(store.as_ref()).await;
    assert_eq!(entries.iter().filter(|e| e.entry.action == "referral.urgent").count(), 3);
    assert_eq!(verify(&entries), Ok(entries.len() as u64));
}

async fn urgent_and_successor_alerts_share_one_order(engine: Engine) {
    let store = &engine.store;
    let mut accounts = Vec::new();
    for n in 0..3 {
        let handle = format!("relay_{n}_example");
        accounts.push(
            store.record_profile_snapshot(snapshot(telegram(&handle), "Relay", 100 + n)).await.unwrap().account.id,
        );
    }
    let proposal = |account, found_at| NewSuccessor {
        account,
        predecessor: accounts[0],
        score: 0.9,
        evidence: vec!["same avatar".into()],
        explanation: "same avatar".into(),
        found_at,
    };
    let mut raised = Vec::new();
    let urgent_post =
        |n: i64| store.insert_posts(vec![threat_post(&format!("40{n}"), 1_000 * n)], note_by("crawler-a", 1_000 * n));
    urgent_post(1).await.unwrap();
    raised.extend(store.propose_successors(vec![proposal(accounts[1], 2_000)]).await.unwrap());
    urgent_post(3).await.unwrap();
    urgent_post(4).await.unwrap();
    raised.extend(store.propose_successors(vec![proposal(accounts[2], 5_000)]).await.unwrap());
    urgent_post(6).await.unwrap();
    assert_eq!(raised.len(), 2);

    let all = store.alerts_after(0, 100).await.unwrap();
    let kinds: Vec<_> = all
        .iter()
        .map(|alert| match &alert.subject {
            AlertSubject::Successor(_) => "successor",
            AlertSubject::UrgentReferral(_) => "urgent",
        })
        .collect();
    assert_eq!(kinds, ["urgent", "successor", "urgent", "urgent", "successor", "urgent"]);
    assert!(all.windows(2).all(|pair| pair[0].id < pair[1].id), "in id order: {all:?}");
    let times: Vec<_> = all.iter().map(|alert| alert.raised_at).collect();
    assert_eq!(times, [1_000, 2_000, 3_000, 4_000, 5_000, 6_000]);
    assert_eq!((&all[1], &all[4]), (&raised[0], &raised[1]));
    let referrals = store.list_referrals(every_referral()).await.unwrap();
    let urgent: Vec<_> = all
        .iter()
        .filter_map(|alert| match &alert.subject {
            AlertSubject::UrgentReferral(record) => Some(record.clone()),
            AlertSubject::Successor(_) => None,
        })
        .collect();
    assert_eq!(urgent, referrals.into_iter().rev().collect::<Vec<_>>());
    assert_eq!(store.last_alert_id().await.unwrap(), all[5].id);

    for limit in [1, 2, 4] {
        let mut walked = Vec::new();
        let mut after = 0;
        loop {
            let page = store.alerts_after(after, limit).await.unwrap();
            assert!(page.len() <= limit);
            let Some(last) = page.last() else { break };
            after = last.id;
            walked.extend(page);
        }
        assert_eq!(walked, all, "pages of {limit}");
    }
    assert_eq!(store.alerts_after(all[0].id, 2).await.unwrap(), all[1..3]);
    assert_eq!(store.alerts_after(all[1].id, 1).await.unwrap(), all[2..3]);
    assert_eq!(store.alerts_after(all[3].id, 1).await.unwrap(), all[4..5]);
    assert!(store.alerts_after(all[5].id, 10).await.unwrap().is_empty());
}

async fn without_a_lane_no_referral_opens(engine: Engine) {
    let store = &engine.store;
    store.insert_posts(vec![threat_post("500", 5_000)], ingested()).await.unwrap();
    let mut threat_tip = tip("Il viendra demain", 6_000, [9; 32]);
    threat_tip.document.categories = vec![("threat".into(), 0.95)];
    store.insert_tip(threat_tip).await.unwrap();
    assert!(store.list_referrals(every_referral()).await.unwrap().is_empty());
    assert!(store.alerts_after(0, 10).await.unwrap().is_empty());
    assert_eq!(store.last_alert_id().await.unwrap(), 0);
    let entries = audit_log(store.as_ref()).await;
    assert!(entries.iter().all(|e| !e.entry.action.starts_with("referral.")), "{entries:?}");
}

/// The same writes on both engines, lane and all, give the same answers:
/// the same outcomes, views, lists, alerts and audit log, ids included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_keep_the_same_referrals() {
    let (sqlite, postgres) = (harness::sqlite_with(urgent_lane()).await, harness::postgres_with(urgent_lane()).await);
    let said = (play(&sqlite).await, play(&postgres).await);
    same_lines("what the writes said", said.0, said.1);
    same_lines("what is stored", stored_view(&sqlite).await, stored_view(&postgres).await);
}

/// A sequence of referral writes, with refusals; what each said.
async fn play(engine: &Engine) -> Vec<String> {
    let store = &engine.store;
    let seeded = seed(store).await;
    let mut said = Vec::new();
    let stored = store.insert_posts(vec![threat_post("600", 1_500), threat_post("600", 1_500)], ingested()).await;
    said.push(format!("{:?}", stored.unwrap().outcomes));
    let arabic = store.insert_posts(vec![post_by("601", "bravo_example", ARABIC_TEXT, 1_600)], ingested()).await;
    let [PostOutcome::Stored(arabic)] = arabic.unwrap().outcomes[..] else { panic!("a new post") };
    let quoted = span_of(POST_TEXT, "dons bc1qexamplewallet0000000000000000000000 #soutien");
    let items = vec![
        item(ReferralSubject::Account(seeded.author.id)),
        item(ReferralSubject::Account(seeded.other.id)),
        NewReferralItem { subject: ReferralSubject::Site(seeded.site.id), tlp: Some(Tlp::Red) },
        item(ReferralSubject::Excerpt { document: seeded.post, span: Some(quoted) }),
        item(ReferralSubject::Excerpt { document: arabic, span: Some(span_of(ARABIC_TEXT, "بيان")) }),
    ];
    let first = store.create_referral(new_referral(items, note_by("analyst-a", 2_000))).await.unwrap();
    let first_id = changed(first.clone()).referral.id;
    said.push(format!("{first:?}"));
    let second = NewReferral {
        recipient: "abuse@example.net".into(),
        recipient_kind: RecipientKind::HostingProvider,
        priority: ReferralPriority::Routine,
        tlp: Tlp::Green,
        ..new_referral(vec![item(ReferralSubject::Site(seeded.site.id))], note_by("analyst-b", 2_100))
    };
    let second = store.create_referral(second).await.unwrap();
    let second_id = changed(second.clone()).referral.id;
    said.push(format!("{second:?}"));
    let refused = [
        item(ReferralSubject::Excerpt { document: arabic, span: Some(Span { start: 1, end: 4 }) }),
        item(ReferralSubject::Account(987_654)),
    ];
    for bad in refused {
        said.push(format!("{:?}", store.create_referral(new_referral(vec![bad.clone()], note(2_200))).await.unwrap()));
        said.push(format!("{:?}", store.add_referral_items(first_id, vec![bad], note(2_200)).await.unwrap()));
    }
    let added = store
        .add_referral_items(
            first_id,
            vec![item(ReferralSubject::Indicator(key(IndicatorKind::Btc, BTC)))],
            note_by("analyst-c", 2_300),
        )
        .await
        .unwrap();
    said.push(format!("{added:?}"));
    let steps = [
        step(first_id, ReferralStatus::Approved, "analyst-c", 2_400),
        step(first_id, ReferralStatus::Sent, "analyst-d", 2_500),
        step(first_id, ReferralStatus::Approved, "analyst-d", 2_600),
        step(second_id, ReferralStatus::Approved, "analyst-a", 2_700),
        step(second_id, ReferralStatus::Sent, "analyst-a", 2_800),
        ReferralStep {
            recipient_reference: Some("EX-0042".into()),
            ..step(first_id, ReferralStatus::Acknowledged, "analyst-d", 2_900)
        },
        step(first_id, ReferralStatus::Actioned, "analyst-d", 3_000),
        step(second_id, ReferralStatus::Rejected, "analyst-a", 3_100),
        step(second_id, ReferralStatus::Actioned, "analyst-a", 3_200),
    ];
    for step in steps {
        said.push(format!("{:?}", store.change_referral_status(step).await.unwrap()));
    }
    let mut follow_up = tip("Il viendra demain", 3_300, [5; 32]);
    follow_up.document.categories = vec![("threat".into(), 0.7)];
    said.push(format!("{:?}", store.insert_tip(follow_up).await.unwrap().document));
    said
}

/// Everything the store answers about referrals, and what they changed.
async fn stored_view(engine: &Engine) -> Vec<String> {
    let store = &engine.store;
    let mut view = Vec::new();
    let listed = store.list_referrals(every_referral()).await.unwrap();
    for record in &listed {
        view.push(format!("{:?}", store.referral(record.id).await.unwrap()));
    }
    for status in ReferralStatus::ALL {
        let filter = ReferralFilter { statuses: vec![*status], ..every_referral() };
        view.push(format!("{status:?}: {:?}", store.list_referrals(filter).await.unwrap()));
    }
    for priority in ReferralPriority::ALL {
        let filter = ReferralFilter { priority: Some(*priority), ..every_referral() };
        view.push(format!("{priority:?}: {:?}", store.list_referrals(filter).await.unwrap()));
    }
    view.push(format!("alerts {:?}", store.alerts_after(0, 100).await.unwrap()));
    for handle in ["abu_example", "bravo_example"] {
        let history = store.account_history(AccountSelector::Key(telegram(handle)), 100).await.unwrap();
        view.push(format!("{:?}", history.map(|h| (h.account, h.events))));
    }
    for site in store.list_sites(vec![], None, 100).await.unwrap() {
        view.push(format!("{:?}", store.site_history(SiteSelector::Id(site.id), 100).await.unwrap()));
    }
    view.extend(audit_log(store.as_ref()).await.iter().map(|entry| format!("{entry:?}")));
    view
}

/// Asserts both engines said the same, line by line, showing every line
/// that differs.
fn same_lines(what: &str, sqlite: Vec<String>, postgres: Vec<String>) {
    if sqlite == postgres {
        return;
    }
    let mut differences = String::new();
    for line in 0..sqlite.len().max(postgres.len()) {
        let (a, b) = (sqlite.get(line), postgres.get(line));
        if a != b {
            differences.push_str(&format!("line {line}:\n  SQLite:     {a:?}\n  PostgreSQL: {b:?}\n"));
        }
    }
    panic!("{what}: SQLite and PostgreSQL differ\n{differences}");
}
