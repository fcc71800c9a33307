//! What other replicas changed, as they commit, through PostgreSQL's
//! LISTEN/NOTIFY: a write sends `pg_notify` inside its transaction, so the
//! notice goes out exactly when (and only if) the change commits. Each
//! process listens on one connection of its own and republishes what other
//! processes did as [`StoreChange`]s; its own notices it drops, having acted
//! on its own changes already.
//!
//! The same connection keeps the process's [`KnownKeys`] complete: other
//! processes announce the keys their writes may have created, and the set
//! is reloaded whenever listening starts, since notices sent while nobody
//! listened are lost. Between losing the connection and that reload the set
//! is incomplete and content checks read the database.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::{Notify, broadcast, watch};
use tokio_postgres::{AsyncMessage, NoTls};

use super::Tx;
use crate::known_keys::{self, KnownKeys};
use crate::{AccountId, AlertId, StoreChange, StoreError};

/// Ids per notice: PostgreSQL caps a payload at 8,000 bytes.
const IDS_PER_NOTICE: usize = 400;

/// Key hashes per notice: 17 bytes each, under the 8,000-byte cap.
const HASHES_PER_NOTICE: usize = 400;

/// Rows per statement while loading the known keys.
const LOAD_PAGE: i64 = 20_000;

/// How often the listening connection is asked to answer, and how long it
/// may take: a connection that died without a word (a lost network path
/// sends none) is noticed within their sum, and the known keys stop
/// answering then.
const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);
const HEARTBEAT_WITHIN: Duration = Duration::from_secs(2);

/// This process's identity on the channel and the channel's name.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) name: String,
    pub(crate) instance: u64,
    /// Names the listening connection (`vigil listener <schema>`), so an
    /// operator or a test can tell it apart.
    pub(crate) schema: String,
}

impl Channel {
    /// One channel per schema, so that databases holding several vigil
    /// schemas (tests do) keep their notices apart. Hashed: a channel name
    /// is an identifier of at most 63 bytes.
    pub(crate) fn for_schema(schema: &str, instance: u64) -> Channel {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in schema.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        Channel { name: format!("vigil_changes_{hash:016x}"), instance, schema: schema.to_owned() }
    }

    /// Announces, on commit of `tx`, that these accounts changed.
    pub(crate) async fn accounts_changed(&self, tx: &Tx<'_>, ids: &[AccountId]) -> Result<(), StoreError> {
        for chunk in ids.chunks(IDS_PER_NOTICE) {
            let mut payload = format!("{} accounts ", self.instance);
            for (index, id) in chunk.iter().enumerate() {
                let separator = if index == 0 { "" } else { "," };
                let _ = write!(payload, "{separator}{id}");
            }
            self.send(tx, &payload).await?;
        }
        Ok(())
    }

    /// Announces, on commit of `tx`, alerts up to `newest`.
    pub(crate) async fn alerts_raised(&self, tx: &Tx<'_>, newest: AlertId) -> Result<(), StoreError> {
        self.send(tx, &format!("{} alerts {newest}", self.instance)).await
    }

    /// Announces, on commit of `tx`, the keys it may have created: one
    /// statement however many notices they take.
    pub(crate) async fn keys_added(&self, tx: &Tx<'_>, hashes: &[u64]) -> Result<(), StoreError> {
        if hashes.is_empty() {
            return Ok(());
        }
        let payloads: Vec<String> = hashes
            .chunks(HASHES_PER_NOTICE)
            .map(|chunk| {
                let mut payload = format!("{} keys ", self.instance);
                for (index, hash) in chunk.iter().enumerate() {
                    let separator = if index == 0 { "" } else { "," };
                    let _ = write!(payload, "{separator}{hash:016x}");
                }
                payload
            })
            .collect();
        let statement = tx.prepare_cached("SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload").await?;
        tx.execute(&statement, &[&self.name, &payloads]).await?;
        Ok(())
    }

    async fn send(&self, tx: &Tx<'_>, payload: &str) -> Result<(), StoreError> {
        let statement = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
        tx.execute(&statement, &[&self.name, &payload]).await?;
        Ok(())
    }
}

/// What another process said.
#[derive(Debug, PartialEq, Eq)]
enum Notice {
    Change(StoreChange),
    Keys(Vec<u64>),
}

/// Reads a notice; `None` for this process's own and for anything unreadable.
fn parse(payload: &str, own_instance: u64) -> Option<Notice> {
    let mut parts = payload.splitn(3, ' ');
    let instance: u64 = parts.next()?.parse().ok()?;
    if instance == own_instance {
        return None;
    }
    match (parts.next()?, parts.next()?) {
        ("accounts", ids) => {
            Some(Notice::Change(StoreChange::Accounts(ids.split(',').filter_map(|id| id.parse().ok()).collect())))
        }
        ("alerts", newest) => Some(Notice::Change(StoreChange::Alerts(newest.parse().ok()?))),
        ("keys", hashes) => {
            Some(Notice::Keys(hashes.split(',').filter_map(|hash| u64::from_str_radix(hash, 16).ok()).collect()))
        }
        _ => None,
    }
}

