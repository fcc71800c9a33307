//! Tracking: account lifecycle, profile snapshots, successor detection and
//! the alerts it raises.
//!
//! Successor detection runs whenever an account is stored for the first
//! time (named in a tip, writing or named in a post, or seen by a crawler):
//! the account is scored against every known one through the in-memory
//! [`SuccessorIndex`], and each proposal above the threshold is stored with
//! an alert and pushed to every [`AlertWatch`] at once.
//!
//! Several replicas may share one store: each keeps its own index, and the
//! store tells it what the others changed ([`Store::changes`]), so accounts
//! another replica met are candidates here too and its alerts reach the
//! watchers here.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{Mutex, broadcast, watch};
use vigil_extract::IndicatorKind;
use vigil_store::{
    AccountEvent, AccountFilter, AccountHistory, AccountId, AccountRecord, AccountSelector, AccountStatus, AlertId,
    AlertRecord, AlertSubject, IndicatorKey, NewProfileSnapshot, NewSuccessor, ProfileSnapshot, ReviewOutcome,
    StatusChange, Store, StoreChange, SuccessorRecord, SuccessorReview, TrackedAccount, UnixSeconds,
};

use crate::limits::{MAX_FILTER_ENTRIES, MAX_PAGE_TOKEN_BYTES, check_bytes, check_count};
use crate::sightings::{account_key, normalize_platform};
use crate::successor::{AccountProfile, SuccessorIndex, SuccessorSettings};
use crate::{AccountRef, Caller, QueryError};
use vigil_store::Role;

/// How tracking reads and what it lets through.
#[derive(Clone, Debug)]
pub struct TrackingSettings {
    pub successor: SuccessorSettings,
    /// How far back an account's posts count as evidence.
    pub posted_window_secs: i64,
    /// Indicators kept per account for that evidence.
    pub max_posted_per_account: usize,
    /// Alerts a slow watcher may fall behind by before it reads them back
    /// from storage instead of from memory.
    pub alert_buffer: usize,
}

impl Default for TrackingSettings {
    fn default() -> TrackingSettings {
        TrackingSettings {
            successor: SuccessorSettings::default(),
            posted_window_secs: 30 * 86_400,
            max_posted_per_account: 200,
            alert_buffer: 1_024,
        }
    }
}

/// Longest free-text field (names, notes, who made a change).
const MAX_LABEL_BYTES: usize = 256;
const MAX_BIO_BYTES: usize = 4_096;
const MAX_DISPLAY_NAME_BYTES: usize = 512;
/// Alerts read back from storage at a time when resuming.
const ALERT_PAGE: usize = 500;

/// The tracking service. Cheap to clone: clones share the index and the
/// alert channel.
#[derive(Clone, Debug)]
pub struct Tracking {
    pub(crate) store: Arc<dyn Store>,
    settings: TrackingSettings,
    index: Arc<RwLock<SuccessorIndex>>,
    /// Every (predecessor, account) pair ever proposed: never proposed again,
    /// whether it is pending, confirmed or rejected.
    proposed: Arc<RwLock<HashSet<(AccountId, AccountId)>>>,
    alerts: broadcast::Sender<AlertRecord>,
    /// The newest alert sent to watchers. Held from storing alerts until
    /// they are sent, so that watchers get alerts in id order.
    published: Arc<Mutex<AlertId>>,
    /// Set at shutdown: every watch ends.
    stopping: Arc<watch::Sender<bool>>,
}

