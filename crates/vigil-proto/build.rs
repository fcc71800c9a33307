//! Compiles `proto/` with protox, a protobuf compiler written in Rust, so that
//! `cargo build` needs no system `protoc`.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = [
        "vigil/v1/common.proto",
        "vigil/v1/intake.proto",
        "vigil/v1/extraction.proto",
        "vigil/v1/query.proto",
        "vigil/v1/tracking.proto",
        "vigil/v1/network.proto",
        "vigil/v1/statistics.proto",
        "vigil/v1/admin.proto",
        "vigil/v1/referrals.proto",
    ];
    let descriptor_set = protox::compile(files, [&proto_root])?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("vigil_descriptor.bin"), descriptor_set.encode_to_vec())?;

    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(descriptor_set)?;

    println!("cargo:rerun-if-changed={}", proto_root.display());
    Ok(())
}
