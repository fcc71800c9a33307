//! STIX 2.1: an export set out as a bundle, a bundle in as an import set.
//!
//! A bundle holds, in this order: the producer's `identity`; the TLP 2.0
//! `marking-definition`s it uses (the published objects, ids and all); the
//! extension definitions for what STIX has no type for, with vigil's own
//! `identity` as their author; the observables (SCOs): `user-account`s for
//! accounts, `url`, `domain-name`, `email-addr`, `ipv4-addr`, `ipv6-addr`
//! and `file` for indicators and sites, and an `artifact` with each
//! excerpted document's whole text; an `indicator` and a `sighting` per
//! indicator; an `observed-data` and a `note` per excerpt; and a `report`
//! that refers to all of it.
//!
//! Kinds STIX has no observable for:
//! - a handle (an @name whose platform is unknown) is a `user-account` with
//!   only `account_login`, and an `account` indicator (`platform:handle`) a
//!   `user-account` with `account_type` too: both are what the standard type
//!   is for, so any consumer reads them;
//! - hashtags, wallets and phone numbers are new observable types,
//!   `x-vigil-hashtag`, `x-vigil-wallet` and `x-vigil-phone-number`, each
//!   declared by an extension definition of type `new-sco` carried in the
//!   bundle. That is the mechanism STIX 2.1 gives for new types (section
//!   7.3), and it keeps indicator patterns ordinary (`[x-vigil-hashtag:value
//!   = '...']`), where custom properties on the indicator would leave its
//!   pattern matching nothing. The `x-vigil-` prefix keeps them apart from
//!   any future STIX type and from other producers' (OpenCTI defines a
//!   `hashtag` of its own, which [`from_stix`] also reads).
//!
//! An excerpt's text is the note's `content`; its span, its SHA-256 and its
//! document's are properties of a vigil `property-extension` on the note,
//! rather than `x_` properties, which the validator reports.
//!
//! Ids: observables have the deterministic UUIDv5 ids STIX 2.1 defines
//! (section 2.9): the observable namespace over the canonical JSON of the
//! type's id-contributing properties. Every other object vigil makes has a
//! UUIDv5 under vigil's own namespace over a stable key (the producer and
//! the record), which the specification allows in place of UUIDv4, so that
//! a second export of the same records updates what a recipient has.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use vigil_extract::{IndicatorKind, Platform};
use vigil_store::{AccountId, AccountRecord, AccountStatus, IndicatorKey, Tlp, UnixSeconds};

use super::rfc3339::{format_stix, parse};
use super::{
    ExchangeError, ExportSet, ExportSubject, ImportSet, Imported, ImportedAccount, ImportedIndicator, ImportedSighting,
    counted, imported_account, indicator_key, members, strictest, tlp_of_name, vigil_uuid, wallet_currency,
    wallet_of_currency,
};

/// The most objects [`from_stix`] reads from one bundle.
pub const MAX_STIX_OBJECTS: usize = 1_000_000;

/// A set as a STIX 2.1 bundle. The same set gives the same bundle.
pub fn to_stix(set: &ExportSet) -> Value {
    BundleWriter::new(set).write()
}

/// What a STIX 2.1 bundle holds that vigil keeps: indicators (from simple
/// patterns and from observables), accounts and sightings, each with its
/// marking. Values that do not normalize and objects vigil has no kind for
/// are counted in `skipped`.
pub fn from_stix(json: &str) -> Result<ImportSet, ExchangeError> {
    let bundle: Value = serde_json::from_str(json).map_err(|error| stix_error(format!("is not JSON: {error}")))?;
    from_stix_value(&bundle)
}

/// [`from_stix`] on JSON already parsed, for a caller that looked inside
/// to tell the format.
pub fn from_stix_value(bundle: &Value) -> Result<ImportSet, ExchangeError> {
    BundleReader::read(bundle)
}

/// The namespace STIX 2.1 fixes for observable ids.
const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

const TLP_2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
/// Part of the published TLP 2.0 objects, like their ids.
const TLP_2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 1.0 markings STIX 2.1 predefines (section 7.2.1.4).
const TLP_1_MARKINGS: [(&str, Tlp); 4] = [
    ("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", Tlp::Clear),
    ("marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", Tlp::Green),
    ("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", Tlp::Amber),
    ("marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", Tlp::Red),
];

/// The author of vigil's extension definitions: the same fixed object in
/// every producer's bundle, as the definitions are.
const VIGIL_IDENTITY: &str = "identity--28ddc2e6-c29a-46fe-934f-c65ff3cd9508";
/// When vigil's definitions were published; fixed, as their ids are.
const VIGIL_DEFINITIONS_CREATED: &str = "2025-01-01T00:00:00.000Z";

/// STIX allows at most this `count` on a sighting.
const MAX_SIGHTING_COUNT: u64 = 999_999_999;

/// The published TLP 2.0 marking-definition id of a marking.
fn tlp_2_marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The published TLP 2.0 marking-definition object.
fn tlp_2_marking(tlp: Tlp) -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp_2_marking_id(tlp),
        "created": TLP_2_CREATED,
        "name": tlp.label(),
        "extensions": {
            TLP_2_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": tlp.as_str() },
        },
    })
}

/// vigil's extension definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum VigilExtension {
    Hashtag,
    Wallet,
    Phone,
    Excerpt,
}

impl VigilExtension {
    fn id(self) -> &'static str {
        match self {
            VigilExtension::Hashtag => "extension-definition--0ac905c6-ed1c-4fbb-b488-82e73e7d11e0",
            VigilExtension::Wallet => "extension-definition--e2364da1-1131-419e-9816-168bd15e16bb",
            VigilExtension::Phone => "extension-definition--e8dafeec-cc1a-4c50-a6e4-bc3f11db2ec8",
            VigilExtension::Excerpt => "extension-definition--ebf3ef4d-56bb-42d0-8989-6af689a21858",
        }
    }

    fn definition(self) -> Value {
        let (name, extension_type, description, schema) = match self {
            VigilExtension::Hashtag => (
                "x-vigil-hashtag",
                "new-sco",
                "A hashtag seen in extremist content, as vigil normalizes it.",
                "Observable type x-vigil-hashtag. Properties: value (string, required): the hashtag without its \
                 '#', in lowercase. Id: UUIDv5 in the STIX observable namespace over the canonical JSON of \
                 {value}.",
            ),
            VigilExtension::Wallet => (
                "x-vigil-wallet",
                "new-sco",
                "A cryptocurrency wallet address seen in extremist content, its checksum verified.",
                "Observable type x-vigil-wallet. Properties: currency (string, required): BTC, ETH, XMR or TRX; \
                 value (string, required): the address (bech32 and Ethereum addresses in lowercase, others as \
                 written). Id: UUIDv5 in the STIX observable namespace over the canonical JSON of {currency, \
                 value}.",
            ),
            VigilExtension::Phone => (
                "x-vigil-phone-number",
                "new-sco",
                "A telephone number seen in extremist content.",
                "Observable type x-vigil-phone-number. Properties: value (string, required): the number in \
                 E.164 form (+ and digits). Id: UUIDv5 in the STIX observable namespace over the canonical JSON \
                 of {value}.",
            ),
            VigilExtension::Excerpt => (
                "vigil excerpt",
                "property-extension",
                "Where a note's content was taken from, so that a recipient can check it against the document.",
                "Properties of a note whose content is an excerpt of a document: document_id (integer): vigil's \
                 id of the document; document_kind (string): tip or post; document_sha256 (string): SHA-256 of \
                 the document's whole text at intake, hex (the artifact in the observed-data holds that text); \
                 text_sha256 (string): SHA-256 of the note's content, hex; span_start and span_end (integers, \
                 optional): the byte offsets of the excerpt in the document's UTF-8 text, half-open, absent \
                 for the whole text; platform, platform_post_id and url (strings, optional): where the \
                 document was posted.",
            ),
        };
        json!({
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": self.id(),
            "created_by_ref": VIGIL_IDENTITY,
            "created": VIGIL_DEFINITIONS_CREATED,
            "modified": VIGIL_DEFINITIONS_CREATED,
            "name": name,
            "description": description,
            "schema": schema,
            "version": "1.0.0",
            "extension_types": [extension_type],
            "object_marking_refs": [tlp_2_marking_id(Tlp::Clear)],
        })
    }
}

