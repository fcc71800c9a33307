//! Sites on PostgreSQL: domains and URLs hosting propaganda, with history.

use super::Tx;
use crate::StoreError;
use crate::model::*;

fn not_yet() -> StoreError {
    StoreError::Worker("sites are not yet available on PostgreSQL".into())
}

pub(crate) async fn change(
    _tx: &Tx<'_>,
    _site: &SiteSelector,
    _change: &SiteChange,
    _note: &ChangeNote,
) -> Result<Option<SiteChanged>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn history(
    _tx: &Tx<'_>,
    _site: &SiteSelector,
    _max_events: usize,
) -> Result<Option<(SiteRecord, Vec<SiteEvent>)>, StoreError> {
    Err(not_yet())
}

pub(crate) async fn list(
    _tx: &Tx<'_>,
    _statuses: &[SiteStatus],
    _after: Option<SiteId>,
    _limit: usize,
) -> Result<Vec<SiteRecord>, StoreError> {
    Err(not_yet())
}
