//! Any bytes, as the request of a public or partner RPC, sent to a real vigil
//! server running in this process on 127.0.0.1 over an SQLite store in a
//! fresh directory: the path a network request takes, access layer and
//! tonic's decoder included. A message that decodes gets either an answer
//! that holds together, or a refusal with a code that blames the client
//! (INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, PERMISSION_DENIED,
//! FAILED_PRECONDITION; never INTERNAL, UNKNOWN or UNAVAILABLE) whose
//! message begins with a field of the request, as the proto names it.
//! Nothing panics, in the handlers, the domain services or the store.
//!
//! The first byte picks the RPC (its low four bits, mod the length of
//! `RPCS`) and, for a partner RPC, the key (its high four bits, mod the
//! length of `KEYS`). The rest is the message; for IngestPosts, a sequence
//! of length-delimited messages, one per stream message. A receipt code of
//! "fixture" stands for the code of a tip the target submits at start. The
//! store lives as long as the process, so an answer may depend on the
//! inputs before it: a crash that does not repeat alone needs them too.
//!
//! From fuzz/, with the seeds (one valid request per RPC) beside the corpus:
//! cargo fuzz run requests corpus/requests seeds/requests -- -max_total_time=600
//!
//! Under AddressSanitizer most of the time goes to the Argon2 hash of each
//! receipt code; `cargo fuzz run -s none requests ...` runs about 8 times
//! as many requests a second.

#![no_main]

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use vigil_proto::prost::Message;
use vigil_proto::prost::bytes::BufMut;
use vigil_proto::prost_types::{DescriptorProto, FileDescriptorSet, field_descriptor_proto::Type};
use vigil_proto::tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use vigil_proto::tonic::codegen::http::uri::PathAndQuery;
use vigil_proto::tonic::codegen::tokio_stream;
use vigil_proto::tonic::metadata::{Ascii, MetadataValue};
use vigil_proto::tonic::transport::{Channel, Endpoint};
use vigil_proto::tonic::{self, Code, Request, Status};
use vigil_proto::v1 as pb;
use vigil_query::Limits;
use vigil_server::access::{Access, access_of};
use vigil_server::config::{Cli, Command, DatabaseLocation, KeysArgs, ServeArgs, ServeConfig};
use vigil_server::keys_command::run_keys;
use vigil_server::rate_limit::PublicRate;

/// Small limits, so that inputs of a few hundred bytes reach every one.
// The update is for a limit added later: it keeps its default here.
#[allow(clippy::needless_update)]
fn limits() -> Limits {
    Limits {
        max_text_bytes: 512,
        max_urls_per_tip: 4,
        max_posts_per_message: 4,
        max_posts_per_stream: 8,
        max_media_per_post: 4,
        ..Limits::default()
    }
}

/// The server accepts no lower limit.
const MAX_MESSAGE_BYTES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rpc {
    SubmitTip,
    GetTipStatus,
    AddTipFollowUp,
    IngestPosts,
    CheckContent,
    Extract,
    UpdateAccountStatus,
    RecordProfileSnapshot,
}

/// Every vigil RPC the public or a partner key may call (checked at start
/// against the server's access rules). seeds/ depends on this order: add at
/// the end.
const RPCS: [Rpc; 8] = [
    Rpc::SubmitTip,
    Rpc::GetTipStatus,
    Rpc::IngestPosts,
    Rpc::CheckContent,
    Rpc::Extract,
    Rpc::UpdateAccountStatus,
    Rpc::RecordProfileSnapshot,
    Rpc::AddTipFollowUp,
];