/// The `user-account` `account_type` of a platform: STIX's vocabulary
/// value where it has one, the platform's own name otherwise (the
/// vocabulary is open).
fn stix_account_type(platform: &str) -> &str {
    match platform {
        "x" => "twitter",
        other => other,
    }
}

/// The STIX hash name of a hash kind.
fn hash_name(kind: IndicatorKind) -> Option<&'static str> {
    match kind {
        IndicatorKind::Md5 => Some("MD5"),
        IndicatorKind::Sha1 => Some("SHA-1"),
        IndicatorKind::Sha256 => Some("SHA-256"),
        _ => None,
    }
}

/// A hash kind by its STIX name, or the spellings others use (`SHA256`).
fn hash_of_name(name: &str) -> Option<IndicatorKind> {
    match name.to_ascii_uppercase().replace('-', "").as_str() {
        "MD5" => Some(IndicatorKind::Md5),
        "SHA1" => Some(IndicatorKind::Sha1),
        "SHA256" => Some(IndicatorKind::Sha256),
        _ => None,
    }
}

/// The observable for an indicator key, without its id.
fn observable_of_key(key: &IndicatorKey) -> (Map<String, Value>, Option<VigilExtension>) {
    let value = key.value.as_str();
    let (sco_type, properties, extension) = match key.kind {
        IndicatorKind::Url => ("url", json!({ "value": value }), None),
        IndicatorKind::Domain => ("domain-name", json!({ "value": value }), None),
        IndicatorKind::Email => ("email-addr", json!({ "value": value }), None),
        IndicatorKind::Ipv4 => ("ipv4-addr", json!({ "value": value }), None),
        IndicatorKind::Ipv6 => ("ipv6-addr", json!({ "value": value }), None),
        IndicatorKind::Md5 | IndicatorKind::Sha1 | IndicatorKind::Sha256 => {
            let name = hash_name(key.kind).unwrap_or("SHA-256");
            ("file", json!({ "hashes": { name: value } }), None)
        }
        IndicatorKind::Handle => ("user-account", json!({ "account_login": value }), None),
        IndicatorKind::Account => {
            let (platform, handle) = value.split_once(':').unwrap_or(("", value));
            ("user-account", json!({ "account_type": stix_account_type(platform), "account_login": handle }), None)
        }
        IndicatorKind::Hashtag => ("x-vigil-hashtag", json!({ "value": value }), Some(VigilExtension::Hashtag)),
        IndicatorKind::Phone => ("x-vigil-phone-number", json!({ "value": value }), Some(VigilExtension::Phone)),
        IndicatorKind::Btc | IndicatorKind::Eth | IndicatorKind::Xmr | IndicatorKind::Trx => {
            let currency = wallet_currency(key.kind).unwrap_or_default();
            ("x-vigil-wallet", json!({ "currency": currency, "value": value }), Some(VigilExtension::Wallet))
        }
    };
    let mut observable = members(json!({ "type": sco_type }));
    observable.extend(members(properties));
    if let Some(extension) = extension {
        observable.insert("extensions".to_owned(), json!({ extension.id(): { "extension_type": "new-sco" } }));
    }
    (observable, extension)
}

/// The STIX pattern that matches an indicator key's observable.
fn pattern_of_key(key: &IndicatorKey) -> String {
    let quoted = quote_pattern_string(&key.value);
    match key.kind {
        IndicatorKind::Url => format!("[url:value = {quoted}]"),
        IndicatorKind::Domain => format!("[domain-name:value = {quoted}]"),
        IndicatorKind::Email => format!("[email-addr:value = {quoted}]"),
        IndicatorKind::Ipv4 => format!("[ipv4-addr:value = {quoted}]"),
        IndicatorKind::Ipv6 => format!("[ipv6-addr:value = {quoted}]"),
        IndicatorKind::Md5 => format!("[file:hashes.MD5 = {quoted}]"),
        IndicatorKind::Sha1 => format!("[file:hashes.'SHA-1' = {quoted}]"),
        IndicatorKind::Sha256 => format!("[file:hashes.'SHA-256' = {quoted}]"),
        IndicatorKind::Handle => format!("[user-account:account_login = {quoted}]"),
        IndicatorKind::Account => {
            let (platform, handle) = key.value.split_once(':').unwrap_or(("", &key.value));
            format!(
                "[user-account:account_type = {} AND user-account:account_login = {}]",
                quote_pattern_string(stix_account_type(platform)),
                quote_pattern_string(handle)
            )
        }
        IndicatorKind::Hashtag => format!("[x-vigil-hashtag:value = {quoted}]"),
        IndicatorKind::Phone => format!("[x-vigil-phone-number:value = {quoted}]"),
        IndicatorKind::Btc | IndicatorKind::Eth | IndicatorKind::Xmr | IndicatorKind::Trx => format!(
            "[x-vigil-wallet:currency = {} AND x-vigil-wallet:value = {quoted}]",
            quote_pattern_string(wallet_currency(key.kind).unwrap_or_default())
        ),
    }
}

/// A STIX pattern string literal: quotes and backslashes escaped.
fn quote_pattern_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// The observable of an account record, without its id.
fn observable_of_account(account: &AccountRecord) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("type".to_owned(), json!("user-account"));
    object.insert("account_type".to_owned(), json!(stix_account_type(&account.platform)));
    if let Some(id) = &account.platform_account_id {
        object.insert("user_id".to_owned(), json!(id));
    }
    if let Some(handle) = &account.handle {
        object.insert("account_login".to_owned(), json!(handle));
    }
    if let Some(name) = &account.display_name {
        object.insert("display_name".to_owned(), json!(name));
    }
    if account.status == AccountStatus::Suspended {
        object.insert("is_disabled".to_owned(), json!(true));
    }
    object
}

