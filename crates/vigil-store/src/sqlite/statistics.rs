//! The transparency report on SQLite: [`crate::StatisticsStore`] for
//! [`SqliteStore`], over the report's shared queries.

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use super::SqliteStore;
use super::network::{run_ready, sqlite_sql};
use crate::statistics::{self, ReportRow, ReportSource};
use crate::{ReportRange, StatisticsStore, StoreError, TransparencyReport, UnixSeconds};

#[async_trait]
impl StatisticsStore for SqliteStore {
    async fn transparency_report(
        &self,
        range: ReportRange,
        generated_at: UnixSeconds,
    ) -> Result<TransparencyReport, StoreError> {
        self.read(move |tx| run_ready(statistics::transparency_report(&SqliteReport(tx), range, generated_at))).await
    }
}

struct SqliteReport<'t, 'c>(&'t Transaction<'c>);

impl ReportSource for SqliteReport<'_, '_> {
    async fn rows<R: ReportRow>(&self, sql: &'static str, range: ReportRange) -> Result<Vec<R>, StoreError> {
        Ok(self
            .0
            .prepare_cached(&sqlite_sql(sql))?
            .query_map(params![range.from, range.until], |row| R::from_sqlite(row))?
            .collect::<Result<_, _>>()?)
    }
}
