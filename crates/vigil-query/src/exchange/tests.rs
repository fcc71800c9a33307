//! A set the format tests share: every indicator kind, accounts on several
//! platforms, sites, excerpts in Arabic and French, and every marking a
//! recipient can be cleared for. Reserved names and addresses only; the
//! wallets pass vigil's checksums and belong to no one.

use sha2::{Digest, Sha256};
use vigil_extract::{IndicatorKind, Span};
use vigil_store::{
    AccountRecord, AccountStatus, DocumentKind, DocumentSummary, IndicatorKey, IndicatorRecord, ReferralExcerpt,
    SiteRecord, SiteStatus, Tlp,
};

use super::{ExportSet, ExportSubject, Marked};

/// One normalized value of each of the 16 kinds.
pub(crate) fn key_set() -> Vec<IndicatorKey> {
    use IndicatorKind::*;
    [
        (Url, "https://example.org/propaganda?id=7"),
        (Domain, "example.net"),
        (Email, "contact@example.com"),
        (Hashtag, "مثال"),
        (Handle, "example_user"),
        (Account, "telegram:example_channel"),
        (Md5, "0123456789abcdef0123456789abcdef"),
        (Sha1, "0123456789abcdef0123456789abcdef01234567"),
        (Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (Ipv4, "192.0.2.10"),
        (Ipv6, "2001:db8::10"),
        // BIP-173's and EIP-55's test vectors; Monero and Tron generated
        // from made-up keys with their checksums.
        (Btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        (Eth, "0x52908400098527886e0f7030069857d2e4169ee7"),
        (Xmr, "41fKjWJQySv2LxFSMtsQ5k3gsHPkECmXt52nKM8ZY8z26NhMJWtsWSA7icPFuECstJ94XRDHZYFLSAQSTAftscna8JuzEJT"),
        (Trx, "T9yED5xMV5ARV98BexN97aLZ1UUq7eKSxm"),
        (Phone, "+442079460018"),
    ]
    .into_iter()
    .map(|(kind, value)| IndicatorKey { kind, value: value.to_owned() })
    .collect()
}

/// The markings a recipient may be cleared for, in turn.
const MARKINGS: [Tlp; 4] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict];

pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn account(
    id: i64,
    platform: &str,
    handle: Option<&str>,
    platform_account_id: Option<&str>,
) -> AccountRecord {
    AccountRecord {
        id,
        platform: platform.to_owned(),
        handle: handle.map(str::to_owned),
        platform_account_id: platform_account_id.map(str::to_owned),
        first_seen: 1_714_000_000 + id,
        last_seen: 1_714_500_000 + id,
        document_count: 3,
        status: if id % 2 == 0 { AccountStatus::Suspended } else { AccountStatus::Active },
        status_changed_at: 1_714_500_000,
        display_name: Some(format!("Example {id}")),
        avatar_sha256: None,
        actor_id: None,
    }
}

fn excerpt(id: i64, author: AccountRecord, document_text: &str, quoted: Option<&str>) -> ReferralExcerpt {
    let span = quoted.map(|quoted| {
        let start = document_text.find(quoted).expect("the quote is in the text");
        Span { start, end: start + quoted.len() }
    });
    let text = match span {
        Some(span) => &document_text[span.start..span.end],
        None => document_text,
    };
    let indicators = key_set().into_iter().filter(|key| text.contains(key.value.as_str())).collect();
    ReferralExcerpt {
        document: DocumentSummary {
            id,
            kind: DocumentKind::Post,
            platform: Some(author.platform.clone()),
            platform_post_id: Some(format!("{}", 500 + id)),
            url: Some(format!("https://t.me/example_channel/{}", 500 + id)),
            language: Some(if document_text.contains("ال") { "ar" } else { "fr" }.to_owned()),
            observed_at: 1_714_400_000 + id,
            text_sha256: sha256_hex(document_text),
            categories: vec!["propaganda".to_owned()],
            follow_up_of: None,
            sealed: false,
        },
        author: Some(author),
        span,
        text: text.to_owned(),
        text_sha256: sha256_hex(text),
        document_text: document_text.to_owned(),
        indicators,
    }
}

/// A referral carrying every kind, under every marking but RED.
pub(crate) fn every_kind_set() -> ExportSet {
    let marked = |index: usize| MARKINGS[index % MARKINGS.len()];
    let indicators = key_set()
        .into_iter()
        .enumerate()
        .map(|(index, key)| Marked {
            tlp: marked(index),
            record: IndicatorRecord {
                kind: key.kind,
                value: key.value,
                first_seen: 1_714_000_000 + index as i64 * 60,
                last_seen: 1_714_600_000 + index as i64 * 60,
                sighting_count: 1 + index as u64,
            },
        })
        .collect();
    let accounts: Vec<Marked<AccountRecord>> = [
        account(1, "telegram", Some("example_channel"), Some("1001234567")),
        account(2, "x", Some("example_user"), Some("1234")),
        account(3, "facebook", Some("examplepage"), None),
        account(4, "instagram", Some("example.insta"), Some("987654")),
        account(5, "youtube", Some("UCabcdefghijklmnopqrstuv"), None),
        account(6, "tiktok", Some("example_tok"), None),
        account(7, "mastodon", None, Some("109876")),
    ]
    .into_iter()
    .enumerate()
    .map(|(index, record)| Marked { tlp: marked(index), record })
    .collect();
    let sites = [(IndicatorKind::Domain, "example.net"), (IndicatorKind::Url, "https://mirror.example.org/")]
        .into_iter()
        .enumerate()
        .map(|(index, (kind, value))| Marked {
            tlp: marked(index + 2),
            record: SiteRecord {
                id: index as i64 + 1,
                key: IndicatorKey { kind, value: value.to_owned() },
                status: SiteStatus::Online,
                status_changed_at: 1_714_300_000,
                first_seen: 1_714_200_000,
                host_abuse_contact: Some("abuse@example.com".to_owned()),
                registrar_abuse_contact: None,
                takedown_requests: 1,
            },
        })
        .collect();
    let arabic = "تابعوا القناة على https://example.org/propaganda?id=7 وادعموا #مثال عبر bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    let french = "Rejoignez-nous : écrivez à contact@example.com ou appelez le +442079460018, \"vite\", merci.";
    let excerpts = vec![
        Marked {
            tlp: Tlp::Green,
            record: excerpt(
                41,
                accounts[0].record.clone(),
                arabic,
                Some("https://example.org/propaganda?id=7 وادعموا #مثال"),
            ),
        },
        Marked { tlp: Tlp::Amber, record: excerpt(42, account(20, "x", Some("example_author"), None), french, None) },
    ];
    ExportSet {
        subject: ExportSubject::Referral {
            id: 12,
            recipient: "Example Platform abuse desk".to_owned(),
            recipient_kind: "platform".to_owned(),
            priority: "high".to_owned(),
            categories: vec!["propaganda".to_owned(), "financing".to_owned()],
            approved_by: Some("analyst.two".to_owned()),
        },
        title: "Referral 12 to Example Platform abuse desk".to_owned(),
        description: "A channel relaying calls to violence, with its mirrors and wallets.".to_owned(),
        tlp: Tlp::Clear,
        producer: "Example Counter-Extremism Unit".to_owned(),
        created_at: 1_714_700_000,
        accounts,
        sites,
        indicators,
        excerpts,
    }
}

#[test]
fn the_shared_values_are_normalized() {
    for key in key_set() {
        assert_eq!(vigil_extract::normalize(key.kind, &key.value).as_deref(), Ok(key.value.as_str()), "{key:?}");
    }
    assert_eq!(key_set().len(), IndicatorKind::ALL.len());
    for account in &every_kind_set().accounts {
        let record = &account.record;
        let imported =
            super::imported_account(&record.platform, record.handle.as_deref(), record.platform_account_id.as_deref());
        assert_eq!(imported.as_ref().map(|a| &a.handle), Some(&record.handle), "{record:?}");
    }
}
