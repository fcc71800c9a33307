//! Configuration in stages: command-line flags, then `VIGIL_*` environment
//! variables, then an optional TOML file, then defaults, in that order of
//! precedence. The environment is passed in as data so tests can supply
//! their own. Every `VIGIL_*` variable vigil reads is named in this file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use thiserror::Error;
use vigil_query::sealing::SealKey;
use vigil_query::{DEFAULT_MAX_STREAM_DURATION, Limits};

use crate::rate_limit::PublicRate;

pub const ENV_LISTEN: &str = "VIGIL_LISTEN";
pub const ENV_DATA_DIR: &str = "VIGIL_DATA_DIR";
pub const ENV_DATABASE_URL: &str = "VIGIL_DATABASE_URL";
pub const ENV_CONFIG: &str = "VIGIL_CONFIG";
pub const ENV_LOG_FORMAT: &str = "VIGIL_LOG_FORMAT";
/// A `tracing` filter such as `info` or `vigil_server=debug,info`.
pub const ENV_LOG: &str = "VIGIL_LOG";
/// A directory of extra lexicon files (`*.txt`), read at start.
pub const ENV_LEXICON_DIR: &str = "VIGIL_LEXICON_DIR";
pub const ENV_BENIGN_LIST: &str = "VIGIL_BENIGN_LIST";
pub const ENV_MAX_TEXT_BYTES: &str = "VIGIL_MAX_TEXT_BYTES";
pub const ENV_MAX_MESSAGE_BYTES: &str = "VIGIL_MAX_MESSAGE_BYTES";
pub const ENV_MAX_POSTS_PER_MESSAGE: &str = "VIGIL_MAX_POSTS_PER_MESSAGE";
pub const ENV_MAX_POSTS_PER_STREAM: &str = "VIGIL_MAX_POSTS_PER_STREAM";
pub const ENV_MAX_STREAM_SECONDS: &str = "VIGIL_MAX_STREAM_SECONDS";
pub const ENV_PUBLIC_BURST: &str = "VIGIL_PUBLIC_BURST";
pub const ENV_TLS_CERT: &str = "VIGIL_TLS_CERT";
pub const ENV_TIP_SEAL_KEY: &str = "VIGIL_TIP_SEAL_KEY";
pub const ENV_TLS_KEY: &str = "VIGIL_TLS_KEY";
pub const ENV_TLS_CLIENT_CA: &str = "VIGIL_TLS_CLIENT_CA";
pub const ENV_ORGANISATION: &str = "VIGIL_ORGANISATION";
pub const ENV_URGENT_RECIPIENT: &str = "VIGIL_URGENT_RECIPIENT";

#[derive(Debug, Parser)]
#[command(name = "vigil", version, about = "Counter-extremism intelligence service")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service.
    Serve(Box<ServeArgs>),
    /// Extract indicators from stdin: JSON lines {"id", "text"} or plain text
    /// lines; writes one JSON line per input line. Needs no server.
    Extract(ExtractArgs),
    /// Write the transparency report over [--from, --until) from the
    /// database in the data directory, as JSON, CSV or a self-contained HTML
    /// page. Needs no server; safe while one runs.
    Report(ReportArgs),
    /// Create, list or revoke API keys, on the database the server uses.
    /// Safe while one runs; a revocation reaches running servers within
    /// their key cache time (10 s).
    Keys(KeysArgs),
    /// Check the audit log's hash chain, on the database the server uses.
    Audit(AuditArgs),
    /// Import STIX 2.1 bundles, MISP events and MISP feed directories as
    /// indicators, accounts and sightings with their source and markings.
    /// Importing a file again changes nothing. Safe while a server runs: it
    /// notices the import and reloads what it keeps in memory.
    Import(ImportArgs),
    /// Keys for sealed tips, and opening one. Run where the secret key
    /// lives (an analyst's machine), not on the server.
    Seal(SealArgs),
}

#[derive(Debug, Args)]
pub struct SealArgs {
    #[command(subcommand)]
    pub action: SealAction,
}

#[derive(Debug, Subcommand)]
pub enum SealAction {
    /// Make a key pair: the secret key goes to a new file (mode 0600), the
    /// public key, for `vigil serve --tip-seal-key`, to stdout.
    NewKey {
        #[arg(long)]
        secret_key_file: PathBuf,
    },
    /// Open a sealed tip: its text as `Query/GetSealedText` returns it
    /// (base64, as grpcurl prints it) on stdin, the tip's text on stdout.
    Open {
        #[arg(long)]
        secret_key_file: PathBuf,
    },
}