/// The properties that make an observable's id (STIX 2.1 section 2.9 and
/// each type's definition; vigil's own types in their definitions).
fn id_contributing_properties(sco_type: &str) -> &'static [&'static str] {
    match sco_type {
        "artifact" => &["hashes", "payload_bin"],
        "file" => &["hashes", "name", "extensions", "parent_directory_ref"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "x-vigil-wallet" => &["currency", "value"],
        _ => &["value"],
    }
}

/// An observable's deterministic id.
fn observable_id(object: &Map<String, Value>) -> String {
    let sco_type = object.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut contributing = Map::new();
    for &property in id_contributing_properties(sco_type) {
        if let Some(value) = object.get(property) {
            let value = if property == "hashes" { one_hash(value) } else { value.clone() };
            contributing.insert(property.to_owned(), value);
        }
    }
    let mut name = String::new();
    canonical_json(&Value::Object(contributing), &mut name);
    format!("{sco_type}--{}", Uuid::new_v5(&SCO_NAMESPACE, name.as_bytes()))
}

/// Of several hashes, the one the id is made of, in the specification's
/// order of preference.
fn one_hash(hashes: &Value) -> Value {
    let Value::Object(hashes) = hashes else { return hashes.clone() };
    let chosen = ["MD5", "SHA-1", "SHA-256", "SHA-512"]
        .iter()
        .find_map(|name| hashes.get_key_value(*name))
        .or_else(|| hashes.iter().next());
    let mut one = Map::new();
    if let Some((name, value)) = chosen {
        one.insert(name.clone(), value.clone());
    }
    Value::Object(one)
}

/// JSON in the canonical form of RFC 8785 (keys sorted by UTF-16 code
/// units, no whitespace, minimal string escapes), for the integers and
/// strings ids are made of. Written out here so that the order of a
/// `serde_json::Map` (which a feature of another crate may change) does
/// not matter.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => canonical_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical_string(key, out);
                out.push(':');
                canonical_json(&members[key], out);
            }
            out.push('}');
        }
    }
}

fn canonical_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn stix_error(message: impl Into<String>) -> ExchangeError {
    ExchangeError::Stix(message.into())
}

/// The observables of a bundle, each once, with the stricter marking of
/// the records it stands for.
#[derive(Debug, Default)]
struct Observables {
    objects: Vec<(Map<String, Value>, Tlp)>,
    index: HashMap<String, usize>,
}

impl Observables {
    /// Adds an observable (or raises the marking of the one already there)
    /// and gives its id.
    fn add(&mut self, mut object: Map<String, Value>, tlp: Tlp) -> String {
        let id = observable_id(&object);
        match self.index.get(&id) {
            Some(&at) => self.objects[at].1 = self.objects[at].1.stricter(tlp),
            None => {
                object.insert("spec_version".to_owned(), json!("2.1"));
                object.insert("id".to_owned(), json!(id));
                self.index.insert(id.clone(), self.objects.len());
                self.objects.push((object, tlp));
            }
        }
        id
    }
}

struct BundleWriter<'s> {
    set: &'s ExportSet,
    identity: String,
    observables: Observables,
    extensions: HashSet<VigilExtension>,
    markings: HashSet<Tlp>,
    /// Indicators, sightings, observed data and notes, in that order.
    objects: Vec<Value>,
    account_observables: HashMap<AccountId, String>,
}

