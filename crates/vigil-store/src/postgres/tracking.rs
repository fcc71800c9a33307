//! Tracking on PostgreSQL: account status and profiles, account history,
//! successor proposals and alerts. Every function runs inside the caller's
//! transaction, so a change and its history event are stored together.

use super::Tx;
use crate::StoreError;
use crate::model::*;

fn not_yet() -> StoreError {
    StoreError::Worker("tracking is not yet available on PostgreSQL".into())
}

pub(crate) async fn history(
    _tx: &Tx<'_>,
    _account: &AccountSelector,
    _max_events: usize,
) -> Result<Option<AccountHistory>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn list(_tx: &Tx<'_>, _filter: &AccountFilter) -> Result<Vec<AccountRecord>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn change_status(
    _tx: &Tx<'_>,
    _change: &StatusChange,
) -> Result<Option<(AccountRecord, AccountEvent)>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn record_snapshot(
    _tx: &Tx<'_>,
    _snapshot: &NewProfileSnapshot,
) -> Result<SnapshotStored, StoreError> {
    Err(not_yet())
}

pub(crate) async fn tracked(
    _tx: &Tx<'_>,
    _ids: Option<&[AccountId]>,
    _posted_since: UnixSeconds,
    _max_posted: usize,
) -> Result<Vec<TrackedAccount>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn proposed_pairs(_tx: &Tx<'_>) -> Result<Vec<(AccountId, AccountId)>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn propose(_tx: &Tx<'_>, _proposals: &[NewSuccessor]) -> Result<Vec<AlertRecord>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn review(_tx: &Tx<'_>, _review: &SuccessorReview) -> Result<ReviewOutcome, StoreError> {
    Err(not_yet())
}

pub(crate) async fn alerts_after(_tx: &Tx<'_>, _after: AlertId, _limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn last_alert_id(_tx: &Tx<'_>) -> Result<AlertId, StoreError> {
    Err(not_yet())
}
