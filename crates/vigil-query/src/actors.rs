//! Actors and sites, the rest of tracking: who is behind accounts, and the
//! sites they point to with their takedown history. Validation here; one
//! store transaction per change.

use vigil_extract::{IndicatorKind, normalize};
use vigil_store::{
    ActorChange, ActorId, ActorKind, ActorOutcome, ActorRecord, ActorView, ChangeNote, IndicatorKey, SiteChange,
    SiteChanged, SiteEvent, SiteRecord, SiteSelector, SiteStatus,
};

use crate::limits::{MAX_FILTER_ENTRIES, MAX_INDICATOR_BYTES, check_bytes, check_count};
use crate::tracking::{
    bounded, checked_label, checked_time, next_token, optional_label, page_fingerprint, parse_page_token,
};
use crate::{QueryError, Tracking};

/// Accounts one actor request may name.
const MAX_ACCOUNTS_PER_REQUEST: usize = 1_000;

/// Who makes a change and why, as a caller gives it.
#[derive(Clone, Debug, Default)]
pub struct ChangeBy {
    pub changed_by: String,
    pub note: String,
}

/// An actor request as a caller gives it: ids as text, names untrimmed.
#[derive(Clone, Debug)]
pub enum ActorRequest {
    Create {
        name: String,
        kind: ActorKind,
        account_ids: Vec<String>,
    },
    Rename {
        actor_id: String,
        name: String,
    },
    /// An empty `actor_id` takes the accounts from their actors.
    Assign {
        actor_id: String,
        account_ids: Vec<String>,
    },
    Merge {
        source_actor_id: String,
        target_actor_id: String,
    },
    Split {
        actor_id: String,
        account_ids: Vec<String>,
        name: String,
        kind: ActorKind,
    },
}

/// What an actor request changed: the actor acted on (none when accounts
/// were only taken from their actors), and for a split the new actor.
#[derive(Clone, Debug)]
pub struct ActorChanged {
    pub actor: Option<ActorRecord>,
    pub new_actor: Option<ActorRecord>,
}

#[derive(Clone, Debug)]
pub struct ActorPage {
    pub actors: Vec<ActorRecord>,
    pub next_page_token: String,
}

/// A site as a caller names it: by id, or by URL or domain as written.
#[derive(Clone, Debug)]
pub enum SiteChoice {
    Id(String),
    Url(String),
    Domain(String),
}

#[derive(Clone, Debug)]
pub enum SiteRequest {
    Record { host_abuse_contact: String, registrar_abuse_contact: String },
    Status { status: SiteStatus, at: Option<i64> },
    TakedownRequested { sent_to: String, at: Option<i64> },
}

#[derive(Clone, Debug)]
pub struct SitePage {
    pub sites: Vec<SiteRecord>,
    pub next_page_token: String,
}

