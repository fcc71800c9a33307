//! The store contract, written once and run against every engine.
//!
//! Each test is an `async fn(Engine)` in the module of its area;
//! `conformance!` instantiates it once per engine, as `<test>::sqlite` and
//! `<test>::postgres` (so `cargo test -p vigil-store --test conformance
//! sqlite` runs one engine). PostgreSQL tests use `VIGIL_TEST_PG_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test`; each gets a schema of its own,
//! dropped afterwards. Without a reachable server they fail, saying how to
//! provide one. `equivalence` seeds both engines alike and compares them.

/// Instantiates `async fn $test(engine: Engine)` once per engine.
/// `multi_thread $test` runs it on a multi-threaded runtime (for tests of
/// concurrency); `with $options => $test` opens the engines with what the
/// function `$options() -> harness::EngineOptions` of the calling module
/// returns (an urgent lane, say).
macro_rules! conformance {
    ($($test:ident),+ $(,)?) => {
        $(conformance!(@instantiate $test, "current_thread", crate::harness::EngineOptions::default());)+
    };
    (multi_thread $($test:ident),+ $(,)?) => {
        $(conformance!(@instantiate $test, "multi_thread", crate::harness::EngineOptions::default());)+
    };
    (with $options:ident => $($test:ident),+ $(,)?) => {
        $(conformance!(@instantiate $test, "current_thread", super::$options());)+
    };
    (@instantiate $test:ident, $flavor:literal, $options:expr) => {
        mod $test {
            #[tokio::test(flavor = $flavor)]
            async fn sqlite() {
                super::$test(crate::harness::sqlite_with($options).await).await;
            }

            #[tokio::test(flavor = $flavor)]
            async fn postgres() {
                super::$test(crate::harness::postgres_with($options).await).await;
            }
        }
    };
}

mod access;
mod actors;
mod data;
mod documents;
mod equivalence;
mod harness;
mod imports;
mod known_keys;
mod network;
mod referrals;
mod search;
mod sites;
mod statistics;
mod storage_faults;
mod tracking;