impl Rpc {
    fn path(self) -> &'static str {
        match self {
            Rpc::SubmitTip => "/vigil.v1.Intake/SubmitTip",
            Rpc::GetTipStatus => "/vigil.v1.Intake/GetTipStatus",
            Rpc::AddTipFollowUp => "/vigil.v1.Intake/AddTipFollowUp",
            Rpc::IngestPosts => "/vigil.v1.Intake/IngestPosts",
            Rpc::CheckContent => "/vigil.v1.Query/CheckContent",
            Rpc::Extract => "/vigil.v1.Extraction/Extract",
            Rpc::UpdateAccountStatus => "/vigil.v1.Tracking/UpdateAccountStatus",
            Rpc::RecordProfileSnapshot => "/vigil.v1.Tracking/RecordProfileSnapshot",
        }
    }

    /// The request message's full name in the descriptor set.
    fn request_type(self) -> &'static str {
        match self {
            Rpc::SubmitTip => ".vigil.v1.SubmitTipRequest",
            Rpc::GetTipStatus => ".vigil.v1.GetTipStatusRequest",
            Rpc::AddTipFollowUp => ".vigil.v1.AddTipFollowUpRequest",
            Rpc::IngestPosts => ".vigil.v1.IngestPostsRequest",
            Rpc::CheckContent => ".vigil.v1.CheckContentRequest",
            Rpc::Extract => ".vigil.v1.ExtractRequest",
            Rpc::UpdateAccountStatus => ".vigil.v1.UpdateAccountStatusRequest",
            Rpc::RecordProfileSnapshot => ".vigil.v1.RecordProfileSnapshotRequest",
        }
    }
}

/// The partner-side keys, each with its own checks in the domain services:
/// a partner bound to a platform, an unbound crawler, and an analyst (whom
/// partner methods also admit). Names and roles are those of the e2e tests.
const KEYS: [(&str, &str, Option<&str>); 3] = [
    ("platform-example", "partner", Some("telegram")),
    ("crawler-example", "partner", None),
    ("analyst-example", "analyst", None),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let rpc = RPCS[usize::from(selector & 0x0f) % RPCS.len()];
    let key = usize::from(selector >> 4) % KEYS.len();
    let server = Server::get();
    server.runtime.block_on(server.exercise(rpc, key, body));
});

/// One server per process: starting one costs far more than a request.
struct Server {
    runtime: Runtime,
    channel: Channel,
    /// `authorization` values, in the order of `KEYS`.
    bearers: Vec<MetadataValue<Ascii>>,
    schema: Schema,
    /// The code of the tip submitted at start, for "fixture" to stand for.
    fixture_receipt: String,
}

