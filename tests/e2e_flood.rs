//! Analysts keep working while the public endpoint is flooded: many
//! connections, many streams on each, hammer SubmitTip, GetTipStatus and
//! AddTipFollowUp (an Argon2id hash or check each, when admitted) as fast as
//! they can; the limiter admits the burst and its refill and refuses the
//! rest with RESOURCE_EXHAUSTED, and an analyst making the same CheckContent
//! and LookupIndicator calls as before the flood sees every one succeed,
//! within a bound of its own baseline from the same run.
//!
//! What the latency bound does not show: that the limiter is what keeps it.
//! On a 2-core machine, where the flood client shares the cores with the
//! server, a flood answered at once by refusals is a far busier one (tens of
//! thousands of calls) than one admitted and queued behind the two Argon2id
//! permits (a few hundred), and the analyst was measured slower with the
//! limiter on than off (p95 went from about 7 ms to 64 to 91 ms with the
//! limiter, to 24 to 59 ms without). The
//! limiter bounds the public work, which this test checks exactly; the
//! latency bound catches analysts stalled behind that work, which would be
//! seconds.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vigil_proto::tonic::transport::Channel;
use vigil_proto::tonic::{self, Code};
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::{
    AccountRef, AddTipFollowUpRequest, CheckContentRequest, GetTipStatusRequest, IndicatorKind, IngestPostsRequest,
    LookupIndicatorRequest, Post, SubmitTipRequest,
};

use support::Vigil;

/// Passed explicitly, so that the admitted count below is checked against
/// the burst the server really has.
const PUBLIC_BURST: u32 = 20;
/// The refill of `--public-burst`: one every 2 s per source.
const PUBLIC_REFILL_PER_SECOND: f64 = 0.5;

const FLOOD_CONNECTIONS: usize = 8;
/// Concurrent calls on each flood connection: well under the server's 256
/// streams per connection, so that the limiter, not the stream cap, is what
/// answers them.
const FLOOD_CALLERS_PER_CONNECTION: usize = 32;
/// Long enough for the flood to have spent its burst before the analyst
/// starts, so that the analyst is measured against the steady flood.
const FLOOD_HEAD_START: Duration = Duration::from_millis(500);
/// Ample for the admitted few to finish once the flood stops.
const FLOOD_DRAIN: Duration = Duration::from_secs(2);

const SEEDED_POSTS: usize = 200;
const ANALYST_CALLS: usize = 80;
/// A platform's checker or an analyst does not call back to back; the pause
/// also spreads the calls over the whole flood.
const ANALYST_PAUSE: Duration = Duration::from_millis(20);

