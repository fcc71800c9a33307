//! Load generator: drives the real `vigil` binary over gRPC on loopback and
//! reports throughput and latency percentiles, each beside a ceiling measured
//! in the same run (the server's gRPC health Check, the cheapest unary
//! handler on the same server and stack).
//!
//! cargo bench -p vigil-server --bench load -- --engine sqlite|postgres
//!     --scenario ingest|check|lookup|ceiling|all --concurrency N --duration SECONDS
//!     [--rate R] [--indicators N] [--batch N] [--endpoint http://host:port]
//!     [--messages-per-stream N] [--ingest-concurrency N] [--preload-stream-posts N]
//!     [--warmup SECONDS] [--client-threads N] [--pace-us N] [--server-pid PID] [--pg-url URL]
//!
//! Scenarios:
//! - `ingest`: IngestPosts streams of `--messages-per-stream` messages of
//!   `--batch` posts (about 300 bytes, 2 to 3 indicators each), closed loop.
//! - `check`: CheckContent after preloading `--indicators` indicators, open
//!   loop at `--rate`; one check in ten holds a known indicator, and every
//!   answer is verified (known ones must match, unknown ones must not).
//! - `lookup`: LookupIndicator of preloaded indicators, closed loop (and open
//!   loop too when `--rate` is given).
//! - `ceiling`: health Check, closed loop (and open loop at `--rate`).
//! - `all`: ceiling, ingest, then preload, check and lookup on one server.
//!
//! Every run measures the ceiling first. After the preload it prints the
//! preload rate, the indicators stored (all of them, ingest's and the
//! authors' accounts included) and the server's resident size.
//!
//! The machine is shared by this client, the server and PostgreSQL, so each
//! row also says how much CPU the client, the server and the whole machine
//! used in its window. Progress goes to stderr; the summary table and one
//! JSON line (for BENCHMARKS.md) go to stdout.

#[path = "load/corpus.rs"]
mod corpus;
#[path = "load/drive.rs"]
mod drive;
#[path = "load/server.rs"]
mod server;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use vigil_proto::tonic::metadata::{Ascii, MetadataValue};
use vigil_proto::tonic::service::Interceptor;
use vigil_proto::tonic::service::interceptor::InterceptedService;
use vigil_proto::tonic::transport::{Channel, Endpoint};
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::{CheckContentRequest, IndicatorKind, IngestPostsRequest, LookupIndicatorRequest};

use drive::{Measured, Window};

/// One request in flight: the units of work it did, or what went wrong.
type CallFuture = std::pin::Pin<Box<dyn Future<Output = Result<u64, String>> + Send>>;
/// The indicator a check must match; none when it holds only unknown ones.
type Expected = Option<(IndicatorKind, String)>;

#[derive(Debug, Parser)]
#[command(name = "load", about = "Load generator for the vigil gRPC server")]
struct Options {
    #[arg(long, value_enum, default_value_t = Engine::Sqlite)]
    engine: Engine,
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Connections, and requests in flight in closed loops.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds measured per scenario, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds run before each measured window, not recorded.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Open-loop requests per second [default for check: 10000]. Given, it
    /// also adds open-loop runs of lookup.
    #[arg(long)]
    rate: Option<f64>,
    /// Distinct indicators preloaded before check and lookup.
    #[arg(long, default_value_t = 1_000_000)]
    indicators: u64,
    /// Posts per IngestPostsRequest message.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// IngestPostsRequest messages per stream (one stream is one request).
    #[arg(long, default_value_t = 5)]
    messages_per_stream: usize,
    /// Posts per preload stream (one transaction each), sent in messages of
    /// at most 1,000 posts, two streams in flight. PostgreSQL's lock table
    /// (64 locks per connection by default) bounds it: the store locks every
    /// post, account and indicator of a stream.
    #[arg(long, default_value_t = 500)]
    preload_stream_posts: usize,
    /// Concurrent ingest streams [default: --concurrency].
    #[arg(long)]
    ingest_concurrency: Option<usize>,
    /// Use a server already running there instead of starting one.
    #[arg(long)]
    endpoint: Option<String>,
    /// With --endpoint: the server's pid, for its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// With --endpoint: an analyst key for it [default: $VIGIL_KEY].
    #[arg(long)]
    key: Option<String>,
    /// PostgreSQL for --engine postgres; a schema of its own is created and
    /// dropped [default: $VIGIL_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/test].
    #[arg(long)]
    pg_url: Option<String>,
    /// Tokio worker threads of this client.
    #[arg(long, default_value_t = 1)]
    client_threads: usize,
    /// Open loops: the pacing thread wakes at most once per this many
    /// microseconds and sends whatever is due (0: wake for every request).
    #[arg(long, default_value_t = 0)]
    pace_us: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Ingest,
    Check,
    Lookup,
    Ceiling,
    All,
}