/// Where the database is, as `vigil serve` finds it.
#[derive(Debug, Default, Args)]
pub struct DatabaseArgs {
    /// Where the database lives [default: ./vigil-data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database `vigil serve --database-url` writes.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// The TOML file `vigil serve` reads; only its data_dir and
    /// database_url are used here.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: KeysAction,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; prints its token (shown this once) on stdout.
    Create {
        /// Unique, never reused: 1 to 64 of a-z, 0-9, '.', '_', '-'.
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// For a partner key: the only platform it may act on.
        #[arg(long)]
        platform: Option<String>,
        /// A TLS client certificate (PEM) that stands for the key over
        /// mutual TLS (`vigil serve --tls-client-ca`).
        #[arg(long)]
        client_cert: Option<std::path::PathBuf>,
    },
    /// List every key, revoked or not (never tokens).
    List,
    /// Revoke a key for good.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Partner,
    Analyst,
    Admin,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files (a STIX bundle or a MISP event, JSON) and MISP feed
    /// directories (with manifest.json).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: AuditAction,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check every link of the chain; exits 1 at the first that does not
    /// hold, naming it.
    Verify,
}

#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Where the database lives [default: ./vigil-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL database to keep everything in instead of the embedded
    /// SQLite file, e.g. postgres://vigil@db.example.org/vigil; replicas
    /// pointed at one database serve the same knowledge base.
    #[arg(long)]
    pub database_url: Option<String>,
    /// A TOML file with any of the settings below, in snake_case.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// A directory of extra lexicon files (*.txt), added to the built-in ones.
    #[arg(long)]
    pub lexicon_dir: Option<PathBuf>,
    /// A file of benign domains and `kind:value` indicators that never connect
    /// accounts in the network, added to the built-in list.
    #[arg(long)]
    pub benign_list: Option<PathBuf>,
    /// Largest text accepted in any request [default: 1048576].
    #[arg(long)]
    pub max_text_bytes: Option<usize>,
    /// Largest gRPC message accepted [default: 4194304].
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Most posts in one IngestPosts stream message [default: 1000].
    #[arg(long)]
    pub max_posts_per_message: Option<usize>,
    /// Most posts in one IngestPosts stream [default: 100000].
    #[arg(long)]
    pub max_posts_per_stream: Option<usize>,
    /// Longest one IngestPosts stream may stay open, in seconds; one open
    /// longer is refused whole, nothing stored [default: 600].
    #[arg(long)]
    pub max_stream_seconds: Option<u64>,
    /// Public requests (tips, tip status) one address may make at once,
    /// refilled at one every 2 s [default: 20].
    #[arg(long)]
    pub public_burst: Option<u32>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Ask clients for a certificate signed by these CAs (PEM): a
    /// certificate bound to a key (`vigil keys create --client-cert`)
    /// stands for that key. Clients without one still connect and use a
    /// bearer token.
    #[arg(long)]
    pub tls_client_ca: Option<PathBuf>,
    /// Store tips sealed to this public key (`vigil seal-key generate`
    /// makes one): their text is then readable only with its secret key,
    /// away from the server.
    #[arg(long)]
    pub tip_seal_key: Option<String>,
    /// The organisation running vigil, named as the author of exports
    /// [default: vigil].
    #[arg(long)]
    pub organisation: Option<String>,
    /// Who the urgent referral a threat opens is drafted for (an analyst
    /// approves it before it goes anywhere) [default: competent authority].
    #[arg(long)]
    pub urgent_recipient: Option<String>,
}

#[derive(Debug, Default, Args)]
pub struct ExtractArgs {
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// A directory of extra lexicon files (*.txt), added to the built-in ones.
    #[arg(long)]
    pub lexicon_dir: Option<PathBuf>,
    /// Worker threads [default: one per core].
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, Default, Args)]
pub struct ReportArgs {
    /// Where the database lives [default: ./vigil-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL database `vigil serve --database-url` writes.
    #[arg(long)]
    pub database_url: Option<String>,
    /// The TOML file `vigil serve` reads; only its data_dir and
    /// database_url are used here.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Start of the range, inclusive: YYYY-MM-DD (midnight UTC) or RFC 3339
    /// [default: 30 days before --until].
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range, exclusive: --until 2024-02-01 covers all of January
    /// 31 [default: now].
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One JSON document: times in RFC 3339, durations in seconds.
    #[default]
    Json,
    /// One tidy table: section, platform, language, site_kind, metric, value.
    Csv,
    /// One page with charts, no external resources.
    Html,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(value: &str) -> Result<LogFormat, String> {
        match value {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?} is not one of human, json")),
        }
    }
}

