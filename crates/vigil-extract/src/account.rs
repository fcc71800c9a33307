//! Accounts on the platforms vigil knows: which URLs are profiles, what a
//! valid handle looks like on each, and the one normalized form of a handle.

use std::fmt;

use url::Url;

/// A platform whose profile URLs and handle rules vigil knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    X,
    Telegram,
    Facebook,
    Instagram,
    Youtube,
    Tiktok,
}

impl Platform {
    pub const ALL: [Platform; 6] =
        [Platform::X, Platform::Telegram, Platform::Facebook, Platform::Instagram, Platform::Youtube, Platform::Tiktok];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Telegram => "telegram",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Youtube => "youtube",
            Platform::Tiktok => "tiktok",
        }
    }

    pub fn from_name(name: &str) -> Option<Platform> {
        match name {
            "twitter" => Some(Platform::X),
            _ => Platform::ALL.into_iter().find(|platform| platform.as_str() == name),
        }
    }

    fn from_host(host: &str) -> Option<Platform> {
        let host = host.strip_prefix("www.").or_else(|| host.strip_prefix("m.")).unwrap_or(host);
        let host = host.strip_prefix("mobile.").unwrap_or(host);
        match host {
            "x.com" | "twitter.com" => Some(Platform::X),
            "t.me" | "telegram.me" | "telegram.dog" => Some(Platform::Telegram),
            "facebook.com" | "fb.com" => Some(Platform::Facebook),
            "instagram.com" | "instagr.am" => Some(Platform::Instagram),
            "youtube.com" => Some(Platform::Youtube),
            "tiktok.com" => Some(Platform::Tiktok),
            _ => None,
        }
    }

    /// First path segments that are features of the site, not accounts.
    fn reserved_paths(self) -> &'static [&'static str] {
        match self {
            Platform::X => &[
                "home",
                "explore",
                "notifications",
                "messages",
                "i",
                "intent",
                "share",
                "search",
                "hashtag",
                "settings",
                "login",
                "logout",
                "signup",
                "compose",
                "tos",
                "privacy",
                "about",
                "account",
                "download",
                "jobs",
                "lists",
                "topics",
                "communities",
                "following",
                "followers",
                "help",
            ],
            Platform::Telegram => &[
                "joinchat",
                "share",
                "addstickers",
                "addemoji",
                "addtheme",
                "proxy",
                "socks",
                "c",
                "iv",
                "login",
                "setlanguage",
                "boost",
                "contact",
                "confirmphone",
                "invoice",
                "bg",
            ],
            Platform::Facebook => &[
                "pages",
                "groups",
                "events",
                "sharer",
                "sharer.php",
                "share",
                "share.php",
                "watch",
                "photo",
                "photo.php",
                "photos",
                "story.php",
                "permalink.php",
                "login",
                "login.php",
                "help",
                "hashtag",
                "marketplace",
                "gaming",
                "home.php",
                "policies",
                "privacy",
                "settings",
                "search",
                "notes",
                "video.php",
                "dialog",
                "plugins",
                "l.php",
                "tr",
                "reel",
                "reels",
                "stories",
                "business",
                "ads",
                "messages",
                "friends",
                "profile.php",
                "people",
            ],
            Platform::Instagram => &[
                "p",
                "reel",
                "reels",
                "tv",
                "stories",
                "explore",
                "accounts",
                "direct",
                "about",
                "developer",
                "legal",
                "web",
                "challenge",
                "emails",
                "session",
            ],
            Platform::Youtube => &[
                "watch",
                "results",
                "shorts",
                "playlist",
                "embed",
                "feed",
                "live",
                "channel",
                "c",
                "user",
                "redirect",
                "hashtag",
                "premium",
                "kids",
                "gaming",
                "account",
                "t",
                "signin",
                "logout",
                "about",
                "post",
                "attribution_link",
                "music",
            ],
            Platform::Tiktok => &[],
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The normalized handle of an account, or `None` when `handle` cannot be an
/// account on that platform. A leading '@' is dropped. Handles are
/// lowercased on every known platform (all six treat them case-insensitively),
/// except YouTube channel ids, which are case-sensitive.
pub fn normalize_account_handle(platform: Platform, handle: &str) -> Option<String> {
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    let ascii_word = |min: usize, max: usize, extra: &str| {
        (min..=max).contains(&handle.len())
            && handle.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || extra.as_bytes().contains(&b))
    };
    let valid = match platform {
        Platform::X => ascii_word(1, 15, ""),
        Platform::Telegram => ascii_word(4, 32, "") && handle.as_bytes()[0].is_ascii_alphabetic(),
        // Facebook ignores the dots in a username, so its five-character
        // minimum counts the others: the normalized form must pass too.
        Platform::Facebook => {
            ascii_word(5, 50, ".") && !handle.starts_with('.') && handle.bytes().filter(|&b| b != b'.').count() >= 5
        }
        Platform::Instagram => ascii_word(1, 30, "."),
        Platform::Youtube => ascii_word(3, 30, ".-"),
        Platform::Tiktok => ascii_word(2, 24, "."),
    };
    if !valid {
        return None;
    }
    Some(match platform {
        Platform::Facebook => handle.replace('.', "").to_ascii_lowercase(),
        Platform::Youtube if is_youtube_channel_id(handle) => handle.to_owned(),
        _ => handle.to_ascii_lowercase(),
    })
}

fn is_youtube_channel_id(handle: &str) -> bool {
    handle.len() == 24 && handle.starts_with("UC")
}

/// The account a profile URL points at, as `(platform, normalized handle)`.
pub(crate) fn account_of_url(url: &Url) -> Option<(Platform, String)> {
    account_of_url_parts(url.scheme(), url.host_str(), url.path(), url.query())
}

/// [`account_of_url`] on the parts of a URL already normalized, so that a
/// URL normalized without the `url` crate need not be parsed again. The
/// parts are what [`Url`]'s accessors of the same names would give.
pub(crate) fn account_of_url_parts(
    scheme: &str,
    host: Option<&str>,
    path: &str,
    query: Option<&str>,
) -> Option<(Platform, String)> {
    // As `Url::query_pairs` and `Url::path_segments` read them.
    let query_pairs = || url::form_urlencoded::parse(query.unwrap_or("").as_bytes());
    if scheme == "tg" {
        // tg://resolve?domain=name, the Telegram app's own link to an account.
        let name = query_pairs().find(|(key, _)| key == "domain")?.1;
        let handle = (host == Some("resolve")).then_some(name)?;
        return normalize_account_handle(Platform::Telegram, &handle).map(|h| (Platform::Telegram, h));
    }
    let platform = Platform::from_host(host?)?;
    let mut segments = path.strip_prefix('/')?.split('/').filter(|segment| !segment.is_empty());
    let first = segments.next();
    let handle = match (platform, first) {
        (Platform::Telegram, Some("s")) => segments.next()?,
        (Platform::Facebook, Some("profile.php")) => {
            let id = query_pairs().find(|(key, _)| key == "id")?.1;
            return id.bytes().all(|b| b.is_ascii_digit()).then(|| (platform, id.into_owned()));
        }
        (Platform::Facebook, Some("people")) => {
            let id = segments.nth(1)?;
            return id.bytes().all(|b| b.is_ascii_digit()).then(|| (platform, id.to_owned()));
        }
        (Platform::Instagram, Some("stories")) => segments.next()?,
        (Platform::Youtube, Some("channel")) => {
            let id = segments.next()?;
            return is_youtube_channel_id(id).then(|| (platform, id.to_owned()));
        }
        (Platform::Youtube, Some("c" | "user")) => segments.next()?,
        (Platform::Tiktok, Some(first)) => first.strip_prefix('@')?,
        (_, Some(first)) if platform.reserved_paths().contains(&first) => return None,
        (_, Some(first)) => first,
        (_, None) => return None,
    };
    if platform == Platform::Telegram && handle.starts_with('+') {
        return None;
    }
    normalize_account_handle(platform, handle).map(|handle| (platform, handle))
}

/// Platform names that, in the same sentence as a bare @handle, say which
/// platform the handle is on. Lowercase; matched ignoring ASCII case.
pub(crate) const PLATFORM_MENTIONS: &[(&str, Platform)] = &[
    ("telegram", Platform::Telegram),
    ("télégram", Platform::Telegram),
    ("تيليجرام", Platform::Telegram),
    ("تلغرام", Platform::Telegram),
    ("تليغرام", Platform::Telegram),
    ("twitter", Platform::X),
    ("x.com", Platform::X),
    ("تويتر", Platform::X),
    ("facebook", Platform::Facebook),
    ("فيسبوك", Platform::Facebook),
    ("instagram", Platform::Instagram),
    ("انستغرام", Platform::Instagram),
    ("إنستغرام", Platform::Instagram),
    ("youtube", Platform::Youtube),
    ("يوتيوب", Platform::Youtube),
    ("tiktok", Platform::Tiktok),
    ("تيك توك", Platform::Tiktok),
    ("تيكتوك", Platform::Tiktok),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: Option<&str>) {
        let parsed = Url::parse(url).unwrap();
        let account = account_of_url(&parsed).map(|(platform, handle)| format!("{platform}:{handle}"));
        assert_eq!(account.as_deref(), expected, "account of {url}");
    }

    #[test]
    fn profile_urls_are_accounts() {
        check("https://t.me/Example_Channel", Some("telegram:example_channel"));
        check("https://t.me/s/example_channel/123", Some("telegram:example_channel"));
        check("https://twitter.com/Example_User/status/1", Some("x:example_user"));
        check("https://x.com/example_user", Some("x:example_user"));
        check("https://www.facebook.com/Example.Page", Some("facebook:examplepage"));
        check("https://facebook.com/profile.php?id=100000000000001", Some("facebook:100000000000001"));
        // Found by cargo fuzz: five characters with the dot, four without.
        check("https://fb.com/L.sn0", None);
        check("https://www.instagram.com/example.user/", Some("instagram:example.user"));
        check("https://www.youtube.com/@ExampleChannel", Some("youtube:examplechannel"));
        check("https://youtube.com/channel/UCabcdefghijklmnopqrstuv", Some("youtube:UCabcdefghijklmnopqrstuv"));
        check("https://www.tiktok.com/@example.user/video/1", Some("tiktok:example.user"));
        check("tg://resolve?domain=Example_Channel", Some("telegram:example_channel"));
    }

    #[test]
    fn site_features_are_not_accounts() {
        check("https://t.me/joinchat/AAAA", None);
        check("https://t.me/+AbCdEf", None);
        check("https://x.com/home", None);
        check("https://twitter.com/intent/tweet?text=x", None);
        check("https://www.facebook.com/sharer/sharer.php?u=x", None);
        check("https://www.instagram.com/p/Cabc/", None);
        check("https://www.youtube.com/watch?v=abc", None);
        check("https://www.tiktok.com/explore", None);
        check("https://example.org/example_user", None);
        check("https://t.me/abc", None);
    }
}