/// Lets a content check on this replica see every write that another
/// replica acknowledged before the check began: the check waits for a
/// round trip on the listening connection that started after it, by which
/// time the notices of those writes have arrived and been applied. Checks
/// arriving together share one round trip, so the database sees a trivial
/// query per round trip, not one per check.
#[derive(Debug)]
pub(crate) struct Fence {
    requested: AtomicU64,
    wake: Notify,
    passed: watch::Sender<u64>,
}

impl Default for Fence {
    fn default() -> Fence {
        Fence { requested: AtomicU64::new(0), wake: Notify::new(), passed: watch::channel(0).0 }
    }
}

impl Fence {
    /// Waits until the notices committed before now are applied; false
    /// when the listening connection does not answer in time (the caller
    /// then reads the database).
    pub(crate) async fn pass(&self) -> bool {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut passed = self.passed.subscribe();
        self.wake.notify_one();
        matches!(tokio::time::timeout(HEARTBEAT_WITHIN, passed.wait_for(|&passed| passed >= ticket)).await, Ok(Ok(_)))
    }

    /// Lets every waiting check through; only once the known keys are
    /// incomplete, so that those checks read the database.
    fn release_waiting(&self) {
        self.pass_up_to(self.requested());
    }

    /// The checks that asked so far.
    fn requested(&self) -> u64 {
        self.requested.load(Ordering::SeqCst)
    }

    /// Every check up to `ticket` may go on.
    fn pass_up_to(&self, ticket: u64) {
        self.passed.send_modify(|passed| *passed = (*passed).max(ticket));
    }

    fn is_wanted(&self) -> bool {
        self.requested() > *self.passed.borrow()
    }
}

/// What the listener keeps up to date.
#[derive(Clone, Debug)]
pub(crate) struct Followers {
    pub(crate) fence: Arc<Fence>,
    pub(crate) changes: broadcast::Sender<StoreChange>,
    /// Weak: the listener stops once the store is gone.
    pub(crate) known_keys: Weak<KnownKeys>,
    /// Where the known keys are reloaded from.
    pub(crate) pool: Pool,
}

/// Listens for ever, reconnecting after a lost connection. Each time it
/// starts listening it publishes [`StoreChange::Resync`] and reloads the
/// known keys: notices sent before (while it was away, or while its
/// subscribers first read the store) are not delivered.
pub(crate) async fn listen(config: Arc<tokio_postgres::Config>, channel: Channel, followers: Followers) {
    loop {
        match listen_once(&config, &channel, &followers).await {
            Ok(()) => tracing::warn!("change listener connection closed; reconnecting"),
            Err(error) => tracing::warn!(%error, "change listener failed; reconnecting"),
        }
        let Some(known_keys) = followers.known_keys.upgrade() else {
            // The store is gone (the server is shutting down).
            return;
        };
        // Writes of other replicas go unheard from now until the reload.
        known_keys.mark_incomplete();
        drop(known_keys);
        // Checks waiting on the fence read the database instead, now that
        // the keys no longer answer, rather than wait out its time-out.
        followers.fence.release_waiting();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    channel: &Channel,
    followers: &Followers,
) -> Result<(), StoreError> {
    let mut config = config.clone();
    config.application_name(format!("vigil listener {}", channel.schema));
    let (client, mut connection) = config.connect(NoTls).await?;
    let (sender, mut notices) = tokio::sync::mpsc::unbounded_channel();
    // The connection must be polled for LISTEN itself to complete.
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(notice))) => {
                    if sender.send(notice.payload().to_owned()).is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(error = %error, "change listener connection failed");
                    return;
                }
                None => return,
            }
        }
    });
    client.batch_execute(&format!("LISTEN \"{}\"", channel.name)).await?;
    let _ = followers.changes.send(StoreChange::Resync);
    let Some(known_keys) = followers.known_keys.upgrade() else { return Ok(()) };
    let epoch = known_keys.mark_incomplete();
    tokio::spawn(reload_known_keys(followers.pool.clone(), Arc::downgrade(&known_keys), epoch));
    drop(known_keys);
    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    let apply = |payload: &str| -> bool {
        match parse(payload, channel.instance) {
            // No receiver is fine: nobody needs to know yet.
            Some(Notice::Change(change)) => drop(followers.changes.send(change)),
            Some(Notice::Keys(hashes)) => match followers.known_keys.upgrade() {
                Some(known_keys) => known_keys.add(hashes),
                None => return false,
            },
            None => {}
        }
        true
    };
    let outcome = loop {
        if !followers.fence.is_wanted() {
            tokio::select! {
                payload = notices.recv() => match payload {
                    Some(payload) if apply(&payload) => continue,
                    _ => break Ok(()),
                },
                () = followers.fence.wake.notified() => {}
                _ = heartbeat.tick() => {}
            }
        }
        // A round trip on this connection: every notice committed before
        // it started arrives before its answer (the committing backend
        // signals this one before its commit returns, and a backend sends
        // pending notices as it reads the next message), and the driver
        // has queued it by then. Applying the queue passes the fence. The
        // empty query is the cheapest round trip: nothing is parsed,
        // planned or run.
        let target = followers.fence.requested();
        match tokio::time::timeout(HEARTBEAT_WITHIN, client.simple_query("")).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => break Err(error.into()),
            Err(_) => {
                break Err(StoreError::Worker(format!(
                    "the listening connection gave no answer within {HEARTBEAT_WITHIN:?}"
                )));
            }
        }
        let mut gone = false;
        while let Ok(payload) = notices.try_recv() {
            gone |= !apply(&payload);
        }
        if gone {
            break Ok(());
        }
        followers.fence.pass_up_to(target);
    };
    driver.abort();
    outcome
}

