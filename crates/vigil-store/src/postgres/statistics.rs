//! The transparency report on PostgreSQL: [`crate::StatisticsStore`] for [`super::PostgresStore`].