/// The TOML file: every key optional, none unknown.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub log_format: Option<LogFormat>,
    pub lexicon_dir: Option<PathBuf>,
    pub benign_list: Option<PathBuf>,
    pub max_text_bytes: Option<usize>,
    pub max_message_bytes: Option<usize>,
    pub max_posts_per_message: Option<usize>,
    pub max_posts_per_stream: Option<usize>,
    pub max_stream_seconds: Option<u64>,
    pub public_burst: Option<u32>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub tip_seal_key: Option<String>,
    pub organisation: Option<String>,
    pub urgent_recipient: Option<String>,
}

/// Everything `vigil serve` runs with, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// PostgreSQL instead of SQLite in `data_dir` when set.
    pub database_url: Option<String>,
    pub log_format: LogFormat,
    pub lexicon_dir: Option<PathBuf>,
    pub benign_list: Option<PathBuf>,
    pub limits: Limits,
    pub max_message_bytes: usize,
    /// How long one IngestPosts stream may stay open.
    pub max_stream: Duration,
    /// The least time a GetTipStatus answer takes, known receipt or not.
    pub tip_status_floor: Duration,
    /// How long shutdown waits for in-flight requests and open connections.
    pub shutdown_grace: Duration,
    /// How long an API key's check is remembered: a key revoked elsewhere
    /// is honoured this long at most.
    pub key_cache: Duration,
    /// Limits on the public methods, kept in memory only.
    pub public_rate: PublicRate,
    /// Plaintext when `None`.
    pub tls: Option<TlsFiles>,
    /// Tips are stored sealed to it when set.
    pub tip_seal_key: Option<SealKey>,
    /// Named as the author of exports.
    pub organisation: String,
    /// The recipient of the urgent lane's drafts.
    pub urgent_recipient: String,
}

/// Where the server's TLS certificate and key are, and the CAs of the
/// client certificates it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("environment variable {name}={value:?} is not valid: {reason}")]
    Environment { name: &'static str, value: String, reason: String },
    #[error("{name} is {value}, {reason}")]
    Invalid { name: &'static str, value: usize, reason: &'static str },
    #[error("database_url must start with postgres:// or postgresql:// (SQLite needs no URL: it lives in data_dir)")]
    DatabaseUrl,
    #[error("{0}")]
    Tls(&'static str),
    #[error("tip_seal_key: {0}")]
    TipSealKey(vigil_query::sealing::SealError),
    #[error("{name} {reason}")]
    Name { name: &'static str, reason: String },
}

fn tls_files(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
) -> Result<Option<TlsFiles>, ConfigError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key, client_ca })),
        (None, None) if client_ca.is_some() => Err(ConfigError::Tls("tls_client_ca needs tls_cert and tls_key")),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::Tls("tls_cert needs tls_key")),
        (None, Some(_)) => Err(ConfigError::Tls("tls_key needs tls_cert")),
    }
}