impl Tracking {
    /// Loads every account into the successor index. Run once at start-up.
    pub async fn open(store: Arc<dyn Store>, settings: TrackingSettings) -> Result<Tracking, QueryError> {
        // Subscribed before reading. The listener may start listening only
        // after the reads below, so it announces a resync once it does: a
        // change made in between is read again then, not lost.
        let changes = store.changes();
        let index = Self::load_index(&store, &settings).await?;
        let proposed = store.proposed_successor_pairs().await?.into_iter().collect();
        let published = store.last_alert_id().await?;
        let (alerts, _) = broadcast::channel(settings.alert_buffer.max(1));
        let tracking = Tracking {
            store,
            settings,
            index: Arc::new(RwLock::new(index)),
            proposed: Arc::new(RwLock::new(proposed)),
            alerts,
            published: Arc::new(Mutex::new(published)),
            stopping: Arc::new(watch::Sender::new(false)),
        };
        if let Some(changes) = changes {
            tokio::spawn(tracking.clone().follow(changes));
        }
        Ok(tracking)
    }

    async fn load_index(store: &Arc<dyn Store>, settings: &TrackingSettings) -> Result<SuccessorIndex, QueryError> {
        let since = now() - settings.posted_window_secs;
        let accounts = store.tracked_accounts(None, since, settings.max_posted_per_account).await?;
        let mut index = SuccessorIndex::new(settings.successor.clone());
        for account in &accounts {
            add_to_index(&mut index, account);
        }
        tracing::info!(accounts = accounts.len(), "successor index loaded");
        Ok(index)
    }

    /// Applies what other replicas changed until the server stops.
    async fn follow(self, mut changes: broadcast::Receiver<StoreChange>) {
        let mut stopping = self.stopping.subscribe();
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                _ = stopping.wait_for(|stopping| *stopping) => return,
            };
            let applied = match change {
                Ok(StoreChange::Accounts(ids)) => self.refresh(&ids).await,
                Ok(StoreChange::Alerts(_)) => self.publish_alerts().await,
                // Missed notices: read everything again.
                Ok(StoreChange::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => self.resync().await,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if let Err(error) = applied {
                tracing::warn!(%error, "could not apply another replica's change");
            }
        }
    }

    async fn resync(&self) -> Result<(), QueryError> {
        let index = Self::load_index(&self.store, &self.settings).await?;
        let proposed: HashSet<_> = self.store.proposed_successor_pairs().await?.into_iter().collect();
        *self.index.write().map_err(|_| poisoned())? = index;
        *self.proposed.write().map_err(|_| poisoned())? = proposed;
        self.publish_alerts().await
    }

    /// Sends watchers every stored alert they have not been sent, in id
    /// order: this replica's and other replicas'.
    pub(crate) async fn publish_alerts(&self) -> Result<(), QueryError> {
        let mut published = self.published.lock().await;
        loop {
            let page = self.store.alerts_after(*published, ALERT_PAGE).await?;
            {
                let mut proposed = self.proposed.write().map_err(|_| poisoned())?;
                proposed.extend(
                    page.iter()
                        .filter_map(|alert| alert.successor())
                        .map(|successor| (successor.predecessor.id, successor.account.id)),
                );
            }
            for alert in &page {
                *published = alert.id;
                // No receiver is fine: nobody is watching, and the alert is stored.
                let _ = self.alerts.send(alert.clone());
            }
            if page.len() < ALERT_PAGE {
                return Ok(());
            }
        }
    }

    pub async fn account(&self, selector: AccountChoice, max_events: u32) -> Result<AccountHistory, QueryError> {
        let selector = checked_selector(selector)?;
        let max_events = bounded("max_events", max_events, 50, 500)?;
        self.store
            .account_history(selector.clone(), max_events)
            .await?
            .ok_or_else(|| QueryError::NotFound(describe(&selector)))
    }

