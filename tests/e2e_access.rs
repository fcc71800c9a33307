//! Who may call what, through the real binary: every RPC the server's
//! descriptors name, called with no key, an unknown key, a revoked key and a
//! key of each role. The expected rule of each RPC is written below as the
//! policy states it; an RPC with no line here fails the test, so a new RPC
//! cannot ship without someone deciding who may call it.

mod support;

use std::collections::BTreeMap;

use tokio_stream::StreamExt;
use vigil_proto::prost::Message;
use vigil_proto::tonic::{self, Code, Request};
use vigil_proto::v1 as pb;
use vigil_server::access::{Access, access_of};

use support::{Authed, Vigil};

/// The policy, by `package.Service/Method`.
fn expected_rule(method: &str) -> Option<Access> {
    let public = ["SubmitTip", "GetTipStatus", "AddTipFollowUp", "Check", "Watch", "ServerReflectionInfo"];
    let partner = ["IngestPosts", "CheckContent", "Extract", "UpdateAccountStatus", "RecordProfileSnapshot"];
    let (service, name) = method.split_once('/')?;
    let access = match service {
        "grpc.health.v1.Health"
        | "grpc.reflection.v1.ServerReflection"
        | "grpc.reflection.v1alpha.ServerReflection"
            if public.contains(&name) =>
        {
            Access::Public
        }
        "vigil.v1.Intake" if public.contains(&name) => Access::Public,
        "vigil.v1.Intake" | "vigil.v1.Query" | "vigil.v1.Extraction" | "vigil.v1.Tracking"
            if partner.contains(&name) =>
        {
            Access::Partner
        }
        "vigil.v1.Query" if ["LookupIndicator", "Search", "GetSealedText"].contains(&name) => Access::Analyst,
        "vigil.v1.Tracking" => match name {
            "GetAccount"
            | "ListAccounts"
            | "ReviewSuccessor"
            | "WatchAlerts"
            | "GetActor"
            | "ListActors"
            | "CreateActor"
            | "RenameActor"
            | "AssignAccounts"
            | "MergeActors"
            | "SplitActor"
            | "GetSite"
            | "ListSites"
            | "RecordSite"
            | "UpdateSiteStatus"
            | "RecordTakedownRequest" => Access::Analyst,
            _ => return None,
        },
        "vigil.v1.Network" | "vigil.v1.Statistics" => Access::Analyst,
        // Evidence leaving vigil: analysts only, partners and admins never.
        "vigil.v1.Referrals" => match name {
            "CreateReferral"
            | "AddReferralItems"
            | "ApproveReferral"
            | "MarkReferralSent"
            | "AcknowledgeReferral"
            | "CloseReferral"
            | "GetReferral"
            | "ListReferrals"
            | "ExportReferral"
            | "ExportActor"
            | "ExportRecords" => Access::Analyst,
            _ => return None,
        },
        "vigil.v1.Admin" => Access::Admin,
        _ => return None,
    };
    Some(access)
}

#[derive(Clone, Copy, Debug)]
struct Method {
    client_streaming: bool,
    server_streaming: bool,
}

/// Every method of every service the server registers, from the same
/// descriptor sets its reflection serves.
fn served_methods() -> BTreeMap<String, Method> {
    let sets = [
        vigil_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut methods = BTreeMap::new();
    for set in sets {
        let set = vigil_proto::prost_types::FileDescriptorSet::decode(set).unwrap();
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("{}.{}/{}", file.package(), service.name(), method.name());
                    let shape = Method {
                        client_streaming: method.client_streaming(),
                        server_streaming: method.server_streaming(),
                    };
                    methods.insert(path, shape);
                }
            }
        }
    }
    methods
}