impl Tracking {
    pub async fn change_actors(&self, request: ActorRequest, by: ChangeBy) -> Result<ActorChanged, QueryError> {
        let note = change_note(&by, None)?;
        let change = match request {
            ActorRequest::Create { name, kind, account_ids } => {
                ActorChange::Create { name: actor_name("name", &name)?, kind, accounts: account_ids_of(&account_ids)? }
            }
            ActorRequest::Rename { actor_id, name } => {
                ActorChange::Rename { actor: actor_id_of("actor_id", &actor_id)?, name: actor_name("name", &name)? }
            }
            ActorRequest::Assign { actor_id, account_ids } => ActorChange::Assign {
                actor: match actor_id.trim() {
                    "" => None,
                    id => Some(actor_id_of("actor_id", id)?),
                },
                accounts: non_empty_accounts(&account_ids)?,
            },
            ActorRequest::Merge { source_actor_id, target_actor_id } => ActorChange::Merge {
                source: actor_id_of("source_actor_id", &source_actor_id)?,
                target: actor_id_of("target_actor_id", &target_actor_id)?,
            },
            ActorRequest::Split { actor_id, account_ids, name, kind } => ActorChange::Split {
                actor: actor_id_of("actor_id", &actor_id)?,
                accounts: non_empty_accounts(&account_ids)?,
                name: actor_name("new_actor_name", &name)?,
                kind,
            },
        };
        let moved: Vec<i64> = match &change {
            ActorChange::Create { accounts, .. }
            | ActorChange::Assign { accounts, .. }
            | ActorChange::Split { accounts, .. } => accounts.clone(),
            ActorChange::Rename { .. } | ActorChange::Merge { .. } => Vec::new(),
        };
        let changed = match self.store.change_actors(change, note).await? {
            ActorOutcome::Changed(actor, new_actor) => ActorChanged { actor: Some(actor), new_actor },
            ActorOutcome::Unassigned => ActorChanged { actor: None, new_actor: None },
            ActorOutcome::ActorNotFound(id) => return Err(QueryError::NotFound(format!("actor {id}"))),
            ActorOutcome::AccountNotFound(id) => return Err(QueryError::NotFound(format!("account {id}"))),
            ActorOutcome::ActorMerged(id) => {
                return Err(QueryError::Conflict {
                    field: "actor_id".into(),
                    reason: format!("names actor {id}, which was merged into another; act on that one"),
                });
            }
            ActorOutcome::AccountNotInActor(id) => {
                return Err(QueryError::invalid("account_ids", format!("names account {id}, not one of the actor's")));
            }
            ActorOutcome::SameActor => {
                return Err(QueryError::invalid(
                    "target_actor_id",
                    "is the source actor: an actor is not merged into itself",
                ));
            }
        };
        if !moved.is_empty() {
            self.refresh(&moved).await?;
        }
        Ok(changed)
    }

    pub async fn actor(&self, actor_id: &str, max_entries: u32) -> Result<ActorView, QueryError> {
        let id = actor_id_of("actor_id", actor_id)?;
        let max_entries = bounded("max_events", max_entries, 100, 1_000)?;
        self.store.actor(id, max_entries).await?.ok_or_else(|| QueryError::NotFound(format!("actor {id}")))
    }

    pub async fn list_actors(
        &self,
        page_size: u32,
        page_token: &str,
        include_merged: bool,
    ) -> Result<ActorPage, QueryError> {
        let limit = bounded("page_size", page_size, 50, 500)?;
        let fingerprint = page_fingerprint(&[], &format!("actors|{include_merged}"));
        let after = match page_token.trim() {
            "" => None,
            token => Some(parse_page_token(token, &fingerprint)?),
        };
        let mut actors = self.store.list_actors(after, include_merged, limit + 1).await?;
        let next_page_token = next_token(&mut actors, limit, &fingerprint, |actor| actor.id);
        Ok(ActorPage { actors, next_page_token })
    }

    pub async fn change_site(
        &self,
        site: SiteChoice,
        request: SiteRequest,
        by: ChangeBy,
    ) -> Result<SiteChanged, QueryError> {
        let selector = site_selector(site)?;
        let (change, at) = match request {
            SiteRequest::Record { host_abuse_contact, registrar_abuse_contact } => {
                if matches!(selector, SiteSelector::Id(_)) {
                    return Err(QueryError::invalid("site", "must be a url or a domain to record a site"));
                }
                let change = SiteChange::Contacts {
                    host_abuse_contact: optional_label("host_abuse_contact", &host_abuse_contact)?,
                    registrar_abuse_contact: optional_label("registrar_abuse_contact", &registrar_abuse_contact)?,
                };
                (change, None)
            }
            SiteRequest::Status { status, at } => (SiteChange::Status(status), at),
            SiteRequest::TakedownRequested { sent_to, at } => {
                (SiteChange::TakedownRequested { sent_to: checked_label("sent_to", &sent_to, true)? }, at)
            }
        };
        let note = change_note(&by, at)?;
        let describe = format!("{selector:?}");
        self.store.change_site(selector, change, note).await?.ok_or_else(|| QueryError::NotFound(describe))
    }

