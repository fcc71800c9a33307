//! The server under load: the real `vigil` binary on 127.0.0.1:0 over a
//! temporary data directory (and a PostgreSQL schema of its own), and what
//! /proc says about it and about this process.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use vigil_proto::tonic::transport::Channel;

/// A `vigil serve` child process, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub endpoint: String,
    /// An analyst key made before the server started.
    pub key: String,
    /// The last lines the server logged, for failure messages.
    pub recent_logs: Arc<Mutex<VecDeque<String>>>,
}

/// An analyst key for the load, made with `vigil keys create`.
fn create_key(data_dir: &Path, database_url: Option<&str>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command.args(["keys", "create", "--name", "load-analyst", "--role", "analyst", "--data-dir"]).arg(data_dir);
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let output = command.env_remove("VIGIL_CONFIG").output().expect("vigil keys create runs");
    assert!(output.status.success(), "vigil keys create: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("a token is text").trim().to_owned()
}

impl Server {
    /// Starts `vigil serve` over `data_dir` (on PostgreSQL when
    /// `database_url` is set) and waits until it says where it listens.
    pub fn start(data_dir: &Path, database_url: Option<&str>) -> Server {
        let key = create_key(data_dir, database_url);
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--data-dir"])
            .arg(data_dir)
            .env_remove("VIGIL_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command.spawn().expect("the vigil binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let recent_logs = Arc::new(Mutex::new(VecDeque::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let logs = Arc::clone(&recent_logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                    && event["message"] == "listening"
                {
                    let _ = address_sender.send(event["listen"].as_str().unwrap_or_default().to_owned());
                }
                let mut logs = logs.lock().unwrap();
                if logs.len() == 50 {
                    logs.pop_front();
                }
                logs.push_back(line);
            }
        });
        let address = address_receiver
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("vigil did not log its address; logs: {:?}", recent_logs.lock().unwrap()));
        Server { child, endpoint: format!("http://{address}"), key, recent_logs }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits (at most 30 s) for the process to end.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("vigil did not stop within 30 s of SIGTERM; killing it");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls health until the server reports SERVING (at most 60 s).
pub async fn wait_serving(endpoint: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(channel) = Channel::from_shared(endpoint.to_owned()).expect("valid endpoint").connect().await {
            let answer = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
            if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("vigil at {endpoint} never reported SERVING");
}

/// A PostgreSQL schema of its own for one run, dropped when dropped.
#[derive(Debug)]
pub struct PostgresSchema {
    base_url: String,
    pub name: String,
    /// The base URL with the schema as search path: what vigil is given.
    pub url: String,
}

impl PostgresSchema {
    pub fn create(base_url: &str) -> PostgresSchema {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("vigil_load_{}_{nanos}", std::process::id());
        run_sql(base_url, &format!("CREATE SCHEMA {name}"));
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-c%20search_path%3D{name}");
        PostgresSchema { base_url: base_url.to_owned(), name, url }
    }

    /// Rows in the schema's `indicator` table, and the size of its tables
    /// with their indexes. First brings the planner's statistics up to
    /// date, as autovacuum would soon after a bulk load, so that the
    /// measured phases neither race it nor run on plans made for empty
    /// tables.
    pub fn indicators_and_bytes(&self) -> (u64, u64) {
        let (url, name) = (self.url.clone(), self.name.clone());
        on_own_runtime(move || async move {
            let client = connect(&url).await;
            client
                .batch_execute("ANALYZE indicator, sighting, document, document_account, document_category, account")
                .await
                .unwrap();
            let count: i64 = client.query_one("SELECT count(*) FROM indicator", &[]).await.unwrap().get(0);
            let bytes: i64 = client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                    &[&name],
                )
                .await
                .unwrap()
                .get(0);
            (count as u64, bytes as u64)
        })
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        run_sql(&self.base_url, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

fn run_sql(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    on_own_runtime(move || async move { connect(&url).await.batch_execute(&sql).await.unwrap() });
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|error| {
        panic!(
            "cannot reach PostgreSQL at {url}: {error}. Start one (every vigil development machine runs one on \
             127.0.0.1:5432 with a database `test`) or pass --pg-url / set VIGIL_TEST_PG_URL"
        )
    });
    tokio::spawn(connection);
    client
}

/// Runs async work on a runtime of its own thread, so that it works from
/// inside the bench's runtime and from `Drop` alike.
fn on_own_runtime<T, F>(work: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(work())
    })
    .join()
    .expect("the PostgreSQL helper thread finished")
}

/// Rows in the SQLite database's `indicator` table, read-only beside the
/// running server, and the size of the data directory.
pub fn sqlite_indicators_and_bytes(data_dir: &Path) -> (u64, u64) {
    let path: PathBuf = data_dir.join("vigil.sqlite3");
    let connection = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the SQLite database opens read-only");
    let count: i64 = connection.query_row("SELECT count(*) FROM indicator", [], |row| row.get(0)).unwrap();
    let bytes = std::fs::read_dir(data_dir)
        .map(|entries| entries.filter_map(Result::ok).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0);
    (count as u64, bytes)
}

/// Resident and peak resident size of a process, in KiB, from
/// /proc/<pid>/status.
pub fn resident_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) of a process, all threads, from /proc/<pid>/stat.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / clock_ticks_per_second())
}

/// Busy and total CPU time of the whole machine, in seconds, from /proc/stat.
pub fn machine_cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let values: Vec<f64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: f64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4)?;
    let ticks = clock_ticks_per_second();
    Some(((total - idle) / ticks, total / ticks))
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}
