//! The account network on PostgreSQL: [`crate::NetworkStore`] for [`super::PostgresStore`].