    pub async fn site(&self, site: SiteChoice, max_events: u32) -> Result<(SiteRecord, Vec<SiteEvent>), QueryError> {
        let selector = site_selector(site)?;
        let max_events = bounded("max_events", max_events, 50, 500)?;
        let describe = match &selector {
            SiteSelector::Id(id) => format!("site {id}"),
            SiteSelector::Key(key) => format!("site {}", key.value),
        };
        self.store.site_history(selector, max_events).await?.ok_or_else(|| QueryError::NotFound(describe))
    }

    pub async fn list_sites(
        &self,
        statuses: Vec<SiteStatus>,
        page_size: u32,
        page_token: &str,
    ) -> Result<SitePage, QueryError> {
        let limit = bounded("page_size", page_size, 50, 500)?;
        check_count("statuses", statuses.len(), MAX_FILTER_ENTRIES)?;
        let mut statuses = statuses;
        statuses.sort_by_key(|status| status.as_str());
        statuses.dedup();
        let names: Vec<&str> = statuses.iter().map(|status| status.as_str()).collect();
        let fingerprint = page_fingerprint(&names, "sites");
        let after = match page_token.trim() {
            "" => None,
            token => Some(parse_page_token(token, &fingerprint)?),
        };
        let mut sites = self.store.list_sites(statuses, after, limit + 1).await?;
        let next_page_token = next_token(&mut sites, limit, &fingerprint, |site| site.id);
        Ok(SitePage { sites, next_page_token })
    }
}

fn change_note(by: &ChangeBy, at: Option<i64>) -> Result<ChangeNote, QueryError> {
    Ok(ChangeNote {
        changed_by: checked_label("changed_by", &by.changed_by, true)?,
        note: optional_label("note", &by.note)?,
        at: checked_time("at", at)?,
    })
}

fn actor_name(field: &str, name: &str) -> Result<String, QueryError> {
    checked_label(field, name, true)
}

fn actor_id_of(field: &str, id: &str) -> Result<ActorId, QueryError> {
    id.trim().parse().ok().filter(|id| *id > 0).ok_or_else(|| QueryError::invalid(field, "is not an actor id"))
}

fn account_ids_of(ids: &[String]) -> Result<Vec<i64>, QueryError> {
    check_count("account_ids", ids.len(), MAX_ACCOUNTS_PER_REQUEST)?;
    let mut parsed = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        let id: i64 = id
            .trim()
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| QueryError::invalid(format!("account_ids[{index}]"), "is not an account id"))?;
        if !parsed.contains(&id) {
            parsed.push(id);
        }
    }
    Ok(parsed)
}

fn non_empty_accounts(ids: &[String]) -> Result<Vec<i64>, QueryError> {
    let ids = account_ids_of(ids)?;
    if ids.is_empty() {
        return Err(QueryError::invalid("account_ids", "is empty"));
    }
    Ok(ids)
}

fn site_selector(choice: SiteChoice) -> Result<SiteSelector, QueryError> {
    let key = |kind: IndicatorKind, field: &str, raw: &str| {
        check_bytes(field, raw, MAX_INDICATOR_BYTES)?;
        normalize(kind, raw)
            .map(|value| SiteSelector::Key(IndicatorKey { kind, value }))
            .map_err(|error| QueryError::invalid(field, error.to_string()))
    };
    match choice {
        SiteChoice::Id(id) => id
            .trim()
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .map(SiteSelector::Id)
            .ok_or_else(|| QueryError::invalid("site.site_id", "is not a site id")),
        SiteChoice::Url(url) => key(IndicatorKind::Url, "site.url", &url),
        SiteChoice::Domain(domain) => key(IndicatorKind::Domain, "site.domain", &domain),
    }
}
