//! Actors on PostgreSQL: the person, outlet or network behind accounts.

use super::Tx;
use crate::StoreError;
use crate::model::*;

fn not_yet() -> StoreError {
    StoreError::Worker("actors are not yet available on PostgreSQL".into())
}

pub(crate) async fn apply(_tx: &Tx<'_>, _change: &ActorChange, _note: &ChangeNote) -> Result<ActorOutcome, StoreError> {
    Err(not_yet())
}

pub(crate) async fn view(_tx: &Tx<'_>, _id: ActorId, _max_entries: usize) -> Result<Option<ActorView>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn list(
    _tx: &Tx<'_>,
    _after: Option<ActorId>,
    _include_merged: bool,
    _limit: usize,
) -> Result<Vec<ActorRecord>, StoreError> {
    Err(not_yet())
}
