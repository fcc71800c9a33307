//! The client machinery shared by every scenario: a closed loop (N workers,
//! each with its own connection, one request in flight each) and an open
//! loop (requests sent on a fixed schedule whatever the answers, latency
//! measured from the scheduled send time so that queueing is not hidden).
//! Latencies are microseconds in a `Vec<u32>` per worker, merged and sorted.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::server;

/// Warm-up (run, not recorded), then the measured window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub warmup: Duration,
    pub duration: Duration,
}

/// What one worker saw in the measured window.
#[derive(Debug, Default)]
pub struct Tally {
    /// Microseconds per successful request.
    pub latencies: Vec<u32>,
    /// Open loop only: microseconds from each request's scheduled time to
    /// the moment the client started sending it (the client's own lateness,
    /// included in the latencies).
    pub send_lags: Vec<u32>,
    /// Units of work done by successful requests (posts for ingest, else 1).
    pub units: u64,
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    fn record(&mut self, latency: Duration, outcome: Result<u64, String>) {
        match outcome {
            Ok(units) => {
                self.latencies.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
                self.units += units;
            }
            Err(message) => {
                self.errors += 1;
                self.first_error.get_or_insert(message);
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.send_lags.extend(other.send_lags);
        self.units += other.units;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// A measured window: what the workers saw and what the CPUs did meanwhile.
#[derive(Debug)]
pub struct Measured {
    pub tally: Tally,
    /// Sorted.
    pub latencies: Vec<u32>,
    /// Sorted; empty in closed loops.
    pub send_lags: Vec<u32>,
    pub elapsed: Duration,
    pub cpu: CpuUse,
    /// Open loop only: requests scheduled in the window, and the largest
    /// number in flight at once.
    pub scheduled: Option<u64>,
    pub max_in_flight: Option<usize>,
}

impl Measured {
    fn new(mut tally: Tally, elapsed: Duration, cpu: CpuUse) -> Measured {
        let mut latencies = std::mem::take(&mut tally.latencies);
        latencies.sort_unstable();
        let mut send_lags = std::mem::take(&mut tally.send_lags);
        send_lags.sort_unstable();
        Measured { tally, latencies, send_lags, elapsed, cpu, scheduled: None, max_in_flight: None }
    }

    /// Latency at quantile `q` (0 to 1), in microseconds.
    pub fn quantile(&self, q: f64) -> u32 {
        quantile(&self.latencies, q)
    }

    /// Send lag at quantile `q` (0 to 1), in microseconds; open loops only.
    pub fn send_lag(&self, q: f64) -> Option<u32> {
        (!self.send_lags.is_empty()).then(|| quantile(&self.send_lags, q))
    }

    pub fn requests(&self) -> u64 {
        self.latencies.len() as u64
    }
}

/// The value at quantile `q` (0 to 1) of sorted values; 0 when empty.
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// CPU time spent during a window, in seconds: this process, the server (when
/// it is a child of ours or its pid was given) and the whole machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuUse {
    pub wall: f64,
    pub client: f64,
    pub server: Option<f64>,
    pub machine_busy: f64,
    pub machine_total: f64,
}

/// A snapshot of CPU counters, to subtract from a later one.
#[derive(Clone, Copy, Debug)]
pub struct CpuMeter {
    server_pid: Option<u32>,
    at: Instant,
    client: f64,
    server: Option<f64>,
    machine: (f64, f64),
}

impl CpuMeter {
    pub fn start(server_pid: Option<u32>) -> CpuMeter {
        CpuMeter {
            server_pid,
            at: Instant::now(),
            client: server::cpu_seconds("self").unwrap_or(0.0),
            server: server_pid.and_then(|pid| server::cpu_seconds(&pid.to_string())),
            machine: server::machine_cpu_seconds().unwrap_or((0.0, 0.0)),
        }
    }

    pub fn since(&self) -> CpuUse {
        let now = CpuMeter::start(self.server_pid);
        CpuUse {
            wall: now.at.duration_since(self.at).as_secs_f64(),
            client: now.client - self.client,
            server: now.server.zip(self.server).map(|(after, before)| after - before),
            machine_busy: now.machine.0 - self.machine.0,
            machine_total: now.machine.1 - self.machine.1,
        }
    }
}

/// `workers` tasks, each sending one request at a time for the warm-up and
/// the window. `prepare(worker, sequence)` builds a request outside the
/// timing; `send(worker, request)` sends it and returns the units of work it
/// did. Requests completing inside the window are counted.
pub async fn closed_loop<R, P, S, F>(
    workers: usize,
    window: Window,
    server_pid: Option<u32>,
    prepare: P,
    send: S,
) -> Measured
where
    R: Send + 'static,
    P: Fn(usize, u64) -> R + Send + Sync + 'static,
    S: Fn(usize, R) -> F + Send + Sync + 'static,
    F: Future<Output = Result<u64, String>> + Send + 'static,
{
    let (prepare, send) = (Arc::new(prepare), Arc::new(send));
    let measure_from = Instant::now() + window.warmup;
    let deadline = measure_from + window.duration;
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let (prepare, send) = (Arc::clone(&prepare), Arc::clone(&send));
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut sequence = 0u64;
                while Instant::now() < deadline {
                    let request = prepare(worker, sequence);
                    sequence += 1;
                    let sent = Instant::now();
                    let outcome = send(worker, request).await;
                    let done = Instant::now();
                    if done >= measure_from && done <= deadline {
                        tally.record(done - sent, outcome);
                    }
                }
                tally
            })
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let meter = CpuMeter::start(server_pid);
    tokio::time::sleep_until(deadline.into()).await;
    let cpu = meter.since();
    let mut tally = Tally::default();
    for handle in handles {
        tally.merge(handle.await.expect("a closed-loop worker panicked"));
    }
    Measured::new(tally, window.duration, cpu)
}

/// Requests at `rate` per second on a fixed schedule, spread round-robin over
/// `connections`, sent by a pacing thread whatever the answers (at most
/// `max_in_flight` outstanding). The thread wakes at most once per `pace`,
/// sending everything then due: fewer wake-ups, at the price of up to `pace`
/// of lateness, which the latencies include. Latency runs from each request's scheduled
/// time to its answer. `prepare(sequence)` builds request `sequence` (cheaply:
/// clone a prebuilt one); `send(connection, request)` sends it.
#[allow(clippy::too_many_arguments)]
pub async fn open_loop<R, P, S, F>(
    rate: f64,
    connections: usize,
    window: Window,
    pace: Duration,
    server_pid: Option<u32>,
    max_in_flight: usize,
    prepare: P,
    send: S,
) -> Measured
where
    R: Send + 'static,
    P: Fn(u64) -> R + Send + 'static,
    S: Fn(usize, R) -> F + Send + Sync + 'static,
    F: Future<Output = Result<u64, String>> + Send + 'static,
{
    let send = Arc::new(send);
    let tallies: Arc<Vec<Mutex<Tally>>> = Arc::new((0..connections).map(|_| Mutex::new(Tally::default())).collect());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(10);
    let measure_from = start + window.warmup;
    let deadline = measure_from + window.duration;
    let runtime = tokio::runtime::Handle::current();
    let pacer = {
        let (tallies, in_flight) = (Arc::clone(&tallies), Arc::clone(&in_flight));
        std::thread::spawn(move || {
            let mut sequence = 0u64;
            let mut scheduled_in_window = 0u64;
            let mut most_in_flight = 0usize;
            let mut last_wake = Instant::now();
            loop {
                let scheduled = start + Duration::from_secs_f64(sequence as f64 / rate);
                if scheduled >= deadline {
                    break;
                }
                let now = Instant::now();
                if scheduled > now {
                    std::thread::sleep((scheduled - now).max(pace.saturating_sub(now - last_wake)));
                    last_wake = Instant::now();
                }
                while in_flight.load(Ordering::Relaxed) >= max_in_flight {
                    std::thread::sleep(Duration::from_micros(100));
                }
                let request = prepare(sequence);
                let connection = (sequence % connections as u64) as usize;
                let measured = scheduled >= measure_from;
                scheduled_in_window += u64::from(measured);
                most_in_flight = most_in_flight.max(in_flight.fetch_add(1, Ordering::Relaxed) + 1);
                let (send, tallies, in_flight) = (Arc::clone(&send), Arc::clone(&tallies), Arc::clone(&in_flight));
                runtime.spawn(async move {
                    let lag = scheduled.elapsed();
                    let outcome = send(connection, request).await;
                    let latency = scheduled.elapsed();
                    if measured {
                        let mut tally = tallies[connection].lock().unwrap();
                        tally.send_lags.push(u32::try_from(lag.as_micros()).unwrap_or(u32::MAX));
                        tally.record(latency, outcome);
                    }
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                });
                sequence += 1;
            }
            (scheduled_in_window, most_in_flight)
        })
    };
    tokio::time::sleep_until(measure_from.into()).await;
    let meter = CpuMeter::start(server_pid);
    tokio::time::sleep_until(deadline.into()).await;
    let cpu = meter.since();
    let (scheduled, most_in_flight) = tokio::task::spawn_blocking(move || pacer.join())
        .await
        .expect("the pacing thread is joined")
        .expect("the pacing thread did not panic");
    // Let what is in flight finish; what does not within 30 s is an error.
    let drain_started = Instant::now();
    while in_flight.load(Ordering::Relaxed) > 0 && drain_started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = Instant::now().duration_since(measure_from);
    let mut tally = Tally::default();
    for shard in tallies.iter() {
        tally.merge(std::mem::take(&mut *shard.lock().unwrap()));
    }
    let unanswered = scheduled.saturating_sub(tally.latencies.len() as u64 + tally.errors);
    if unanswered > 0 {
        tally.errors += unanswered;
        tally.first_error.get_or_insert_with(|| format!("{unanswered} requests unanswered 30 s after the window"));
    }
    let mut measured = Measured::new(tally, elapsed.max(window.duration), cpu);
    measured.scheduled = Some(scheduled);
    measured.max_in_flight = Some(most_in_flight);
    measured
}