    pub async fn list_accounts(&self, request: ListAccounts) -> Result<AccountPage, QueryError> {
        let limit = bounded("page_size", request.page_size, 50, 500)?;
        check_count("statuses", request.statuses.len(), MAX_FILTER_ENTRIES)?;
        // Normalized as stored accounts' platforms are, so "Twitter" finds x.
        let platform = match request.platform.trim() {
            "" => None,
            platform => Some(normalize_platform("platform", platform)?),
        };
        let actor = match request.actor_id.trim() {
            "" => None,
            id => Some(
                id.parse()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| QueryError::invalid("actor_id", "is not an actor id"))?,
            ),
        };
        let names: Vec<&str> = request.statuses.iter().map(|status| status.as_str()).collect();
        let fingerprint = page_fingerprint(&names, &format!("{platform:?}|{actor:?}"));
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(parse_page_token(token, &fingerprint)?),
        };
        let filter = AccountFilter { statuses: request.statuses, platform, actor, after, limit: limit + 1 };
        let mut accounts = self.store.list_accounts(filter).await?;
        let next_page_token = next_token(&mut accounts, limit, &fingerprint, |account| account.id);
        Ok(AccountPage { accounts, next_page_token })
    }

    /// A partner may change only its own platform's accounts.
    pub async fn update_status(
        &self,
        update: StatusUpdate,
        caller: &Caller,
    ) -> Result<(AccountRecord, AccountEvent), QueryError> {
        let account = checked_selector(update.account)?;
        if caller.role == Role::Partner {
            let (field, platform) = match &account {
                AccountSelector::Key(key) => ("account.ref.platform", key.platform.clone()),
                AccountSelector::Id(_) => (
                    "account.account_id",
                    self.store
                        .account_history(account.clone(), 0)
                        .await?
                        .ok_or_else(|| QueryError::NotFound(describe(&account)))?
                        .account
                        .platform,
                ),
            };
            caller.check_may_change_status(field, &platform)?;
        }
        let changed_by = checked_label("changed_by", &update.changed_by, true)?;
        let reported_to = match (update.status, update.reported_to.trim()) {
            (AccountStatus::Reported, "") => {
                return Err(QueryError::invalid("reported_to", "is required when the status is REPORTED"));
            }
            (_, "") => None,
            (_, to) => Some(checked_label("reported_to", to, true)?),
        };
        let note = optional_label("note", &update.note)?;
        let at = checked_time("at", update.at)?;
        let change =
            StatusChange { account: account.clone(), status: update.status, reported_to, at, changed_by, note };
        let (record, event) =
            self.store.change_account_status(change).await?.ok_or_else(|| QueryError::NotFound(describe(&account)))?;
        // Suspension makes an account a likely predecessor: the index must
        // know at once.
        self.refresh(&[record.id]).await?;
        Ok((record, event))
    }

    /// A partner bound to a platform records only that platform's accounts.
    pub async fn record_snapshot(
        &self,
        snapshot: SnapshotSubmission,
        caller: &Caller,
    ) -> Result<SnapshotOutcome, QueryError> {
        let account = account_key("account", &snapshot.account)?
            .ok_or_else(|| QueryError::invalid("account", "is empty: give a platform and a handle"))?;
        caller.check_platform("account.platform", &account.platform)?;
        let changed_by = checked_label("changed_by", &snapshot.changed_by, true)?;
        let display_name = optional_text("display_name", &snapshot.display_name, MAX_DISPLAY_NAME_BYTES)?;
        let bio = optional_text("bio", &snapshot.bio, MAX_BIO_BYTES)?;
        let avatar_sha256 = match snapshot.avatar_sha256.trim() {
            "" => None,
            hash if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => Some(hash.to_ascii_lowercase()),
            _ => return Err(QueryError::invalid("avatar_sha256", "is not 64 hexadecimal digits")),
        };
        let observed_at = checked_time("observed_at", snapshot.observed_at)?;
        let links = bio.as_deref().map(profile_links).unwrap_or_default();
        let stored = self
            .store
            .record_profile_snapshot(NewProfileSnapshot {
                account,
                snapshot: ProfileSnapshot { display_name, bio, avatar_sha256, links },
                observed_at,
                changed_by,
            })
            .await?;
        let successors = if stored.first_seen {
            self.detect(&[stored.account.id])
                .await?
                .into_iter()
                .filter_map(|alert| match alert.subject {
                    AlertSubject::Successor(successor) => Some(successor),
                    AlertSubject::UrgentReferral(_) => None,
                })
                .collect()
        } else {
            self.refresh(&[stored.account.id]).await?;
            Vec::new()
        };
        Ok(SnapshotOutcome { account: stored.account, first_seen: stored.first_seen, successors })
    }

    pub async fn review_successor(&self, review: ReviewSubmission) -> Result<SuccessorRecord, QueryError> {
        let successor = review
            .successor_id
            .trim()
            .parse()
            .map_err(|_| QueryError::invalid("successor_id", "is not a successor id"))?;
        let reviewed_by = checked_label("reviewed_by", &review.reviewed_by, true)?;
        let note = optional_label("note", &review.note)?;
        let review = SuccessorReview { successor, confirm: review.confirm, reviewed_by, note, at: now() };
        match self.store.review_successor(review).await? {
            ReviewOutcome::Reviewed(record) => {
                self.refresh(&[record.predecessor.id, record.account.id]).await?;
                Ok(record)
            }
            ReviewOutcome::NotFound => Err(QueryError::NotFound(format!("successor {successor}"))),
            ReviewOutcome::AlreadyReviewed(record) => Err(QueryError::Conflict {
                field: "successor_id".into(),
                reason: format!("names a successor already {}; a decision is not taken twice", record.state.as_str()),
            }),
        }
    }

    /// Posts stored by intake: their authors' new posts become evidence at
    /// once (from the posts, without reading storage again), and accounts
    /// seen for the first time are checked for being successors.
    pub(crate) async fn posts_stored(
        &self,
        first_seen: &[AccountId],
        authored: &[(AccountId, &[IndicatorKey], UnixSeconds)],
    ) -> Result<(), QueryError> {
        let since = now() - self.settings.posted_window_secs;
        {
            let mut index = self.index.write().map_err(|_| poisoned())?;
            for &(author, indicators, at) in authored {
                if at < since || first_seen.contains(&author) {
                    continue;
                }
                for key in indicators.iter().filter(|key| is_posted_evidence(key)) {
                    index.record_posted(author, &indicator_text(key), at);
                }
            }
        }
        if !first_seen.is_empty() {
            self.detect(first_seen).await?;
        }
        Ok(())
    }

    /// Re-reads accounts into the index after a change.
    pub(crate) async fn refresh(&self, ids: &[AccountId]) -> Result<(), QueryError> {
        let since = now() - self.settings.posted_window_secs;
        let accounts =
            self.store.tracked_accounts(Some(ids.to_vec()), since, self.settings.max_posted_per_account).await?;
        let mut index = self.index.write().map_err(|_| poisoned())?;
        for account in &accounts {
            add_to_index(&mut index, account);
        }
        Ok(())
    }

    /// Scores new accounts, stores the proposals and raises their alerts.
    async fn detect(&self, first_seen: &[AccountId]) -> Result<Vec<AlertRecord>, QueryError> {
        let since = now() - self.settings.posted_window_secs;
        let accounts =
            self.store.tracked_accounts(Some(first_seen.to_vec()), since, self.settings.max_posted_per_account).await?;
        let found_at = now();
        let mut proposals = Vec::new();
        {
            let mut index = self.index.write().map_err(|_| poisoned())?;
            let proposed = self.proposed.read().map_err(|_| poisoned())?;
            let is_proposed = |old: i64, new: i64| proposed.contains(&(old, new));
            for account in &accounts {
                let profile = profile_of(account);
                let posted: Vec<(String, i64)> = posted_of(account).collect();
                for candidate in index.successors_of(&profile, &posted, found_at, &is_proposed) {
                    let evidence: Vec<String> = candidate.evidence.iter().map(ToString::to_string).collect();
                    proposals.push(NewSuccessor {
                        account: account.record.id,
                        predecessor: candidate.predecessor,
                        score: candidate.score,
                        explanation: evidence.join("; "),
                        evidence,
                        found_at,
                    });
                }
                // Added after scoring, so that an account is never its own
                // predecessor and a batch's accounts can succeed earlier ones.
                add_to_index(&mut index, account);
            }
        }
        if proposals.is_empty() {
            return Ok(Vec::new());
        }
        let alerts = self.store.propose_successors(proposals).await?;
        for (alert, successor) in alerts.iter().filter_map(|alert| Some((alert, alert.successor()?))) {
            tracing::info!(
                alert_id = alert.id,
                account_id = successor.account.id,
                predecessor_id = successor.predecessor.id,
                score = successor.score,
                "successor proposed"
            );
        }
        self.publish_alerts().await?;
        Ok(alerts)
    }

    /// Alerts from after `resume_token` (empty: from now on), then live.
    pub async fn watch_alerts(&self, resume_token: &str) -> Result<AlertWatch, QueryError> {
        // Subscribed before reading storage, so that no alert falls between
        // the two; one that is in both is skipped by its id.
        let receiver = self.alerts.subscribe();
        let newest = self.store.last_alert_id().await?;
        let after = match resume_token.trim() {
            "" => newest,
            token => {
                let id: AlertId = token
                    .parse()
                    .ok()
                    .filter(|id| *id >= 0)
                    .ok_or_else(|| QueryError::invalid("resume_token", "is not a token this server issued"))?;
                if id > newest {
                    return Err(QueryError::invalid(
                        "resume_token",
                        format!("is ahead of the newest alert ({newest}); it comes from another server"),
                    ));
                }
                id
            }
        };
        Ok(AlertWatch {
            store: Arc::clone(&self.store),
            receiver,
            stopping: self.stopping.subscribe(),
            last: after,
            backlog: VecDeque::new(),
            caught_up: after == newest,
        })
    }

    /// Ends every alert watch, now and from now on: the server is stopping.
    pub fn stop_watches(&self) {
        self.stopping.send_replace(true);
    }
}