impl ServeConfig {
    /// Resolves flags, environment and file into one validated config.
    pub fn resolve(args: &ServeArgs, environment: &HashMap<String, String>) -> Result<ServeConfig, ConfigError> {
        let env = Environment(environment);
        let file_path = args.config.clone().or(env.get::<PathBuf>(ENV_CONFIG)?);
        let file = match &file_path {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        let defaults = Limits::default();
        let config = ServeConfig {
            listen: args
                .listen
                .or(env.get(ENV_LISTEN)?)
                .or(file.listen)
                .unwrap_or_else(|| ([127, 0, 0, 1], 50051).into()),
            data_dir: args
                .data_dir
                .clone()
                .or(env.get(ENV_DATA_DIR)?)
                .or(file.data_dir)
                .unwrap_or_else(|| "vigil-data".into()),
            database_url: args.database_url.clone().or(env.get(ENV_DATABASE_URL)?).or(file.database_url),
            log_format: args.log_format.or(env.get(ENV_LOG_FORMAT)?).or(file.log_format).unwrap_or_default(),
            lexicon_dir: args.lexicon_dir.clone().or(env.get(ENV_LEXICON_DIR)?).or(file.lexicon_dir),
            benign_list: args.benign_list.clone().or(env.get(ENV_BENIGN_LIST)?).or(file.benign_list),
            limits: Limits {
                max_text_bytes: args
                    .max_text_bytes
                    .or(env.get(ENV_MAX_TEXT_BYTES)?)
                    .or(file.max_text_bytes)
                    .unwrap_or(defaults.max_text_bytes),
                max_posts_per_message: args
                    .max_posts_per_message
                    .or(env.get(ENV_MAX_POSTS_PER_MESSAGE)?)
                    .or(file.max_posts_per_message)
                    .unwrap_or(defaults.max_posts_per_message),
                max_posts_per_stream: args
                    .max_posts_per_stream
                    .or(env.get(ENV_MAX_POSTS_PER_STREAM)?)
                    .or(file.max_posts_per_stream)
                    .unwrap_or(defaults.max_posts_per_stream),
                ..defaults
            },
            max_message_bytes: args
                .max_message_bytes
                .or(env.get(ENV_MAX_MESSAGE_BYTES)?)
                .or(file.max_message_bytes)
                .unwrap_or(4 * 1024 * 1024),
            max_stream: Duration::from_secs(
                args.max_stream_seconds
                    .or(env.get(ENV_MAX_STREAM_SECONDS)?)
                    .or(file.max_stream_seconds)
                    .unwrap_or(DEFAULT_MAX_STREAM_DURATION.as_secs()),
            ),
            tip_status_floor: Duration::from_millis(25),
            shutdown_grace: Duration::from_secs(10),
            key_cache: Duration::from_secs(10),
            public_rate: PublicRate {
                per_source_burst: f64::from(
                    args.public_burst.or(env.get(ENV_PUBLIC_BURST)?).or(file.public_burst).unwrap_or(20),
                ),
                ..PublicRate::default()
            },
            tls: tls_files(
                args.tls_cert.clone().or(env.get(ENV_TLS_CERT)?).or(file.tls_cert),
                args.tls_key.clone().or(env.get(ENV_TLS_KEY)?).or(file.tls_key),
                args.tls_client_ca.clone().or(env.get(ENV_TLS_CLIENT_CA)?).or(file.tls_client_ca),
            )?,
            tip_seal_key: args
                .tip_seal_key
                .clone()
                .or(env.get(ENV_TIP_SEAL_KEY)?)
                .or(file.tip_seal_key)
                .map(|key| SealKey::parse(&key))
                .transpose()
                .map_err(ConfigError::TipSealKey)?,
            organisation: args
                .organisation
                .clone()
                .or(env.get(ENV_ORGANISATION)?)
                .or(file.organisation)
                .unwrap_or_else(|| "vigil".into()),
            urgent_recipient: args
                .urgent_recipient
                .clone()
                .or(env.get(ENV_URGENT_RECIPIENT)?)
                .or(file.urgent_recipient)
                .unwrap_or_else(|| "competent authority".into()),
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = |name, value: usize| {
            if value == 0 { Err(ConfigError::Invalid { name, value, reason: "must be at least 1" }) } else { Ok(()) }
        };
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::DatabaseUrl);
        }
        for (name, value) in [("organisation", &self.organisation), ("urgent_recipient", &self.urgent_recipient)] {
            let reason = match value.trim().len() {
                0 => "is empty".to_owned(),
                bytes if bytes > 256 => format!("is {bytes} bytes, over the 256-byte limit"),
                _ => continue,
            };
            return Err(ConfigError::Name { name, reason });
        }
        positive("max_text_bytes", self.limits.max_text_bytes)?;
        positive("max_posts_per_message", self.limits.max_posts_per_message)?;
        positive("max_posts_per_stream", self.limits.max_posts_per_stream)?;
        // Longer than a day is a typo, and holds a stream's posts in memory
        // as long.
        let stream_seconds = self.max_stream.as_secs();
        if !(1..=86_400).contains(&stream_seconds) {
            return Err(ConfigError::Invalid {
                name: "max_stream_seconds",
                value: usize::try_from(stream_seconds).unwrap_or(usize::MAX),
                reason: "must be 1 to 86400 (a day)",
            });
        }
        positive("public_burst", self.public_rate.per_source_burst as usize)?;
        if self.max_message_bytes < 1024 {
            return Err(ConfigError::Invalid {
                name: "max_message_bytes",
                value: self.max_message_bytes,
                reason: "must be at least 1024",
            });
        }
        Ok(())
    }
}

