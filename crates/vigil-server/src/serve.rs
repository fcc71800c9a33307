//! The server: takes its listener and its shutdown signal as arguments, so a
//! test can bind port 0 and stop it.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use vigil_proto::tonic;
use vigil_proto::v1 as pb;
use vigil_query::network::{Network, NetworkSettings};
use vigil_query::statistics::Statistics;
use vigil_query::{Intake, IntakeSettings, Keys, Lexicon, LexiconError, Query, Referrals, Tracking, TrackingSettings};
use vigil_store::{RecipientKind, StoreError, Tlp, UrgentReferral};

use crate::access::AccessLayer;
use crate::config::ServeConfig;
use crate::grpc::{ExtractionAdapter, IntakeAdapter, QueryAdapter, ReadyServices, Services, TrackingAdapter};
use crate::grpc_admin::AdminAdapter;
use crate::grpc_network::NetworkAdapter;
use crate::grpc_referrals::ReferralsAdapter;
use crate::grpc_statistics::StatisticsAdapter;
use crate::rate_limit::PublicLimiter;
use crate::storage::Storage;
use crate::unreadable_message::UnreadableMessageLayer;

#[derive(Debug, Error)]
pub enum ServeError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read lexicon directory {path}: {source}")]
    LexiconDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Lexicon(#[from] LexiconError),
    #[error("reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("storage task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot load tracked accounts: {0}")]
    Tracking(String),
    #[error("benign list {path}: {reason}")]
    BenignList { path: String, reason: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

const MAX_CONCURRENT_STREAMS: u32 = 256;

/// The gRPC service names health reports on, besides the whole server ("").
const SERVICE_NAMES: [&str; 8] = [
    "vigil.v1.Intake",
    "vigil.v1.Extraction",
    "vigil.v1.Query",
    "vigil.v1.Tracking",
    "vigil.v1.Network",
    "vigil.v1.Statistics",
    "vigil.v1.Admin",
    "vigil.v1.Referrals",
];

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight
/// requests finish and closes storage cleanly.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in std::iter::once("").chain(SERVICE_NAMES) {
        health.set_service_status(name, ServingStatus::NotServing).await;
    }
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(vigil_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    // grpcurl before 1.9 speaks only the v1alpha protocol.
    // Each builder describes its own protocol; the v1alpha one also describes
    // v1, so that every service grpcurl lists can be described.
    let reflection_v1alpha = reflection()
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    // Read before serving: a broken lexicon file is an operator's mistake
    // to fix at once, not a surprise on the first tip.
    let lexicon = Arc::new(load_lexicon(config.lexicon_dir.as_deref())?);
    let network_settings = load_network_settings(config.benign_list.as_deref())?;
    let services = ReadyServices::default();
    let limit = config.max_message_bytes;
    let mut server = Server::builder();
    if let Some(files) = &config.tls {
        server = server.tls_config(crate::tls::server_config(files)?)?;
    }
    let router = server
        // A cap on streams per connection, so that one client cannot hold
        // the server's memory with calls it never finishes.
        .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS))
        .layer(UnreadableMessageLayer { limit })
        .layer(AccessLayer { services: services.clone(), limiter: Arc::new(PublicLimiter::new(config.public_rate)) })
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            pb::intake_server::IntakeServer::new(IntakeAdapter(services.clone())).max_decoding_message_size(limit),
        )
        .add_service(
            pb::extraction_server::ExtractionServer::new(ExtractionAdapter(services.clone()))
                .max_decoding_message_size(limit),
        )
        .add_service(
            pb::query_server::QueryServer::new(QueryAdapter(services.clone())).max_decoding_message_size(limit),
        )
        .add_service(
            pb::tracking_server::TrackingServer::new(TrackingAdapter(services.clone()))
                .max_decoding_message_size(limit),
        )
        .add_service(
            pb::network_server::NetworkServer::new(NetworkAdapter(services.clone())).max_decoding_message_size(limit),
        )
        .add_service(
            pb::statistics_server::StatisticsServer::new(StatisticsAdapter(services.clone()))
                .max_decoding_message_size(limit),
        )
        .add_service(
            pb::admin_server::AdminServer::new(AdminAdapter(services.clone())).max_decoding_message_size(limit),
        )
        .add_service(
            pb::referrals_server::ReferralsServer::new(ReferralsAdapter(services.clone()))
                .max_decoding_message_size(limit),
        );

    // Serve at once, health NOT_SERVING, while storage opens beside it; a
    // failure to open stops the server.
    let open_failed = Arc::new(Notify::new());
    let stopping = Arc::new(Notify::new());
    let stop = {
        let (open_failed, stopping, services) = (Arc::clone(&open_failed), Arc::clone(&stopping), services.clone());
        async move {
            tokio::select! {
                () = shutdown => tracing::info!("shutting down: no new requests, finishing those in flight"),
                () = open_failed.notified() => {}
            }
            // Alert streams never finish on their own: end them, or every
            // shutdown would wait out the grace period.
            if let Some(services) = services.ready() {
                services.tracking.stop_watches();
            }
            stopping.notify_one();
        }
    };
    // Without TCP_NODELAY every one-at-a-time call waits ~40 ms on the
    // client's delayed ACK (tests/e2e_flood.rs measured 43 ms against 2.5 ms).
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let serving = router.serve_with_incoming_shutdown(incoming, stop);
    // A client that never closes its connection must not hold the server up:
    // after the grace period, in-flight work is abandoned (each write request
    // is one transaction, so nothing half-done is kept).
    let serving = async {
        tokio::select! {
            served = serving => served,
            () = async {
                stopping.notified().await;
                tokio::time::sleep(config.shutdown_grace).await;
            } => {
                tracing::warn!(grace_seconds = config.shutdown_grace.as_secs(), "grace period over; closing open connections");
                Ok(())
            }
        }
    };
    let opening = async {
        let store = match open_store(&config).await {
            Ok(store) => store,
            Err(error) => {
                open_failed.notify_one();
                return Err(error);
            }
        };
        let shared = store.store();
        let tracking = match Tracking::open(Arc::clone(&shared), TrackingSettings::default()).await {
            Ok(tracking) => tracking,
            Err(error) => {
                open_failed.notify_one();
                return Err(ServeError::Tracking(error.to_string()));
            }
        };
        let settings = IntakeSettings {
            limits: config.limits.clone(),
            lexicon: Arc::clone(&lexicon),
            tip_status_floor: config.tip_status_floor,
            seal_to: config.tip_seal_key.clone(),
            max_stream_duration: config.max_stream,
        };
        services.set(Services {
            keys: Keys::new(Arc::clone(&shared), config.key_cache),
            store: Arc::clone(&shared),
            intake: Intake::new(Arc::clone(&shared), settings, tracking.clone()),
            query: Query::new(shared, config.limits.clone()),
            referrals: Referrals::new(tracking.clone(), config.organisation.clone()),
            tracking,
            network: Network::with_settings(store.network(), network_settings.clone()),
            statistics: Statistics::new(store.statistics()),
            lexicon: Arc::clone(&lexicon),
            limits: config.limits.clone(),
            max_message_bytes: limit,
        });
        for name in std::iter::once("").chain(SERVICE_NAMES) {
            health.set_service_status(name, ServingStatus::Serving).await;
        }
        tracing::info!("serving");
        Ok(store)
    };
    let (served, opened) = tokio::join!(serving, opening);
    let store = opened?;
    store.close().await?;
    tracing::info!("storage closed");
    Ok(served?)
}