impl Server {
    fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(Server::start)
    }

    fn start() -> Server {
        // One thread runs the client and the server alike; the store's
        // blocking work has threads of its own.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let data_dir = fresh_data_dir();
        let bearers = KEYS.iter().map(|key| create_key(&runtime, &data_dir, key)).collect();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).expect("a loopback port");
        let address = listener.local_addr().expect("the port's address");
        // Through the same resolution as `vigil serve`, so that a setting
        // added later takes its default here too; only what has no flag is
        // set afterwards.
        let args = ServeArgs {
            listen: Some(address),
            data_dir: Some(data_dir),
            max_message_bytes: Some(MAX_MESSAGE_BYTES),
            ..ServeArgs::default()
        };
        let mut config = ServeConfig::resolve(&args, &HashMap::new()).expect("the fuzzer's settings are valid");
        config.limits = limits();
        // The floor hides timing from tipsters; here it would only spend
        // the fuzzer's time.
        config.tip_status_floor = Duration::ZERO;
        config.key_cache = Duration::from_secs(24 * 3600);
        // Every input comes from one address: the rate limit would answer
        // RESOURCE_EXHAUSTED to all but the first few.
        let unlimited = 1e12;
        config.public_rate = PublicRate {
            per_source_burst: unlimited,
            per_source_per_second: unlimited,
            total_burst: unlimited,
            total_per_second: unlimited,
        };
        runtime.spawn(async move {
            if let Err(error) = vigil_server::serve::run(config, listener, std::future::pending()).await {
                panic!("the server stopped: {error}");
            }
        });
        let channel = runtime
            .block_on(Endpoint::from_shared(format!("http://{address}")).expect("a URI").connect())
            .expect("connects to the server");
        let descriptors =
            FileDescriptorSet::decode(vigil_proto::FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
        check_every_open_method_is_sent(&descriptors);
        let schema = Schema::new(&descriptors);
        let mut server = Server { runtime, channel, bearers, schema, fixture_receipt: String::new() };
        server.fixture_receipt = server.runtime.block_on(async {
            server.wait_serving().await;
            server.populate().await
        });
        server
    }

    /// Storage opens after the server starts listening; until then every
    /// call is UNAVAILABLE.
    async fn wait_serving(&self) {
        let body = pb::ExtractRequest { text: "ready".to_owned() }.encode_to_vec();
        for _ in 0..1000 {
            match self.unary::<pb::ExtractResponse>(Rpc::Extract, 0, body.clone()).await {
                Err(status) if status.code() == Code::Unavailable => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(status) => panic!("the server is up but refuses an extraction: {status:?}"),
                Ok(_) => return,
            }
        }
        panic!("the server's storage never opened");
    }

    async fn exercise(&self, rpc: Rpc, key: usize, body: &[u8]) {
        match rpc {
            Rpc::SubmitTip => {
                let no_change = |_: &mut pb::SubmitTipRequest| false;
                self.unary_case(rpc, key, body, no_change, |_, answer: pb::SubmitTipResponse| {
                    assert!(!answer.tip_id.is_empty() && !answer.receipt_code.is_empty(), "{answer:?}");
                })
                .await;
            }
            Rpc::GetTipStatus => {
                let receipt =
                    |request: &mut pb::GetTipStatusRequest| self.fixture_receipt_in(&mut request.receipt_code);
                self.unary_case(rpc, key, body, receipt, |_, answer: pb::GetTipStatusResponse| {
                    assert_ne!(answer.status, pb::TipStatus::Unspecified as i32, "{answer:?}");
                })
                .await;
            }
            Rpc::AddTipFollowUp => {
                let receipt =
                    |request: &mut pb::AddTipFollowUpRequest| self.fixture_receipt_in(&mut request.receipt_code);
                self.unary_case(rpc, key, body, receipt, |_, answer: pb::AddTipFollowUpResponse| {
                    assert!(answer.follow_up_count >= 1, "{answer:?}");
                })
                .await;
            }
            Rpc::IngestPosts => self.ingest(key, body).await,
            Rpc::CheckContent => {
                let no_change = |_: &mut pb::CheckContentRequest| false;
                self.unary_case(rpc, key, body, no_change, |request, answer: pb::CheckContentResponse| {
                    for found in &answer.indicators {
                        if let Some(span) = &found.span {
                            check_span(&request.text, span, found);
                        }
                    }
                })
                .await;
            }
            Rpc::Extract => {
                let no_change = |_: &mut pb::ExtractRequest| false;
                self.unary_case(rpc, key, body, no_change, |request, answer: pb::ExtractResponse| {
                    for found in &answer.indicators {
                        check_span(&request.text, found.span.as_ref().expect("an indicator has a span"), found);
                    }
                    for evidence in answer.categories.iter().flat_map(|category| &category.evidence) {
                        check_span(&request.text, evidence.span.as_ref().expect("evidence has a span"), evidence);
                    }
                })
                .await;
            }
            Rpc::UpdateAccountStatus => {
                let no_change = |_: &mut pb::UpdateAccountStatusRequest| false;
                self.unary_case(rpc, key, body, no_change, |_, answer: pb::UpdateAccountStatusResponse| {
                    assert!(answer.account.is_some() && answer.event.is_some(), "{answer:?}");
                })
                .await;
            }
            Rpc::RecordProfileSnapshot => {
                let no_change = |_: &mut pb::RecordProfileSnapshotRequest| false;
                self.unary_case(rpc, key, body, no_change, |_, answer: pb::RecordProfileSnapshotResponse| {
                    assert!(answer.account.is_some(), "{answer:?}");
                })
                .await;
            }
        }
    }

    /// Sends `body` if it decodes as a `Request`, as it is unless `prepare`
    /// changed the request; `check` looks at an answer, `check_refusal` at
    /// a refusal.
    async fn unary_case<Request, Response>(
        &self,
        rpc: Rpc,
        key: usize,
        body: &[u8],
        prepare: impl FnOnce(&mut Request) -> bool,
        check: impl FnOnce(&Request, Response),
    ) where
        Request: Message + Default,
        Response: Message + Default + 'static,
    {
        let Ok(mut request) = Request::decode(body) else { return };
        let body = if prepare(&mut request) { request.encode_to_vec() } else { body.to_vec() };
        let too_large = body.len() > MAX_MESSAGE_BYTES;
        match self.unary::<Response>(rpc, key, body).await {
            Ok(answer) => {
                assert!(!too_large, "{rpc:?} accepted a message over {MAX_MESSAGE_BYTES} bytes");
                check(&request, answer);
            }
            Err(status) => self.check_refusal(rpc, &status, too_large),
        }
    }

    /// A receipt code is random per process, so no seed can hold one.
    fn fixture_receipt_in(&self, code: &mut String) -> bool {
        let fixture = code == "fixture";
        if fixture {
            code.clone_from(&self.fixture_receipt);
        }
        fixture
    }

    /// A stream of length-delimited messages; the counts must add up to the
    /// posts sent, and every rejection must name a field of a post.
    async fn ingest(&self, key: usize, body: &[u8]) {
        let Some(frames) = length_delimited(body) else { return };
        let mut posts = 0;
        for frame in &frames {
            let Ok(message) = pb::IngestPostsRequest::decode(frame.as_slice()) else { return };
            posts += message.posts.len() as u64;
        }
        let too_large = frames.iter().any(|frame| frame.len() > MAX_MESSAGE_BYTES);
        match self.stream_posts(key, frames).await {
            Ok(report) => {
                assert!(!too_large, "a stream with a message over {MAX_MESSAGE_BYTES} bytes was accepted");
                assert_eq!(report.accepted + report.duplicates + report.rejected.len() as u64, posts, "{report:?}");
                for rejected in &report.rejected {
                    assert!(rejected.index < posts, "{rejected:?} of {posts} posts");
                    assert!(self.schema.names_a_field(POST, &rejected.field), "{rejected:?}");
                }
            }
            Err(status) => self.check_refusal(Rpc::IngestPosts, &status, too_large),
        }
    }

    async fn stream_posts(&self, key: usize, frames: Vec<Vec<u8>>) -> Result<pb::IngestPostsResponse, Status> {
        let mut request = Request::new(tokio_stream::iter(frames));
        self.authorize(Rpc::IngestPosts, key, &mut request);
        let mut grpc = self.grpc().await;
        let path = PathAndQuery::from_static(Rpc::IngestPosts.path());
        let answer = grpc.client_streaming(request, path, RawCodec::<pb::IngestPostsResponse>::default()).await;
        answer.map(tonic::Response::into_inner)
    }

    /// Accounts 1 and 2, telegram:example_author and x:example_author, for
    /// the status and snapshot RPCs to find from the first input on, not
    /// only once the fuzzer has happened to ingest their author; and a tip,
    /// whose receipt code it returns.
    async fn populate(&self) -> String {
        let post = |platform: &str| pb::Post {
            platform: platform.to_owned(),
            platform_post_id: "1".to_owned(),
            author: Some(pb::AccountRef {
                platform: platform.to_owned(),
                handle: "example_author".to_owned(),
                platform_account_id: String::new(),
            }),
            text: "see https://example.com/".to_owned(),
            ..pb::Post::default()
        };
        let frame = pb::IngestPostsRequest { posts: vec![post("telegram"), post("x")] }.encode_to_vec();
        let crawler = 1;
        let report = self.stream_posts(crawler, vec![frame]).await.expect("the fixture posts are ingested");
        assert_eq!(report.accepted, 2, "{report:?}");

        let tip = pb::SubmitTipRequest { text: "seen at https://example.com/".to_owned(), ..Default::default() };
        let receipt = self.unary::<pb::SubmitTipResponse>(Rpc::SubmitTip, 0, tip.encode_to_vec()).await;
        let receipt = receipt.expect("the fixture tip is taken").receipt_code;
        // A code just issued is known at once. Checked once, not after every
        // tip: each check costs an Argon2 hash, far more than a request.
        let status = pb::GetTipStatusRequest { receipt_code: receipt.clone() }.encode_to_vec();
        let status = self.unary::<pb::GetTipStatusResponse>(Rpc::GetTipStatus, 0, status).await;
        let status = status.expect("the fixture tip's receipt code is known");
        assert_eq!(status.status, pb::TipStatus::Received as i32, "{status:?}");
        receipt
    }

    fn check_refusal(&self, rpc: Rpc, status: &Status, too_large: bool) {
        let code = status.code();
        let message = status.message();
        assert!(
            matches!(
                code,
                Code::InvalidArgument
                    | Code::NotFound
                    | Code::ResourceExhausted
                    | Code::PermissionDenied
                    | Code::FailedPrecondition
            ),
            "{rpc:?} answered {code:?}: {message:?}"
        );
        // The one refusal about the message as a whole, not a field of it.
        if message.ends_with("(max_message_bytes)") {
            assert!(too_large && code == Code::ResourceExhausted, "{rpc:?} answered {code:?}: {message:?}");
            return;
        }
        assert!(
            !too_large || rpc == Rpc::IngestPosts,
            "{rpc:?} answered {code:?} to an oversized message: {message:?}"
        );
        assert!(
            self.schema.names_a_field(rpc.request_type(), message),
            "{rpc:?} answered {code:?} naming no field of {}: {message:?}",
            rpc.request_type()
        );
    }

    async fn unary<Response>(&self, rpc: Rpc, key: usize, body: Vec<u8>) -> Result<Response, Status>
    where
        Response: Message + Default + 'static,
    {
        let mut request = Request::new(body);
        self.authorize(rpc, key, &mut request);
        let mut grpc = self.grpc().await;
        let path = PathAndQuery::from_static(rpc.path());
        grpc.unary(request, path, RawCodec::<Response>::default()).await.map(tonic::Response::into_inner)
    }

    /// The server's own rule decides who needs a key: a public method gets
    /// none, as the public sends none.
    fn authorize<T>(&self, rpc: Rpc, key: usize, request: &mut Request<T>) {
        match access_of(rpc.path()) {
            Some(Access::Public) => {}
            Some(Access::Partner) => {
                request.metadata_mut().insert("authorization", self.bearers[key].clone());
            }
            other => panic!("{rpc:?} is not a public or partner method but {other:?}"),
        }
    }

    async fn grpc(&self) -> tonic::client::Grpc<Channel> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready().await.expect("the channel to the server is ready");
        grpc
    }
}

