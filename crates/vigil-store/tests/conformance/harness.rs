//! A fresh engine per test: SQLite in a temporary directory, or PostgreSQL
//! in a schema of its own that is dropped afterwards, even when the test
//! panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_postgres::NoTls;
use vigil_store::{
    NetworkStore, PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, StatisticsStore, Store, UrgentReferral,
};

/// The server PostgreSQL tests use when `VIGIL_TEST_PG_URL` is not set.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Connections each PostgreSQL store keeps: enough for the concurrency
/// test to contend, few enough that tests running in parallel on a
/// many-core CI machine stay under the server's `max_connections`.
const PG_CONNECTIONS: usize = 6;

/// What a test sets on the engine it opens, the same for both engines;
/// the default is what [`sqlite`] and [`postgres`] open.
#[derive(Clone, Debug, Default)]
pub struct EngineOptions {
    /// The draft a stored document with a `threat` category opens.
    pub urgent_lane: Option<UrgentReferral>,
}

/// One engine under test. Fields drop in order: the stores (and their
/// connections) before the guard that removes the database.
pub struct Engine {
    pub store: Arc<dyn Store>,
    network: Arc<dyn NetworkStore>,
    statistics: Arc<dyn StatisticsStore>,
    options: EngineOptions,
    guard: Guard,
}

/// Held for its Drop: removes the directory or drops the schema.
enum Guard {
    Sqlite(tempfile::TempDir),
    Postgres(SchemaGuard),
}

impl Engine {
    /// The same store as its [`NetworkStore`].
    pub fn network(&self) -> Arc<dyn NetworkStore> {
        self.network.clone()
    }

    /// The same store as its [`StatisticsStore`].
    pub fn statistics(&self) -> Arc<dyn StatisticsStore> {
        self.statistics.clone()
    }

    /// A second store on the same data, with the same options, as another
    /// process (a restarted server, or another replica) would open it.
    pub async fn reopen(&self) -> Arc<dyn Store> {
        match &self.guard {
            Guard::Sqlite(dir) => Arc::new(
                SqliteStore::open(&sqlite_options(dir.path(), &self.options)).expect("the SQLite store reopens"),
            ),
            Guard::Postgres(guard) => Arc::new(
                PostgresStore::connect(&postgres_options(guard, &self.options))
                    .await
                    .expect("a second PostgresStore connects"),
            ),
        }
    }

    /// The SQLite database file, for tests that act on it behind the store.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.guard {
            Guard::Sqlite(dir) => Some(SqliteOptions::in_directory(dir.path()).path),
            Guard::Postgres(_) => None,
        }
    }

    /// The PostgreSQL URL and schema, for tests that act on the server.
    pub fn postgres_schema(&self) -> Option<(String, String)> {
        match &self.guard {
            Guard::Postgres(guard) => Some((guard.url.clone(), guard.schema.clone())),
            Guard::Sqlite(_) => None,
        }
    }
}

pub async fn sqlite() -> Engine {
    sqlite_with(EngineOptions::default()).await
}

pub async fn sqlite_with(options: EngineOptions) -> Engine {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(&sqlite_options(dir.path(), &options)).expect("the SQLite store opens");
    let store = Arc::new(store);
    Engine { store: store.clone(), network: store.clone(), statistics: store, options, guard: Guard::Sqlite(dir) }
}

fn sqlite_options(dir: &std::path::Path, options: &EngineOptions) -> SqliteOptions {
    SqliteOptions { urgent_lane: options.urgent_lane.clone(), ..SqliteOptions::in_directory(dir) }
}

/// A PostgreSQL store in a new schema. Panics, saying how to provide a
/// server, when none answers: the suite never passes without PostgreSQL.
pub async fn postgres() -> Engine {
    postgres_with(EngineOptions::default()).await
}

pub async fn postgres_with(options: EngineOptions) -> Engine {
    let url = std::env::var("VIGIL_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
    let admin = connect_admin(&url).await;
    let schema = unique_schema_name();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap_or_else(|error| panic!("cannot create the test schema {schema} on {}: {error}", shown(&url)));
    // From here on the schema is dropped whatever happens.
    let guard = SchemaGuard { url: url.clone(), schema: schema.clone() };
    drop(admin);
    let store = PostgresStore::connect(&postgres_options(&guard, &options))
        .await
        .unwrap_or_else(|error| panic!("PostgresStore::connect in schema {schema} fails: {error}"));
    let store = Arc::new(store);
    Engine { store: store.clone(), network: store.clone(), statistics: store, options, guard: Guard::Postgres(guard) }
}

fn postgres_options(guard: &SchemaGuard, options: &EngineOptions) -> PostgresOptions {
    PostgresOptions {
        schema: Some(guard.schema.clone()),
        max_connections: PG_CONNECTIONS,
        urgent_lane: options.urgent_lane.clone(),
        ..PostgresOptions::new(&guard.url)
    }
}

/// A client for creating and dropping schemas, or a panic that says how to
/// provide a server.
pub async fn connect_admin(url: &str) -> tokio_postgres::Client {
    let connecting = tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(url, NoTls)).await;
    let reason = match connecting {
        Ok(Ok((client, connection))) => {
            tokio::spawn(async move {
                // The connection ends when the client is dropped.
                let _ = connection.await;
            });
            return client;
        }
        Ok(Err(error)) => with_sources(&error),
        Err(_) => "no answer within 10 s".to_owned(),
    };
    panic!(
        "the PostgreSQL conformance tests need a server, and none answers at {} ({reason}).\n\
         Set VIGIL_TEST_PG_URL to a database the tests may create and drop schemas in \
         (default: {DEFAULT_PG_URL}), or start one locally, e.g.:\n  \
         docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16\n\
         or with a system install: createdb -h 127.0.0.1 -U postgres test",
        shown(url)
    )
}

/// An error with its causes: tokio-postgres keeps the useful part (refused,
/// unknown database, authentication) in the source.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `vigil_test_<pid>_<counter>_<random>`: unique across tests of this run,
/// concurrent runs on one machine, and runs on machines sharing a server.
fn unique_schema_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    hasher.write_u128(nanos);
    hasher.write_usize(counter);
    format!("vigil_test_{}_{counter}_{:08x}", std::process::id(), hasher.finish() as u32)
}

/// The URL without its password.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => match url[scheme_end + 3..at].find(':') {
            Some(colon) => format!("{}:***{}", &url[..scheme_end + 3 + colon], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// Drops its schema when dropped. The test's runtime may be unwinding or
/// blocked in this very drop, so the drop runs on a thread of its own with
/// a small runtime of its own, and is waited for.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| format!("no runtime: {error}"))?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&url, NoTls).await.map_err(|error| with_sources(&error))?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                // A transaction a failed test left running may hold locks
                // the drop needs, or deadlock with it: wait, then try again.
                let drop = format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {schema} CASCADE");
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    match client.batch_execute(&drop).await {
                        Ok(()) => return Ok(()),
                        Err(error) if attempts < 5 => {
                            eprintln!("dropping test schema {schema} failed, trying again: {}", with_sources(&error));
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        Err(error) => return Err(with_sources(&error)),
                    }
                }
            })
        })
        .join();
        let failure = match dropped {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error,
            Err(_) => "the dropping thread panicked".to_owned(),
        };
        // Never panic here: the test may already be unwinding.
        eprintln!("warning: test schema {} was not dropped ({failure}); drop it by hand", self.schema);
    }
}