impl<'s> BundleWriter<'s> {
    fn new(set: &'s ExportSet) -> BundleWriter<'s> {
        BundleWriter {
            set,
            identity: format!("identity--{}", vigil_uuid(&["stix", "identity", &set.producer])),
            observables: Observables::default(),
            extensions: HashSet::new(),
            markings: HashSet::new(),
            objects: Vec::new(),
            account_observables: HashMap::new(),
        }
    }

    /// An id under vigil's namespace for an object this producer makes.
    fn id(&self, object_type: &str, key: &[&str]) -> String {
        let mut parts = vec!["stix", object_type, self.set.producer.as_str()];
        parts.extend_from_slice(key);
        format!("{object_type}--{}", vigil_uuid(&parts))
    }

    fn marking_refs(&mut self, tlp: Tlp) -> Value {
        self.markings.insert(tlp);
        json!([tlp_2_marking_id(tlp)])
    }

    fn add_account(&mut self, account: &AccountRecord, tlp: Tlp) -> String {
        let id = self.observables.add(observable_of_account(account), tlp);
        self.account_observables.entry(account.id).or_insert_with(|| id.clone());
        id
    }

    /// The observable of an indicator key. An `account` key is not the
    /// account record's observable: that one may say more (its id, its
    /// name) under a stricter marking.
    fn add_key(&mut self, key: &IndicatorKey, tlp: Tlp) -> String {
        let (object, extension) = observable_of_key(key);
        self.extensions.extend(extension);
        self.observables.add(object, tlp)
    }

    fn write(mut self) -> Value {
        let set = self.set;
        for account in &set.accounts {
            self.add_account(&account.record, account.tlp);
        }
        for site in &set.sites {
            self.add_key(&site.record.key, site.tlp);
        }

        // Excerpts first, so that each sighting can name the observed data
        // its indicator was seen in.
        let mut observed_in: HashMap<IndicatorKey, Vec<String>> = HashMap::new();
        let mut excerpt_objects = Vec::new();
        let mut excerpts_seen = HashSet::new();
        for excerpt in &set.excerpts {
            let (tlp, excerpt) = (excerpt.tlp, &excerpt.record);
            let document = &excerpt.document;
            // The same part of a document twice is one excerpt.
            if !excerpts_seen.insert((document.id, excerpt.span)) {
                continue;
            }
            let span = excerpt.span.map(|span| [span.start.to_string(), span.end.to_string()]);
            let document_id = document.id.to_string();
            let mut key: Vec<&str> = vec![&document_id];
            if let Some(span) = &span {
                key.extend(span.iter().map(String::as_str));
            }
            let mut refs = Vec::new();
            if !excerpt.document_text.is_empty() {
                let artifact = members(json!({
                    "type": "artifact",
                    "mime_type": "text/plain",
                    "payload_bin": base64::engine::general_purpose::STANDARD.encode(&excerpt.document_text),
                    "hashes": { "SHA-256": document.text_sha256 },
                }));
                refs.push(self.observables.add(artifact, tlp));
            }
            let author = excerpt.author.as_ref().map(|author| match self.account_observables.get(&author.id) {
                Some(id) => id.clone(),
                None => self.add_account(author, tlp),
            });
            refs.extend(author.clone());
            for indicator in &excerpt.indicators {
                let id = self.add_key(indicator, tlp);
                if !refs.contains(&id) {
                    refs.push(id);
                }
            }
            let observed_at = format_stix(document.observed_at);
            let note_refs = if refs.is_empty() {
                vec![self.identity.clone()]
            } else {
                let observed_data = self.id("observed-data", &key);
                for indicator in &excerpt.indicators {
                    observed_in.entry(indicator.clone()).or_default().push(observed_data.clone());
                }
                excerpt_objects.push(json!({
                    "type": "observed-data",
                    "spec_version": "2.1",
                    "id": observed_data,
                    "created_by_ref": self.identity,
                    "created": observed_at,
                    "modified": observed_at,
                    "first_observed": observed_at,
                    "last_observed": observed_at,
                    "number_observed": 1,
                    "object_refs": refs,
                    "object_marking_refs": self.marking_refs(tlp),
                }));
                vec![observed_data]
            };
            let mut provenance = members(json!({
                "extension_type": "property-extension",
                "document_id": document.id,
                "document_kind": document.kind.as_str(),
                "document_sha256": document.text_sha256,
                "text_sha256": excerpt.text_sha256,
            }));
            if let Some(span) = excerpt.span {
                provenance.insert("span_start".to_owned(), json!(span.start));
                provenance.insert("span_end".to_owned(), json!(span.end));
            }
            let origin = [
                ("platform", &document.platform),
                ("platform_post_id", &document.platform_post_id),
                ("url", &document.url),
            ];
            for (name, value) in origin {
                if let Some(value) = value {
                    provenance.insert(name.to_owned(), json!(value));
                }
            }
            if let Some(author) = author {
                provenance.insert("author_ref".to_owned(), json!(author));
            }
            self.extensions.insert(VigilExtension::Excerpt);
            let summary = match excerpt.span {
                Some(span) => {
                    format!(
                        "Excerpt of {} {}, bytes {} to {}",
                        document.kind.as_str(),
                        document.id,
                        span.start,
                        span.end
                    )
                }
                None => format!("Text of {} {}", document.kind.as_str(), document.id),
            };
            let extension_id = VigilExtension::Excerpt.id();
            let mut note = members(json!({
                "type": "note",
                "spec_version": "2.1",
                "id": self.id("note", &key),
                "created_by_ref": self.identity,
                "created": observed_at,
                "modified": observed_at,
                "abstract": summary,
                "content": excerpt.text,
                "authors": [set.producer],
                "object_refs": note_refs,
                "extensions": { extension_id: provenance },
                "object_marking_refs": self.marking_refs(tlp),
            }));
            if let Some(language) = &document.language {
                note.insert("lang".to_owned(), json!(language));
            }
            excerpt_objects.push(Value::Object(note));
        }

        let mut sightings = Vec::new();
        for indicator in &set.indicators {
            let (tlp, record) = (indicator.tlp, &indicator.record);
            let key = IndicatorKey { kind: record.kind, value: record.value.clone() };
            self.add_key(&key, tlp);
            let first_seen = format_stix(record.first_seen);
            let last_seen = format_stix(record.last_seen.max(record.first_seen));
            let indicator_id = self.id("indicator", &[key.kind.as_str(), &key.value]);
            let indicator = json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": indicator_id,
                "created_by_ref": self.identity,
                "created": first_seen,
                "modified": last_seen,
                "name": format!("{} {}", key.kind, key.value),
                "description": format!(
                    "{} seen in {} from {} to {}",
                    key.kind,
                    counted(record.sighting_count, "document"),
                    first_seen,
                    last_seen
                ),
                "pattern": pattern_of_key(&key),
                "pattern_type": "stix",
                "pattern_version": "2.1",
                "valid_from": first_seen,
                "object_marking_refs": self.marking_refs(tlp),
            });
            self.objects.push(indicator);
            let mut sighting = members(json!({
                "type": "sighting",
                "spec_version": "2.1",
                "id": self.id("sighting", &[key.kind.as_str(), &key.value]),
                "created_by_ref": self.identity,
                "created": first_seen,
                "modified": last_seen,
                "first_seen": first_seen,
                "last_seen": last_seen,
                "count": record.sighting_count.min(MAX_SIGHTING_COUNT),
                "sighting_of_ref": indicator_id,
                "where_sighted_refs": [self.identity],
                "object_marking_refs": self.marking_refs(tlp),
            }));
            if let Some(observed) = observed_in.get(&key) {
                sighting.insert("observed_data_refs".to_owned(), json!(observed));
            }
            sightings.push(Value::Object(sighting));
        }
        self.objects.extend(sightings);
        self.objects.extend(excerpt_objects);
        self.finish()
    }

    fn finish(mut self) -> Value {
        let set = self.set;
        let created = format_stix(set.created_at);
        let subject_key = set.subject_key();
        let mut contents: Vec<Value> =
            self.observables.objects.iter().filter_map(|(object, _)| object.get("id").cloned()).collect();
        contents.extend(self.objects.iter().filter_map(|object| object.get("id").cloned()));
        if contents.is_empty() {
            contents.push(json!(self.identity));
        }
        let (report_types, labels) = match &set.subject {
            ExportSubject::Referral { categories, .. } => (vec!["threat-report"], categories.clone()),
            ExportSubject::Actor { .. } => (vec!["threat-actor"], Vec::new()),
            ExportSubject::Indicators => (vec!["indicator"], Vec::new()),
        };
        let mut report = members(json!({
            "type": "report",
            "spec_version": "2.1",
            "id": self.id("report", &[&subject_key]),
            "created_by_ref": self.identity,
            "created": created,
            "modified": created,
            "name": set.title,
            "published": created,
            "report_types": report_types,
            "object_refs": contents,
            "object_marking_refs": self.marking_refs(set.tlp),
        }));
        if !set.description.is_empty() {
            report.insert("description".to_owned(), json!(set.description));
        }
        if !labels.is_empty() {
            report.insert("labels".to_owned(), json!(labels));
        }
        let identity = json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity,
            "created_by_ref": self.identity,
            "created": created,
            "modified": created,
            "name": set.producer,
            "identity_class": "organization",
            "object_marking_refs": self.marking_refs(set.tlp),
        });

        let mut objects = vec![identity];
        let mut extensions: Vec<VigilExtension> = self.extensions.iter().copied().collect();
        extensions.sort();
        if !extensions.is_empty() {
            self.markings.insert(Tlp::Clear);
        }
        let mut markings: Vec<Tlp> = self.markings.iter().copied().collect();
        markings.sort_by_key(|tlp| tlp.rank());
        objects.extend(markings.into_iter().map(tlp_2_marking));
        if !extensions.is_empty() {
            objects.push(json!({
                "type": "identity",
                "spec_version": "2.1",
                "id": VIGIL_IDENTITY,
                "created_by_ref": VIGIL_IDENTITY,
                "created": VIGIL_DEFINITIONS_CREATED,
                "modified": VIGIL_DEFINITIONS_CREATED,
                "name": "vigil",
                "description": "The vigil counter-extremism intelligence service, author of the vigil extensions",
                "identity_class": "system",
                "object_marking_refs": [tlp_2_marking_id(Tlp::Clear)],
            }));
            objects.extend(extensions.into_iter().map(VigilExtension::definition));
        }
        for (mut object, tlp) in std::mem::take(&mut self.observables.objects) {
            object.insert("object_marking_refs".to_owned(), json!([tlp_2_marking_id(tlp)]));
            objects.push(Value::Object(object));
        }
        objects.append(&mut self.objects);
        objects.push(Value::Object(report));
        let created_at = set.created_at.to_string();
        json!({
            "type": "bundle",
            "id": format!("bundle--{}", vigil_uuid(&["stix", "bundle", &set.producer, &subject_key, &created_at])),
            "objects": objects,
        })
    }
}

/// One `object-type:property = 'value'` of a pattern; a path into a
/// dictionary is joined with dots (`hashes.SHA-256`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Comparison {
    object_type: String,
    property: String,
    value: String,
}

/// The comparisons of a pattern of one observation whose comparisons are
/// all equalities joined by AND, the form producers write for a single
/// value; `None` for any other pattern, which vigil does not read.
fn simple_pattern(pattern: &str) -> Option<Vec<Comparison>> {
    let inner = pattern.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut comparisons = Vec::new();
    let mut rest = inner.trim_start();
    loop {
        let (comparison, after) = comparison(rest)?;
        comparisons.push(comparison);
        rest = after.trim_start();
        if rest.is_empty() {
            return Some(comparisons);
        }
        let after_and = rest.get(..3).filter(|word| word.eq_ignore_ascii_case("AND")).map(|_| &rest[3..])?;
        if !after_and.starts_with(char::is_whitespace) {
            return None;
        }
        rest = after_and.trim_start();
    }
}

fn comparison(text: &str) -> Option<(Comparison, &str)> {
    let type_length = text.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'-').count();
    let object_type = &text[..type_length];
    let mut rest = text[type_length..].strip_prefix(':')?;
    let mut path = Vec::new();
    loop {
        let (segment, after) = if rest.starts_with('\'') {
            string_literal(rest)?
        } else {
            let length = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-').count();
            (rest[..length].to_owned(), &rest[length..])
        };
        if segment.is_empty() {
            return None;
        }
        path.push(segment);
        match after.strip_prefix('.') {
            Some(next) => rest = next,
            None => {
                rest = after;
                break;
            }
        }
    }
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let (value, rest) = string_literal(rest)?;
    if object_type.is_empty() {
        return None;
    }
    Some((Comparison { object_type: object_type.to_owned(), property: path.join("."), value }, rest))
}

