//! When the data directory fills up, writes fail with UNAVAILABLE and say
//! why, reads keep working, and writes work again once the directory has
//! room, without a restart.
//!
//! The data directory is a small tmpfs mounted for the test, so this needs
//! root (CI runs as root).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Vigil;
use vigil_proto::prost_types;
use vigil_proto::tonic::Code;
use vigil_proto::v1::intake_client::IntakeClient;
use vigil_proto::v1::query_client::QueryClient;
use vigil_proto::v1::*;

/// A tmpfs of a chosen size, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("data");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .expect("mount runs");
        assert!(
            mounted.status.success(),
            "this test mounts a small tmpfs as the data directory and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        SmallDisk { path, _parent: parent }
    }

    fn remount(&self, options: &str) {
        let done = Command::new("mount").args(["-o", &format!("remount,{options}")]).arg(&self.path).output().unwrap();
        assert!(done.status.success(), "remount {options}: {}", String::from_utf8_lossy(&done.stderr));
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn request(first: usize, count: usize) -> IngestPostsRequest {
    // Large, varied texts fill the disk in a few requests.
    let filler: String = (0..400).map(|i| format!("mot{} ", (first * 31 + i * 7) % 9973)).collect();
    IngestPostsRequest {
        posts: (first..first + count)
            .map(|n| Post {
                platform: "telegram".into(),
                platform_post_id: format!("f{n}"),
                author: None,
                url: String::new(),
                text: format!("Relais {n} https://example.org/plein/{n} {filler}"),
                posted_at: Some(prost_types::Timestamp { seconds: 1_767_225_600, nanos: 0 }),
                media_sha256: vec![],
            })
            .collect(),
    }
}

async fn lookup_works(query: &mut QueryClient<support::Authed>, n: usize) {
    let found = query
        .lookup_indicator(LookupIndicatorRequest {
            kind: IndicatorKind::Url as i32,
            value: format!("https://example.org/plein/{n}"),
            max_documents: 1,
        })
        .await
        .expect("reads keep working");
    assert_eq!(found.into_inner().sighting_count, 1);
}

#[tokio::test]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers() {
    let disk = SmallDisk::mount("2m");
    let vigil = Vigil::start(disk.path(), &[]);
    vigil.wait_serving().await;
    let channel = vigil.channel().await;
    let mut intake = IntakeClient::new(channel.clone());
    let mut query = QueryClient::new(channel);

    // Fill the disk.
    let mut next = 0;
    let refused = loop {
        assert!(next < 20_000, "the 2 MiB disk never filled up");
        match intake.ingest_posts(tokio_stream::iter([request(next, 20)])).await {
            Ok(_) => next += 20,
            Err(status) => break status,
        }
    };
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("cannot take writes"), "{}", refused.message());
    assert!(next > 0, "nothing was stored before the disk filled");
    lookup_works(&mut query, 0).await;
    lookup_works(&mut query, next - 1).await;

    // Room again: the same request goes through, whole.
    disk.remount("size=64m");
    let stored = intake.ingest_posts(tokio_stream::iter([request(next, 20)])).await.expect("writes work again");
    assert_eq!(stored.into_inner().accepted, 20);
    lookup_works(&mut query, next + 19).await;

    vigil.stop().await;
}
