//! Precision and recall of extraction per kind, on a labelled corpus made
//! by the generator below: deterministic, reserved names only (example.*,
//! RFC 5737 and 3849 addresses, made-up handles, wallets built here with
//! valid or broken checksums), in English, French and Arabic, with hard
//! negatives: version numbers, file names, times and dates, prices,
//! decimals, e-mail-like strings, `#` in words, bad-checksum wallets, URLs in
//! parentheses and at sentence ends.
//!
//! cargo test -p vigil-extract --test accuracy -- --nocapture   (prints the table)

use std::collections::{BTreeMap, BTreeSet};

use tiny_keccak::{Hasher, Keccak};
use vigil_extract::{IndicatorKind, extract_indicators};

type Expected = BTreeSet<(IndicatorKind, String)>;

struct Case {
    text: String,
    expected: Expected,
}

const MIN_PRECISION: f64 = 0.99;
const MIN_RECALL: f64 = 0.98;

#[test]
fn precision_and_recall_per_kind() {
    let corpus = corpus();
    assert!(corpus.len() >= 1_000, "the corpus has {} cases", corpus.len());
    let mut counts: BTreeMap<IndicatorKind, (u64, u64, u64)> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &corpus {
        let found: Expected = extract_indicators(&case.text).into_iter().map(|f| (f.kind, f.value)).collect();
        for item in found.union(&case.expected) {
            let entry = counts.entry(item.0).or_default();
            match (found.contains(item), case.expected.contains(item)) {
                (true, true) => entry.0 += 1,
                (true, false) => entry.1 += 1,
                (false, true) => entry.2 += 1,
                (false, false) => unreachable!(),
            }
        }
        if found != case.expected && failures.len() < 20 {
            failures.push(format!(
                "{:?}\n  missed {:?}\n  extra  {:?}",
                case.text,
                case.expected.difference(&found).collect::<Vec<_>>(),
                found.difference(&case.expected).collect::<Vec<_>>()
            ));
        }
    }
    println!("{} cases", corpus.len());
    println!("| kind | expected | found right | wrong | missed | precision | recall |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut below = Vec::new();
    for kind in IndicatorKind::ALL {
        let (tp, fp, fn_) = counts.get(&kind).copied().unwrap_or_default();
        let precision = if tp + fp == 0 { 1.0 } else { tp as f64 / (tp + fp) as f64 };
        let recall = if tp + fn_ == 0 { 1.0 } else { tp as f64 / (tp + fn_) as f64 };
        println!("| {kind} | {} | {tp} | {fp} | {fn_} | {precision:.4} | {recall:.4} |", tp + fn_);
        assert!(tp + fn_ > 0, "the corpus has no {kind}");
        if precision < MIN_PRECISION || recall < MIN_RECALL {
            below.push(format!("{kind}: precision {precision:.4}, recall {recall:.4}"));
        }
    }
    assert!(below.is_empty(), "below the bar: {below:?}\nfirst differences:\n{}", failures.join("\n"));
}

/// Hard negatives hold each on its own, not only in the aggregate: a text
/// that names no indicator yields none.
#[test]
fn hard_negatives_yield_nothing() {
    let wrong: Vec<String> = corpus()
        .into_iter()
        .filter(|case| case.expected.is_empty())
        .filter_map(|case| {
            let found = extract_indicators(&case.text);
            (!found.is_empty()).then(|| format!("{:?} -> {:?}", case.text, found))
        })
        .collect();
    assert!(wrong.is_empty(), "found indicators in hard negatives:\n{}", wrong.join("\n"));
}

/// A small deterministic generator, so the corpus is the same on every run.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.next() as u8)
    }
    fn hex(&mut self, digits: usize) -> String {
        loop {
            let hex: String = (0..digits).map(|_| format!("{:x}", self.next() % 16)).collect();
            // Digests are reported only with both letters and digits.
            if hex.bytes().any(|b| b.is_ascii_digit()) && hex.bytes().any(|b| b.is_ascii_alphabetic()) {
                return hex;
            }
        }
    }
}

