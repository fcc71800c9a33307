//! The `vigil` binary's library: configuration, the gRPC adapters over the
//! domain services, conversion between wire and domain types, the mapping of
//! errors to gRPC status (in `status`, and nowhere else), and the server's
//! lifecycle.

pub mod access;
pub mod config;
mod convert;
pub mod extract_command;
mod grpc;
mod grpc_admin;
mod grpc_network;
mod grpc_referrals;
mod grpc_statistics;
pub mod import_command;
pub mod keys_command;
pub mod rate_limit;
pub mod report_command;
pub mod seal_command;
pub mod serve;
mod status;
pub mod storage;
pub mod tls;
mod unreadable_message;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Logs go to stderr; stdout belongs to `vigil extract`'s output.
pub fn init_tracing(format: LogFormat, filter: Option<&str>) {
    let filter = EnvFilter::try_new(filter.unwrap_or("info")).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