/// Adds every stored key to `known_keys` and marks it complete, unless
/// notices were lost again meanwhile (then the next listen reloads). Pages
/// by id, each page its own statement: a row committed behind a page
/// already read was announced, and the listener heard it.
async fn reload_known_keys(pool: Pool, known_keys: Weak<KnownKeys>, epoch: u64) {
    let started = std::time::Instant::now();
    match read_known_keys(&pool, &known_keys).await {
        Ok(()) => {
            if let Some(known_keys) = known_keys.upgrade()
                && known_keys.finish_load(epoch)
            {
                let hashes = known_keys.state().hashes;
                tracing::info!(hashes, elapsed_ms = started.elapsed().as_millis() as u64, "known keys loaded");
            }
        }
        // Checks keep reading the database: slower, never wrong. The next
        // reconnection tries again.
        Err(error) => tracing::warn!(%error, "known keys not loaded; content checks read the database"),
    }
}

async fn read_known_keys(pool: &Pool, known_keys: &Weak<KnownKeys>) -> Result<(), StoreError> {
    let client = pool.get().await?;
    let indicators = "SELECT id, kind, value FROM indicator WHERE id > $1 ORDER BY id LIMIT $2";
    for_each_page(&client, indicators, known_keys, |row| {
        vec![known_keys::stored_indicator_hash(row.get(1), row.get(2))]
    })
    .await?;
    let accounts = "SELECT id, platform, handle, platform_account_id FROM account WHERE id > $1 ORDER BY id LIMIT $2";
    for_each_page(&client, accounts, known_keys, |row| {
        known_keys::stored_account_hashes(row.get(1), row.get(2), row.get(3)).collect()
    })
    .await
}

/// Adds the hashes of every row of `statement` (ids in its first column,
/// paged by `$1` after and `$2` rows), a page at a time; stops early once
/// the store is gone.
async fn for_each_page(
    client: &deadpool_postgres::Object,
    statement: &str,
    known_keys: &Weak<KnownKeys>,
    hashes: impl Fn(&tokio_postgres::Row) -> Vec<u64>,
) -> Result<(), StoreError> {
    let statement = client.prepare_cached(statement).await?;
    let mut after: i64 = 0;
    loop {
        let rows = client.query(&statement, &[&after, &LOAD_PAGE]).await?;
        let Some(known_keys) = known_keys.upgrade() else { return Ok(()) };
        known_keys.add(rows.iter().flat_map(&hashes));
        match rows.last() {
            Some(row) if rows.len() as i64 == LOAD_PAGE => after = row.get(0),
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_from_other_processes_are_read_and_own_ones_dropped() {
        assert_eq!(parse("7 accounts 1,2,30", 9), Some(Notice::Change(StoreChange::Accounts(vec![1, 2, 30]))));
        assert_eq!(parse("7 alerts 41", 9), Some(Notice::Change(StoreChange::Alerts(41))));
        assert_eq!(parse("7 keys 00000000000000ff,8000000000000001", 9), Some(Notice::Keys(vec![255, 1 << 63 | 1])));
        assert_eq!(parse("9 alerts 41", 9), None);
        assert_eq!(parse("garbage", 9), None);
        let channel = Channel::for_schema("vigil_test_1", 1);
        assert!(channel.name.len() <= 63 && channel.name != Channel::for_schema("vigil_test_2", 1).name);
    }
}
