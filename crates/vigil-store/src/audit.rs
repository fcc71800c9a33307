//! The audit log: every write made by a key holder (and by vigil itself),
//! appended in the same transaction as the write, each entry chained to the
//! one before by SHA-256 so that an edited or deleted entry is detectable.

use sha2::{Digest, Sha256};

use crate::UnixSeconds;

/// What an audited write appends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: UnixSeconds,
    /// The API key's name, or `vigil` for what the service does by itself.
    pub actor: String,
    /// What was done, as `area.verb`: `posts.ingest`, `account.status`, ...
    pub action: String,
    /// The records written, as `kind:id` (ranges as `kind:first-last`),
    /// comma-separated.
    pub records: String,
    /// A short, human summary; never tip text, codes or keys.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub entry: NewAuditEntry,
    pub previous_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// The chain's anchor: the `previous_hash` of entry 1.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The hash of entry `id`, which follows `previous_hash`. Every field is
/// length-prefixed, so no two different entries hash alike by shifting text
/// from one field into the next.
pub fn entry_hash(id: i64, entry: &NewAuditEntry, previous_hash: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"vigil-audit-v1");
    hasher.update(previous_hash);
    hasher.update(id.to_be_bytes());
    hasher.update(entry.at.to_be_bytes());
    for field in [&entry.actor, &entry.action, &entry.records, &entry.detail] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().into()
}

/// Where a chain stops being what was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error(
        "audit entry {id} was expected to follow entry {expected_previous}, but entry {found} is stored before it (an entry was deleted or inserted)"
    )]
    Gap { id: i64, expected_previous: i64, found: i64 },
    #[error("audit entry {id} does not chain to the entry before it (the entry before was edited or deleted)")]
    PreviousHash { id: i64 },
    #[error("audit entry {id} does not match its hash (the entry was edited)")]
    Hash { id: i64 },
}

/// Checks entries page by page, in id order, from the first entry on.
#[derive(Debug)]
pub struct ChainVerifier {
    last_id: i64,
    last_hash: [u8; 32],
    checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { last_id: 0, last_hash: GENESIS_HASH, checked: 0 }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainBreak> {
        if entry.id != self.last_id + 1 {
            return Err(ChainBreak::Gap { id: entry.id, expected_previous: entry.id - 1, found: self.last_id });
        }
        if entry.previous_hash != self.last_hash {
            return Err(ChainBreak::PreviousHash { id: entry.id });
        }
        if entry_hash(entry.id, &entry.entry, &entry.previous_hash) != entry.hash {
            return Err(ChainBreak::Hash { id: entry.id });
        }
        self.last_id = entry.id;
        self.last_hash = entry.hash;
        self.checked += 1;
        Ok(())
    }

    /// The id after which the next page starts.
    pub fn last_id(&self) -> i64 {
        self.last_id
    }

    /// The newest entry's id and hash: an operator who keeps it elsewhere can
    /// later tell whether entries were cut off the end.
    pub fn head(&self) -> (i64, [u8; 32]) {
        (self.last_id, self.last_hash)
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }
}

/// `kind:id` for each id, runs of consecutive ids folded to `kind:first-last`.
pub fn records_of(kind: &str, ids: impl IntoIterator<Item = i64>) -> String {
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut parts = Vec::new();
    let mut index = 0;
    while index < ids.len() {
        let first = ids[index];
        let mut last = first;
        while index + 1 < ids.len() && ids[index + 1] == last + 1 {
            index += 1;
            last = ids[index];
        }
        parts.push(if first == last { format!("{kind}:{first}") } else { format!("{kind}:{first}-{last}") });
        index += 1;
    }
    parts.join(",")
}

/// The entries both engines append for their audited writes: one wording,
/// one place.
pub(crate) mod entries {
    use super::{NewAuditEntry, records_of};
    use crate::model::*;

    fn entry(at: UnixSeconds, actor: &str, action: &str, records: String, detail: String) -> NewAuditEntry {
        NewAuditEntry { at, actor: actor.to_owned(), action: action.to_owned(), records, detail }
    }