/// One analyst's subscription to alerts, in id order, none twice.
#[derive(Debug)]
pub struct AlertWatch {
    store: Arc<dyn Store>,
    receiver: broadcast::Receiver<AlertRecord>,
    stopping: watch::Receiver<bool>,
    /// The id of the last alert handed out.
    last: AlertId,
    backlog: VecDeque<AlertRecord>,
    /// False while stored alerts after `last` may remain to be read.
    caught_up: bool,
}

impl AlertWatch {
    /// The next alert; waits for one to be raised. `None` once the server
    /// is shutting down.
    pub async fn next(&mut self) -> Result<Option<AlertRecord>, QueryError> {
        loop {
            if *self.stopping.borrow() {
                return Ok(None);
            }
            if let Some(alert) = self.backlog.pop_front() {
                self.last = alert.id;
                return Ok(Some(alert));
            }
            if !self.caught_up {
                let page = self.store.alerts_after(self.last, ALERT_PAGE).await?;
                self.caught_up = page.len() < ALERT_PAGE;
                self.backlog.extend(page);
                continue;
            }
            let received = tokio::select! {
                received = self.receiver.recv() => received,
                changed = self.stopping.changed() => match changed {
                    Ok(()) => continue,
                    // The service is gone: nothing more will come.
                    Err(_) => return Ok(None),
                },
            };
            match received {
                Ok(alert) if alert.id <= self.last => continue,
                Ok(alert) => {
                    self.last = alert.id;
                    return Ok(Some(alert));
                }
                // Fell behind the in-memory buffer: what was missed is in
                // storage.
                Err(broadcast::error::RecvError::Lagged(_)) => self.caught_up = false,
                Err(broadcast::error::RecvError::Closed) => return Ok(None),
            }
        }
    }
}

