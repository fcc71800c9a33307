//! vigil's STIX and MISP exports as their recipients' tools see them: the
//! OASIS STIX 2.1 validator and PyMISP, run by
//! `tests/support/check_exports.py` on bundles and events of several sets
//! (every indicator kind, accounts on several platforms, sites, excerpts in
//! Arabic and French, every marking a recipient can be cleared for).
//!
//! Needs python3 with `python3 -m pip install stix2-validator pymisp`; the
//! test fails, saying so, when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use vigil_query::exchange::{
    ExportSet, ExportSubject, Marked, for_recipient, from_misp_event, from_stix, to_csv, to_misp, to_stix,
};
use vigil_store::{
    AccountRecord, AccountStatus, DocumentKind, DocumentSummary, IndicatorKey, IndicatorKind, IndicatorRecord,
    ReferralExcerpt, SiteRecord, SiteStatus, Span, Tlp,
};

const INSTALL: &str = "python3 -m pip install stix2-validator pymisp";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Values of every kind, as vigil normalizes them; reserved names and
/// addresses, wallets that pass the checksums and belong to no one.
fn every_kind() -> Vec<(IndicatorKind, &'static str)> {
    use IndicatorKind::*;
    vec![
        (Url, "https://example.org/appel?id=3"),
        (Url, "https://mirror.example.net/%D9%85%D8%AB%D8%A7%D9%84"),
        (Domain, "example.net"),
        (Domain, "news.example.com"),
        (Email, "contact@example.org"),
        (Hashtag, "مثال"),
        (Hashtag, "appel_exemple"),
        (Handle, "example_user"),
        (Account, "telegram:example_channel"),
        (Account, "x:example_user"),
        (Account, "youtube:example-channel"),
        (Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        (Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (Ipv4, "192.0.2.44"),
        (Ipv4, "198.51.100.7"),
        (Ipv6, "2001:db8::44"),
        (Btc, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        (Btc, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        (Eth, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
        (Xmr, "41tZ7bJLtTp2BB9xiHvCX82BB9xiHvCX82BB9xiHvCX82BFZvSjmKr82Weux4NkYPA2Weux4NkYPA2Weux4NkYPA252jzsm"),
        (Trx, "TRcvCk5fLxxgRc7KopfPXb3GzUqZMjcKkn"),
        (Phone, "+442079460018"),
        (Phone, "+441134960123"),
    ]
}

fn account(id: i64, platform: &str, handle: Option<&str>, platform_account_id: Option<&str>) -> AccountRecord {
    AccountRecord {
        id,
        platform: platform.to_owned(),
        handle: handle.map(str::to_owned),
        platform_account_id: platform_account_id.map(str::to_owned),
        first_seen: 1_700_000_000 + id * 3_600,
        last_seen: 1_710_000_000 + id * 3_600,
        document_count: id as u64,
        status: [AccountStatus::Active, AccountStatus::Reported, AccountStatus::Suspended][id as usize % 3],
        status_changed_at: 1_705_000_000,
        display_name: Some(format!("قناة مثال {id}")),
        avatar_sha256: None,
        actor_id: Some(3),
    }
}

fn accounts() -> Vec<AccountRecord> {
    vec![
        account(1, "telegram", Some("example_channel"), Some("1009876543")),
        account(2, "x", Some("example_user"), Some("44196397")),
        account(3, "facebook", Some("examplepage"), Some("100000000000001")),
        account(4, "instagram", Some("example.insta"), None),
        account(5, "youtube", Some("UCabcdefghijklmnopqrstuv"), None),
        account(6, "youtube", Some("example-channel"), Some("UCzyxwvutsrqponmlkjihgfe")),
        account(7, "tiktok", Some("example_tok"), None),
        account(8, "mastodon", None, Some("109876543210")),
    ]
}

fn excerpt(id: i64, author: Option<AccountRecord>, text: &str, quoted: Option<&str>) -> ReferralExcerpt {
    let span = quoted.map(|quoted| {
        let start = text.find(quoted).expect("the quote is in the text");
        Span { start, end: start + quoted.len() }
    });
    let excerpt = span.map_or(text, |span| &text[span.start..span.end]);
    let indicators = every_kind()
        .into_iter()
        .filter(|(_, value)| excerpt.contains(value))
        .map(|(kind, value)| IndicatorKey { kind, value: value.to_owned() })
        .collect();
    ReferralExcerpt {
        document: DocumentSummary {
            id,
            kind: if id % 2 == 0 { DocumentKind::Tip } else { DocumentKind::Post },
            platform: author.as_ref().map(|author| author.platform.clone()),
            platform_post_id: author.as_ref().map(|_| (9_000 + id).to_string()),
            url: author.as_ref().map(|_| format!("https://t.me/example_channel/{}", 9_000 + id)),
            language: Some(if text.is_ascii() || text.contains("é") { "fr" } else { "ar" }.to_owned()),
            observed_at: 1_709_000_000 + id * 60,
            text_sha256: sha256_hex(text),
            categories: vec!["propaganda".to_owned()],
            follow_up_of: None,
            sealed: false,
        },
        author,
        span,
        text: excerpt.to_owned(),
        text_sha256: sha256_hex(excerpt),
        document_text: text.to_owned(),
        indicators,
    }
}

const ARABIC: &str = "انضموا إلى القناة https://example.org/appel?id=3 وتابعوا #مثال، والتبرع عبر \
                      1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 أو 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const FRENCH: &str = "Appel relayé par news.example.com : écrivez à contact@example.org, \"avant vendredi\", \
                      ou au +442079460018. Dons : TRcvCk5fLxxgRc7KopfPXb3GzUqZMjcKkn #appel_exemple";

fn base_set(subject: ExportSubject, title: &str, tlp: Tlp) -> ExportSet {
    ExportSet {
        subject,
        title: title.to_owned(),
        description: String::new(),
        tlp,
        producer: "Example Counter-Extremism Unit".to_owned(),
        created_at: 1_711_000_000,
        accounts: Vec::new(),
        sites: Vec::new(),
        indicators: Vec::new(),
        excerpts: Vec::new(),
    }
}

fn indicator(kind: IndicatorKind, value: &str, index: usize) -> IndicatorRecord {
    IndicatorRecord {
        kind,
        value: value.to_owned(),
        first_seen: 1_700_000_000 + index as i64 * 86_400,
        last_seen: 1_710_000_000 + index as i64 * 86_400,
        sighting_count: 1 + index as u64 * 7,
    }
}

/// A referral with every kind under every marking, RED included, as the
/// store reads it, and then as an AMBER recipient may receive it.
fn referral() -> ExportSet {
    const MARKINGS: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];
    let subject = ExportSubject::Referral {
        id: 12,
        recipient: "Example Platform abuse desk".to_owned(),
        recipient_kind: "platform".to_owned(),
        priority: "urgent".to_owned(),
        categories: vec!["threat".to_owned(), "financing".to_owned()],
        approved_by: Some("analyst.two".to_owned()),
    };
    let mut set = base_set(subject, "Referral 12 to Example Platform abuse desk", Tlp::Green);
    set.description = "Appels à la violence et collecte de fonds ; دعوات إلى العنف".to_owned();
    set.indicators = every_kind()
        .into_iter()
        .enumerate()
        .map(|(index, (kind, value))| Marked { tlp: MARKINGS[index % 5], record: indicator(kind, value, index) })
        .collect();
    set.accounts = accounts()
        .into_iter()
        .enumerate()
        .map(|(index, record)| Marked { tlp: MARKINGS[index % 5].stricter(Tlp::Green), record })
        .collect();
    set.sites = [(IndicatorKind::Domain, "example.net"), (IndicatorKind::Url, "https://mirror.example.net/")]
        .into_iter()
        .enumerate()
        .map(|(index, (kind, value))| Marked {
            tlp: [Tlp::Green, Tlp::Amber][index],
            record: SiteRecord {
                id: index as i64 + 1,
                key: IndicatorKey { kind, value: value.to_owned() },
                status: [SiteStatus::Online, SiteStatus::TakenDown][index],
                status_changed_at: 1_708_000_000,
                first_seen: 1_704_000_000,
                host_abuse_contact: Some("abuse@example.net".to_owned()),
                registrar_abuse_contact: Some("abuse@example.com".to_owned()),
                takedown_requests: index as u32 * 2,
            },
        })
        .collect();
    let telegram = accounts()[0].clone();
    set.excerpts = vec![
        Marked {
            tlp: Tlp::Green,
            record: excerpt(101, Some(telegram.clone()), ARABIC, Some("https://example.org/appel?id=3 وتابعوا #مثال")),
        },
        Marked { tlp: Tlp::Amber, record: excerpt(102, None, FRENCH, None) },
        Marked {
            tlp: Tlp::Green,
            record: excerpt(101, Some(telegram), ARABIC, Some("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")),
        },
        Marked { tlp: Tlp::Red, record: excerpt(103, None, "Texte interne, jamais transmis.", None) },
    ];
    let (set, withheld) = for_recipient(set, Tlp::Amber).expect("an AMBER recipient may receive a GREEN set");
    assert!(withheld.total() > 0, "the RED records are withheld");
    set
}

/// An actor and its accounts, all CLEAR.
fn actor() -> ExportSet {
    let subject = ExportSubject::Actor { id: 3, name: "Example Network".to_owned(), kind: "network".to_owned() };
    let mut set = base_set(subject, "Example Network", Tlp::Clear);
    set.accounts = accounts().into_iter().map(|record| Marked { tlp: Tlp::Clear, record }).collect();
    set.excerpts = vec![Marked {
        tlp: Tlp::Clear,
        record: excerpt(201, Some(account(9, "x", Some("example_author"), None)), FRENCH, Some("contact@example.org")),
    }];
    set
}

/// Indicators a caller asked for, AMBER+STRICT.
fn indicators() -> ExportSet {
    let mut set = base_set(ExportSubject::Indicators, "Indicators of 2024-03-21", Tlp::AmberStrict);
    set.indicators = every_kind()
        .into_iter()
        .enumerate()
        .map(|(index, (kind, value))| Marked { tlp: Tlp::AmberStrict, record: indicator(kind, value, index) })
        .collect();
    set
}

/// Everything withheld: what is left must still be a valid bundle and event.
fn empty() -> ExportSet {
    base_set(ExportSubject::Indicators, "Nothing to share", Tlp::Clear)
}

fn check_round_trip(set: &ExportSet, bundle: &str, event: &str) {
    let from_bundle = from_stix(bundle).expect("vigil reads its own bundle");
    let from_event = from_misp_event(event).expect("vigil reads its own event");
    for (format, import) in [("stix", &from_bundle), ("misp", &from_event)] {
        assert_eq!(import.title, set.title, "{format}");
        assert_eq!(import.tlp, Some(set.tlp), "{format}");
        for indicator in &set.indicators {
            let record = &indicator.record;
            let found = import
                .indicators
                .iter()
                .any(|i| i.record.key.kind == record.kind && i.record.key.value == record.value);
            assert!(found, "{format}: {} {} did not come back", record.kind, record.value);
        }
        for account in &set.accounts {
            let record = &account.record;
            let found = import
                .accounts
                .iter()
                .any(|a| a.record.platform == record.platform && a.record.handle == record.handle);
            assert!(found, "{format}: the {} account {:?} did not come back", record.platform, record.handle);
        }
    }
}

#[test]
fn exports_pass_the_stix_validator_and_load_in_pymisp() {
    let available = Command::new("python3").args(["-c", "import stix2validator, pymisp"]).output();
    match available {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let reason = stderr.lines().last().unwrap_or("no reason given");
            panic!("python3 lacks the validators ({reason}); install them with: {INSTALL}")
        }
        Err(error) => panic!("python3 cannot be run ({error}); install python3, then: {INSTALL}"),
    }

    let directory = tempfile::tempdir().unwrap();
    let mut stix_files = Vec::new();
    let mut misp_files = Vec::new();
    for (name, set) in [("referral", referral()), ("actor", actor()), ("indicators", indicators()), ("empty", empty())]
    {
        let bundle = serde_json::to_string_pretty(&to_stix(&set)).unwrap();
        let event = serde_json::to_string_pretty(&to_misp(&set)).unwrap();
        check_round_trip(&set, &bundle, &event);
        assert!(to_csv(&set).starts_with("record,kind,value,tlp,"));
        let stix_file = directory.path().join(format!("{name}.stix.json"));
        let misp_file = directory.path().join(format!("{name}.misp.json"));
        std::fs::write(&stix_file, bundle).unwrap();
        std::fs::write(&misp_file, event).unwrap();
        stix_files.push(stix_file);
        misp_files.push(misp_file);
    }

    let script = workspace_root().join("tests/support/check_exports.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg("--stix")
        .args(&stix_files)
        .arg("--misp")
        .args(&misp_files)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    if !output.status.success() {
        // Kept for a look at what the validators refused.
        let kept = directory.keep();
        panic!("{} failed on the exports kept in {}:\n{stdout}\n{stderr}", script.display(), kept.display());
    }
    assert!(stdout.contains("4 STIX bundles and 4 MISP events pass"), "{stdout}");
}