    /// `None` when the batch stored nothing new: a replay is not a write.
    pub(crate) fn posts_ingested(at: UnixSeconds, ingested_by: &str, stored: &PostsStored) -> Option<NewAuditEntry> {
        let new: Vec<i64> = stored
            .outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                PostOutcome::Stored(id) => Some(*id),
                PostOutcome::Duplicate(_) => None,
            })
            .collect();
        if new.is_empty() {
            return None;
        }
        let detail = format!("{} posts stored, {} duplicates", new.len(), stored.outcomes.len() - new.len());
        Some(entry(at, ingested_by, "posts.ingest", records_of("document", new), detail))
    }

    pub(crate) fn status_changed(change: &StatusChange, account: &AccountRecord) -> NewAuditEntry {
        let to = change.reported_to.as_deref().map(|to| format!(" to {to}")).unwrap_or_default();
        entry(
            change.at,
            &change.changed_by,
            "account.status",
            format!("account:{}", account.id),
            format!("{}{to}", change.status.as_str()),
        )
    }

    pub(crate) fn snapshot_recorded(snapshot: &NewProfileSnapshot, stored: &SnapshotStored) -> NewAuditEntry {
        let detail = if stored.first_seen { "profile snapshot, account first seen" } else { "profile snapshot" };
        entry(
            snapshot.observed_at,
            &snapshot.changed_by,
            "account.snapshot",
            format!("account:{}", stored.account.id),
            detail.to_owned(),
        )
    }

    pub(crate) fn successors_proposed(alerts: &[AlertRecord]) -> Option<NewAuditEntry> {
        let first = alerts.first()?;
        Some(entry(
            first.raised_at,
            "vigil",
            "successor.propose",
            records_of("successor", alerts.iter().filter_map(|alert| alert.successor()).map(|successor| successor.id)),
            format!("{} successor proposals", alerts.len()),
        ))
    }

    pub(crate) fn successor_reviewed(review: &SuccessorReview) -> NewAuditEntry {
        entry(
            review.at,
            &review.reviewed_by,
            "successor.review",
            format!("successor:{}", review.successor),
            if review.confirm { "confirmed" } else { "rejected" }.to_owned(),
        )
    }

    /// `None` when the change was refused, and so wrote nothing.
    pub(crate) fn actors_changed(
        change: &ActorChange,
        note: &ChangeNote,
        outcome: &ActorOutcome,
    ) -> Option<NewAuditEntry> {
        let mut actors = Vec::new();
        match outcome {
            ActorOutcome::Changed(actor, created) => {
                actors.push(actor.id);
                actors.extend(created.as_ref().map(|c| c.id));
            }
            ActorOutcome::Unassigned => {}
            _ => return None,
        }
        let (verb, accounts, related): (&str, &[AccountId], Option<ActorId>) = match change {
            ActorChange::Create { accounts, .. } => ("create", accounts, None),
            ActorChange::Rename { .. } => ("rename", &[], None),
            ActorChange::Assign { accounts, .. } => ("assign", accounts, None),
            ActorChange::Merge { source, .. } => ("merge", &[], Some(*source)),
            ActorChange::Split { accounts, .. } => ("split", accounts, None),
        };
        actors.extend(related);
        let records = [records_of("actor", actors), records_of("account", accounts.iter().copied())]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(",");
        Some(entry(note.at, &note.changed_by, &format!("actor.{verb}"), records, String::new()))
    }

    pub(crate) fn site_changed(change: &SiteChange, note: &ChangeNote, changed: &SiteChanged) -> NewAuditEntry {
        let (verb, detail) = match change {
            SiteChange::Contacts { .. } => ("contacts", String::new()),
            SiteChange::Status(status) => ("status", status.as_str().to_owned()),
            SiteChange::TakedownRequested { sent_to } => ("takedown", format!("sent to {sent_to}")),
        };
        entry(note.at, &note.changed_by, &format!("site.{verb}"), format!("site:{}", changed.site.id), detail)
    }
}

/// The entries both engines append for referrals.
pub(crate) mod referral_entries {
    use super::{NewAuditEntry, records_of};
    use crate::referral::*;
    use crate::{AccountId, ChangeNote, SiteId};