#[test]
fn analysts_keep_their_latency_while_the_public_endpoint_is_flooded() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &["--public-burst", &PUBLIC_BURST.to_string()]);
    // The flood and the analyst run on runtimes of their own, so that the
    // analyst's measured latency is the server's, not time spent waiting
    // behind flood tasks in one runtime's queue.
    let flood_runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let analyst_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    flood_runtime.block_on(async {
        vigil.wait_serving().await;
        seed_posts(&vigil).await;
    });

    let mut analyst = analyst_runtime.block_on(async { QueryClient::new(vigil.channel().await) });
    // Warms the connection, the key cache and the database's pages, which
    // the baseline should not be charged for.
    analyst_runtime.block_on(analyst_round(&mut analyst, 10));
    let baseline = analyst_runtime.block_on(analyst_round(&mut analyst, ANALYST_CALLS));

    let counts = Arc::new(FloodCounts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let flood_started = Instant::now();
    let flood = flood_runtime.spawn(flood(vigil.endpoint(), Arc::clone(&counts), Arc::clone(&stop)));
    std::thread::sleep(FLOOD_HEAD_START);
    let during_flood = analyst_runtime.block_on(analyst_round(&mut analyst, ANALYST_CALLS));
    stop.store(true, Ordering::Relaxed);
    flood_runtime.block_on(flood).unwrap();
    let flood_lasted = flood_started.elapsed();
    let unanswered = counts.unanswered.load(Ordering::Relaxed);

    let admitted = counts.admitted.load(Ordering::Relaxed);
    let refused = counts.refused.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let public_calls = admitted + refused + failed;
    eprintln!(
        "analyst baseline p50 {:?} p95 {:?}; during the flood p50 {:?} p95 {:?}",
        baseline.percentile(50),
        baseline.percentile(95),
        during_flood.percentile(50),
        during_flood.percentile(95),
    );
    eprintln!(
        "public flood over {flood_lasted:?}: {public_calls} calls, {admitted} admitted, {refused} refused, \
         {failed} failed otherwise, {unanswered} unanswered when it stopped"
    );

    // The limiter did the refusing: all but the burst and its refill, from
    // the one source address every flood connection shares. Without it
    // (tried: a patched server, and `--public-burst 1000000`, which leaves
    // only the total bucket) more are admitted than that and the rest queue
    // behind the Argon2id permits, unanswered.
    assert_eq!(failed, 0, "public calls failed other than by the limit: {:?}", counts.failure());
    let most_admitted = f64::from(PUBLIC_BURST) + PUBLIC_REFILL_PER_SECOND * flood_lasted.as_secs_f64() + 1.0;
    assert!(admitted as f64 <= most_admitted, "{admitted} admitted, over the limit's {most_admitted:.0}");
    assert_eq!(unanswered, 0, "public calls still waiting when the flood stopped: admitted, and queued");
    assert!(public_calls >= 1_000, "only {public_calls} public calls answered: the flood never got going");
    assert!(refused >= 9 * public_calls / 10, "only {refused} of {public_calls} public calls refused");
    let refusal = counts.refusal().expect("a refusal was kept");
    assert!(refusal.message().contains(&format!("limit of {PUBLIC_BURST} at once")), "{refusal:?}");

    // Every analyst call succeeded: analyst_round panics on the first that
    // fails. The slack is for a shared 2-core machine, where the flood was
    // measured to take the analyst from a p95 of 7 ms to 91 ms; it still
    // fails an analyst held up for as long as the public calls queue behind
    // Argon2id, seconds.
    for (percentile, slack) in [(50, Duration::from_millis(100)), (95, Duration::from_millis(250))] {
        let (before, during) = (baseline.percentile(percentile), during_flood.percentile(percentile));
        let bound = 3 * before + slack;
        assert!(
            during <= bound,
            "analyst p{percentile} went from {before:?} to {during:?} during the flood, over {bound:?}"
        );
    }

    // Closed before the server stops, so that no connection is left that a
    // runtime no longer drives to answer the server's GOAWAY.
    drop(analyst);
    drop(analyst_runtime);
    flood_runtime.block_on(vigil.stop());
}

/// Posts for the analyst's calls to find: every one shares the checked
/// domain and hashtag, so each check and lookup reads many rows.
async fn seed_posts(vigil: &Vigil) {
    let posts: Vec<Post> = (0..SEEDED_POSTS)
        .map(|n| Post {
            platform: "telegram".into(),
            platform_post_id: format!("flood-seed-{n}"),
            author: Some(AccountRef {
                platform: "telegram".into(),
                handle: format!("@Relais_Exemple_{}", n % 10),
                ..Default::default()
            }),
            url: format!("https://t.me/relais_exemple_{}/{n}", n % 10),
            text: format!(
                "Rejoignez @Canal_Exemple : https://example.org/campagne/{} et https://miroir.example.net/{n} \
                 #CampagneExemple",
                n % 20
            ),
            posted_at: Some(vigil_proto::prost_types::Timestamp { seconds: 1_767_225_600 + n as i64, nanos: 0 }),
            ..Default::default()
        })
        .collect();
    let mut intake = IntakeClient::new(vigil.channel_as("crawler-example").await);
    let stored = intake.ingest_posts(tokio_stream::once(IngestPostsRequest { posts })).await.unwrap().into_inner();
    assert_eq!(stored.accepted, SEEDED_POSTS as u64, "{stored:?}");
}