/// Everything `vigil report` runs with. The range stays text here: it is
/// parsed and checked by the same domain code as the RPC's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportConfig {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub from: Option<String>,
    pub until: Option<String>,
    pub format: ReportFormat,
    pub output: Option<PathBuf>,
}

impl ReportConfig {
    /// The database resolves as for `vigil serve` (flag, then environment,
    /// then the config file, then `vigil-data`), so that a report reads the
    /// database the server writes.
    pub fn resolve(args: &ReportArgs, environment: &HashMap<String, String>) -> Result<ReportConfig, ConfigError> {
        let database = DatabaseArgs {
            data_dir: args.data_dir.clone(),
            database_url: args.database_url.clone(),
            config: args.config.clone(),
        };
        let DatabaseLocation { data_dir, database_url } = DatabaseLocation::resolve(&database, environment)?;
        Ok(ReportConfig {
            data_dir,
            database_url,
            from: args.from.clone(),
            until: args.until.clone(),
            format: args.format,
            output: args.output.clone(),
        })
    }
}

/// The database a command other than `serve` works on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseLocation {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl DatabaseLocation {
    /// Resolves as for `vigil serve`: flag, then environment, then the
    /// config file, then `vigil-data`.
    pub fn resolve(
        args: &DatabaseArgs,
        environment: &HashMap<String, String>,
    ) -> Result<DatabaseLocation, ConfigError> {
        let env = Environment(environment);
        let file = match args.config.clone().or(env.get::<PathBuf>(ENV_CONFIG)?) {
            Some(path) => read_file_config(&path)?,
            None => FileConfig::default(),
        };
        let data_dir =
            args.data_dir.clone().or(env.get(ENV_DATA_DIR)?).or(file.data_dir).unwrap_or_else(|| "vigil-data".into());
        let database_url = args.database_url.clone().or(env.get(ENV_DATABASE_URL)?).or(file.database_url);
        Ok(DatabaseLocation { data_dir, database_url })
    }
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })
}

struct Environment<'a>(&'a HashMap<String, String>);

