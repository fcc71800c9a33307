//! The generated posts and requests of the load generator. Reserved names
//! only (example.com, example.org, example.net) and made-up handles.
//!
//! Namespaces never overlap, so what is known is known by construction:
//! - ingest posts: URLs on `mirrorK.example.com`, hashtags `topicK` from a pool,
//!   e-mails `pressN@example.com`, wallet-like `0x...` strings;
//! - preloaded posts: URL `https://sI.example.org/r/I` (with its host
//!   `sI.example.org`), e-mail `deskI@example.org`, hashtag `preI`: four new
//!   indicators per post, plus `example.org` once;
//! - unknown content in checks: hosts under `example.net` (never stored),
//!   hashtags `unkJ`, handles `nobody_J`.

use vigil_proto::prost_types::Timestamp;
use vigil_proto::v1::{AccountRef, CheckContentRequest, IndicatorKind, LookupIndicatorRequest, Post};

/// Distinct new indicators each preloaded post brings.
pub const INDICATORS_PER_PRELOAD_POST: u64 = 4;
/// Hashtags ingest posts draw from.
const HASHTAG_POOL: u64 = 3_000;
/// Authors every post is written by.
const AUTHOR_POOL: u64 = 3_000;

/// A stable, well-spread 64-bit mix of `n` (splitmix64's finalizer).
pub fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Preloaded posts needed for `indicators` distinct indicators.
pub fn preload_posts_for(indicators: u64) -> u64 {
    indicators.saturating_sub(1).div_ceil(INDICATORS_PER_PRELOAD_POST).max(1)
}

/// Distinct indicators `posts` preloaded posts hold.
pub fn preload_indicators(posts: u64) -> u64 {
    posts * INDICATORS_PER_PRELOAD_POST + 1
}

/// Ingest post `n` (unique over the run) of about 300 bytes: a unique URL, a
/// hashtag from a pool of a few thousand, and for half the posts an e-mail
/// or a wallet-like string.
pub fn ingest_post(run: &str, n: u64, now_seconds: i64) -> Post {
    let url = format!("https://mirror{}.example.com/v/{run}/{n}", n % 20);
    let hashtag = format!("topic{}", mix(n) % HASHTAG_POOL);
    let extra = match n % 4 {
        0 => format!(" Contact: press{n}@example.com."),
        1 => {
            let h = mix(n ^ 0xfeed);
            format!(" Support: 0x{:016x}{:016x}{:08x}.", h, mix(h), mix(h ^ 1) as u32)
        }
        _ => String::new(),
    };
    post(format!("{run}-{n}"), n, now_seconds, text_around(n, &url, &hashtag, &extra))
}

/// Preloaded post `i`: four new indicators (URL, its host, e-mail, hashtag).
pub fn preload_post(run: &str, i: u64, now_seconds: i64) -> Post {
    let (url, email, hashtag) = preload_values(i);
    post(format!("pre-{run}-{i}"), i, now_seconds, text_around(i, &url, &hashtag, &format!(" Contact: {email}.")))
}

/// The known indicators of preloaded post `i`, normalized: URL, e-mail, hashtag.
fn preload_values(i: u64) -> (String, String, String) {
    (format!("https://s{i}.example.org/r/{i}"), format!("desk{i}@example.org"), format!("pre{i}"))
}

/// One of the known indicators of preloaded post `i`, by `which` (0 to 3).
pub fn known_indicator(i: u64, which: u64) -> (IndicatorKind, String) {
    let (url, email, hashtag) = preload_values(i);
    match which % 4 {
        0 => (IndicatorKind::Url, url),
        1 => (IndicatorKind::Domain, format!("s{i}.example.org")),
        2 => (IndicatorKind::Email, email),
        _ => (IndicatorKind::Hashtag, hashtag),
    }
}

/// A content check of about 300 bytes and, when it holds a known indicator,
/// that indicator. One in ten checks holds one; the others hold only
/// unknown ones (a URL, a hashtag, a handle), so they must match nothing.
pub fn check_request(j: u64, preloaded_posts: u64) -> (CheckContentRequest, Option<(IndicatorKind, String)>) {
    let mut url = format!("https://u{j}.example.net/c/{j}");
    let mut hashtag = format!("unk{j}");
    let mut extra = format!(" Relayed by @nobody_{j}.");
    let mut expected = None;
    if j.is_multiple_of(10) {
        let i = mix(j) % preloaded_posts;
        let (known_url, email, known_hashtag) = preload_values(i);
        expected = Some(match (j / 10) % 3 {
            0 => {
                url = known_url;
                (IndicatorKind::Url, url.clone())
            }
            1 => {
                hashtag = known_hashtag;
                (IndicatorKind::Hashtag, hashtag.clone())
            }
            _ => {
                extra = format!(" Contact: {email}.");
                (IndicatorKind::Email, email)
            }
        });
    }
    let request =
        CheckContentRequest { text: text_around(j, &url, &hashtag, &extra), author: None, media_sha256: vec![] };
    (request, expected)
}

/// A look-up of a known indicator (every kind of a preloaded post in turn).
pub fn lookup_request(k: u64, preloaded_posts: u64) -> LookupIndicatorRequest {
    let (kind, value) = known_indicator(mix(k) % preloaded_posts, k);
    LookupIndicatorRequest { kind: kind as i32, value, max_documents: 0 }
}

fn post(platform_post_id: String, n: u64, now_seconds: i64, text: String) -> Post {
    Post {
        platform: "telegram".to_owned(),
        platform_post_id,
        author: Some(AccountRef {
            platform: "telegram".to_owned(),
            handle: format!("made_up_author_{}", mix(n ^ 0xa5a5) % AUTHOR_POOL),
            platform_account_id: String::new(),
        }),
        url: String::new(),
        text,
        posted_at: Some(Timestamp { seconds: now_seconds - (n % 86_400) as i64, nanos: 0 }),
        media_sha256: vec![],
    }
}

/// Prose of about 300 bytes in English, French or Arabic around a URL, a
/// hashtag and an extra sentence.
fn text_around(n: u64, url: &str, hashtag: &str, extra: &str) -> String {
    match n % 3 {
        0 => format!(
            "New upload from the outlet, mirrored before the takedown. Backup link {url} and the discussion \
             continues under #{hashtag} tonight.{extra} Share it widely before it disappears again, and keep the \
             list of mirrors up to date for everyone."
        ),
        1 => format!(
            "Nouvelle publication de la chaîne, partagez largement avant la suppression. Le lien de secours est \
             {url} et la discussion continue sous #{hashtag} ce soir.{extra} Gardez la liste des miroirs à jour \
             pour tout le monde."
        ),
        _ => format!(
            "إصدار جديد من المؤسسة، انشروه قبل الحذف. الرابط الاحتياطي {url} والنقاش مستمر تحت #{hashtag} \
             الليلة.{extra} ولا تنسوا المشاركة مع الجميع وتحديث قائمة الروابط."
        ),
    }
}