const DEFAULT_CHECK_RATE: f64 = 10_000.0;
/// Distinct prebuilt requests cycled through by check and lookup.
const REQUEST_POOL: u64 = 100_000;
/// Requests verified one by one before the timed check run.
const VERIFIED_SAMPLE: u64 = 300;
const PRELOAD_POSTS_PER_MESSAGE: usize = 1_000;
const PRELOAD_STREAMS_IN_FLIGHT: usize = 2;
/// Open loops stop sending (and fall behind schedule) past this many
/// requests in flight.
const MAX_IN_FLIGHT: usize = 20_000;

fn main() {
    let options = Options::parse();
    assert!(
        options.concurrency > 0 && options.duration > 0.0 && options.batch > 0 && options.preload_stream_posts > 0,
        "nothing to measure"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.client_threads.max(1))
        .enable_all()
        .build()
        .expect("runtime starts");
    let report = runtime.block_on(run(&options));
    print!("{}", report.table());
    println!("{}", report.json());
    if !report.failures.is_empty() {
        eprintln!("FAILED:");
        for failure in &report.failures {
            eprintln!("  {failure}");
        }
        std::process::exit(1);
    }
}

/// One row of the summary.
#[derive(Debug)]
struct Row {
    scenario: String,
    mode: &'static str,
    concurrency: usize,
    target_rate: Option<f64>,
    measured: Measured,
    /// "posts" for ingest: throughput is also given in these.
    units: Option<&'static str>,
}

#[derive(Debug, Default)]
struct Preload {
    posts: u64,
    seconds: f64,
    indicators_expected: u64,
    indicators_stored: Option<u64>,
    storage_bytes: Option<u64>,
    server_rss_kib: Option<u64>,
    server_peak_rss_kib: Option<u64>,
}

#[derive(Debug)]
struct Report {
    engine: Engine,
    duration: f64,
    client_threads: usize,
    rows: Vec<Row>,
    preload: Option<Preload>,
    failures: Vec<String>,
}

/// The server being measured, started here or given.
struct Target {
    endpoint: String,
    /// The analyst key every call sends.
    key: String,
    pid: Option<u32>,
    server: Option<server::Server>,
    schema: Option<server::PostgresSchema>,
    data_dir: Option<tempfile::TempDir>,
    /// Distinguishes this run's posts from an earlier run's on a given server.
    run_id: String,
}

impl Target {
    fn indicators_and_bytes(&self) -> Option<(u64, u64)> {
        match (&self.schema, &self.data_dir, &self.server) {
            (Some(schema), _, Some(_)) => Some(schema.indicators_and_bytes()),
            (None, Some(dir), Some(_)) => Some(server::sqlite_indicators_and_bytes(dir.path())),
            _ => None,
        }
    }
}