/// The token that resumes a watch after `alert`.
pub fn resume_token(alert: &AlertRecord) -> String {
    alert.id.to_string()
}

#[derive(Clone, Debug, Default)]
pub struct ListAccounts {
    pub statuses: Vec<AccountStatus>,
    pub platform: String,
    /// An actor's id; all accounts when empty.
    pub actor_id: String,
    pub page_size: u32,
    pub page_token: String,
}

#[derive(Clone, Debug)]
pub struct AccountPage {
    pub accounts: Vec<AccountRecord>,
    pub next_page_token: String,
}

#[derive(Clone, Debug)]
pub struct StatusUpdate {
    pub account: AccountChoice,
    pub status: AccountStatus,
    pub reported_to: String,
    /// When it happened; now when `None`.
    pub at: Option<UnixSeconds>,
    pub changed_by: String,
    pub note: String,
}

#[derive(Clone, Debug)]
pub struct SnapshotSubmission {
    pub account: AccountRef,
    pub display_name: String,
    pub bio: String,
    pub avatar_sha256: String,
    pub observed_at: Option<UnixSeconds>,
    pub changed_by: String,
}

#[derive(Clone, Debug)]
pub struct SnapshotOutcome {
    pub account: AccountRecord,
    pub first_seen: bool,
    pub successors: Vec<SuccessorRecord>,
}