impl Environment<'_> {
    fn get<T: FromStr>(&self, name: &'static str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(name).filter(|value| !value.is_empty()) {
            None => Ok(None),
            Some(value) => value.parse().map(Some).map_err(|error: T::Err| ConfigError::Environment {
                name,
                value: value.clone(),
                reason: error.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vigil.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:7000\"\ndata_dir = \"/from/file\"\nmax_text_bytes = 10\nlog_format = \"json\"\n",
        )
        .unwrap();
        let args =
            ServeArgs { config: Some(file), listen: Some("127.0.0.1:9000".parse().unwrap()), ..ServeArgs::default() };
        let config =
            ServeConfig::resolve(&args, &env(&[(ENV_DATA_DIR, "/from/env"), (ENV_LISTEN, "127.0.0.1:8000")])).unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("/from/env"));
        assert_eq!(config.limits.max_text_bytes, 10);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.max_message_bytes, 4 * 1024 * 1024);
        assert_eq!(config.max_stream, Duration::from_secs(600));

        let defaults = ServeConfig::resolve(&ServeArgs::default(), &env(&[])).unwrap();
        assert_eq!(defaults.listen, "127.0.0.1:50051".parse().unwrap());
        assert_eq!(defaults.data_dir, PathBuf::from("vigil-data"));
        assert_eq!(defaults.limits, Limits::default());
    }

    #[test]
    fn report_finds_the_data_dir_where_serve_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vigil.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\nlisten = \"127.0.0.1:7000\"\n").unwrap();
        let resolve = |args: ReportArgs, pairs: &[(&str, &str)]| ReportConfig::resolve(&args, &env(pairs)).unwrap();
        let with_file = || ReportArgs { config: Some(file.clone()), ..ReportArgs::default() };
        assert_eq!(resolve(ReportArgs::default(), &[]).data_dir, PathBuf::from("vigil-data"));
        assert_eq!(resolve(with_file(), &[]).data_dir, PathBuf::from("/from/file"));
        assert_eq!(resolve(with_file(), &[(ENV_DATA_DIR, "/from/env")]).data_dir, PathBuf::from("/from/env"));
        let flag = ReportArgs { data_dir: Some("/from/flag".into()), ..with_file() };
        assert_eq!(resolve(flag, &[(ENV_DATA_DIR, "/from/env")]).data_dir, PathBuf::from("/from/flag"));
        let from_env_file = resolve(ReportArgs::default(), &[(ENV_CONFIG, file.to_str().unwrap())]);
        assert_eq!(from_env_file.data_dir, PathBuf::from("/from/file"));
        assert_eq!(from_env_file.format, ReportFormat::Json);
    }

    #[test]
    fn the_stream_duration_comes_from_a_flag_the_environment_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vigil.toml");
        std::fs::write(&file, "max_stream_seconds = 30\n").unwrap();
        let with_file = || ServeArgs { config: Some(file.clone()), ..ServeArgs::default() };
        let resolve = |args: ServeArgs, pairs: &[(&str, &str)]| ServeConfig::resolve(&args, &env(pairs));
        assert_eq!(resolve(with_file(), &[]).unwrap().max_stream, Duration::from_secs(30));
        let from_env = resolve(with_file(), &[(ENV_MAX_STREAM_SECONDS, "20")]).unwrap();
        assert_eq!(from_env.max_stream, Duration::from_secs(20));
        let flag = ServeArgs { max_stream_seconds: Some(10), ..with_file() };
        assert_eq!(resolve(flag, &[(ENV_MAX_STREAM_SECONDS, "20")]).unwrap().max_stream, Duration::from_secs(10));
        let zero = resolve(ServeArgs { max_stream_seconds: Some(0), ..ServeArgs::default() }, &[]).unwrap_err();
        assert_eq!(zero.to_string(), "max_stream_seconds is 0, must be 1 to 86400 (a day)");
        let long = resolve(ServeArgs { max_stream_seconds: Some(86_401), ..ServeArgs::default() }, &[]).unwrap_err();
        assert!(long.to_string().starts_with("max_stream_seconds is 86401"), "{long}");
    }

    #[test]
    fn bad_settings_are_named() {
        let error = ServeConfig::resolve(&ServeArgs::default(), &env(&[(ENV_LISTEN, "nowhere")])).unwrap_err();
        assert!(error.to_string().contains("VIGIL_LISTEN"), "{error}");
        let error = ServeConfig::resolve(&ServeArgs { max_text_bytes: Some(0), ..ServeArgs::default() }, &env(&[]))
            .unwrap_err();
        assert!(error.to_string().contains("max_text_bytes"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vigil.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap();
        let error =
            ServeConfig::resolve(&ServeArgs { config: Some(file), ..ServeArgs::default() }, &env(&[])).unwrap_err();
        assert!(error.to_string().contains("listne"), "{error}");
    }

    #[test]
    fn tls_needs_its_certificate_and_key_together() {
        let resolve = |cert: Option<&str>, key: Option<&str>, client_ca: Option<&str>| {
            let args = ServeArgs {
                tls_cert: cert.map(PathBuf::from),
                tls_key: key.map(PathBuf::from),
                tls_client_ca: client_ca.map(PathBuf::from),
                ..ServeArgs::default()
            };
            ServeConfig::resolve(&args, &env(&[])).map(|config| config.tls).map_err(|error| error.to_string())
        };
        assert_eq!(resolve(None, None, None), Ok(None));
        assert_eq!(
            resolve(Some("c.pem"), Some("k.pem"), Some("ca.pem")),
            Ok(Some(TlsFiles { cert: "c.pem".into(), key: "k.pem".into(), client_ca: Some("ca.pem".into()) }))
        );
        assert_eq!(resolve(Some("c.pem"), None, None), Err("tls_cert needs tls_key".into()));
        assert_eq!(resolve(None, Some("k.pem"), None), Err("tls_key needs tls_cert".into()));
        assert_eq!(resolve(None, None, Some("ca.pem")), Err("tls_client_ca needs tls_cert and tls_key".into()));
        let from_env =
            ServeConfig::resolve(&ServeArgs::default(), &env(&[(ENV_TLS_CERT, "c.pem"), (ENV_TLS_KEY, "k.pem")]));
        assert_eq!(from_env.unwrap().tls.map(|tls| tls.cert), Some(PathBuf::from("c.pem")));
    }
}