    pub(crate) fn created(view: &ReferralView) -> NewAuditEntry {
        let referral = &view.referral;
        let verb = if referral.opened_by_document.is_some() { "urgent" } else { "draft" };
        NewAuditEntry {
            at: referral.drafted_at,
            actor: referral.drafted_by.clone(),
            action: format!("referral.{verb}"),
            records: format!("referral:{}", referral.id),
            detail: format!(
                "{} referral to {:?} ({}), {}, {} items",
                referral.priority.as_str(),
                referral.recipient,
                referral.recipient_kind.as_str(),
                referral.tlp.label(),
                view.items.len()
            ),
        }
    }

    pub(crate) fn items_added(referral: ReferralId, count: usize, note: &ChangeNote) -> NewAuditEntry {
        NewAuditEntry {
            at: note.at,
            actor: note.changed_by.clone(),
            action: "referral.items".into(),
            records: format!("referral:{referral}"),
            detail: format!("{count} items added"),
        }
    }

    /// `accounts` and `sites` are those whose status the step changed.
    pub(crate) fn step(step: &ReferralStep, accounts: &[AccountId], sites: &[SiteId]) -> NewAuditEntry {
        let records = [
            format!("referral:{}", step.referral),
            records_of("account", accounts.iter().copied()),
            records_of("site", sites.iter().copied()),
        ]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(",");
        NewAuditEntry {
            at: step.note.at,
            actor: step.note.changed_by.clone(),
            action: format!("referral.{}", ReferralEventKind::of_status(step.status).as_str()),
            records,
            detail: step
                .recipient_reference
                .as_deref()
                .map(|r| format!("recipient reference {r:?}"))
                .unwrap_or_default(),
        }
    }
}

/// The SQL of both engines forbids changing or removing an entry; these are
/// the messages their triggers raise, matched by the tamper test.
pub const APPEND_ONLY_MESSAGE: &str = "the audit log is append-only";

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(actor: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: 1_800_000_000,
            actor: actor.into(),
            action: "account.status".into(),
            records: "account:7".into(),
            detail: "suspended".into(),
        }
    }

    fn chain(actors: &[&str]) -> Vec<AuditEntry> {
        let mut previous = GENESIS_HASH;
        let mut entries = Vec::new();
        for (index, actor) in actors.iter().enumerate() {
            let id = index as i64 + 1;
            let entry = entry(actor);
            let hash = entry_hash(id, &entry, &previous);
            entries.push(AuditEntry { id, entry, previous_hash: previous, hash });
            previous = hash;
        }
        entries
    }

    fn verify(entries: &[AuditEntry]) -> Result<u64, ChainBreak> {
        let mut verifier = ChainVerifier::default();
        for entry in entries {
            verifier.check(entry)?;
        }
        Ok(verifier.checked())
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain(&["a", "b", "c"])), Ok(3));
    }

    #[test]
    fn each_kind_of_tampering_is_caught() {
        let mut edited = chain(&["a", "b", "c"]);
        edited[1].entry.detail = "active".into();
        assert_eq!(verify(&edited), Err(ChainBreak::Hash { id: 2 }));

        // Rehashing the edited entry moves the break to the next one.
        let mut rehashed = edited.clone();
        rehashed[1].hash = entry_hash(2, &rehashed[1].entry, &rehashed[1].previous_hash);
        assert_eq!(verify(&rehashed), Err(ChainBreak::PreviousHash { id: 3 }));

        let mut deleted = chain(&["a", "b", "c"]);
        deleted.remove(1);
        assert_eq!(verify(&deleted), Err(ChainBreak::Gap { id: 3, expected_previous: 2, found: 1 }));

        // Deleting and renumbering still breaks the chain.
        let mut renumbered = deleted.clone();
        renumbered[1].id = 2;
        assert_eq!(verify(&renumbered), Err(ChainBreak::PreviousHash { id: 2 }));
    }

    #[test]
    fn fields_cannot_trade_text() {
        let a = NewAuditEntry { actor: "ab".into(), action: "c".into(), ..entry("") };
        let b = NewAuditEntry { actor: "a".into(), action: "bc".into(), ..entry("") };
        assert_ne!(entry_hash(1, &a, &GENESIS_HASH), entry_hash(1, &b, &GENESIS_HASH));
    }

    #[test]
    fn records_fold_runs() {
        assert_eq!(records_of("document", [5, 3, 4, 9, 11, 10, 3]), "document:3-5,document:9-11");
        assert_eq!(records_of("account", [7]), "account:7");
        assert_eq!(records_of("account", []), "");
    }
}
