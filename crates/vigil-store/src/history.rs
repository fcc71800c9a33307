//! What both engines write into and read out of history rows the same way:
//! events with nothing filled in yet, the text forms of profile links,
//! successor evidence and site kinds, and the order of an actor's timeline.
//! Pure functions only, so SQLite and PostgreSQL cannot drift apart.

use crate::IndicatorKind;
use crate::model::*;

/// Who vigil itself records as the author of the changes it makes.
pub(crate) const VIGIL: &str = "vigil";

/// An event of `kind` on `account_id` with nothing else filled in.
pub(crate) fn plain_event(account_id: AccountId, kind: AccountEventKind, at: UnixSeconds, by: &str) -> AccountEvent {
    AccountEvent {
        id: 0,
        account_id,
        kind,
        at,
        changed_by: by.to_owned(),
        status: None,
        reported_to: None,
        snapshot: None,
        related_account_id: None,
        note: None,
    }
}

/// An actor event of `kind` made by `change`, with nothing else filled in.
pub(crate) fn actor_event(actor_id: ActorId, kind: ActorEventKind, change: &ChangeNote) -> ActorEvent {
    ActorEvent {
        id: 0,
        actor_id,
        kind,
        at: change.at,
        changed_by: change.changed_by.clone(),
        name: None,
        account_id: None,
        related_actor_id: None,
        note: change.note.clone(),
    }
}

/// A snapshot's links as stored: one per line, kind, tab, value.
pub(crate) fn encode_links(links: &[IndicatorKey]) -> String {
    links.iter().map(|link| format!("{}\t{}", link.kind.as_str(), link.value)).collect::<Vec<_>>().join("\n")
}

/// The links [`encode_links`] stored; lines of an unknown kind are skipped.
pub(crate) fn decode_links(encoded: &str) -> Vec<IndicatorKey> {
    encoded
        .lines()
        .filter_map(|line| {
            let (kind, value) = line.split_once('\t')?;
            Some(IndicatorKey { kind: IndicatorKind::from_name(kind)?, value: value.to_owned() })
        })
        .collect()
}

/// A proposal's evidence as stored: one piece per line.
pub(crate) fn encode_evidence(evidence: &[String]) -> String {
    evidence.join("\n")
}

pub(crate) fn decode_evidence(encoded: &str) -> Vec<String> {
    encoded.lines().map(str::to_owned).collect()
}

/// The `site.kind` of a site key: a URL, or else a domain.
pub(crate) fn site_kind_name(key: &IndicatorKey) -> &'static str {
    if key.kind == IndicatorKind::Url { "url" } else { "domain" }
}

pub(crate) fn site_kind_from_name(name: &str) -> IndicatorKind {
    if name == "url" { IndicatorKind::Url } else { IndicatorKind::Domain }
}

/// An actor's timeline, newest first, `max_entries` at most: `entries` are
/// the actor's own events and then its accounts' events (accounts by id),
/// each source newest first. Times order them; ids break ties, and the
/// sort is stable, so equal entries keep the order they were given in.
pub(crate) fn sort_timeline(entries: &mut Vec<TimelineEntry>, max_entries: usize) {
    entries.sort_by_key(|entry| {
        let id = match entry {
            TimelineEntry::Actor(event) => event.id,
            TimelineEntry::Account(event) => event.id,
        };
        std::cmp::Reverse((entry.at(), id))
    });
    entries.truncate(max_entries);
}