fn check_span(text: &str, span: &pb::Span, what: &impl std::fmt::Debug) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(start < end && text.get(start..end).is_some(), "{what:?} in {text:?}");
}

/// `None` when the bytes are not whole length-delimited frames.
fn length_delimited(mut body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut frames = Vec::new();
    while !body.is_empty() {
        let length = vigil_proto::prost::encoding::decode_varint(&mut body).ok()?;
        let length = usize::try_from(length).ok().filter(|length| *length <= body.len())?;
        let (frame, rest) = body.split_at(length);
        frames.push(frame.to_vec());
        body = rest;
    }
    Some(frames)
}

/// Made as an operator makes keys, with `vigil keys create`; returns the
/// `authorization` value that sends it.
fn create_key(
    runtime: &Runtime,
    data_dir: &Path,
    (name, role, platform): &(&str, &str, Option<&str>),
) -> MetadataValue<Ascii> {
    let mut argv = vec!["vigil", "keys", "create", "--name", name, "--role", role];
    argv.extend(platform.iter().flat_map(|platform| ["--platform", platform]));
    let Command::Keys(KeysArgs { action, .. }) = Cli::try_parse_from(argv).expect("a valid command").command else {
        unreachable!("parsed a keys command")
    };
    let location = DatabaseLocation { data_dir: data_dir.to_owned(), database_url: None };
    let mut token = Vec::new();
    runtime
        .block_on(run_keys(&action, &location, &HashMap::new(), &mut token, &mut std::io::sink()))
        .expect("vigil keys create");
    let token = String::from_utf8(token).expect("a token is text");
    format!("Bearer {}", token.trim()).parse().expect("a token is ASCII")
}