async fn run(options: &Options) -> Report {
    let target = start_target(options).await;
    let mut report = Report {
        engine: options.engine,
        duration: options.duration,
        client_threads: options.client_threads,
        rows: vec![],
        preload: None,
        failures: vec![],
    };
    let window =
        Window { warmup: Duration::from_secs_f64(options.warmup), duration: Duration::from_secs_f64(options.duration) };
    let check_rate = options.rate.unwrap_or(DEFAULT_CHECK_RATE);
    let scenario = options.scenario;
    let needs_preload = matches!(scenario, Scenario::Check | Scenario::Lookup | Scenario::All);

    // The ceiling first, in every run: closed loop, and open loop at the rate
    // an open-loop scenario of this run uses.
    report.rows.push(ceiling_closed(options, &target, window).await);
    let ceiling_rate = match scenario {
        Scenario::Check | Scenario::All => Some(check_rate),
        _ => options.rate,
    };
    if let Some(rate) = ceiling_rate {
        report.rows.push(ceiling_open(options, &target, window, rate).await);
    }
    if matches!(scenario, Scenario::Ingest | Scenario::All) {
        report.rows.push(ingest(options, &target, window).await);
    }
    if needs_preload {
        let preload = match preload(options, &target).await {
            Ok(preload) => preload,
            Err(failure) => {
                report.failures.push(failure);
                return finish(report, target);
            }
        };
        let posts = preload.posts;
        report.preload = Some(preload);
        if matches!(scenario, Scenario::Check | Scenario::All) {
            match verify_checks(&target, posts).await {
                Ok(()) => eprintln!("check: {VERIFIED_SAMPLE} sampled checks verified (known match, unknown do not)"),
                Err(failure) => report.failures.push(failure),
            }
            report.rows.push(check(options, &target, window, check_rate, posts).await);
        }
        if matches!(scenario, Scenario::Lookup | Scenario::All) {
            report.rows.push(lookup_closed(options, &target, window, posts).await);
            if let Some(rate) = options.rate {
                report.rows.push(lookup_open(options, &target, window, rate, posts).await);
            }
        }
    }
    finish(report, target)
}

