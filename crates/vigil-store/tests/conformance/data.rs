//! Test data: reserved names only (example.org, 192.0.2.0/24, made-up
//! handles), built the way the query layer builds it.

use vigil_extract::fold_for_search;
use vigil_store::audit::{AuditEntry, ChainBreak, ChainVerifier};
use vigil_store::{
    AccountKey, ChangeNote, DocumentKind, IndicatorKey, IndicatorKind, NewDocument, NewProfileSnapshot, NewSighting,
    NewTip, ProfileSnapshot, ReceiptDigest, SearchOrder, SearchQuery, Span, UnixSeconds,
};

pub fn telegram(handle: &str) -> AccountKey {
    AccountKey { platform: "telegram".into(), handle: Some(handle.into()), platform_account_id: None }
}

pub fn key(kind: IndicatorKind, value: &str) -> IndicatorKey {
    IndicatorKey { kind, value: value.into() }
}

pub fn sighting(kind: IndicatorKind, value: &str) -> NewSighting {
    NewSighting { indicator: key(kind, value), span: Some(Span { start: 0, end: 1 }) }
}

/// A French post by telegram:example_channel, its search text folded as
/// intake folds it.
pub fn post(platform_post_id: &str, text: &str, observed_at: UnixSeconds) -> NewDocument {
    NewDocument {
        kind: DocumentKind::Post,
        platform: Some("telegram".into()),
        platform_post_id: Some(platform_post_id.into()),
        author: Some(telegram("example_channel")),
        url: Some(format!("https://t.me/example_channel/{platform_post_id}")),
        text: text.into(),
        text_sha256: format!("{:064x}", text.len()),
        language: Some("fr".into()),
        observed_at,
        search_text: fold_for_search(text).into_owned(),
        sightings: vec![],
        categories: vec![],
        mentioned_accounts: vec![],
        sealed_text: None,
    }
}

pub fn post_by(platform_post_id: &str, author: &str, text: &str, observed_at: UnixSeconds) -> NewDocument {
    NewDocument { author: Some(telegram(author)), ..post(platform_post_id, text, observed_at) }
}

/// A tip whose receipt locator hashes to `locator_hash`.
pub fn tip(text: &str, observed_at: UnixSeconds, locator_hash: [u8; 32]) -> NewTip {
    let document = NewDocument {
        kind: DocumentKind::Tip,
        platform: None,
        platform_post_id: None,
        author: None,
        url: None,
        sightings: vec![sighting(IndicatorKind::Url, "https://example.org/x")],
        ..post("unused", text, observed_at)
    };
    // The store keeps the secret's hash as given; it never checks it.
    let secret_hash = Some(format!("$argon2id$v=19$m=19456,t=2,p=1$test${}", locator_hash[0]));
    NewTip { document, receipt: ReceiptDigest { locator_hash, secret_hash } }
}

/// Every document, newest first.
pub fn search_all() -> SearchQuery {
    SearchQuery {
        phrases: vec![],
        kinds: vec![],
        languages: vec![],
        categories: vec![],
        observed_from: None,
        observed_until: None,
        order: SearchOrder::Newest,
        limit: 1_000,
        after: None,
    }
}

/// Documents holding every phrase, folded as the query layer folds them.
pub fn search(phrases: &[&str]) -> SearchQuery {
    SearchQuery { phrases: phrases.iter().map(|phrase| fold_for_search(phrase).into_owned()).collect(), ..search_all() }
}

pub fn note(at: UnixSeconds) -> ChangeNote {
    ChangeNote { changed_by: "analyst-a".into(), note: None, at }
}

pub fn snapshot(account: AccountKey, display_name: &str, at: UnixSeconds) -> NewProfileSnapshot {
    NewProfileSnapshot {
        account,
        snapshot: ProfileSnapshot {
            display_name: Some(display_name.into()),
            bio: Some("canal https://example.org/a".into()),
            avatar_sha256: Some("ab".repeat(32)),
            links: vec![key(IndicatorKind::Url, "https://example.org/a")],
        },
        observed_at: at,
        changed_by: "crawler-example".into(),
    }
}

/// Who sends the posts the tests store.
pub fn ingested() -> ChangeNote {
    ChangeNote { changed_by: "crawler-a".into(), note: None, at: 1_700_000_000 }
}

/// The whole audit log, read two entries a page so that paging is read
/// too.
pub async fn audit_log(store: &dyn vigil_store::Store) -> Vec<AuditEntry> {
    let mut all = Vec::new();
    loop {
        let page = store.audit_entries(all.last().map_or(0, |e: &AuditEntry| e.id), 2).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// How many entries chain, or where the chain breaks.
pub fn verify(entries: &[AuditEntry]) -> Result<u64, ChainBreak> {
    let mut verifier = ChainVerifier::default();
    for entry in entries {
        verifier.check(entry)?;
    }
    Ok(verifier.checked())
}