/// A data directory of this process's own, on tmpfs where there is one:
/// the store syncs every commit, which on a disk would bound the fuzzer by
/// the disk. A fuzzer ends by exit, so nothing removes the directory then;
/// each start removes those whose process is gone.
fn fresh_data_dir() -> PathBuf {
    const PREFIX: &str = "vigil-fuzz-requests-";
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() { shm.to_owned() } else { std::env::temp_dir() };
    if Path::new("/proc/self").exists() {
        for entry in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|name| name.strip_prefix(PREFIX));
            if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = parent.join(format!("{PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a data directory");
    dir
}

/// Sends the fuzzer's bytes untouched, so that the server's decoder, not
/// this one, reads them; answers are decoded as usual.
struct RawCodec<Response>(PhantomData<fn() -> Response>);

impl<Response> Default for RawCodec<Response> {
    fn default() -> Self {
        RawCodec(PhantomData)
    }
}

impl<Response: Message + Default + 'static> Codec for RawCodec<Response> {
    type Encode = Vec<u8>;
    type Decode = Response;
    type Encoder = RawEncoder;
    type Decoder = AnswerDecoder<Response>;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> AnswerDecoder<Response> {
        AnswerDecoder(PhantomData)
    }
}

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, destination: &mut EncodeBuf<'_>) -> Result<(), Status> {
        destination.put_slice(&item);
        Ok(())
    }
}