#[derive(Clone, Debug)]
pub struct ReviewSubmission {
    pub successor_id: String,
    pub confirm: bool,
    pub reviewed_by: String,
    pub note: String,
}

fn add_to_index(index: &mut SuccessorIndex, account: &TrackedAccount) {
    index.upsert(profile_of(account));
    for (indicator, at) in posted_of(account) {
        index.record_posted(account.record.id, &indicator, at);
    }
}

fn profile_of(account: &TrackedAccount) -> AccountProfile {
    let record = &account.record;
    AccountProfile {
        account_id: record.id,
        platform: record.platform.clone(),
        handle: record.handle.clone(),
        display_name: record.display_name.clone(),
        avatar_sha256: record.avatar_sha256.clone(),
        links: account.links.iter().map(indicator_text).collect(),
        status: record.status,
        status_changed_at: record.status_changed_at,
        first_seen: record.first_seen,
    }
}

/// What an account posted that can tie it to another: links, channels,
/// hashtags, wallets and contacts, not the domains every link implies.
fn posted_of(account: &TrackedAccount) -> impl Iterator<Item = (String, i64)> + '_ {
    account.posted.iter().filter(|(key, _)| is_posted_evidence(key)).map(|(key, at)| (indicator_text(key), *at))
}

fn is_posted_evidence(key: &IndicatorKey) -> bool {
    !matches!(key.kind, IndicatorKind::Domain | IndicatorKind::Handle)
}

fn indicator_text(key: &IndicatorKey) -> String {
    format!("{}:{}", key.kind.as_str(), key.value)
}

/// Links, channels and wallets in a bio, as the extractor finds them.
fn profile_links(bio: &str) -> Vec<IndicatorKey> {
    let mut links: Vec<IndicatorKey> = vigil_extract::extract_indicators(bio)
        .into_iter()
        .filter(|finding| {
            !matches!(finding.kind, IndicatorKind::Domain | IndicatorKind::Hashtag | IndicatorKind::Handle)
        })
        .map(|finding| IndicatorKey { kind: finding.kind, value: finding.value })
        .collect();
    links.sort_by(|a, b| (a.kind.as_str(), &a.value).cmp(&(b.kind.as_str(), &b.value)));
    links.dedup();
    links
}

/// An account named by id or by reference, as the store looks it up.
#[derive(Clone, Debug)]
pub enum AccountChoice {
    Id(String),
    Ref(AccountRef),
}

fn checked_selector(choice: AccountChoice) -> Result<AccountSelector, QueryError> {
    match choice {
        AccountChoice::Id(id) => id
            .trim()
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .map(AccountSelector::Id)
            .ok_or_else(|| QueryError::invalid("account.account_id", "is not an account id")),
        AccountChoice::Ref(reference) => account_key("account.ref", &reference)?
            .map(AccountSelector::Key)
            .ok_or_else(|| QueryError::invalid("account", "is empty: give an account_id or a ref")),
    }
}

