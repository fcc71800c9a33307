//! Time from starting `vigil serve` on an empty data directory to health
//! SERVING, against a baseline in the same run: starting `vigil --version`,
//! which costs the process start and nothing of vigil's own.
//!
//! cargo bench -p vigil-server --bench startup

#[path = "../../../benches/timing.rs"]
mod timing;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use vigil_proto::tonic::transport::Channel;

const RUNS: usize = 20;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime starts");
    let mut baseline: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_vigil")).arg("--version").stdout(Stdio::null()).status();
            assert!(status.expect("vigil runs").success());
            started.elapsed()
        })
        .collect();
    baseline.sort();
    let mut startup: Vec<Duration> = (0..RUNS).map(|_| runtime.block_on(time_to_serving())).collect();
    startup.sort();
    let p50 = timing::quantile(&startup, 0.5);
    println!(
        "start to SERVING on an empty data directory: p50 {:.1} ms, max {:.1} ms ({RUNS} runs)",
        p50.as_secs_f64() * 1e3,
        startup[RUNS - 1].as_secs_f64() * 1e3
    );
    let baseline_p50 = timing::quantile(&baseline, 0.5);
    println!("baseline `vigil --version`: p50 {:.1} ms", baseline_p50.as_secs_f64() * 1e3);
    println!("ratio: {:.1}x", p50.as_secs_f64() / baseline_p50.as_secs_f64());
}

async fn time_to_serving() -> Duration {
    let dir = tempfile::tempdir().expect("temporary directory");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--data-dir"])
        .arg(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let event: serde_json::Value = serde_json::from_str(&line).ok()?;
            (event["message"] == "listening").then(|| event["listen"].as_str().unwrap_or_default().to_owned())
        })
        .expect("vigil logs its address");
    std::thread::spawn(move || lines.for_each(drop));
    let elapsed = loop {
        let channel = Channel::from_shared(format!("http://{address}")).expect("valid endpoint").connect().await;
        if let Ok(channel) = channel {
            let answer = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
            if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
                break started.elapsed();
            }
        }
        assert!(started.elapsed() < Duration::from_secs(10), "vigil never reported SERVING");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}