/// A quoted string at the start of `text`, unescaped, and what follows it.
fn string_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('\'')?.char_indices();
    let mut value = String::new();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                (_, escaped @ ('\'' | '\\')) => value.push(escaped),
                _ => return None,
            },
            '\'' => return Some((value, &text[1 + at + 1..])),
            c => value.push(c),
        }
    }
    None
}

/// The indicator a simple pattern names, normalized.
fn key_of_pattern(comparisons: &[Comparison]) -> Option<IndicatorKey> {
    let object_type = comparisons.first()?.object_type.as_str();
    if comparisons.iter().any(|comparison| comparison.object_type != object_type) {
        return None;
    }
    let mut properties: BTreeMap<&str, &str> = BTreeMap::new();
    for comparison in comparisons {
        if properties.insert(&comparison.property, &comparison.value).is_some() {
            return None;
        }
    }
    let only = |property: &str| (properties.len() == 1).then(|| properties.get(property).copied()).flatten();
    match object_type {
        "user-account" => {
            let login = properties.get("account_login").copied()?;
            match (properties.len(), properties.get("account_type")) {
                (1, None) => indicator_key(IndicatorKind::Handle, login),
                (2, Some(account_type)) => account_indicator(account_type, login),
                _ => None,
            }
        }
        "x-vigil-wallet" if properties.len() == 2 => {
            indicator_key(wallet_of_currency(properties.get("currency")?)?, properties.get("value")?)
        }
        "file" => {
            let (property, value) = properties.iter().next().filter(|_| properties.len() == 1)?;
            indicator_key(hash_of_name(property.strip_prefix("hashes.")?)?, value)
        }
        "cryptocurrency-wallet" => {
            let value = only("value")?;
            [IndicatorKind::Btc, IndicatorKind::Eth, IndicatorKind::Xmr, IndicatorKind::Trx]
                .into_iter()
                .find_map(|kind| indicator_key(kind, value))
        }
        _ => indicator_key(kind_of_value_type(object_type)?, only("value")?),
    }
}

/// The kind of an observable type whose `value` is the indicator.
fn kind_of_value_type(object_type: &str) -> Option<IndicatorKind> {
    Some(match object_type {
        "url" => IndicatorKind::Url,
        "domain-name" => IndicatorKind::Domain,
        "email-addr" => IndicatorKind::Email,
        "ipv4-addr" => IndicatorKind::Ipv4,
        "ipv6-addr" => IndicatorKind::Ipv6,
        "x-vigil-hashtag" | "hashtag" => IndicatorKind::Hashtag,
        "x-vigil-phone-number" | "phone-number" => IndicatorKind::Phone,
        _ => return None,
    })
}

/// A `platform:handle` indicator from a `user-account`'s type and login.
fn account_indicator(account_type: &str, login: &str) -> Option<IndicatorKey> {
    let platform = Platform::from_name(&account_type.trim().to_ascii_lowercase())?;
    indicator_key(IndicatorKind::Account, &format!("{platform}:{login}"))
}

/// Object types that say who made a bundle and how it is marked, which
/// vigil reads for that, not as records.
const CONTEXT_TYPES: [&str; 4] = ["marking-definition", "extension-definition", "identity", "report"];

struct BundleReader<'b> {
    markings: HashMap<&'b str, Tlp>,
    import: ImportSet,
    indicator_index: HashMap<&'b str, usize>,
}

