//! What other replicas changed, as they commit, through PostgreSQL's
//! LISTEN/NOTIFY: a write sends `pg_notify` inside its transaction, so the
//! notice goes out exactly when (and only if) the change commits. Each
//! process listens on one connection of its own and republishes what other
//! processes did as [`StoreChange`]s; its own notices it drops, having acted
//! on its own changes already.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use super::Tx;
use crate::{AccountId, AlertId, StoreChange, StoreError};

/// Ids per notice: PostgreSQL caps a payload at 8,000 bytes.
const IDS_PER_NOTICE: usize = 400;

/// This process's identity on the channel and the channel's name.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    pub(crate) name: String,
    pub(crate) instance: u64,
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
        Channel { name: format!("vigil_changes_{hash:016x}"), instance }
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

    async fn send(&self, tx: &Tx<'_>, payload: &str) -> Result<(), StoreError> {
        let statement = tx.prepare_cached("SELECT pg_notify($1, $2)").await?;
        tx.execute(&statement, &[&self.name, &payload]).await?;
        Ok(())
    }
}

/// Reads a notice; `None` for this process's own and for anything unreadable.
fn parse(payload: &str, own_instance: u64) -> Option<StoreChange> {
    let mut parts = payload.splitn(3, ' ');
    let instance: u64 = parts.next()?.parse().ok()?;
    if instance == own_instance {
        return None;
    }
    match (parts.next()?, parts.next()?) {
        ("accounts", ids) => Some(StoreChange::Accounts(ids.split(',').filter_map(|id| id.parse().ok()).collect())),
        ("alerts", newest) => Some(StoreChange::Alerts(newest.parse().ok()?)),
        _ => None,
    }
}

/// Listens for ever, reconnecting after a lost connection. Each time it
/// starts listening it publishes [`StoreChange::Resync`]: notices sent
/// before (while it was away, or while its subscribers first read the
/// store) are not delivered.
pub(crate) async fn listen(
    config: std::sync::Arc<tokio_postgres::Config>,
    channel: Channel,
    changes: broadcast::Sender<StoreChange>,
) {
    loop {
        match listen_once(&config, &channel, &changes).await {
            Ok(()) => tracing::warn!("change listener connection closed; reconnecting"),
            Err(error) => tracing::warn!(%error, "change listener failed; reconnecting"),
        }
        if changes.receiver_count() == 0 {
            // Nobody listens any more (the server is shutting down).
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    channel: &Channel,
    changes: &broadcast::Sender<StoreChange>,
) -> Result<(), StoreError> {
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
    let _ = changes.send(StoreChange::Resync);
    while let Some(payload) = notices.recv().await {
        if let Some(change) = parse(&payload, channel.instance) {
            // No receiver is fine: nobody needs to know yet.
            let _ = changes.send(change);
        }
    }
    driver.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_from_other_processes_are_read_and_own_ones_dropped() {
        assert_eq!(parse("7 accounts 1,2,30", 9), Some(StoreChange::Accounts(vec![1, 2, 30])));
        assert_eq!(parse("7 alerts 41", 9), Some(StoreChange::Alerts(41)));
        assert_eq!(parse("9 alerts 41", 9), None);
        assert_eq!(parse("garbage", 9), None);
        let channel = Channel::for_schema("vigil_test_1", 1);
        assert!(channel.name.len() <= 63 && channel.name != Channel::for_schema("vigil_test_2", 1).name);
    }
}
