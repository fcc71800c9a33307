//! CheckContent latency as the store grows: the same checks against a small
//! and a large store in one run, so the ratio between them says whether the
//! hot path stays flat. Checks of known content (each a stored post) read
//! storage; checks of unknown content are answered from the known keys held
//! in memory. A bare one-key storage look-up of a stored indicator is the
//! baseline.
//!
//! cargo bench -p vigil-query --bench check_content

#[path = "../../../benches/timing.rs"]
mod timing;

use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_query::{
    ContentCheck, Intake, IntakeSettings, Lexicon, Limits, PostSubmission, Query, Tracking, TrackingSettings,
};
use vigil_store::{IndicatorKey, SqliteOptions, SqliteStore, Store};

const CHECKS: usize = 2_000;

struct Measured {
    indicators: u64,
    check_p50: Duration,
    check_p99: Duration,
    unknown_p50: Duration,
    unknown_p99: Duration,
    lookup_p50: Duration,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime starts");
    let small = runtime.block_on(measure(1_000));
    let large = runtime.block_on(measure(100_000));
    for (name, m) in [("small", &small), ("large", &large)] {
        println!(
            "{name}: {:>7} indicators  CheckContent known p50 {:>6.1} us  p99 {:>6.1} us  unknown p50 {:>6.1} us  p99 {:>6.1} us  | baseline one-key look-up p50 {:>5.1} us",
            m.indicators,
            timing::micros(m.check_p50),
            timing::micros(m.check_p99),
            timing::micros(m.unknown_p50),
            timing::micros(m.unknown_p99),
            timing::micros(m.lookup_p50),
        );
    }
    println!(
        "ratio large/small: CheckContent known p50 {:.2}x, unknown p50 {:.2}x, baseline p50 {:.2}x",
        large.check_p50.as_secs_f64() / small.check_p50.as_secs_f64(),
        large.unknown_p50.as_secs_f64() / small.unknown_p50.as_secs_f64(),
        large.lookup_p50.as_secs_f64() / small.lookup_p50.as_secs_f64(),
    );
    println!(
        "unknown content against the baseline (large store): p50 {:.2}x",
        large.unknown_p50.as_secs_f64() / large.lookup_p50.as_secs_f64(),
    );
}

async fn measure(posts: usize) -> Measured {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Arc::new(SqliteStore::open(&SqliteOptions::in_directory(dir.path())).expect("store opens"));
    let shared: Arc<dyn Store> = store.clone();
    let settings = IntakeSettings {
        limits: Limits::default(),
        lexicon: Arc::new(Lexicon::builtin().clone()),
        tip_status_floor: Duration::ZERO,
        seal_to: None,
        max_stream_duration: vigil_query::DEFAULT_MAX_STREAM_DURATION,
    };
    let tracking = Tracking::open(Arc::clone(&shared), TrackingSettings::default()).await.expect("tracking opens");
    let intake = Intake::new(Arc::clone(&shared), settings, tracking);
    let query = Query::new(Arc::clone(&shared), Limits::default());

    let started = Instant::now();
    for chunk_start in (0..posts).step_by(10_000) {
        let mut ingest = intake.begin_ingest(vigil_query::Caller {
            name: "bench-crawler".into(),
            role: vigil_store::Role::Partner,
            platform: None,
        });
        for message_start in (chunk_start..(chunk_start + 10_000).min(posts)).step_by(1_000) {
            let batch = (message_start..(message_start + 1_000).min(posts))
                .map(|n| PostSubmission {
                    platform: "telegram".into(),
                    platform_post_id: n.to_string(),
                    text: timing::post_text(n),
                    posted_at: Some(1_767_225_600 + n as i64),
                    ..PostSubmission::default()
                })
                .collect();
            ingest.add_message(batch).expect("batch is valid");
        }
        ingest.finish().await.expect("posts are stored");
    }
    let loaded = started.elapsed();

    // Until the known keys are loaded every check reads storage.
    while !store.known_keys_state().complete {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sample: Vec<usize> = (0..CHECKS).map(|i| (i * 7919) % posts).collect();
    let mut checks = Vec::with_capacity(CHECKS);
    let mut stored_keys = Vec::with_capacity(CHECKS);
    for &n in &sample {
        let check = ContentCheck { text: timing::post_text(n), ..ContentCheck::default() };
        let started = Instant::now();
        let matches = query.check_content(check).await.expect("check succeeds");
        checks.push(started.elapsed());
        assert!(matches.indicators.len() >= 2, "a stored post's indicators are known");
        let first = &matches.indicators[0];
        stored_keys.push(IndicatorKey { kind: first.kind, value: first.value.clone() });
    }
    checks.sort();
    let mut unknown = Vec::with_capacity(CHECKS);
    for &n in &sample {
        let text = format!("Nouvelle publication, rejoignez #Inconnu{n} avec @inconnu_exemple_{n} ce soir.");
        let started = Instant::now();
        let matches =
            query.check_content(ContentCheck { text, ..ContentCheck::default() }).await.expect("check succeeds");
        unknown.push(started.elapsed());
        assert!(matches.indicators.is_empty() && matches.accounts.is_empty(), "nothing of it is stored");
    }
    unknown.sort();
    // A stored key, so that the look-up reads storage.
    let mut lookups = Vec::with_capacity(CHECKS);
    for key in stored_keys {
        let started = Instant::now();
        let found = store.known_indicators(vec![key]).await.expect("look-up succeeds");
        lookups.push(started.elapsed());
        assert_eq!(found.len(), 1);
    }
    lookups.sort();
    let indicators = count_indicators(&dir);
    eprintln!("loaded {posts} posts ({indicators} indicators) in {:.1} s", loaded.as_secs_f64());
    Measured {
        indicators,
        check_p50: timing::quantile(&checks, 0.5),
        check_p99: timing::quantile(&checks, 0.99),
        unknown_p50: timing::quantile(&unknown, 0.5),
        unknown_p99: timing::quantile(&unknown, 0.99),
        lookup_p50: timing::quantile(&lookups, 0.5),
    }
}

fn count_indicators(dir: &tempfile::TempDir) -> u64 {
    let connection = rusqlite::Connection::open(dir.path().join("vigil.sqlite3")).expect("database opens");
    connection.query_row("SELECT count(*) FROM indicator", [], |row| row.get(0)).expect("count")
}