/// Alternates a content check and an indicator lookup, as a platform's
/// checker and an analyst would; panics on any call that fails.
async fn analyst_round(query: &mut QueryClient<support::Authed>, calls: usize) -> Latencies {
    let check = CheckContentRequest {
        text: "Vu ce matin : https://example.org/campagne/3 relayé par @canal_exemple #CampagneExemple".into(),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: "@relais_exemple_3".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let lookup =
        LookupIndicatorRequest { kind: IndicatorKind::Domain as i32, value: "example.org".into(), max_documents: 50 };
    let mut latencies = Vec::with_capacity(calls);
    for call in 0..calls {
        let started = Instant::now();
        if call % 2 == 0 {
            let matches = query.check_content(check.clone()).await.expect("an analyst's check succeeds").into_inner();
            latencies.push(started.elapsed());
            assert!(matches.indicators.len() >= 3, "the seeded indicators are found: {matches:?}");
        } else {
            let found = query.lookup_indicator(lookup.clone()).await.expect("an analyst's lookup succeeds");
            latencies.push(started.elapsed());
            assert_eq!(found.into_inner().sighting_count, SEEDED_POSTS as u64);
        }
        tokio::time::sleep(ANALYST_PAUSE).await;
    }
    Latencies(latencies)
}

struct Latencies(Vec<Duration>);

impl Latencies {
    /// The nearest-rank percentile.
    fn percentile(&self, percentile: usize) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        let rank = (sorted.len() * percentile).div_ceil(100).max(1);
        sorted[rank - 1]
    }
}

#[derive(Default)]
struct FloodCounts {
    admitted: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    /// Calls still in flight a while after the flood stopped.
    unanswered: AtomicU64,
    /// One of each kind, for the assertions' messages.
    refusal: Mutex<Option<tonic::Status>>,
    failure: Mutex<Option<tonic::Status>>,
}

impl FloodCounts {
    fn record(&self, answer: Result<(), tonic::Status>) {
        let counter = match answer {
            // A made-up receipt code is NOT_FOUND only after its Argon2id
            // check: the call was admitted and cost the server its work.
            Ok(()) => &self.admitted,
            Err(status) if status.code() == Code::NotFound => &self.admitted,
            Err(status) if status.code() == Code::ResourceExhausted => {
                self.refusal.lock().unwrap().get_or_insert(status);
                &self.refused
            }
            Err(status) => {
                self.failure.lock().unwrap().get_or_insert(status);
                &self.failed
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn refusal(&self) -> Option<tonic::Status> {
        self.refusal.lock().unwrap().clone()
    }

    fn failure(&self) -> Option<tonic::Status> {
        self.failure.lock().unwrap().clone()
    }
}

/// Public calls from many connections and many streams on each, back to
/// back, until `stop`; then those still in flight a while later are
/// counted as unanswered and abandoned, so that a limiter letting the flood
/// in fails the test in seconds, not after the queue drains.
async fn flood(endpoint: String, counts: Arc<FloodCounts>, stop: Arc<AtomicBool>) {
    let mut callers = tokio::task::JoinSet::new();
    for connection in 0..FLOOD_CONNECTIONS {
        let channel = Channel::from_shared(endpoint.clone()).unwrap().connect().await.expect("connects to vigil");
        for caller in 0..FLOOD_CALLERS_PER_CONNECTION {
            let intake = IntakeClient::new(channel.clone());
            let (counts, stop) = (Arc::clone(&counts), Arc::clone(&stop));
            let seed = connection * FLOOD_CALLERS_PER_CONNECTION + caller;
            callers.spawn(flood_caller(intake, seed, counts, stop));
        }
    }
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = tokio::time::timeout(FLOOD_DRAIN, async { while callers.join_next().await.is_some() {} }).await;
    counts.unanswered.store(callers.len() as u64, Ordering::Relaxed);
    callers.abort_all();
}

async fn flood_caller(mut intake: IntakeClient<Channel>, seed: usize, counts: Arc<FloodCounts>, stop: Arc<AtomicBool>) {
    let mut call = 0usize;
    while !stop.load(Ordering::Relaxed) {
        // Well-formed codes nobody was issued: each admitted one costs an
        // Argon2id check against the decoy hash.
        let receipt_code = format!("{seed:012}{call:016}");
        // Mostly GetTipStatus, the call a guesser of codes would make.
        let answer = match call % 4 {
            0 => intake
                .submit_tip(SubmitTipRequest {
                    text: format!("Signalement {seed}-{call} https://flood.example.com/{call}"),
                    ..Default::default()
                })
                .await
                .map(drop),
            1 => intake
                .add_tip_follow_up(AddTipFollowUpRequest {
                    receipt_code,
                    text: "Et aussi https://flood.example.com/suite".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
            _ => intake.get_tip_status(GetTipStatusRequest { receipt_code }).await.map(drop),
        };
        counts.record(answer);
        call += 1;
    }
}