fn describe(selector: &AccountSelector) -> String {
    match selector {
        AccountSelector::Id(id) => format!("account {id}"),
        AccountSelector::Key(key) => match (&key.handle, &key.platform_account_id) {
            (Some(handle), _) => format!("account {}:{handle}", key.platform),
            (None, Some(id)) => format!("account {} id {id}", key.platform),
            (None, None) => format!("account on {}", key.platform),
        },
    }
}

pub(crate) fn checked_label(field: &str, value: &str, required: bool) -> Result<String, QueryError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(QueryError::invalid(field, "is empty"));
    }
    if value.len() > MAX_LABEL_BYTES {
        return Err(QueryError::invalid(
            field,
            format!("is {} bytes, over the {MAX_LABEL_BYTES}-byte limit", value.len()),
        ));
    }
    Ok(value.to_owned())
}

pub(crate) fn optional_label(field: &str, value: &str) -> Result<Option<String>, QueryError> {
    optional_text(field, value, MAX_LABEL_BYTES)
}

pub(crate) fn optional_text(field: &str, value: &str, limit: usize) -> Result<Option<String>, QueryError> {
    let value = value.trim();
    if value.len() > limit {
        return Err(QueryError::invalid(field, format!("is {} bytes, over the {limit}-byte limit", value.len())));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// A time a caller reports: now when unset, never in the future (a minute
/// of clock skew allowed) nor before 2000.
pub(crate) fn checked_time(field: &str, at: Option<UnixSeconds>) -> Result<UnixSeconds, QueryError> {
    let now = now();
    match at {
        None => Ok(now),
        Some(at) if at > now + 60 => Err(QueryError::invalid(field, "is in the future")),
        Some(at) if at < 946_684_800 => Err(QueryError::invalid(field, "is before 2000-01-01")),
        Some(at) => Ok(at),
    }
}

/// Cuts a page fetched with one extra row to `limit` and says where the
/// next one starts (empty on the last page).
pub(crate) fn next_token<T>(rows: &mut Vec<T>, limit: usize, fingerprint: &str, id: impl Fn(&T) -> i64) -> String {
    if rows.len() <= limit {
        return String::new();
    }
    rows.truncate(limit);
    rows.last().map(|last| format!("{fingerprint}.{}", id(last))).unwrap_or_default()
}

pub(crate) fn bounded(field: &str, value: u32, default: usize, limit: usize) -> Result<usize, QueryError> {
    match value as usize {
        0 => Ok(default),
        n if n <= limit => Ok(n),
        n => Err(QueryError::invalid(field, format!("is {n}, over the limit of {limit}"))),
    }
}

/// Ties a page token to the filters it was issued for.
/// `statuses` in any order and with repeats describe the same filter.
pub(crate) fn page_fingerprint(statuses: &[&str], other_filters: &str) -> String {
    let mut names = statuses.to_vec();
    names.sort_unstable();
    names.dedup();
    crate::page_token::fingerprint(&format!("{names:?}|{other_filters}"))
}

/// The id a page token resumes after; ids of accounts, actors and sites
/// are all row ids.
pub(crate) fn parse_page_token(token: &str, fingerprint: &str) -> Result<i64, QueryError> {
    check_bytes("page_token", token, MAX_PAGE_TOKEN_BYTES)?;
    let (issued_for, after) = token
        .split_once('.')
        .and_then(|(issued_for, id)| Some((issued_for, id.parse::<i64>().ok()?)))
        .ok_or_else(|| QueryError::invalid("page_token", "is malformed: pass next_page_token as it is"))?;
    if issued_for != fingerprint {
        return Err(QueryError::invalid("page_token", "belongs to different filters"));
    }
    Ok(after)
}

fn poisoned() -> QueryError {
    QueryError::Store(vigil_store::StoreError::Worker("successor index lock poisoned".into()))
}

pub(crate) fn now() -> UnixSeconds {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}
