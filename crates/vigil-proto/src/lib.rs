//! The vigil v1 gRPC API, generated from `proto/vigil/v1`.
//!
//! This is the only crate that touches generated code. It re-exports `tonic`,
//! `prost` and `prost-types` so the whole workspace speaks one version of each.

pub use prost;
pub use prost_types;
pub use tonic;

/// The `vigil.v1` package: messages, clients and servers.
#[allow(clippy::all, missing_debug_implementations)]
pub mod v1 {
    tonic::include_proto!("vigil.v1");
}

/// Encoded `FileDescriptorSet` of every file in `proto/` and its imports, for
/// server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vigil_descriptor.bin"));
