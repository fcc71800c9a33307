//! The transparency report on PostgreSQL: [`crate::StatisticsStore`] for
//! [`PostgresStore`], over the report's shared queries.

use async_trait::async_trait;

use super::{PostgresStore, Tx};
use crate::statistics::{self, ReportRow, ReportSource};
use crate::{ReportRange, StatisticsStore, StoreError, TransparencyReport, UnixSeconds};

#[async_trait]
impl StatisticsStore for PostgresStore {
    async fn transparency_report(
        &self,
        range: ReportRange,
        generated_at: UnixSeconds,
    ) -> Result<TransparencyReport, StoreError> {
        read_tx!(self, |tx| statistics::transparency_report(&PostgresReport(&tx), range, generated_at).await)
    }
}

struct PostgresReport<'t, 'c>(&'t Tx<'c>);

impl ReportSource for PostgresReport<'_, '_> {
    async fn rows<R: ReportRow>(&self, sql: &'static str, range: ReportRange) -> Result<Vec<R>, StoreError> {
        let statement = self.0.prepare_cached(sql).await?;
        let rows = self.0.query(&statement, &[&range.from, &range.until]).await?;
        Ok(rows.iter().map(R::from_postgres).collect::<Result<_, _>>()?)
    }
}
