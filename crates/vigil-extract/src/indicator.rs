use std::fmt;

/// What an indicator is. Its normalized value's form depends on the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndicatorKind {
    Url,
    Domain,
    Email,
    Hashtag,
    /// An @handle whose platform the text does not name.
    Handle,
    /// `platform:handle`.
    Account,
    Md5,
    Sha1,
    Sha256,
    Ipv4,
    Ipv6,
    /// Bitcoin: Base58Check or bech32/bech32m, checksum verified.
    Btc,
    /// Ethereum: `0x` and 40 hex digits, lowercase; EIP-55 verified when mixed case.
    Eth,
    /// Monero: standard or integrated address, checksum verified.
    Xmr,
    /// Tron: Base58Check, checksum verified.
    Trx,
    /// E.164, from numbers written in international form only.
    Phone,
}

impl IndicatorKind {
    pub const ALL: [IndicatorKind; 16] = [
        IndicatorKind::Url,
        IndicatorKind::Domain,
        IndicatorKind::Email,
        IndicatorKind::Hashtag,
        IndicatorKind::Handle,
        IndicatorKind::Account,
        IndicatorKind::Md5,
        IndicatorKind::Sha1,
        IndicatorKind::Sha256,
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Btc,
        IndicatorKind::Eth,
        IndicatorKind::Xmr,
        IndicatorKind::Trx,
        IndicatorKind::Phone,
    ];

    /// The name used in storage, the `extract` command's output and the docs.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Url => "url",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Email => "email",
            IndicatorKind::Hashtag => "hashtag",
            IndicatorKind::Handle => "handle",
            IndicatorKind::Account => "account",
            IndicatorKind::Md5 => "md5",
            IndicatorKind::Sha1 => "sha1",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Ipv4 => "ipv4",
            IndicatorKind::Ipv6 => "ipv6",
            IndicatorKind::Btc => "btc",
            IndicatorKind::Eth => "eth",
            IndicatorKind::Xmr => "xmr",
            IndicatorKind::Trx => "trx",
            IndicatorKind::Phone => "phone",
        }
    }

    pub fn from_name(name: &str) -> Option<IndicatorKind> {
        IndicatorKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A half-open byte range `[start, end)` of the original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// One indicator found in a text, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: IndicatorKind,
    pub value: String,
    pub span: Span,
}

impl Finding {
    /// For accounts, the platform part of the value.
    pub fn platform(&self) -> Option<&str> {
        match self.kind {
            IndicatorKind::Account => self.value.split_once(':').map(|(platform, _)| platform),
            _ => None,
        }
    }
}

/// Everything [`crate::extract`] finds in one text.
#[derive(Clone, Debug, PartialEq)]
pub struct Extraction {
    pub language: Option<crate::Language>,
    /// Every occurrence, ordered by where it starts; a URL also yields its
    /// domain and, for a profile URL, its account, all with the URL's span.
    pub findings: Vec<Finding>,
    /// The categories the text falls in, with evidence; ordered by category.
    pub categories: Vec<crate::CategoryMatch>,
}