fn set(items: &[(IndicatorKind, &str)]) -> Expected {
    items.iter().map(|(kind, value)| (*kind, value.to_string())).collect()
}

fn corpus() -> Vec<Case> {
    use IndicatorKind::*;
    let mut random = Random(0x5EED_1234_ABCD_9876);
    let mut cases = Vec::new();
    let domains = ["example.org", "example.com", "example.net"];
    for n in 0..120 {
        let domain = random.pick(&domains);
        let sub = format!("{}{n}.{domain}", random.pick(&["news", "miroir", "mirror", "cdn", "archive"]));
        let path = format!("/{}/{n}", random.pick(&["article", "video", "a", "files", "post"]));
        let url = format!("https://{sub}{path}");
        let expected_url = set(&[(Url, &url), (Domain, &sub), (Domain, domain)]);
        // Plain, defanged, in parentheses, at a sentence end, with tracking.
        let forms = [
            (format!("Voir {url} maintenant"), expected_url.clone()),
            (format!("Lien de secours : hxxps://{}{path}.", sub.replace('.', "[.]")), expected_url.clone()),
            (format!("(see {url})"), expected_url.clone()),
            (format!("The new address is {url}."), expected_url.clone()),
            (format!("الرابط الجديد {url}?utm_source=tg&fbclid=x"), expected_url.clone()),
            (format!("mirror: hxxp[:]//{}{path}", sub.replace('.', "(.)")), {
                let http = format!("http://{sub}{path}");
                set(&[(Url, &http), (Domain, &sub), (Domain, domain)])
            }),
            (format!("site {} en ligne", sub.replace('.', "[.]")), set(&[(Domain, &sub), (Domain, domain)])),
            // Arabic letters written against the indicator, with no space.
            (format!("الرابط{url}"), expected_url.clone()),
            (format!("الموقع{}الجديد", sub.replace('.', "[.]")), set(&[(Domain, &sub), (Domain, domain)])),
        ];
        for (text, expected) in forms {
            cases.push(Case { text, expected });
        }
        let email = format!("contact{n}@{domain}");
        cases.push(Case { text: format!("Écrire à {email}, merci."), expected: set(&[(Email, &email)]) });
        let tagged = format!("contact{n}+tips@{domain}");
        cases.push(Case { text: format!("or {tagged}."), expected: set(&[(Email, &tagged)]) });
        let fragment = format!("https://{sub}/#section{n}");
        cases.push(Case {
            text: format!("ancre {fragment}..."),
            expected: set(&[(Url, &fragment), (Domain, &sub), (Domain, domain)]),
        });
        cases.push(Case {
            text: format!("send to contact{n}[@]{}", domain.replace('.', "[.]")),
            expected: set(&[(Email, &email)]),
        });
    }
    let platforms: [(&str, &str, &str); 5] = [
        ("https://t.me/{h}", "telegram", "Telegram"),
        ("https://x.com/{h}", "x", "Twitter"),
        ("https://www.instagram.com/{h}/", "instagram", "Instagram"),
        ("https://www.tiktok.com/@{h}", "tiktok", "TikTok"),
        ("https://www.youtube.com/@{h}", "youtube", "YouTube"),
    ];
    for n in 0..100 {
        let (template, platform, name) = platforms[n % platforms.len()];
        let handle = format!("{}_{n}", random.pick(&["canal_exemple", "example_user", "fake_outlet", "abu_exemple"]));
        let handle = &handle[..handle.len().min(15)];
        let url = template.replace("{h}", handle);
        let host = url.split('/').nth(2).unwrap().to_string();
        let registrable = host.strip_prefix("www.").unwrap_or(&host).to_string();
        let account = format!("{platform}:{}", handle.to_lowercase());
        let mut expected = set(&[(Url, &url), (Domain, &host), (Account, &account)]);
        expected.insert((Domain, registrable));
        cases.push(Case { text: format!("Nouveau compte : {url} !"), expected });
        cases.push(Case {
            text: format!("Il publie aussi sur {name} sous @{handle}"),
            expected: set(&[(Account, &account)]),
        });
        cases.push(Case {
            text: format!("تابعوا @{handle} الآن"), expected: set(&[(Handle, &handle.to_lowercase())])
        });
    }
    for n in 0..80 {
        let tag = match n % 3 {
            0 => format!("Appel{n}"),
            1 => format!("النصر_{n}"),
            _ => format!("breaking_news{n}"),
        };
        cases.push(Case { text: format!("Partagez #{tag} partout"), expected: set(&[(Hashtag, &tag.to_lowercase())]) });
    }
    for _ in 0..60 {
        let (md5, sha1, sha256) = (random.hex(32), random.hex(40), random.hex(64));
        cases.push(Case { text: format!("md5 {md5}"), expected: set(&[(Md5, &md5)]) });
        cases.push(Case { text: format!("SHA-1: {}", sha1.to_uppercase()), expected: set(&[(Sha1, &sha1)]) });
        cases.push(Case { text: format!("fichier {sha256}."), expected: set(&[(Sha256, &sha256)]) });
    }
    // Ofcom's ranges for drama: 020 7946 0xxx, 0113 496 0xxx (its mobile
    // range 07700 900xxx is invalid in libphonenumber's metadata).
    for n in 0..60 {
        let (written, e164) = match n % 4 {
            0 => (format!("+44 20 7946 0{n:03}"), format!("+4420794600{n:02}")),
            1 => (format!("0044 20 7946 0{n:03}"), format!("+4420794600{n:02}")),
            2 => (format!("+44 (0)113 496 0{n:03}"), format!("+4411349600{n:02}")),
            _ => (format!("+44-20-7946-0{n:03}"), format!("+4420794600{n:02}")),
        };
        let text = ["WhatsApp : {}", "call {} now", "للتواصل {}", "Tél. {}."][n % 4].replace("{}", &written);
        cases.push(Case { text, expected: set(&[(Phone, &e164)]) });
    }
    let ipv4_nets = ["192.0.2", "198.51.100", "203.0.113"];
    for n in 0..60 {
        let ip = format!("{}.{}", random.pick(&ipv4_nets), 1 + n % 250);
        let forms = [
            format!("le serveur {ip} héberge le site"),
            format!("connect to {ip}:8443"),
            format!("IP: {ip}"),
            format!("adresse {}", ip.replace('.', "[.]")),
            format!("عنوان الخادم {ip}"),
        ];
        for text in forms {
            cases.push(Case { text, expected: set(&[(Ipv4, &ip)]) });
        }
        let v6 = format!("2001:db8::{:x}", n + 1);
        cases.push(Case { text: format!("IPv6 {v6} seen"), expected: set(&[(Ipv6, &v6)]) });
    }
    for n in 0..40 {
        let btc = bs58::encode([&[0u8][..], &random.bytes::<20>()].concat()).with_check().into_string();
        let p2sh = bs58::encode([&[5u8][..], &random.bytes::<20>()].concat()).with_check().into_string();
        let hrp = bech32::Hrp::parse("bc").unwrap();
        let segwit = bech32::segwit::encode_v0(hrp, &random.bytes::<20>()).unwrap();
        let taproot = bech32::segwit::encode_v1(hrp, &random.bytes::<32>()).unwrap();
        let eth = eip55(&random.bytes::<20>());
        let trx = bs58::encode([&[0x41u8][..], &random.bytes::<20>()].concat()).with_check().into_string();
        let xmr = monero_address(&mut random);
        let appeal = ["Donnez : {}", "Send BTC to {} now", "للتبرع {}", "wallet {}."][n % 4];
        for (kind, address, value) in [
            (Btc, btc.clone(), btc.clone()),
            (Btc, p2sh.clone(), p2sh.clone()),
            (Btc, segwit.clone(), segwit.clone()),
            (Btc, taproot.clone(), taproot.clone()),
            (Eth, eth.clone(), eth.to_lowercase()),
            (Trx, trx.clone(), trx.clone()),
            (Xmr, xmr.clone(), xmr.clone()),
        ] {
            cases.push(Case { text: appeal.replace("{}", &address), expected: set(&[(kind, &value)]) });
            cases.push(Case { text: appeal.replace("{}", &break_checksum(&address)), expected: Expected::new() });
        }
    }
    let negatives = [
        "mise à jour version 1.2.3.4 disponible",
        "upgrade to v2.10.3.1 today",
        "le rapport.pdf et la photo.jpg sont joints",
        "open setup.zip then readme.md",
        "rendez-vous à 10:30, le 12/05/2024",
        "meeting at 14:45:10 on 25.11.2026",
        "prix : 12.50 € ou $1,299.99",
        "pi vaut 3.14159 et e 2.71828",
        "écrire à contact at example dot org",
        "le langage C# et F# sont cités",
        "classé no#1 des ventes, #1 au top",
        "fin de la phrase.Le début de la suivante",
        "e.g. this, i.e. that, U.S.A. and Mr.Smith",
        "appelez le 06.12.34.56.78 ou 1.800.555.0199",
        "la v1.2.3.4 du logiciel",
        "النسخة 1.2.3.4 متاحة",
        "score 4:2, ratio 16:9",
        "sha256 is a hash function, md5 too",
        "see section 2.3.1 and figure 4.5",
        "les fichiers a.out et b.txt",
        "server version 1.2.3.4 released",
        "host v10.0.0.1 build",
        "IP 10.0.0.300 is not valid",
        "sha256 0123456789012345678901234567890123456789012345678901234567890123",
        "ticket #4521 fermé",
        "the word café.Bar and naïve.test",
    ];
    for text in negatives {
        cases.push(Case { text: text.to_string(), expected: Expected::new() });
    }
    cases
}

fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak::v256();
    hasher.update(data);
    let mut output = [0u8; 32];
    hasher.finalize(&mut output);
    output
}

fn eip55(address: &[u8; 20]) -> String {
    let lower: String = address.iter().map(|b| format!("{b:02x}")).collect();
    let hash = keccak256(lower.as_bytes());
    let checksummed: String = lower
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
            if nibble >= 8 { c.to_ascii_uppercase() } else { c }
        })
        .collect();
    format!("0x{checksummed}")
}

fn monero_address(random: &mut Random) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    const ENCODED_BLOCK_SIZES: [usize; 9] = [0, 2, 3, 5, 6, 7, 9, 10, 11];
    let mut bytes = vec![0x12u8];
    bytes.extend(random.bytes::<32>());
    bytes.extend(random.bytes::<32>());
    let checksum = keccak256(&bytes);
    bytes.extend_from_slice(&checksum[..4]);
    let mut text = String::new();
    for block in bytes.chunks(8) {
        let mut value = block.iter().fold(0u128, |v, &b| v << 8 | u128::from(b));
        let mut digits = vec![b'1'; ENCODED_BLOCK_SIZES[block.len()]];
        for slot in digits.iter_mut().rev() {
            *slot = ALPHABET[(value % 58) as usize];
            value /= 58;
        }
        text.push_str(std::str::from_utf8(&digits).unwrap());
    }
    text
}

/// The same address with one character changed to another of its alphabet.
fn break_checksum(address: &str) -> String {
    let mut bytes = address.as_bytes().to_vec();
    let index = bytes.len() - 5;
    bytes[index] = match bytes[index] {
        b'2' => b'3',
        b'q' => b'p',
        b'a' => b'b',
        b'A' => b'B',
        _ => b'2',
    };
    String::from_utf8(bytes).unwrap()
}
