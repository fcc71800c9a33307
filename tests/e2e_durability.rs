//! An acknowledged write survives the process being killed: the real binary
//! ingests posts from several clients and is killed with SIGKILL at random
//! moments, then restarted over the same database, on each engine. Every
//! acknowledged post must be stored exactly once, and a request that was not
//! acknowledged must be stored whole or not at all.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{PostgresSchema, Vigil};
use vigil_proto::prost_types;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::*;

const KILLS: usize = 20;
const CLIENTS: usize = 3;
const POSTS_PER_BATCH: usize = 10;

/// Where the server keeps its data across restarts.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres(tempfile::TempDir, PostgresSchema),
}

impl Database {
    fn start(&self) -> Vigil {
        match self {
            Database::Sqlite(dir) => Vigil::start(dir.path(), &[]),
            Database::Postgres(dir, schema) => Vigil::start(dir.path(), &["--database-url", &schema.url]),
        }
    }

    /// (text, count) rows of `sql`, read straight from the database.
    fn counts(&self, sql: &str) -> Vec<(String, i64)> {
        match self {
            Database::Sqlite(dir) => {
                let connection = rusqlite::Connection::open(dir.path().join("vigil.sqlite3")).unwrap();
                let mut statement = connection.prepare(sql).unwrap();
                statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).unwrap().map(Result::unwrap).collect()
            }
            Database::Postgres(_, schema) => schema.counts(sql),
        }
    }
}

/// One IngestPosts request: its posts, and whether the server said it stored them.
struct Sent {
    posts: Vec<String>,
    acknowledged: bool,
}

fn post(number: usize) -> Post {
    Post {
        platform: "telegram".into(),
        platform_post_id: format!("d{number}"),
        author: Some(AccountRef {
            platform: "telegram".into(),
            handle: format!("canal_durable_{}", number % 7),
            platform_account_id: String::new(),
        }),
        url: String::new(),
        text: format!("Message {number} du test de durabilité https://example.org/d/{number} #durabilite"),
        posted_at: Some(prost_types::Timestamp { seconds: 1_767_225_600 + number as i64, nanos: 0 }),
        media_sha256: vec![],
    }
}

/// Sends requests of two batches each until the server goes away.
async fn ingest_until_killed(
    vigil_endpoint: String,
    token: String,
    next: Arc<Mutex<usize>>,
    sent: Arc<Mutex<Vec<Sent>>>,
) {
    let Ok(channel) = vigil_proto::tonic::transport::Channel::from_shared(vigil_endpoint).unwrap().connect().await
    else {
        return;
    };
    let bearer = support::Bearer(format!("Bearer {token}").parse().unwrap());
    let mut intake = IntakeClient::new(support::Authed::new(channel, bearer));
    loop {
        let first = {
            let mut next = next.lock().unwrap();
            let first = *next;
            *next += 2 * POSTS_PER_BATCH;
            first
        };
        let numbers: Vec<usize> = (first..first + 2 * POSTS_PER_BATCH).collect();
        let index = {
            let mut sent = sent.lock().unwrap();
            sent.push(Sent { posts: numbers.iter().map(|n| format!("d{n}")).collect(), acknowledged: false });
            sent.len() - 1
        };
        let batches: Vec<IngestPostsRequest> = numbers
            .chunks(POSTS_PER_BATCH)
            .map(|chunk| IngestPostsRequest { posts: chunk.iter().map(|&n| post(n)).collect() })
            .collect();
        match intake.ingest_posts(tokio_stream::iter(batches)).await {
            Ok(response) => {
                assert_eq!(response.into_inner().accepted as usize, 2 * POSTS_PER_BATCH, "every post is new");
                sent.lock().unwrap()[index].acknowledged = true;
            }
            Err(_) => return,
        }
    }
}

/// Everything acknowledged is there once; nothing is there twice; each
/// request is there whole or not at all; counters agree with the rows.
fn check(database: &Database, sent: &[Sent]) -> usize {
    let stored: HashMap<String, i64> = database
        .counts("SELECT platform_post_id, count(*) FROM document WHERE kind = 'post' GROUP BY platform_post_id")
        .into_iter()
        .collect();
    for (post, copies) in &stored {
        assert_eq!(*copies, 1, "post {post} is stored {copies} times");
    }
    let mut acknowledged = 0;
    for request in sent {
        let present = request.posts.iter().filter(|post| stored.contains_key(*post)).count();
        if request.acknowledged {
            acknowledged += 1;
            assert_eq!(present, request.posts.len(), "an acknowledged request lost posts: {:?}", request.posts);
        } else {
            assert!(
                present == 0 || present == request.posts.len(),
                "a request that was cut off is stored in part ({present} of {}): {:?}",
                request.posts.len(),
                request.posts
            );
        }
    }
    let consistency = database.counts(
        "SELECT 'indicator counts off', count(*) FROM indicator i
             WHERE sighting_count <> (SELECT count(*) FROM sighting s WHERE s.indicator_id = i.id)
         UNION ALL
         SELECT 'account counts off', count(*) FROM account a
             WHERE document_count <> (SELECT count(*) FROM document_account d WHERE d.account_id = a.id)
         UNION ALL
         SELECT 'documents without their sightings', count(*) FROM document d
             WHERE d.kind = 'post' AND NOT EXISTS (SELECT 1 FROM sighting s WHERE s.document_id = d.id)",
    );
    for (what, count) in consistency {
        assert_eq!(count, 0, "{what}: {count}");
    }
    acknowledged
}

/// A small deterministic generator: the seed is printed, so a failing
/// sequence of kill moments can be replayed.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

async fn kill_repeatedly(database: Database) {
    let seed = std::env::var("VIGIL_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    println!("kill moments seed: VIGIL_TEST_SEED={seed}");
    let mut moments = Moments(seed);
    let next = Arc::new(Mutex::new(0));
    let sent = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..KILLS {
        let vigil = database.start();
        vigil.wait_serving().await;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                tokio::spawn(ingest_until_killed(
                    vigil.endpoint(),
                    vigil.tokens["crawler-example"].clone(),
                    Arc::clone(&next),
                    Arc::clone(&sent),
                ))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(moments.next_millis(100, 700))).await;
        vigil.kill();
        for client in clients {
            client.await.unwrap();
        }
        check(&database, &sent.lock().unwrap());
    }
    // The last restart finds everything too, and serves.
    let vigil = database.start();
    vigil.wait_serving().await;
    let acknowledged = check(&database, &sent.lock().unwrap());
    let requests = sent.lock().unwrap().len();
    println!("{requests} requests sent, {acknowledged} acknowledged, across {KILLS} kills");
    assert!(acknowledged >= KILLS, "too few requests were acknowledged ({acknowledged}) for the test to mean anything");
    assert!(requests > acknowledged, "no request was ever cut off by a kill");
    vigil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_acknowledged_post_across_kills() {
    kill_repeatedly(Database::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_acknowledged_post_across_kills() {
    kill_repeatedly(Database::Postgres(tempfile::tempdir().unwrap(), PostgresSchema::create())).await;
}