/// Adds each row's errors to the failures, and stops the server.
fn finish(mut report: Report, target: Target) -> Report {
    for row in &report.rows {
        if row.measured.tally.errors > 0 {
            report.failures.push(format!(
                "{} ({}): {} errors, first: {}",
                row.scenario,
                row.mode,
                row.measured.tally.errors,
                row.measured.tally.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    if !report.failures.is_empty()
        && let Some(server) = &target.server
    {
        eprintln!("the server's last log lines:");
        for line in server.recent_logs.lock().unwrap().iter() {
            eprintln!("  {line}");
        }
    }
    stop_target(target);
    report
}

async fn start_target(options: &Options) -> Target {
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 0xffff_ffff
    );
    if let Some(endpoint) = &options.endpoint {
        server::wait_serving(endpoint).await;
        eprintln!("using the server at {endpoint} (engine label: {:?})", options.engine);
        let key = options.key.clone().or_else(|| std::env::var("VIGIL_KEY").ok()).expect("--key or $VIGIL_KEY");
        return Target {
            endpoint: endpoint.clone(),
            key,
            pid: options.server_pid,
            server: None,
            schema: None,
            data_dir: None,
            run_id,
        };
    }
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let schema = (options.engine == Engine::Postgres).then(|| {
        let base = options
            .pg_url
            .clone()
            .or_else(|| std::env::var("VIGIL_TEST_PG_URL").ok())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        server::PostgresSchema::create(&base)
    });
    let started = Instant::now();
    let server = server::Server::start(data_dir.path(), schema.as_ref().map(|s| s.url.as_str()));
    server::wait_serving(&server.endpoint).await;
    eprintln!(
        "vigil (pid {}) serving at {} on {:?}{} after {:.0} ms",
        server.pid(),
        server.endpoint,
        options.engine,
        schema.as_ref().map(|s| format!(" (schema {})", s.name)).unwrap_or_default(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Target {
        endpoint: server.endpoint.clone(),
        key: server.key.clone(),
        pid: Some(server.pid()),
        server: Some(server),
        schema,
        data_dir: Some(data_dir),
        run_id,
    }
}

fn stop_target(target: Target) {
    if let Some(server) = target.server {
        server.stop();
    }
    // The schema is dropped after the server has let go of it.
    drop(target.schema);
    drop(target.data_dir);
}

/// `count` connections to the target, each its own HTTP/2 connection.
/// A connection that sends the target's key with every call.
type Authed = InterceptedService<Channel, Bearer>;

#[derive(Clone, Debug)]
struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: vigil_proto::tonic::Request<()>,
    ) -> Result<vigil_proto::tonic::Request<()>, vigil_proto::tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

async fn channels(target: &Target, count: usize) -> Vec<Authed> {
    let bearer = Bearer(format!("Bearer {}", target.key).parse().expect("a key is ASCII"));
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let channel = Endpoint::from_shared(target.endpoint.clone())
            .expect("valid endpoint")
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("connects to vigil");
        channels.push(InterceptedService::new(channel, bearer.clone()));
    }
    channels
}

async fn health_clients(target: &Target, count: usize) -> Arc<Vec<HealthClient<Authed>>> {
    Arc::new(channels(target, count).await.into_iter().map(HealthClient::new).collect())
}

async fn query_clients(target: &Target, count: usize) -> Arc<Vec<QueryClient<Authed>>> {
    Arc::new(channels(target, count).await.into_iter().map(QueryClient::new).collect())
}

fn health_call(
    clients: &Arc<Vec<HealthClient<Authed>>>,
) -> impl Fn(usize, HealthCheckRequest) -> CallFuture + Send + Sync + 'static {
    let clients = Arc::clone(clients);
    move |connection, request| {
        let mut client = clients[connection].clone();
        Box::pin(async move {
            let answer = client.check(request).await.map_err(|status| status.to_string())?.into_inner();
            if answer.status == ServingStatus::Serving as i32 {
                Ok(1)
            } else {
                Err(format!("health status {}", answer.status))
            }
        })
    }
}

async fn ceiling_closed(options: &Options, target: &Target, window: Window) -> Row {
    eprintln!("ceiling: health Check, closed loop, {} connections", options.concurrency);
    let clients = health_clients(target, options.concurrency).await;
    let request = HealthCheckRequest { service: String::new() };
    let measured =
        drive::closed_loop(options.concurrency, window, target.pid, move |_, _| request.clone(), health_call(&clients))
            .await;
    Row {
        scenario: "ceiling".into(),
        mode: "closed",
        concurrency: options.concurrency,
        target_rate: None,
        measured,
        units: None,
    }
}

async fn ceiling_open(options: &Options, target: &Target, window: Window, rate: f64) -> Row {
    eprintln!("ceiling: health Check, open loop at {rate} requests/s over {} connections", options.concurrency);
    let clients = health_clients(target, options.concurrency).await;
    let request = HealthCheckRequest { service: String::new() };
    let measured = drive::open_loop(
        rate,
        options.concurrency,
        window,
        Duration::from_micros(options.pace_us),
        target.pid,
        MAX_IN_FLIGHT,
        move |_| request.clone(),
        health_call(&clients),
    )
    .await;
    Row {
        scenario: "ceiling".into(),
        mode: "open",
        concurrency: options.concurrency,
        target_rate: Some(rate),
        measured,
        units: None,
    }
}

async fn ingest(options: &Options, target: &Target, window: Window) -> Row {
    let workers = options.ingest_concurrency.unwrap_or(options.concurrency);
    let posts_per_stream = options.batch * options.messages_per_stream;
    eprintln!(
        "ingest: {workers} streams in flight, {} messages of {} posts per stream",
        options.messages_per_stream, options.batch
    );
    let channels = channels(target, workers).await;
    let clients: Arc<Vec<IntakeClient<Authed>>> = Arc::new(channels.into_iter().map(IntakeClient::new).collect());
    let next_post = Arc::new(AtomicU64::new(0));
    let (run_id, batch, messages) = (target.run_id.clone(), options.batch, options.messages_per_stream);
    let prepare = move |_, _| {
        let first = next_post.fetch_add(posts_per_stream as u64, Ordering::Relaxed);
        let now = unix_seconds();
        (0..messages)
            .map(|m| IngestPostsRequest {
                posts: (0..batch).map(|p| corpus::ingest_post(&run_id, first + (m * batch + p) as u64, now)).collect(),
            })
            .collect::<Vec<_>>()
    };
    let send = move |worker: usize, messages: Vec<IngestPostsRequest>| {
        let mut client = clients[worker].clone();
        async move { send_stream(&mut client, messages).await }
    };
    let measured = drive::closed_loop(workers, window, target.pid, prepare, send).await;
    Row {
        scenario: format!("ingest {}x{}", options.messages_per_stream, options.batch),
        mode: "closed",
        concurrency: workers,
        target_rate: None,
        measured,
        units: Some("posts"),
    }
}

/// Sends one IngestPosts stream; every post must be accepted.
async fn send_stream(client: &mut IntakeClient<Authed>, messages: Vec<IngestPostsRequest>) -> Result<u64, String> {
    let sent: usize = messages.iter().map(|m| m.posts.len()).sum();
    let answer =
        client.ingest_posts(tokio_stream::iter(messages)).await.map_err(|status| status.to_string())?.into_inner();
    if let Some(rejected) = answer.rejected.first() {
        return Err(format!(
            "{} posts rejected, first {}: {} {}",
            answer.rejected.len(),
            rejected.platform_post_id,
            rejected.field,
            rejected.reason
        ));
    }
    if answer.accepted != sent as u64 {
        return Err(format!("{} posts sent, {} accepted, {} duplicates", sent, answer.accepted, answer.duplicates));
    }
    Ok(answer.accepted)
}

/// Stores enough posts for `--indicators` distinct indicators, then says how
/// long it took, what is stored and how much memory the server holds.
async fn preload(options: &Options, target: &Target) -> Result<Preload, String> {
    let posts = corpus::preload_posts_for(options.indicators);
    let per_stream = options.preload_stream_posts as u64;
    let streams = posts.div_ceil(per_stream);
    eprintln!(
        "preload: {posts} posts ({} indicators) in {streams} streams of up to {per_stream} posts",
        corpus::preload_indicators(posts)
    );
    let clients: Vec<IntakeClient<Authed>> =
        channels(target, PRELOAD_STREAMS_IN_FLIGHT).await.into_iter().map(IntakeClient::new).collect();
    let next_stream = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for mut client in clients {
        let (next_stream, run_id) = (Arc::clone(&next_stream), target.run_id.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let stream = next_stream.fetch_add(1, Ordering::Relaxed);
                if stream >= streams {
                    return Ok(());
                }
                let now = unix_seconds();
                let first = stream * per_stream;
                let last = (first + per_stream).min(posts);
                let messages: Vec<IngestPostsRequest> = (first..last)
                    .collect::<Vec<_>>()
                    .chunks(PRELOAD_POSTS_PER_MESSAGE)
                    .map(|chunk| IngestPostsRequest {
                        posts: chunk.iter().map(|&i| corpus::preload_post(&run_id, i, now)).collect(),
                    })
                    .collect();
                if let Err(error) = send_stream(&mut client, messages).await {
                    // Stop the other worker too: the run has failed.
                    next_stream.store(streams, Ordering::Relaxed);
                    let hint = if error.contains("out of shared memory") {
                        " (PostgreSQL's lock table is full; a smaller --preload-stream-posts takes fewer locks)"
                    } else {
                        ""
                    };
                    return Err(format!("preload stream {stream} ({} posts) failed: {error}{hint}", last - first));
                }
                if (stream + 1) % (streams / 10).max(1) == 0 {
                    eprintln!("preload: {last} of {posts} posts stored");
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("preload worker finished")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let indicators_expected = corpus::preload_indicators(posts);
    let stored = target.indicators_and_bytes();
    let rss = target.pid.and_then(server::resident_kib);
    let preload = Preload {
        posts,
        seconds,
        indicators_expected,
        indicators_stored: stored.map(|s| s.0),
        storage_bytes: stored.map(|s| s.1),
        server_rss_kib: rss.map(|r| r.0),
        server_peak_rss_kib: rss.map(|r| r.1),
    };
    eprintln!(
        "preload: {posts} posts in {seconds:.1} s: {:.0} posts/s, {:.0} indicators/s (not measured in the figures)",
        posts as f64 / seconds,
        indicators_expected as f64 / seconds
    );
    eprintln!(
        "after preload: {} indicators stored ({} preloaded), storage {}, server resident {} (peak {})",
        preload.indicators_stored.map_or("?".to_owned(), thousands),
        thousands(indicators_expected),
        preload.storage_bytes.map_or("?".to_owned(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
        preload.server_rss_kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        preload.server_peak_rss_kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
    );
    Ok(preload)
}

/// Prebuilt checks, with the indicator each must match (if any).
fn check_pool(preloaded_posts: u64) -> Arc<Vec<(CheckContentRequest, Expected)>> {
    Arc::new((0..REQUEST_POOL).map(|j| corpus::check_request(j, preloaded_posts)).collect())
}

/// Whether an answer to a check is right: the known indicator matched, or
/// nothing matched in a check of unknown content.
fn check_answer(answer: &vigil_proto::v1::CheckContentResponse, expected: &Expected) -> Result<(), String> {
    match expected {
        Some((kind, value)) => {
            if answer.indicators.iter().any(|m| m.kind == *kind as i32 && m.value == *value) {
                Ok(())
            } else {
                Err(format!("known {kind:?} {value} not matched; matches: {:?}", answer.indicators))
            }
        }
        None => {
            if answer.indicators.is_empty() && answer.accounts.is_empty() {
                Ok(())
            } else {
                Err(format!("unknown content matched {:?} {:?}", answer.indicators, answer.accounts))
            }
        }
    }
}

/// A sample of known and unknown checks, one at a time, before the timed run.
async fn verify_checks(target: &Target, preloaded_posts: u64) -> Result<(), String> {
    let mut client = query_clients(target, 1).await[0].clone();
    for j in 0..VERIFIED_SAMPLE {
        // Every third sampled check holds a known indicator.
        let j = if j % 3 == 0 { j * 10 } else { j * 10 + 1 };
        let (request, expected) = corpus::check_request(j, preloaded_posts);
        let answer = client.check_content(request).await.map_err(|status| format!("check {j}: {status}"))?;
        check_answer(&answer.into_inner(), &expected).map_err(|error| format!("check {j}: {error}"))?;
    }
    Ok(())
}

fn check_call(
    clients: &Arc<Vec<QueryClient<Authed>>>,
) -> impl Fn(usize, (CheckContentRequest, Expected)) -> CallFuture + Send + Sync + 'static {
    let clients = Arc::clone(clients);
    move |connection, (request, expected)| {
        let mut client = clients[connection].clone();
        Box::pin(async move {
            let answer = client.check_content(request).await.map_err(|status| status.to_string())?.into_inner();
            check_answer(&answer, &expected).map(|()| 1)
        })
    }
}

async fn check(options: &Options, target: &Target, window: Window, rate: f64, preloaded_posts: u64) -> Row {
    eprintln!(
        "check: CheckContent, open loop at {rate} requests/s over {} connections, every answer verified",
        options.concurrency
    );
    let pool = check_pool(preloaded_posts);
    let clients = query_clients(target, options.concurrency).await;
    let measured = drive::open_loop(
        rate,
        options.concurrency,
        window,
        Duration::from_micros(options.pace_us),
        target.pid,
        MAX_IN_FLIGHT,
        move |sequence| pool[(sequence % REQUEST_POOL) as usize].clone(),
        check_call(&clients),
    )
    .await;
    Row {
        scenario: "check".into(),
        mode: "open",
        concurrency: options.concurrency,
        target_rate: Some(rate),
        measured,
        units: None,
    }
}

fn lookup_pool(preloaded_posts: u64) -> Arc<Vec<LookupIndicatorRequest>> {
    Arc::new((0..REQUEST_POOL).map(|k| corpus::lookup_request(k, preloaded_posts)).collect())
}

fn lookup_call(
    clients: &Arc<Vec<QueryClient<Authed>>>,
) -> impl Fn(usize, LookupIndicatorRequest) -> CallFuture + Send + Sync + 'static {
    let clients = Arc::clone(clients);
    move |connection, request| {
        let mut client = clients[connection].clone();
        Box::pin(async move {
            let (kind, value) = (request.kind, request.value.clone());
            let answer = client.lookup_indicator(request).await.map_err(|status| status.to_string())?.into_inner();
            if answer.kind == kind && answer.value == value && answer.sighting_count >= 1 {
                Ok(1)
            } else {
                Err(format!("look-up of {value}: answered {} seen {} times", answer.value, answer.sighting_count))
            }
        })
    }
}

async fn lookup_closed(options: &Options, target: &Target, window: Window, preloaded_posts: u64) -> Row {
    eprintln!("lookup: LookupIndicator, closed loop, {} connections", options.concurrency);
    let pool = lookup_pool(preloaded_posts);
    let clients = query_clients(target, options.concurrency).await;
    let workers = options.concurrency as u64;
    let measured = drive::closed_loop(
        options.concurrency,
        window,
        target.pid,
        move |worker, sequence| pool[((sequence * workers + worker as u64) % REQUEST_POOL) as usize].clone(),
        lookup_call(&clients),
    )
    .await;
    Row {
        scenario: "lookup".into(),
        mode: "closed",
        concurrency: options.concurrency,
        target_rate: None,
        measured,
        units: None,
    }
}

async fn lookup_open(options: &Options, target: &Target, window: Window, rate: f64, preloaded_posts: u64) -> Row {
    eprintln!("lookup: LookupIndicator, open loop at {rate} requests/s over {} connections", options.concurrency);
    let pool = lookup_pool(preloaded_posts);
    let clients = query_clients(target, options.concurrency).await;
    let measured = drive::open_loop(
        rate,
        options.concurrency,
        window,
        Duration::from_micros(options.pace_us),
        target.pid,
        MAX_IN_FLIGHT,
        move |sequence| pool[(sequence % REQUEST_POOL) as usize].clone(),
        lookup_call(&clients),
    )
    .await;
    Row {
        scenario: "lookup".into(),
        mode: "open",
        concurrency: options.concurrency,
        target_rate: Some(rate),
        measured,
        units: None,
    }
}

fn unix_seconds() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

fn millis(micros: u32) -> String {
    format!("{:.2} ms", f64::from(micros) / 1e3)
}

impl Row {
    fn throughput(&self) -> f64 {
        self.measured.requests() as f64 / self.measured.elapsed.as_secs_f64()
    }

    fn units_per_second(&self) -> Option<f64> {
        self.units.map(|_| self.measured.tally.units as f64 / self.measured.elapsed.as_secs_f64())
    }
}

impl Report {
    fn table(&self) -> String {
        let engine = engine_name(self.engine);
        let mut out = String::new();
        let _ = writeln!(out);
        if let Some(preload) = &self.preload {
            let _ = writeln!(
                out,
                "preload ({engine}): {} posts, {} indicators in {:.1} s ({:.0} posts/s); stored indicators {}, \
                 storage {}, server resident {} (peak {})",
                thousands(preload.posts),
                thousands(preload.indicators_expected),
                preload.seconds,
                preload.posts as f64 / preload.seconds,
                preload.indicators_stored.map_or("?".to_owned(), thousands),
                preload.storage_bytes.map_or("?".to_owned(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
                preload.server_rss_kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
                preload.server_peak_rss_kib.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            );
        }
        let _ = writeln!(
            out,
            "| scenario | engine | mode | conc. | rate | duration | requests | errors | throughput | p50 | p90 | p99 \
             | max | client CPU | server CPU | rest of machine |"
        );
        let _ = writeln!(
            out,
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: \
             | ---: |"
        );
        for row in &self.rows {
            let m = &row.measured;
            let cpu = &m.cpu;
            let mut throughput = format!("{:.0}/s", row.throughput());
            if let (Some(units), Some(per_second)) = (row.units, row.units_per_second()) {
                throughput = format!("{throughput} ({per_second:.0} {units}/s)");
            }
            let _ = writeln!(
                out,
                "| {} | {engine} | {} | {} | {} | {:.1} s | {} | {} | {} | {} | {} | {} | {} | {:.0}% | {} | {} |",
                row.scenario,
                row.mode,
                row.concurrency,
                row.target_rate.map_or("-".to_owned(), |r| format!("{r:.0}/s")),
                m.elapsed.as_secs_f64(),
                thousands(m.requests()),
                m.tally.errors,
                throughput,
                millis(m.quantile(0.5)),
                millis(m.quantile(0.9)),
                millis(m.quantile(0.99)),
                millis(m.quantile(1.0)),
                100.0 * cpu.client / cpu.wall,
                cpu.server.map_or("?".to_owned(), |s| format!("{:.0}%", 100.0 * s / cpu.wall)),
                cpu.server.map_or("?".to_owned(), |s| format!(
                    "{:.0}% ({:.0}% busy)",
                    100.0 * (cpu.machine_busy - cpu.client - s).max(0.0) / cpu.wall,
                    100.0 * cpu.machine_busy / cpu.machine_total.max(f64::EPSILON)
                )),
            );
        }
        for row in self.rows.iter().filter(|row| row.mode == "open") {
            let m = &row.measured;
            let _ = writeln!(
                out,
                "{} (open loop): {} of {} scheduled requests answered; the client's own send lag (scheduled to \
                 sent, included in the latencies) p50 {}, p99 {}; at most {} in flight",
                row.scenario,
                thousands(m.requests()),
                thousands(m.scheduled.unwrap_or(0)),
                millis(m.send_lag(0.5).unwrap_or(0)),
                millis(m.send_lag(0.99).unwrap_or(0)),
                m.max_in_flight.unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "CPU: percent of one core over each measured window ({} cores): client = this process ({} runtime \
             thread(s), plus a pacing thread in open loops), server = vigil, rest = everything else busy on the \
             machine (PostgreSQL, other work), then how busy the whole machine was.",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.client_threads
        );
        out
    }

    fn json(&self) -> String {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let m = &row.measured;
                serde_json::json!({
                    "scenario": row.scenario,
                    "engine": engine_name(self.engine),
                    "mode": row.mode,
                    "concurrency": row.concurrency,
                    "target_rate": row.target_rate,
                    "duration_s": round(m.elapsed.as_secs_f64(), 3),
                    "requests": m.requests(),
                    "scheduled": m.scheduled,
                    "errors": m.tally.errors,
                    "throughput_per_s": round(row.throughput(), 1),
                    "units": row.units,
                    "units_per_s": row.units_per_second().map(|u| round(u, 1)),
                    "p50_us": m.quantile(0.5),
                    "p90_us": m.quantile(0.9),
                    "p99_us": m.quantile(0.99),
                    "max_us": m.quantile(1.0),
                    "max_in_flight": m.max_in_flight,
                    "send_lag_p50_us": m.send_lag(0.5),
                    "send_lag_p99_us": m.send_lag(0.99),
                    "client_cpu_s": round(m.cpu.client, 3),
                    "server_cpu_s": m.cpu.server.map(|s| round(s, 3)),
                    "machine_busy_cpu_s": round(m.cpu.machine_busy, 3),
                    "wall_s": round(m.cpu.wall, 3),
                })
            })
            .collect();
        let preload = self.preload.as_ref().map(|p| {
            serde_json::json!({
                "posts": p.posts,
                "seconds": round(p.seconds, 2),
                "posts_per_s": round(p.posts as f64 / p.seconds, 1),
                "indicators_preloaded": p.indicators_expected,
                "indicators_stored": p.indicators_stored,
                "storage_bytes": p.storage_bytes,
                "server_rss_kib": p.server_rss_kib,
                "server_peak_rss_kib": p.server_peak_rss_kib,
            })
        });
        serde_json::json!({
            "bench": "load",
            "engine": engine_name(self.engine),
            "duration_s": self.duration,
            "client_threads": self.client_threads,
            "preload": preload,
            "results": rows,
            "failures": self.failures,
        })
        .to_string()
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}