impl<'b> BundleReader<'b> {
    fn read(bundle: &'b Value) -> Result<ImportSet, ExchangeError> {
        let bundle = bundle.as_object().ok_or_else(|| stix_error("is not a JSON object"))?;
        match bundle.get("type") {
            Some(Value::String(bundle_type)) if bundle_type == "bundle" => {}
            Some(Value::String(other)) => return Err(stix_error(format!("type is {other:?}, not \"bundle\""))),
            _ => return Err(stix_error("type: is missing or not a string")),
        }
        let id = match bundle.get("id") {
            Some(Value::String(id))
                if id.strip_prefix("bundle--").is_some_and(|uuid| Uuid::parse_str(uuid).is_ok()) =>
            {
                id
            }
            _ => return Err(stix_error("id: is not a bundle id (bundle--UUID)")),
        };
        let objects: &[Value] = match bundle.get("objects") {
            None => &[],
            Some(Value::Array(objects)) => objects,
            Some(_) => return Err(stix_error("objects: is not an array")),
        };
        if objects.len() > MAX_STIX_OBJECTS {
            return Err(stix_error(format!(
                "objects: {} objects, over the {MAX_STIX_OBJECTS}-object limit",
                objects.len()
            )));
        }
        let mut typed = Vec::with_capacity(objects.len());
        for (index, object) in objects.iter().enumerate() {
            let object = object.as_object().ok_or_else(|| stix_error(format!("objects[{index}]: is not an object")))?;
            let object_type = object
                .get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| stix_error(format!("objects[{index}].type: is missing or not a string")))?;
            let object_id = object
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| id.strip_prefix(object_type).is_some_and(|rest| rest.starts_with("--")))
                .ok_or_else(|| stix_error(format!("objects[{index}].id: does not start with \"{object_type}--\"")))?;
            typed.push(Object { index, object_type, id: object_id, properties: object });
        }

        let mut reader = BundleReader {
            markings: HashMap::new(),
            import: ImportSet { source: id.clone(), ..ImportSet::default() },
            indicator_index: HashMap::new(),
        };
        for (id, tlp) in TLP_1_MARKINGS {
            reader.markings.insert(id, tlp);
        }
        for tlp in [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red] {
            reader.markings.insert(tlp_2_marking_id(tlp), tlp);
        }
        for object in typed.iter().filter(|object| object.object_type == "marking-definition") {
            if let Some(tlp) = marking_tlp(object.properties) {
                reader.markings.insert(object.id, tlp);
            }
        }

        let mut report_tlp = None;
        let mut observables = Vec::new();
        let mut sightings = Vec::new();
        let mut markings_seen = Vec::new();
        for object in &typed {
            let tlp = reader.marking_of(object)?;
            markings_seen.extend(tlp);
            match object.object_type {
                "indicator" => reader.read_indicator(object, tlp)?,
                "sighting" => sightings.push((object, tlp)),
                "report" if reader.import.title.is_empty() => {
                    reader.import.title = object.string("name")?.unwrap_or_default().to_owned();
                    report_tlp = tlp;
                }
                object_type if CONTEXT_TYPES.contains(&object_type) => {}
                _ => observables.push((object, tlp)),
            }
        }
        let mut seen: HashSet<IndicatorKey> =
            reader.import.indicators.iter().map(|indicator| indicator.record.key.clone()).collect();
        let mut accounts_seen = HashSet::new();
        for (object, tlp) in observables {
            reader.read_observable(object, tlp, &mut seen, &mut accounts_seen)?;
        }
        for (object, tlp) in sightings {
            reader.read_sighting(object, tlp)?;
        }
        reader.import.tlp = report_tlp.or_else(|| strictest(markings_seen));
        Ok(reader.import)
    }

    /// The strictest TLP marking an object carries.
    fn marking_of(&self, object: &Object<'b>) -> Result<Option<Tlp>, ExchangeError> {
        let refs = match object.properties.get("object_marking_refs") {
            None => return Ok(None),
            Some(Value::Array(refs)) => refs,
            Some(_) => return Err(object.error("object_marking_refs", "is not an array")),
        };
        Ok(strictest(refs.iter().filter_map(Value::as_str).filter_map(|id| self.markings.get(id).copied())))
    }

    fn read_indicator(&mut self, object: &Object<'b>, tlp: Option<Tlp>) -> Result<(), ExchangeError> {
        let pattern_type = object.string("pattern_type")?.unwrap_or("stix");
        let pattern = object.string("pattern")?.ok_or_else(|| object.error("pattern", "is missing"))?;
        let key = (pattern_type == "stix").then(|| simple_pattern(pattern)).flatten().and_then(|c| key_of_pattern(&c));
        let Some(key) = key else {
            self.import.skipped += 1;
            return Ok(());
        };
        let first_seen = object.timestamp("valid_from")?;
        self.indicator_index.insert(object.id, self.import.indicators.len());
        self.import.indicators.push(Imported {
            source_id: object.id.to_owned(),
            tlp,
            record: ImportedIndicator { key, first_seen, last_seen: None },
        });
        Ok(())
    }

    fn read_sighting(&mut self, object: &Object<'b>, tlp: Option<Tlp>) -> Result<(), ExchangeError> {
        let of = object.string("sighting_of_ref")?.ok_or_else(|| object.error("sighting_of_ref", "is missing"))?;
        let Some(&at) = self.indicator_index.get(of) else {
            self.import.skipped += 1;
            return Ok(());
        };
        let first_seen = object.timestamp("first_seen")?;
        let last_seen = object.timestamp("last_seen")?;
        let seen_at = match last_seen.or(first_seen) {
            Some(seen_at) => seen_at,
            None => object
                .timestamp("modified")?
                .or(object.timestamp("created")?)
                .ok_or_else(|| object.error("last_seen", "is missing, and so are first_seen and created"))?,
        };
        let count = match object.properties.get("count") {
            None => 1,
            Some(count) => count.as_u64().ok_or_else(|| object.error("count", "is not a non-negative integer"))?,
        };
        let indicator = &mut self.import.indicators[at].record;
        indicator.first_seen = match (indicator.first_seen, first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        indicator.last_seen = indicator.last_seen.max(Some(seen_at));
        let key = indicator.key.clone();
        self.import.sightings.push(Imported {
            source_id: object.id.to_owned(),
            tlp,
            record: ImportedSighting { indicator: key, seen_at, count },
        });
        Ok(())
    }

    fn read_observable(
        &mut self,
        object: &Object<'b>,
        tlp: Option<Tlp>,
        seen: &mut HashSet<IndicatorKey>,
        accounts_seen: &mut HashSet<ImportedAccount>,
    ) -> Result<(), ExchangeError> {
        let mut keys = Vec::new();
        match object.object_type {
            "user-account" => {
                let login = object.string("account_login")?;
                let user_id = object.string("user_id")?;
                match object.string("account_type")? {
                    Some(account_type) => {
                        match imported_account(account_type, login, user_id) {
                            Some(account) if accounts_seen.insert(account.clone()) => {
                                self.import.accounts.push(Imported {
                                    source_id: object.id.to_owned(),
                                    tlp,
                                    record: account,
                                });
                            }
                            Some(_) => {}
                            None => self.import.skipped += 1,
                        }
                        return Ok(());
                    }
                    None => keys.extend(login.map(|login| (IndicatorKind::Handle, login.to_owned()))),
                }
            }
            "file" => match object.properties.get("hashes") {
                None => {}
                Some(Value::Object(hashes)) => {
                    for (name, value) in hashes {
                        let value =
                            value.as_str().ok_or_else(|| object.error(&format!("hashes.{name}"), "is not a string"))?;
                        keys.extend(hash_of_name(name).map(|kind| (kind, value.to_owned())));
                    }
                }
                Some(_) => return Err(object.error("hashes", "is not an object")),
            },
            "x-vigil-wallet" => {
                let currency = object.string("currency")?.and_then(wallet_of_currency);
                if let (Some(kind), Some(value)) = (currency, object.string("value")?) {
                    keys.push((kind, value.to_owned()));
                }
            }
            "cryptocurrency-wallet" => {
                if let Some(value) = object.string("value")? {
                    let kind = [IndicatorKind::Btc, IndicatorKind::Eth, IndicatorKind::Xmr, IndicatorKind::Trx]
                        .into_iter()
                        .find(|kind| indicator_key(*kind, value).is_some());
                    keys.extend(kind.map(|kind| (kind, value.to_owned())));
                }
            }
            object_type => {
                if let Some(kind) = kind_of_value_type(object_type) {
                    keys.extend(object.string("value")?.map(|value| (kind, value.to_owned())));
                }
            }
        }
        let keys: Vec<IndicatorKey> = keys.into_iter().filter_map(|(kind, raw)| indicator_key(kind, &raw)).collect();
        if keys.is_empty() {
            self.import.skipped += 1;
        }
        for key in keys {
            if seen.insert(key.clone()) {
                self.import.indicators.push(Imported {
                    source_id: object.id.to_owned(),
                    tlp,
                    record: ImportedIndicator { key, first_seen: None, last_seen: None },
                });
            }
        }
        Ok(())
    }
}

/// The TLP a bundle's own marking definition stands for: a TLP 2.0
/// extension, or STIX 2.0's `definition_type` `tlp`.
fn marking_tlp(marking: &Map<String, Value>) -> Option<Tlp> {
    if let Some(level) = marking.get("extensions").and_then(|e| e.get(TLP_2_EXTENSION)).and_then(|e| e.get("tlp_2_0")) {
        return level.as_str().and_then(tlp_of_name);
    }
    if marking.get("definition_type").and_then(Value::as_str) == Some("tlp") {
        return marking.get("definition").and_then(|d| d.get("tlp")).and_then(Value::as_str).and_then(tlp_of_name);
    }
    None
}

/// An object of a bundle with its place in it, for errors that name it.
struct Object<'b> {
    index: usize,
    object_type: &'b str,
    id: &'b str,
    properties: &'b Map<String, Value>,
}

impl<'b> Object<'b> {
    fn error(&self, property: &str, reason: &str) -> ExchangeError {
        stix_error(format!("objects[{}].{property}: {reason}", self.index))
    }