struct AnswerDecoder<Response>(PhantomData<fn() -> Response>);

impl<Response: Message + Default> Decoder for AnswerDecoder<Response> {
    type Item = Response;
    type Error = Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Response>, Status> {
        match Response::decode(source) {
            Ok(answer) => Ok(Some(answer)),
            Err(error) => panic!("the server's answer is not a {}: {error}", std::any::type_name::<Response>()),
        }
    }
}

/// What IngestPosts rejections name a field of.
const POST: &str = ".vigil.v1.Post";

/// The field paths of the requests, from the descriptor set the server's
/// reflection serves: "names a field" is checked against the API itself.
struct Schema {
    /// By message full name: each path from a top-level field down.
    paths: HashMap<String, Vec<Vec<String>>>,
}

impl Schema {
    fn new(set: &FileDescriptorSet) -> Schema {
        let mut messages = HashMap::new();
        for file in &set.file {
            let scope = format!(".{}", file.package());
            for message in &file.message_type {
                collect_messages(&scope, message, &mut messages);
            }
        }
        let checked = RPCS.iter().map(|rpc| rpc.request_type()).chain([POST]);
        let paths = checked.map(|name| (name.to_owned(), field_paths(name, &messages, 0))).collect();
        Schema { paths }
    }

    /// Whether `text` begins with a field path of `message`, indexes such
    /// as `[3]` aside. A path may skip a level (`account.platform` for
    /// `account.ref.platform`): it must still lead somewhere real.
    fn names_a_field(&self, message: &str, text: &str) -> bool {
        let Some(paths) = self.paths.get(message) else { panic!("{message} is not in the descriptor set") };
        let first_word = text.split(' ').next().unwrap_or_default();
        let mut without_indexes = String::new();
        let mut in_index = false;
        for character in first_word.chars() {
            match character {
                '[' if !in_index => in_index = true,
                ']' if in_index => in_index = false,
                _ if in_index && character.is_ascii_digit() => {}
                _ if in_index => return false,
                _ => without_indexes.push(character),
            }
        }
        let wanted: Vec<&str> = without_indexes.split('.').collect();
        if in_index || wanted.iter().any(|segment| segment.is_empty()) {
            return false;
        }
        paths.iter().any(|path| {
            path[0] == wanted[0] && {
                let mut remaining = path.iter();
                wanted.iter().all(|segment| remaining.any(|name| name == segment))
            }
        })
    }
}

/// A public or partner method this target does not send would be a hole
/// in it, found by nobody: refuse to run until it is in `RPCS`.
fn check_every_open_method_is_sent(set: &FileDescriptorSet) {
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                let open = matches!(access_of(&path), Some(Access::Public | Access::Partner));
                if open && path.starts_with("/vigil.") {
                    assert!(RPCS.iter().any(|rpc| rpc.path() == path), "{path} is open: add it to RPCS");
                }
            }
        }
    }
}

fn collect_messages<'set>(
    scope: &str,
    message: &'set DescriptorProto,
    messages: &mut HashMap<String, &'set DescriptorProto>,
) {
    let name = format!("{scope}.{}", message.name());
    for nested in &message.nested_type {
        collect_messages(&name, nested, messages);
    }
    messages.insert(name, message);
}

/// Deep enough for every request; the depth bound stops recursive types.
fn field_paths(message: &str, messages: &HashMap<String, &DescriptorProto>, depth: usize) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for field in &messages[message].field {
        paths.push(vec![field.name().to_owned()]);
        if field.r#type() == Type::Message && depth < 5 && messages.contains_key(field.type_name()) {
            for below in field_paths(field.type_name(), messages, depth + 1) {
                paths.push(std::iter::once(field.name().to_owned()).chain(below).collect());
            }
        }
    }
    paths
}