/// Calls `method` with an empty request (every field unset), as any shape
/// of RPC, and returns the status code of the answer (OK when it began).
async fn call(channel: Authed, method: &str, shape: Method) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path: tonic::codegen::http::uri::PathAndQuery = format!("/{method}").parse().unwrap();
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let result = match (shape.client_streaming, shape.server_streaming) {
        (false, false) => grpc.unary(Request::new(()), path, codec).await.map(|_| ()),
        (true, false) => grpc.client_streaming(Request::new(tokio_stream::once(())), path, codec).await.map(|_| ()),
        (false, true) => grpc.server_streaming(Request::new(()), path, codec).await.map(|_| ()),
        (true, true) => {
            // Reflection answers each request: take the first answer.
            match grpc.streaming(Request::new(tokio_stream::once(())), path, codec).await {
                Ok(response) => match response.into_inner().next().await {
                    Some(Err(status)) => Err(status),
                    _ => Ok(()),
                },
                Err(status) => Err(status),
            }
        }
    };
    match result {
        Ok(()) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_role_by_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;

    // A key the admin API makes and then revokes.
    let mut admin = pb::admin_client::AdminClient::new(vigil.channel_as("admin-a").await);
    let created = admin
        .create_key(pb::CreateKeyRequest {
            name: "analyst-leaving".into(),
            role: pb::Role::Analyst as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let revoked_token = created.token;
    assert!(revoked_token.starts_with("vigil_") && revoked_token.len() >= 6 + 43, "{revoked_token}");
    let leaving = vigil.channel_with_token(&revoked_token).await;
    let unary = Method { client_streaming: false, server_streaming: false };
    assert_eq!(call(leaving.clone(), "vigil.v1.Query/Search", unary).await, Code::Ok, "the new key works");
    admin.revoke_key(pb::RevokeKeyRequest { name: "analyst-leaving".into() }).await.unwrap();

    let methods = served_methods();
    assert!(methods.len() >= 37, "the descriptors name only {} methods", methods.len());
    let without_rule: Vec<&String> = methods.keys().filter(|method| expected_rule(method).is_none()).collect();
    assert!(without_rule.is_empty(), "RPCs with no access rule in this test's policy: {without_rule:?}");

    let callers: Vec<(&str, Option<Authed>)> = vec![
        ("no key", None),
        ("unknown key", Some(vigil.channel_with_token("vigil_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await)),
        ("revoked key", Some(leaving)),
        ("partner", Some(vigil.channel_as("crawler-example").await)),
        ("analyst", Some(vigil.channel_as("analyst-a").await)),
        ("admin", Some(vigil.channel_as("admin-a").await)),
    ];
    let public = vigil.public_channel().await;
    let mut wrong = Vec::new();
    for (method, shape) in &methods {
        let rule = expected_rule(method).unwrap();
        assert_eq!(access_of(&format!("/{method}")), Some(rule), "the server's rule for {method}");
        for (caller, channel) in &callers {
            let channel = channel.clone().unwrap_or_else(|| {
                let none = "Bearer".parse().unwrap(); // no token after the scheme: no key
                Authed::new(public.clone(), support::Bearer(none))
            });
            let code = call(channel, method, *shape).await;
            let role = match *caller {
                "partner" => Some(vigil_store::Role::Partner),
                "analyst" => Some(vigil_store::Role::Analyst),
                "admin" => Some(vigil_store::Role::Admin),
                _ => None,
            };
            let expected = match (rule, role) {
                (Access::Public, _) => None,
                (_, None) => Some(Code::Unauthenticated),
                (rule, Some(role)) if !rule.allows(role) => Some(Code::PermissionDenied),
                _ => None,
            };
            let fine = match expected {
                Some(expected) => code == expected,
                None => !matches!(code, Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented),
            };
            if !fine {
                wrong.push(format!("{method} as {caller}: {code:?}, expected {expected:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{} calls broke the policy:\n{}", wrong.len(), wrong.join("\n"));
    vigil.stop().await;
}

/// A partner bound to a platform sends only that platform's posts and
/// changes only its accounts; a crawler's key changes no account's status.
#[tokio::test]
async fn partners_act_only_on_their_own_platform() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = Vigil::start(dir.path(), &[]);
    vigil.wait_serving().await;
    let post = |platform: &str, id: &str| pb::Post {
        platform: platform.into(),
        platform_post_id: id.into(),
        author: Some(pb::AccountRef {
            platform: platform.into(),
            handle: "canal_exemple".into(),
            platform_account_id: String::new(),
        }),
        text: "lien https://example.org/p".into(),
        ..Default::default()
    };
    let ingest = |key: &'static str, posts: Vec<pb::Post>| {
        let vigil = &vigil;
        async move {
            let mut intake = pb::intake_client::IntakeClient::new(vigil.channel_as(key).await);
            intake.ingest_posts(tokio_stream::once(pb::IngestPostsRequest { posts })).await
        }
    };
    let own = ingest("platform-example", vec![post("telegram", "1")]).await.unwrap().into_inner();
    assert_eq!(own.accepted, 1);
    let crawled = ingest("crawler-example", vec![post("x", "2")]).await.unwrap().into_inner();
    assert_eq!(crawled.accepted, 1, "an unbound partner sends any platform's posts");
    let refused = ingest("platform-example", vec![post("telegram", "3"), post("x", "4")]).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("posts[1].platform"), "{refused:?}");

    let suspend = |key: &'static str, platform: &'static str| {
        let vigil = &vigil;
        async move {
            let mut tracking = pb::tracking_client::TrackingClient::new(vigil.channel_as(key).await);
            let account = pb::AccountRef {
                platform: platform.into(),
                handle: "canal_exemple".into(),
                platform_account_id: String::new(),
            };
            tracking
                .update_account_status(pb::UpdateAccountStatusRequest {
                    account: Some(pb::AccountSelector { selector: Some(pb::account_selector::Selector::Ref(account)) }),
                    status: pb::AccountStatus::Suspended as i32,
                    ..Default::default()
                })
                .await
        }
    };
    let changed = suspend("platform-example", "telegram").await.unwrap().into_inner();
    assert_eq!(changed.event.unwrap().changed_by, "platform-example");
    for (key, platform) in [("platform-example", "x"), ("crawler-example", "x")] {
        let refused = suspend(key, platform).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{key} on {platform}: {refused:?}");
    }
    // The refusal names the field as the request spells it.
    let refused = suspend("platform-example", "x").await.unwrap_err();
    assert!(refused.message().starts_with("account.ref.platform is \"x\""), "{refused:?}");
    assert_eq!(suspend("analyst-a", "x").await.unwrap().into_inner().event.unwrap().changed_by, "analyst-a");

    // Every one of those writes is in the audit log under its key's name.
    let mut admin = pb::admin_client::AdminClient::new(vigil.channel_as("admin-a").await);
    let verified = admin.verify_audit_log(pb::VerifyAuditLogRequest {}).await.unwrap().into_inner();
    // Five test keys, two ingests, two status changes.
    assert_eq!(verified.entries, 9, "{verified:?}");
    vigil.stop().await;
}