/// The network's caps, with an operator's benign list when one is given.
pub fn load_network_settings(path: Option<&Path>) -> Result<NetworkSettings, ServeError> {
    let settings = NetworkSettings::default();
    let Some(path) = path else { return Ok(settings) };
    let failed = |reason: String| ServeError::BenignList { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(path).map_err(|error| failed(error.to_string()))?;
    settings.with_benign_list(&text).map_err(failed)
}

/// The built-in lexicons, and every `*.txt` in `directory` in name order.
pub fn load_lexicon(directory: Option<&Path>) -> Result<Lexicon, ServeError> {
    let Some(directory) = directory else { return Ok(Lexicon::builtin().clone()) };
    let read_error = |source| ServeError::LexiconDir { path: directory.display().to_string(), source };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(read_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    paths.retain(|path| path.extension().is_some_and(|ext| ext == "txt"));
    paths.sort();
    let texts: Vec<(String, String)> = paths
        .iter()
        .map(|path| Ok((path.display().to_string(), std::fs::read_to_string(path).map_err(read_error)?)))
        .collect::<Result<_, ServeError>>()?;
    let sources: Vec<(&str, &str)> = texts.iter().map(|(name, text)| (name.as_str(), text.as_str())).collect();
    let lexicon = Lexicon::with_builtin_and(&sources)?;
    tracing::info!(files = paths.len(), directory = %directory.display(), "lexicon files loaded");
    Ok(lexicon)
}

async fn open_store(config: &ServeConfig) -> Result<Storage, ServeError> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| ServeError::DataDir { path: config.data_dir.display().to_string(), source })?;
    }
    let urgent_lane = UrgentReferral {
        recipient: config.urgent_recipient.clone(),
        recipient_kind: RecipientKind::Authority,
        // Lives may be at risk: the recipient's organisation only, until an
        // analyst decides otherwise in a referral of their own.
        tlp: Tlp::AmberStrict,
        reason: "a document fell in the threat category (incitement or threats to life)".into(),
    };
    let store = Storage::open(&config.data_dir, config.database_url.as_deref(), 4, Some(urgent_lane)).await?;
    match &store {
        Storage::Sqlite(_) => tracing::info!(data_dir = %config.data_dir.display(), "storage open and migrated"),
        Storage::Postgres(_) => tracing::info!("PostgreSQL storage open and migrated"),
    }
    Ok(store)
}