    fn string(&self, property: &str) -> Result<Option<&'b str>, ExchangeError> {
        match self.properties.get(property) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.error(property, "is not a string")),
        }
    }

    fn timestamp(&self, property: &str) -> Result<Option<UnixSeconds>, ExchangeError> {
        match self.string(property)? {
            None => Ok(None),
            Some(text) => parse(text).map(Some).ok_or_else(|| self.error(property, "is not an RFC 3339 timestamp")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::tests::{every_kind_set, key_set};

    fn check_pattern(pattern: &str, expected: Option<(IndicatorKind, &str)>) {
        let key = simple_pattern(pattern).and_then(|comparisons| key_of_pattern(&comparisons));
        let expected = expected.map(|(kind, value)| IndicatorKey { kind, value: value.to_owned() });
        assert_eq!(key, expected, "{pattern}");
    }

    #[test]
    fn reads_simple_patterns_and_nothing_else() {
        use IndicatorKind::*;
        check_pattern("[url:value = 'https://example.org/a']", Some((Url, "https://example.org/a")));
        check_pattern("  [domain-name:value='Example.ORG']  ", Some((Domain, "example.org")));
        check_pattern(&format!("[file:hashes.'SHA-256' = '{}']", "AB".repeat(32)), Some((Sha256, &"ab".repeat(32))));
        check_pattern(&format!("[file:hashes.MD5 = '{}']", "0".repeat(32)), Some((Md5, &"0".repeat(32))));
        check_pattern(&format!("[file:hashes.SHA1 = '{}']", "1".repeat(40)), Some((Sha1, &"1".repeat(40))));
        check_pattern(
            "[user-account:account_type = 'twitter' and user-account:account_login = 'Example']",
            Some((Account, "x:example")),
        );
        check_pattern("[user-account:account_login = '@Example_User']", Some((Handle, "example_user")));
        check_pattern("[x-vigil-hashtag:value = 'Example_Tag']", Some((Hashtag, "example_tag")));
        check_pattern("[hashtag:value = 'example_tag']", Some((Hashtag, "example_tag")));
        check_pattern("[x-vigil-phone-number:value = '+44 20 7946 0018']", Some((Phone, "+442079460018")));
        check_pattern(
            "[x-vigil-wallet:currency = 'BTC' AND x-vigil-wallet:value = '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2']",
            Some((Btc, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")),
        );
        check_pattern(
            "[cryptocurrency-wallet:value = '0x52908400098527886e0f7030069857d2e4169ee7']",
            Some((Eth, "0x52908400098527886e0f7030069857d2e4169ee7")),
        );
        check_pattern(r"[url:value = 'https://example.org/it\'s']", Some((Url, "https://example.org/it's")));
        // Patterns of more than one value, or not of equality, are not read.
        check_pattern("[url:value = 'https://example.org/' OR url:value = 'https://example.net/']", None);
        check_pattern("[url:value = 'https://example.org/'] AND [url:value = 'https://example.net/']", None);
        check_pattern("[url:value LIKE 'https://example.org/%']", None);
        check_pattern("[url:value = 'https://example.org/' AND domain-name:value = 'example.org']", None);
        check_pattern("[ipv4-addr:value = '198.51.100.0/24']", None);
        check_pattern("[url:value = 'https://example.org/'] WITHIN 5 SECONDS", None);
        check_pattern("[url:value = 'unterminated]", None);
        check_pattern("[process:pid = '4']", None);
        check_pattern("[x-vigil-wallet:currency = 'DOGE' AND x-vigil-wallet:value = 'x']", None);
        check_pattern("[url:value = 'https://example.org/' ANDurl:value = 'x']", None);
    }

    #[test]
    fn every_kind_has_a_pattern_that_reads_back() {
        for key in key_set() {
            check_pattern(&pattern_of_key(&key), Some((key.kind, &key.value)));
        }
    }

    /// Ids computed by the OASIS reference library (python `stix2` 3.0.2,
    /// `stix2.IPv4Address(value=...).id` and so on). Not the ids in the
    /// specification's examples: those were not made by its own algorithm
    /// (its `ipv4-addr--ff26c055-...` for 198.51.100.3 is no UUIDv5 of
    /// `{"value":"198.51.100.3"}`).
    #[test]
    fn observable_ids_are_those_the_specification_defines() {
        let check = |object: Value, expected: &str| {
            let Value::Object(object) = object else { unreachable!() };
            assert_eq!(observable_id(&object), expected);
        };
        check(json!({"type": "ipv4-addr", "value": "198.51.100.3"}), "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4");
        check(
            json!({"type": "url", "value": "https://example.com/research/index.html"}),
            "url--47c3cf9a-5027-5bf0-997a-017c7edc7c55",
        );
        check(
            json!({"type": "domain-name", "value": "example.com"}),
            "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
        );
        check(
            json!({"type": "email-addr", "value": "john@example.com"}),
            "email-addr--7165e2a9-671f-585d-b1e1-ca59c671d934",
        );
        check(
            json!({"type": "user-account", "account_type": "twitter", "account_login": "example_user", "user_id": "1234", "display_name": "not an id property"}),
            "user-account--404e150d-c2be-5955-9f8c-965be12d9c27",
        );
        check(
            json!({"type": "user-account", "account_login": "example_user"}),
            "user-account--a58e92dc-9729-55b4-9bfd-406050aa4597",
        );
        check(
            json!({"type": "file", "hashes": {"SHA-256": "a".repeat(64)}}),
            "file--75cb38d5-2055-5354-b75a-8299a2d670b5",
        );
        check(
            json!({"type": "file", "hashes": {"SHA-256": "a".repeat(64), "MD5": "b".repeat(32)}}),
            "file--aba4f1e7-e3b9-59a9-a722-60a6ada7a8ec",
        );
        check(
            json!({"type": "artifact", "mime_type": "text/plain", "payload_bin": "SGVsbG8=",
                   "hashes": {"SHA-256": "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969"}}),
            "artifact--254246e5-1c5a-54fb-9ff4-3473c09661d3",
        );
        // Non-ASCII text as it is, a quote and a control character escaped.
        check(
            json!({"type": "url", "value": "https://example.org/\u{645}\u{631}\u{62d}\u{628}\u{627}\"x\n"}),
            "url--3221ed29-39c4-56ad-bada-9a58b25c229e",
        );
    }

    #[test]
    fn canonical_json_sorts_keys_and_escapes_minimally() {
        let mut out = String::new();
        canonical_json(
            &json!({"b": [1, "\u{1f}é"], "a": {"z": null, "y": true}, "\u{e000}": 0, "\u{1f600}": 1}),
            &mut out,
        );
        // U+1F600 is a surrogate pair in UTF-16, so it sorts before U+E000.
        assert_eq!(out, "{\"a\":{\"y\":true,\"z\":null},\"b\":[1,\"\\u001fé\"],\"\u{1f600}\":1,\"\u{e000}\":0}");
    }

    #[test]
    fn a_bundle_reads_back_to_its_indicators_accounts_and_markings() {
        let set = every_kind_set();
        let bundle = to_stix(&set);
        let import = from_stix(&bundle.to_string()).unwrap();
        assert_eq!(import.source, bundle["id"].as_str().unwrap());
        assert_eq!(import.title, set.title);
        assert_eq!(import.tlp, Some(set.tlp));
        for indicator in &set.indicators {
            let key = IndicatorKey { kind: indicator.record.kind, value: indicator.record.value.clone() };
            let imported = import.indicators.iter().find(|i| i.record.key == key);
            let imported = imported.unwrap_or_else(|| panic!("{key:?} did not come back"));
            assert_eq!(imported.tlp, Some(indicator.tlp), "{key:?}");
            assert_eq!(imported.record.first_seen, Some(indicator.record.first_seen), "{key:?}");
            assert_eq!(imported.record.last_seen, Some(indicator.record.last_seen), "{key:?}");
            assert!(imported.source_id.starts_with("indicator--"));
            let sighting = import.sightings.iter().find(|s| s.record.indicator == key).unwrap();
            assert_eq!(sighting.record.count, indicator.record.sighting_count);
            assert_eq!(sighting.record.seen_at, indicator.record.last_seen);
            assert_eq!(sighting.tlp, Some(indicator.tlp));
        }
        for account in &set.accounts {
            let record = &account.record;
            let found = import.accounts.iter().find(|a| {
                a.record.platform == record.platform
                    && a.record.handle == record.handle
                    && a.record.platform_account_id == record.platform_account_id
            });
            assert_eq!(found.map(|a| a.tlp), Some(Some(account.tlp)), "{record:?}");
        }
        // Every excerpt's artifact, observed data and note is skipped, and
        // nothing else.
        assert_eq!(import.skipped, 3 * set.excerpts.len() as u64);
    }

    #[test]
    fn the_same_set_gives_the_same_bundle() {
        let set = every_kind_set();
        assert_eq!(to_stix(&set), to_stix(&set));
        let mut later = set.clone();
        later.created_at += 3600;
        let (first, second) = (to_stix(&set), to_stix(&later));
        let ids = |bundle: &Value| -> Vec<String> {
            bundle["objects"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(ids(&first), ids(&second), "a later read of the same records keeps every object's id");
        assert_ne!(first["id"], second["id"]);
    }

    #[test]
    fn every_object_is_marked_and_every_reference_resolves() {
        let bundle = to_stix(&every_kind_set());
        let objects = bundle["objects"].as_array().unwrap();
        let ids: HashSet<&str> = objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), objects.len(), "duplicate ids");
        for object in objects {
            let object_type = object["type"].as_str().unwrap();
            if object_type != "marking-definition" {
                let refs = object["object_marking_refs"].as_array().unwrap_or_else(|| panic!("{object}"));
                assert!(refs.iter().all(|r| ids.contains(r.as_str().unwrap())), "{object}");
            }
            for (name, value) in object.as_object().unwrap() {
                let refs: Vec<&Value> = match value {
                    Value::Array(items) if name.ends_with("_refs") => items.iter().collect(),
                    value if name.ends_with("_ref") => vec![value],
                    _ => continue,
                };
                for reference in refs {
                    assert!(ids.contains(reference.as_str().unwrap()), "{name} of {} is {reference}", object["id"]);
                }
            }
        }
        let tlps: Vec<&str> =
            objects.iter().filter(|o| o["type"] == "marking-definition").map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(tlps, ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT"]);
    }

    #[test]
    fn an_excerpt_carries_its_text_span_and_hashes() {
        let set = every_kind_set();
        let bundle = to_stix(&set);
        let objects = bundle["objects"].as_array().unwrap();
        let excerpt = &set.excerpts[0].record;
        let note = objects.iter().find(|o| o["type"] == "note" && o["content"] == excerpt.text.as_str()).unwrap();
        let provenance = &note["extensions"][VigilExtension::Excerpt.id()];
        assert_eq!(provenance["text_sha256"], excerpt.text_sha256.as_str());
        assert_eq!(provenance["document_sha256"], excerpt.document.text_sha256.as_str());
        assert_eq!(provenance["span_start"], excerpt.span.unwrap().start);
        assert_eq!(provenance["span_end"], excerpt.span.unwrap().end);
        let observed = objects.iter().find(|o| o["id"] == note["object_refs"][0]).unwrap();
        let artifact = objects.iter().find(|o| o["id"] == observed["object_refs"][0]).unwrap();
        let text = base64::engine::general_purpose::STANDARD.decode(artifact["payload_bin"].as_str().unwrap()).unwrap();
        assert_eq!(text, excerpt.document_text.as_bytes());
        assert_eq!(artifact["hashes"]["SHA-256"], excerpt.document.text_sha256.as_str());
    }

    fn check_error(json: &str, expected: &str) {
        assert_eq!(from_stix(json).map(|_| ()).unwrap_err().to_string(), expected, "{json}");
    }

    #[test]
    fn malformed_bundles_are_refused_naming_what_is_wrong() {
        check_error("{", "stix bundle: is not JSON: EOF while parsing an object at line 1 column 1");
        check_error("[]", "stix bundle: is not a JSON object");
        check_error(r#"{"type": "indicator"}"#, "stix bundle: type is \"indicator\", not \"bundle\"");
        check_error(r#"{"type": "bundle", "id": "x"}"#, "stix bundle: id: is not a bundle id (bundle--UUID)");
        let id = "bundle--44af6c39-c09b-49c5-9de2-394224b04982";
        check_error(
            &format!(r#"{{"type": "bundle", "id": "{id}", "objects": {{}}}}"#),
            "stix bundle: objects: is not an array",
        );
        check_error(
            &format!(r#"{{"type": "bundle", "id": "{id}", "objects": [1]}}"#),
            "stix bundle: objects[0]: is not an object",
        );
        check_error(
            &format!(r#"{{"type": "bundle", "id": "{id}", "objects": [{{"type": "indicator", "id": "url--x"}}]}}"#),
            "stix bundle: objects[0].id: does not start with \"indicator--\"",
        );
        let indicator = r#"{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f""#;
        check_error(
            &format!(
                r#"{{"type": "bundle", "id": "{id}", "objects": [{{"type": "identity", "id": "identity--1"}}, {indicator}, "pattern": 4}}]}}"#
            ),
            "stix bundle: objects[1].pattern: is not a string",
        );
        check_error(
            &format!(
                r#"{{"type": "bundle", "id": "{id}", "objects": [{indicator}, "pattern": "[url:value = 'https://example.org/']", "valid_from": "yesterday"}}]}}"#
            ),
            "stix bundle: objects[0].valid_from: is not an RFC 3339 timestamp",
        );
        // The limit is checked before any object is read.
        let many = format!(r#"{{"type": "bundle", "id": "{id}", "objects": [{}0]}}"#, "0,".repeat(MAX_STIX_OBJECTS));
        check_error(&many, "stix bundle: objects: 1000001 objects, over the 1000000-object limit");
    }

    #[test]
    fn values_that_do_not_normalize_and_unknown_types_are_skipped() {
        let bundle = json!({
            "type": "bundle",
            "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982",
            "objects": [
                {"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "pattern_type": "stix",
                 "pattern": "[domain-name:value = 'not a domain']", "valid_from": "2024-05-01T12:00:00Z"},
                {"type": "indicator", "id": "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "pattern_type": "yara",
                 "pattern": "rule x { condition: true }", "valid_from": "2024-05-01T12:00:00Z"},
                {"type": "malware", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                {"type": "x-other-thing", "id": "x-other-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                {"type": "domain-name", "id": "domain-name--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "value": "Example.NET",
                 "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]},
                {"type": "marking-definition", "id": "marking-definition--11111111-2222-4333-8444-555555555555",
                 "definition_type": "tlp", "definition": {"tlp": "green"}},
                {"type": "url", "id": "url--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "value": "https://example.net/",
                 "object_marking_refs": ["marking-definition--11111111-2222-4333-8444-555555555555"]},
                {"type": "user-account", "id": "user-account--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                 "account_type": "Twitter", "account_login": "@Example", "user_id": "12345"},
            ],
        });
        let import = from_stix(&bundle.to_string()).unwrap();
        assert_eq!(import.skipped, 4);
        let keys: Vec<(IndicatorKind, &str, Option<Tlp>)> =
            import.indicators.iter().map(|i| (i.record.key.kind, i.record.key.value.as_str(), i.tlp)).collect();
        assert_eq!(
            keys,
            [
                (IndicatorKind::Domain, "example.net", Some(Tlp::Amber)),
                (IndicatorKind::Url, "https://example.net/", Some(Tlp::Green))
            ]
        );
        assert_eq!(
            import.accounts.iter().map(|a| a.record.clone()).collect::<Vec<_>>(),
            [ImportedAccount {
                platform: "x".to_owned(),
                handle: Some("example".to_owned()),
                platform_account_id: Some("12345".to_owned())
            }]
        );
        assert_eq!(import.tlp, Some(Tlp::Amber));
    }
}
