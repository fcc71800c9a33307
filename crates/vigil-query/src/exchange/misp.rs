//! MISP: an export set out as an event (`{"Event": {...}}`, the form MISP
//! exports, feeds carry and PyMISP loads), and events and feed manifests in.
//!
//! Indicators are attributes of MISP's own types where MISP has one (`url`,
//! `domain`, `email`, `ip-dst`, `md5`, `sha1`, `sha256`, `btc`, `xmr`,
//! `phone-number`), so a recipient's MISP correlates them with what it
//! knows. Ethereum and Tron wallets, which have no attribute type, are
//! `coin-address` objects (`address-crypto` and `symbol`), the template MISP
//! has for them. Hashtags, handles and `platform:handle` accounts have
//! neither: they are `text` attributes in `Social network`, with the
//! machine tag `vigil:kind="hashtag"` (and so on) that says which, and a
//! comment that says it to a person.
//!
//! Accounts are objects of the platform's template where MISP has one
//! (`telegram-account`, `twitter-account`, `facebook-account`,
//! `instagram-account`, `youtube-channel`), `user-account` otherwise. An
//! excerpt is an `annotation` object (the excerpt's text, its span and
//! SHA-256 in the comments) that annotates a `file` object holding the
//! document's whole text as an attachment with its SHA-256, so that a
//! recipient can check one against the other. Every attribute carries its
//! own `tlp:` tag.
//!
//! Distribution follows the marking: TLP:CLEAR is "all communities" (3);
//! TLP:GREEN "this community only" (1), the recipient's community and not
//! the instances it syncs with, as GREEN does not go beyond the community;
//! TLP:AMBER and AMBER+STRICT "your organisation only" (0), the recipient's
//! organisation, which is where AMBER stops. An attribute marked like its
//! event inherits the event's distribution (5).

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::Engine;
use serde_json::{Map, Value, json};
use vigil_extract::IndicatorKind;
use vigil_store::{AccountRecord, IndicatorKey, Tlp, UnixSeconds};

use super::rfc3339::{format_date, format_misp, parse};
use super::{
    ExchangeError, ExportSet, ExportSubject, ImportSet, Imported, ImportedAccount, ImportedIndicator, ImportedSighting,
    counted, imported_account, indicator_key, members, strictest, tlp_of_name, vigil_uuid, wallet_currency,
    wallet_of_currency,
};

/// The most attributes (of the event and its objects together) and feed
/// entries vigil reads from one MISP file.
pub const MAX_MISP_ATTRIBUTES: usize = 1_000_000;

/// A set as a MISP event. The same set gives the same event.
pub fn to_misp(set: &ExportSet) -> Value {
    EventWriter::new(set).write()
}

/// What a MISP event holds that vigil keeps: indicators from attributes
/// and object attributes, accounts from account objects, and sightings,
/// each with its marking (its own `tlp:` tag, else the event's).
pub fn from_misp_event(json: &str) -> Result<ImportSet, ExchangeError> {
    let value: Value =
        serde_json::from_str(json).map_err(|error| ExchangeError::Misp(format!("is not JSON: {error}")))?;
    from_misp_event_value(&value)
}

/// [`from_misp_event`] on JSON already parsed, for a caller that looked
/// inside to tell the format.
pub fn from_misp_event_value(event: &Value) -> Result<ImportSet, ExchangeError> {
    EventReader::read(event)
}

/// The uuids of the events a MISP feed's `manifest.json` lists, sorted;
/// each is the name of a `<uuid>.json` beside it. A key that is not a uuid
/// is refused, as the caller makes a file name of it.
pub fn from_misp_feed_manifest(json: &str) -> Result<Vec<String>, ExchangeError> {
    let error = |message: String| ExchangeError::MispFeed(message);
    let value: Value = serde_json::from_str(json).map_err(|e| error(format!("is not JSON: {e}")))?;
    let manifest = value.as_object().ok_or_else(|| error("is not a JSON object of events by uuid".to_owned()))?;
    if manifest.len() > MAX_MISP_ATTRIBUTES {
        return Err(error(format!("{} events, over the {MAX_MISP_ATTRIBUTES}-event limit", manifest.len())));
    }
    let mut uuids = Vec::with_capacity(manifest.len());
    for (key, entry) in manifest {
        if !is_uuid(key) {
            return Err(error(format!("key {key:?} is not an event uuid")));
        }
        if !entry.is_object() {
            return Err(error(format!("{key}: is not an object")));
        }
        uuids.push(key.clone());
    }
    uuids.sort();
    Ok(uuids)
}

/// A MISP object template, as the template in misp-objects defines it.
#[derive(Clone, Copy, Debug)]
struct Template {
    name: &'static str,
    meta_category: &'static str,
    description: &'static str,
    uuid: &'static str,
    version: u32,
}

const TELEGRAM_ACCOUNT: Template = Template {
    name: "telegram-account",
    meta_category: "misc",
    description: "Information related to a telegram account",
    uuid: "06f02ecf-5afb-42c5-9cb0-b362e222f52c",
    version: 2,
};
const TWITTER_ACCOUNT: Template = Template {
    name: "twitter-account",
    meta_category: "misc",
    description: "Twitter account.",
    uuid: "8066563f-881e-4f6a-9d6c-a9d15b8658bb",
    version: 7,
};
const FACEBOOK_ACCOUNT: Template = Template {
    name: "facebook-account",
    meta_category: "misc",
    description: "Facebook account.",
    uuid: "b9862b95-7d78-4938-a2b5-13e45c60f25a",
    version: 1,
};
const INSTAGRAM_ACCOUNT: Template = Template {
    name: "instagram-account",
    meta_category: "misc",
    description: "Instagram account.",
    uuid: "656ced16-23f3-4322-925d-c9c961684999",
    version: 1,
};
const YOUTUBE_CHANNEL: Template = Template {
    name: "youtube-channel",
    meta_category: "misc",
    description: "A YouTube channel.",
    uuid: "cb9f492b-9930-4388-98e1-5d0cdcfa51df",
    version: 1,
};
const USER_ACCOUNT: Template = Template {
    name: "user-account",
    meta_category: "misc",
    description: "User-account object, defining aspects of user identification, authentication, privileges and \
                  other relevant data points.",
    uuid: "49606b06-22f0-4ac8-8eee-2f12ad46f3d3",
    version: 6,
};
const COIN_ADDRESS: Template = Template {
    name: "coin-address",
    meta_category: "financial",
    description: "An address used in a cryptocurrency",
    uuid: "d0e6997e-78da-4815-a6a1-cfc1c1cb8a46",
    version: 7,
};
const ANNOTATION: Template = Template {
    name: "annotation",
    meta_category: "misc",
    description: "An annotation object allowing analysts to add annotations, comments, executive summary to a MISP \
                  event, objects or attributes.",
    uuid: "5d8dc046-15a1-4ca3-a09f-ed4ede7c4487",
    version: 3,
};
const FILE: Template = Template {
    name: "file",
    meta_category: "file",
    description: "File object describing a file with meta-information",
    uuid: "688c46fb-5edb-40a3-8273-1af7923e2215",
    version: 25,
};

/// The relations of an account template that hold the handle, the
/// platform's id and the display name.
#[derive(Clone, Copy, Debug)]
struct AccountRelations {
    template: Template,
    platform: Option<&'static str>,
    handle: &'static str,
    id: &'static str,
    display_name: Option<&'static str>,
}

const ACCOUNT_TEMPLATES: [AccountRelations; 6] = [
    AccountRelations {
        template: TELEGRAM_ACCOUNT,
        platform: Some("telegram"),
        handle: "username",
        id: "id",
        display_name: None,
    },
    AccountRelations {
        template: TWITTER_ACCOUNT,
        platform: Some("x"),
        handle: "name",
        id: "id",
        display_name: Some("displayed-name"),
    },
    AccountRelations {
        template: FACEBOOK_ACCOUNT,
        platform: Some("facebook"),
        handle: "account-name",
        id: "account-id",
        display_name: None,
    },
    AccountRelations {
        template: INSTAGRAM_ACCOUNT,
        platform: Some("instagram"),
        handle: "account-name",
        id: "account-id",
        display_name: None,
    },
    AccountRelations {
        template: YOUTUBE_CHANNEL,
        platform: Some("youtube"),
        handle: "channel-name",
        id: "channel-id",
        display_name: None,
    },
    // Any other platform, named by `account-type`.
    AccountRelations {
        template: USER_ACCOUNT,
        platform: None,
        handle: "username",
        id: "user-id",
        display_name: Some("display-name"),
    },
];

/// How an indicator kind is an attribute: MISP type, category, and whether
/// it is for detection. `None` for kinds that are objects.
fn attribute_type(kind: IndicatorKind) -> Option<(&'static str, &'static str, bool)> {
    Some(match kind {
        IndicatorKind::Url => ("url", "Network activity", true),
        IndicatorKind::Domain => ("domain", "Network activity", true),
        IndicatorKind::Email => ("email", "Social network", true),
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => ("ip-dst", "Network activity", true),
        IndicatorKind::Md5 => ("md5", "Payload delivery", true),
        IndicatorKind::Sha1 => ("sha1", "Payload delivery", true),
        IndicatorKind::Sha256 => ("sha256", "Payload delivery", true),
        IndicatorKind::Btc => ("btc", "Financial fraud", true),
        IndicatorKind::Xmr => ("xmr", "Financial fraud", true),
        IndicatorKind::Phone => ("phone-number", "Person", false),
        IndicatorKind::Hashtag | IndicatorKind::Handle | IndicatorKind::Account => ("text", "Social network", false),
        IndicatorKind::Eth | IndicatorKind::Trx => return None,
    })
}

/// The kinds a MISP attribute type can hold, tried in order (an `ip-dst`
/// is an IPv4 or an IPv6 address).
fn kinds_of_attribute_type(misp_type: &str) -> &'static [IndicatorKind] {
    use IndicatorKind::*;
    match misp_type {
        "url" => &[Url],
        "domain" | "hostname" | "domain|ip" | "hostname|port" => &[Domain],
        "email" | "email-src" | "email-dst" | "email-reply-to" | "whois-registrant-email" | "target-email" => &[Email],
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => &[Ipv4, Ipv6],
        "md5" | "filename|md5" => &[Md5],
        "sha1" | "filename|sha1" => &[Sha1],
        "sha256" | "filename|sha256" => &[Sha256],
        "btc" => &[Btc],
        "xmr" => &[Xmr],
        "phone-number" | "whois-registrant-phone" => &[Phone],
        _ => &[],
    }
}

/// The part of a composite value (`filename|sha256`, `ip-dst|port`,
/// `domain|ip`) that is the indicator.
fn indicator_part<'v>(misp_type: &str, value: &'v str) -> &'v str {
    match misp_type.split_once('|') {
        Some(("filename", _)) => value.rsplit_once('|').map_or(value, |(_, hash)| hash),
        Some(_) => value.split_once('|').map_or(value, |(first, _)| first),
        None => value,
    }
}

fn kind_tag(kind: IndicatorKind) -> String {
    format!("vigil:kind=\"{kind}\"")
}

fn kind_of_tag(tag: &str) -> Option<IndicatorKind> {
    let name = tag.strip_prefix("vigil:kind=\"")?.strip_suffix('"')?;
    IndicatorKind::from_name(name)
}

fn tlp_tag(tlp: Tlp) -> Value {
    json!({ "name": format!("tlp:{}", tlp.as_str()) })
}

/// The MISP distribution of a marking (see the module's documentation).
fn distribution(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 3,
        Tlp::Green => 1,
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => 0,
    }
}

fn threat_level(subject: &ExportSubject) -> u8 {
    match subject {
        ExportSubject::Referral { priority, .. } => match priority.as_str() {
            "urgent" => 1,
            "high" => 2,
            "routine" => 3,
            _ => 4,
        },
        ExportSubject::Actor { .. } | ExportSubject::Indicators => 4,
    }
}

fn is_youtube_channel_id(handle: &str) -> bool {
    handle.len() == 24 && handle.starts_with("UC")
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(at, b)| match at {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An attribute as the event writer gathers it: one per indicator key,
/// whatever records name it.
#[derive(Debug)]
struct PendingAttribute {
    key: IndicatorKey,
    tlp: Tlp,
    first_seen: Option<UnixSeconds>,
    last_seen: Option<UnixSeconds>,
    notes: Vec<String>,
}

struct EventWriter<'s> {
    set: &'s ExportSet,
    timestamp: String,
    attributes: Vec<PendingAttribute>,
    attribute_index: HashMap<IndicatorKey, usize>,
    objects: Vec<Value>,
    account_objects: HashMap<i64, String>,
}

impl<'s> EventWriter<'s> {
    fn new(set: &'s ExportSet) -> EventWriter<'s> {
        EventWriter {
            set,
            timestamp: set.created_at.to_string(),
            attributes: Vec::new(),
            attribute_index: HashMap::new(),
            objects: Vec::new(),
            account_objects: HashMap::new(),
        }
    }

    fn uuid(&self, what: &str, key: &[&str]) -> String {
        let mut parts = vec!["misp", what, self.set.producer.as_str()];
        parts.extend_from_slice(key);
        vigil_uuid(&parts).to_string()
    }

    /// An attribute's distribution: the event's when marked like it.
    fn distribution_of(&self, tlp: Tlp) -> String {
        if tlp == self.set.tlp { "5".to_owned() } else { distribution(tlp).to_string() }
    }

    fn attribute_uuid(&self, key: &IndicatorKey) -> String {
        self.uuid("attribute", &[key.kind.as_str(), &key.value])
    }

    fn gather(&mut self, key: &IndicatorKey, tlp: Tlp, seen: Option<(UnixSeconds, UnixSeconds)>, note: String) {
        let at = *self.attribute_index.entry(key.clone()).or_insert_with(|| {
            self.attributes.push(PendingAttribute {
                key: key.clone(),
                tlp,
                first_seen: None,
                last_seen: None,
                notes: Vec::new(),
            });
            self.attributes.len() - 1
        });
        let attribute = &mut self.attributes[at];
        attribute.tlp = attribute.tlp.stricter(tlp);
        if let Some((first, last)) = seen {
            attribute.first_seen = Some(attribute.first_seen.map_or(first, |seen| seen.min(first)));
            attribute.last_seen = Some(attribute.last_seen.map_or(last, |seen| seen.max(last)));
        }
        attribute.notes.push(note);
    }

    /// An attribute of the object `owner`, whose relations are unique in it.
    fn object_attribute(
        &self,
        owner: &str,
        relation: &str,
        misp_type: &str,
        category: &str,
        value: &str,
        tlp: Tlp,
    ) -> Value {
        json!({
            "uuid": vigil_uuid(&["misp", "object-attribute", owner, relation]).to_string(),
            "object_relation": relation,
            "type": misp_type,
            "category": category,
            "value": value,
            "to_ids": false,
            "distribution": "5",
            "timestamp": self.timestamp,
            "Tag": [tlp_tag(tlp)],
        })
    }

    fn object(
        &self,
        template: Template,
        uuid: String,
        tlp: Tlp,
        comment: &str,
        attributes: Vec<Value>,
    ) -> Map<String, Value> {
        members(json!({
            "uuid": uuid,
            "name": template.name,
            "meta-category": template.meta_category,
            "description": template.description,
            "template_uuid": template.uuid,
            "template_version": template.version.to_string(),
            "distribution": self.distribution_of(tlp),
            "timestamp": self.timestamp,
            "comment": comment,
            "Attribute": attributes,
        }))
    }

    fn add_account(&mut self, account: &AccountRecord, tlp: Tlp) -> String {
        if let Some(uuid) = self.account_objects.get(&account.id) {
            return uuid.clone();
        }
        let relations = ACCOUNT_TEMPLATES
            .iter()
            .find(|relations| relations.platform == Some(account.platform.as_str()))
            .unwrap_or(&ACCOUNT_TEMPLATES[ACCOUNT_TEMPLATES.len() - 1]);
        let uuid = self.uuid("account", &[&account.id.to_string()]);
        let attribute =
            |relation: &str, value: &str| self.object_attribute(&uuid, relation, "text", "Social network", value, tlp);
        let mut handle = account.handle.as_deref();
        let mut id = account.platform_account_id.as_deref();
        // vigil keeps the channel id of a YouTube channel known by nothing
        // else as its handle; the template has room for one channel id.
        if relations.template.name == YOUTUBE_CHANNEL.name && handle.is_some_and(is_youtube_channel_id) {
            (handle, id) = (None, handle);
        }
        let mut attributes = Vec::new();
        attributes.extend(handle.map(|handle| attribute(relations.handle, handle)));
        attributes.extend(id.map(|id| attribute(relations.id, id)));
        if relations.platform.is_none() {
            attributes.push(attribute("account-type", &account.platform));
        }
        if let (Some(relation), Some(name)) = (relations.display_name, &account.display_name) {
            attributes.push(attribute(relation, name));
        }
        let comment = format!(
            "{} account, {} since {}; in {}",
            account.platform,
            account.status.as_str(),
            format_date(account.status_changed_at),
            counted(account.document_count, "document")
        );
        let mut object = self.object(relations.template, uuid.clone(), tlp, &comment, attributes);
        object.insert("first_seen".to_owned(), json!(format_misp(account.first_seen)));
        object.insert("last_seen".to_owned(), json!(format_misp(account.last_seen.max(account.first_seen))));
        self.objects.push(Value::Object(object));
        self.account_objects.insert(account.id, uuid.clone());
        uuid
    }

    fn write(mut self) -> Value {
        let set = self.set;
        for account in &set.accounts {
            self.add_account(&account.record, account.tlp);
        }
        for indicator in &set.indicators {
            let record = &indicator.record;
            let key = IndicatorKey { kind: record.kind, value: record.value.clone() };
            let last_seen = record.last_seen.max(record.first_seen);
            let note = format!("vigil {}, seen in {}", record.kind, counted(record.sighting_count, "document"));
            self.gather(&key, indicator.tlp, Some((record.first_seen, last_seen)), note);
        }
        for site in &set.sites {
            let record = &site.record;
            let note = format!(
                "site {} since {}, {}",
                record.status.as_str(),
                format_date(record.status_changed_at),
                counted(record.takedown_requests.into(), "takedown request")
            );
            self.gather(
                &record.key,
                site.tlp,
                Some((record.first_seen, record.first_seen.max(record.status_changed_at))),
                note,
            );
        }

        let mut documents_written = HashSet::new();
        let mut excerpts_seen = HashSet::new();
        let mut annotations = Vec::new();
        for excerpt in &set.excerpts {
            let (tlp, excerpt) = (excerpt.tlp, &excerpt.record);
            let document = &excerpt.document;
            // The same part of a document twice is one excerpt.
            if !excerpts_seen.insert((document.id, excerpt.span)) {
                continue;
            }
            let document_id = document.id.to_string();
            let document_uuid = self.uuid("document", &[&document_id]);
            if documents_written.insert(document.id) && !excerpt.document_text.is_empty() {
                let file_name = format!("{}-{}.txt", document.kind.as_str(), document.id);
                let owner = document_uuid.as_str();
                let mut attachment =
                    self.object_attribute(owner, "attachment", "attachment", "External analysis", &file_name, tlp);
                attachment["data"] = json!(base64::engine::general_purpose::STANDARD.encode(&excerpt.document_text));
                let attributes = vec![
                    self.object_attribute(owner, "filename", "filename", "External analysis", &file_name, tlp),
                    self.object_attribute(owner, "sha256", "sha256", "External analysis", &document.text_sha256, tlp),
                    self.object_attribute(owner, "mimetype", "mime-type", "Payload delivery", "text/plain", tlp),
                    self.object_attribute(
                        owner,
                        "size-in-bytes",
                        "size-in-bytes",
                        "Other",
                        &excerpt.document_text.len().to_string(),
                        tlp,
                    ),
                    attachment,
                ];
                let comment =
                    format!("The whole text of {} {}, as vigil received it", document.kind.as_str(), document.id);
                let object = self.object(FILE, document_uuid.clone(), tlp, &comment, attributes);
                self.objects.push(Value::Object(object));
            }
            let author = excerpt.author.as_ref().map(|author| self.add_account(author, tlp));
            let place = match excerpt.span {
                Some(span) => {
                    format!("bytes {} to {} of {} {}", span.start, span.end, document.kind.as_str(), document.id)
                }
                None => format!("the whole text of {} {}", document.kind.as_str(), document.id),
            };
            let span_key: Vec<String> =
                excerpt.span.iter().flat_map(|s| [s.start.to_string(), s.end.to_string()]).collect();
            let mut key = vec![document_id.as_str()];
            key.extend(span_key.iter().map(String::as_str));
            let uuid = self.uuid("excerpt", &key);
            let mut text = self.object_attribute(&uuid, "text", "text", "Other", &excerpt.text, tlp);
            text["comment"] = json!(format!("{place}; SHA-256 {}", excerpt.text_sha256));
            let observed_at = format_misp(document.observed_at);
            let mut attributes = vec![
                text,
                self.object_attribute(&uuid, "format", "text", "Other", "text", tlp),
                self.object_attribute(&uuid, "creation-date", "datetime", "Other", &observed_at, tlp),
            ];
            if let Some(url) = &document.url {
                attributes.push(self.object_attribute(&uuid, "ref", "link", "External analysis", url, tlp));
            }
            let comment = format!(
                "Excerpt: {place}; excerpt SHA-256 {}; document SHA-256 {}",
                excerpt.text_sha256, document.text_sha256
            );
            let mut object = self.object(ANNOTATION, uuid.clone(), tlp, &comment, attributes);
            let mut references = Vec::new();
            let mut reference = |target: String, relationship: &str| {
                references.push(json!({
                    "uuid": vigil_uuid(&["misp", "reference", &uuid, &target, relationship]).to_string(),
                    "object_uuid": uuid,
                    "referenced_uuid": target,
                    "relationship_type": relationship,
                    "timestamp": self.timestamp,
                }));
            };
            if documents_written.contains(&document.id) && !excerpt.document_text.is_empty() {
                reference(document_uuid, "annotates");
            }
            if let Some(author) = author {
                reference(author, "authored-by");
            }
            for indicator in &excerpt.indicators {
                if self.attribute_index.contains_key(indicator) {
                    reference(self.attribute_uuid(indicator), "mentions");
                }
            }
            object.insert("ObjectReference".to_owned(), json!(references));
            annotations.push(Value::Object(object));
        }

        let mut attributes = Vec::new();
        for pending in std::mem::take(&mut self.attributes) {
            let uuid = self.attribute_uuid(&pending.key);
            let Some((misp_type, category, to_ids)) = attribute_type(pending.key.kind) else {
                self.add_coin_address(&pending, uuid);
                continue;
            };
            let mut tags = vec![tlp_tag(pending.tlp)];
            if misp_type == "text" {
                tags.push(json!({ "name": kind_tag(pending.key.kind) }));
            }
            let mut attribute = json!({
                "uuid": uuid,
                "type": misp_type,
                "category": category,
                "value": pending.key.value,
                "to_ids": to_ids,
                "distribution": self.distribution_of(pending.tlp),
                "timestamp": self.timestamp,
                "comment": pending.notes.join("; "),
                "Tag": tags,
            });
            if let (Some(first), Some(last)) = (pending.first_seen, pending.last_seen) {
                attribute["first_seen"] = json!(format_misp(first));
                attribute["last_seen"] = json!(format_misp(last));
            }
            attributes.push(attribute);
        }
        self.objects.extend(annotations);

        let mut event = json!({
            "uuid": self.uuid("event", &[&set.subject_key()]),
            "info": set.title,
            "date": format_date(set.created_at),
            "timestamp": self.timestamp,
            "published": false,
            "threat_level_id": threat_level(&set.subject).to_string(),
            "analysis": "2",
            "distribution": distribution(set.tlp).to_string(),
            "Orgc": { "name": set.producer, "uuid": self.uuid("organisation", &[]) },
            "Tag": [tlp_tag(set.tlp)],
            "Attribute": attributes,
            "Object": self.objects,
        });
        if !set.description.is_empty() {
            event["EventReport"] = json!([{
                "uuid": self.uuid("report", &[&set.subject_key()]),
                "name": "Reason",
                "content": set.description,
                "distribution": "5",
                "timestamp": self.timestamp,
            }]);
        }
        json!({ "Event": event })
    }

    /// A wallet MISP has no attribute type for, as a `coin-address`.
    fn add_coin_address(&mut self, pending: &PendingAttribute, uuid: String) {
        let symbol = wallet_currency(pending.key.kind).unwrap_or_default();
        let object_uuid = self.uuid("coin-address", &[pending.key.kind.as_str(), &pending.key.value]);
        let (value, tlp) = (&pending.key.value, pending.tlp);
        let mut address = self.object_attribute(&object_uuid, "address-crypto", "text", "Financial fraud", value, tlp);
        // The attribute's uuid is the indicator's, which excerpts refer to.
        address["uuid"] = json!(uuid);
        address["to_ids"] = json!(true);
        let symbol = self.object_attribute(&object_uuid, "symbol", "text", "Financial fraud", symbol, tlp);
        let mut object =
            self.object(COIN_ADDRESS, object_uuid, pending.tlp, &pending.notes.join("; "), vec![address, symbol]);
        if let (Some(first), Some(last)) = (pending.first_seen, pending.last_seen) {
            object.insert("first_seen".to_owned(), json!(format_misp(first)));
            object.insert("last_seen".to_owned(), json!(format_misp(last)));
        }
        self.objects.push(Value::Object(object));
    }
}

fn misp_error(message: impl Into<String>) -> ExchangeError {
    ExchangeError::Misp(message.into())
}

/// A JSON object of an event with the path to it, for errors that name it.
#[derive(Clone, Copy)]
struct Node<'e> {
    path: &'e str,
    members: &'e Map<String, Value>,
}

impl<'e> Node<'e> {
    fn error(&self, field: &str, reason: &str) -> ExchangeError {
        if self.path.is_empty() {
            misp_error(format!("{field}: {reason}"))
        } else {
            misp_error(format!("{}.{field}: {reason}", self.path))
        }
    }

    fn string(&self, field: &str) -> Result<Option<&'e str>, ExchangeError> {
        match self.members.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.error(field, "is not a string")),
        }
    }

    fn list(&self, field: &str) -> Result<&'e [Value], ExchangeError> {
        match self.members.get(field) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.error(field, "is not an array")),
        }
    }

    fn time(&self, field: &str) -> Result<Option<UnixSeconds>, ExchangeError> {
        match self.members.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => parse(text)
                .or_else(|| text.parse().ok())
                .map(Some)
                .ok_or_else(|| self.error(field, "is neither an RFC 3339 timestamp nor Unix seconds")),
            Some(Value::Number(number)) => {
                number.as_i64().map(Some).ok_or_else(|| self.error(field, "is not a whole number of seconds"))
            }
            Some(_) => Err(self.error(field, "is not a timestamp")),
        }
    }

    /// The names of the tags of this event or attribute.
    fn tags(&self) -> Result<Vec<&'e str>, ExchangeError> {
        let mut names = Vec::new();
        for (index, tag) in self.list("Tag")?.iter().enumerate() {
            let name = tag.get("name").and_then(Value::as_str);
            names.push(name.ok_or_else(|| self.error(&format!("Tag[{index}].name"), "is missing or not a string"))?);
        }
        Ok(names)
    }

    fn tlp(&self) -> Result<Option<Tlp>, ExchangeError> {
        let is_tlp = |name: &&str| name.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("tlp:"));
        Ok(strictest(self.tags()?.into_iter().filter(is_tlp).filter_map(tlp_of_name)))
    }
}

fn node<'e>(value: &'e Value, path: &'e str) -> Result<Node<'e>, ExchangeError> {
    let members = value.as_object().ok_or_else(|| misp_error(format!("{path}: is not an object")))?;
    Ok(Node { path, members })
}

#[derive(Default)]
struct EventReader {
    import: ImportSet,
    event_tlp: Option<Tlp>,
    seen_keys: HashSet<IndicatorKey>,
    seen_accounts: HashSet<ImportedAccount>,
    /// Sightings by attribute uuid: (count, latest).
    sightings: HashMap<String, (u64, UnixSeconds)>,
    /// The indicator of every attribute that has one, in the order they
    /// came, duplicates included: each may have its own sightings.
    attribute_keys: Vec<Imported<ImportedIndicator>>,
}

impl EventReader {
    fn read(value: &Value) -> Result<ImportSet, ExchangeError> {
        let top = value.as_object().ok_or_else(|| misp_error("is not a JSON object"))?;
        let event = match top.get("Event") {
            Some(event) => event.as_object().ok_or_else(|| misp_error("Event: is not an object"))?,
            None if top.contains_key("uuid") && top.contains_key("info") => top,
            None => return Err(misp_error("Event: is missing")),
        };
        let event = Node { path: "", members: event };
        let uuid =
            event.string("uuid")?.filter(|uuid| is_uuid(uuid)).ok_or_else(|| event.error("uuid", "is not a uuid"))?;
        let attributes = event.list("Attribute")?;
        let objects = event.list("Object")?;
        let mut total = attributes.len();
        for object in objects {
            total += object.get("Attribute").and_then(Value::as_array).map_or(0, Vec::len);
        }
        if total > MAX_MISP_ATTRIBUTES {
            return Err(misp_error(format!("{total} attributes, over the {MAX_MISP_ATTRIBUTES}-attribute limit")));
        }
        let mut reader = EventReader::default();
        reader.import.source = uuid.to_owned();
        reader.import.title = event.string("info")?.unwrap_or_default().to_owned();
        reader.event_tlp = event.tlp()?;
        reader.import.tlp = reader.event_tlp;

        let paths: Vec<String> = (0..attributes.len()).map(|index| format!("Attribute[{index}]")).collect();
        for (attribute, path) in attributes.iter().zip(&paths) {
            let attribute = node(attribute, path)?;
            if !reader.read_attribute(attribute, false)? {
                reader.import.skipped += 1;
            }
        }
        for (index, object) in objects.iter().enumerate() {
            let path = format!("Object[{index}]");
            let object = node(object, &path)?;
            if !reader.read_object(object)? {
                reader.import.skipped += 1;
            }
        }
        for (index, sighting) in event.list("Sighting")?.iter().enumerate() {
            let path = format!("Sighting[{index}]");
            let sighting = node(sighting, &path)?;
            if let Some(attribute) = sighting.string("attribute_uuid")? {
                reader.count_sighting(attribute.to_owned(), sighting)?;
            }
        }
        reader.finish_sightings();
        Ok(reader.import)
    }

    /// Reads one attribute; `false` when vigil keeps nothing of it.
    /// Attributes of objects count only when meant for detection: the
    /// others describe (a file's name, a document's hash).
    fn read_attribute(&mut self, attribute: Node<'_>, in_object: bool) -> Result<bool, ExchangeError> {
        let misp_type = attribute.string("type")?.ok_or_else(|| attribute.error("type", "is missing"))?;
        let value = match attribute.members.get("value") {
            Some(Value::String(value)) => value.as_str(),
            Some(Value::Number(_)) | None | Some(Value::Null) => return Ok(false),
            Some(_) => return Err(attribute.error("value", "is not a string")),
        };
        let uuid = attribute.string("uuid")?.unwrap_or_default().to_owned();
        let tags = attribute.tags()?;
        for (index, sighting) in attribute.list("Sighting")?.iter().enumerate() {
            let path = format!("{}.Sighting[{index}]", attribute.path);
            self.count_sighting(uuid.clone(), node(sighting, &path)?)?;
        }
        let to_ids = matches!(attribute.members.get("to_ids"), Some(Value::Bool(true)))
            || matches!(attribute.members.get("to_ids"), Some(Value::String(flag)) if flag == "1" || flag == "true");
        let key = if misp_type == "text" {
            tags.iter().find_map(|tag| kind_of_tag(tag)).and_then(|kind| indicator_key(kind, value))
        } else if in_object && !to_ids {
            None
        } else if misp_type == "twitter-id" {
            indicator_key(IndicatorKind::Account, &format!("x:{value}"))
        } else {
            let value = indicator_part(misp_type, value);
            kinds_of_attribute_type(misp_type).iter().find_map(|kind| indicator_key(*kind, value))
        };
        let Some(key) = key else { return Ok(false) };
        let tlp = attribute.tlp()?.or(self.event_tlp);
        self.add_indicator(uuid, key, tlp, attribute.time("first_seen")?, attribute.time("last_seen")?);
        Ok(true)
    }

    fn add_indicator(
        &mut self,
        uuid: String,
        key: IndicatorKey,
        tlp: Option<Tlp>,
        first_seen: Option<UnixSeconds>,
        last_seen: Option<UnixSeconds>,
    ) {
        let indicator = Imported { source_id: uuid, tlp, record: ImportedIndicator { key, first_seen, last_seen } };
        if self.seen_keys.insert(indicator.record.key.clone()) {
            self.import.indicators.push(indicator.clone());
        }
        self.attribute_keys.push(indicator);
    }

    /// Reads one object; `false` when vigil keeps nothing of it.
    fn read_object(&mut self, object: Node<'_>) -> Result<bool, ExchangeError> {
        let name = object.string("name")?.unwrap_or_default();
        let uuid = object.string("uuid")?.unwrap_or_default().to_owned();
        let items = object.list("Attribute")?;
        let paths: Vec<String> = (0..items.len()).map(|index| format!("{}.Attribute[{index}]", object.path)).collect();
        let mut attributes = Vec::with_capacity(items.len());
        for (item, path) in items.iter().zip(&paths) {
            let attribute = node(item, path)?;
            let relation = attribute.string("object_relation")?.unwrap_or_default();
            attributes.push((relation, attribute));
        }
        let value_of = |relation: &str| -> Result<Option<&str>, ExchangeError> {
            match attributes.iter().find(|(r, _)| *r == relation) {
                Some((_, attribute)) => attribute.string("value"),
                None => Ok(None),
            }
        };

        if let Some(relations) = ACCOUNT_TEMPLATES.iter().find(|relations| relations.template.name == name) {
            let platform = match relations.platform {
                Some(platform) => Some(platform),
                None => value_of("account-type")?,
            };
            let mut tlps = Vec::new();
            for (_, attribute) in &attributes {
                tlps.extend(attribute.tlp()?);
            }
            let mut handle = value_of(relations.handle)?;
            let mut id = value_of(relations.id)?;
            // vigil knows some YouTube channels by their channel id alone,
            // which it keeps as the handle.
            if name == YOUTUBE_CHANNEL.name && handle.is_none() {
                (handle, id) = (id, None);
            }
            let account = platform.and_then(|platform| imported_account(platform, handle, id));
            let Some(account) = account else { return Ok(false) };
            if self.seen_accounts.insert(account.clone()) {
                let tlp = strictest(tlps).or(self.event_tlp);
                self.import.accounts.push(Imported { source_id: uuid, tlp, record: account });
            }
            return Ok(true);
        }

        let mut kept = false;
        if name == COIN_ADDRESS.name {
            let symbol = value_of("symbol")?.unwrap_or_default();
            let wallets = [
                ("address", Some(IndicatorKind::Btc)),
                ("address-xmr", Some(IndicatorKind::Xmr)),
                ("address-crypto", wallet_of_currency(symbol)),
            ];
            for (relation, kind) in wallets {
                let Some((_, attribute)) = attributes.iter().find(|(r, _)| *r == relation) else { continue };
                let Some(key) =
                    kind.zip(attribute.string("value")?).and_then(|(kind, value)| indicator_key(kind, value))
                else {
                    continue;
                };
                let tlp = attribute.tlp()?.or(self.event_tlp);
                let first_seen = attribute.time("first_seen")?.or(object.time("first_seen")?);
                let last_seen = attribute.time("last_seen")?.or(object.time("last_seen")?);
                let attribute_uuid = attribute.string("uuid")?.unwrap_or_default().to_owned();
                self.add_indicator(attribute_uuid, key, tlp, first_seen, last_seen);
                kept = true;
            }
            return Ok(kept);
        }
        for (_, attribute) in attributes {
            kept |= self.read_attribute(attribute, true)?;
        }
        Ok(kept)
    }

    fn count_sighting(&mut self, attribute: String, sighting: Node<'_>) -> Result<(), ExchangeError> {
        // Type 0 is a sighting; 1 a false positive, 2 an expiration.
        let kind = match sighting.members.get("type") {
            None | Some(Value::Null) => 0,
            Some(Value::String(text)) => text.parse().unwrap_or(-1),
            Some(Value::Number(number)) => number.as_i64().unwrap_or(-1),
            Some(_) => return Err(sighting.error("type", "is not a sighting type")),
        };
        if kind != 0 {
            return Ok(());
        }
        let Some(at) = sighting.time("date_sighting")? else { return Ok(()) };
        let entry = self.sightings.entry(attribute).or_insert((0, at));
        entry.0 += 1;
        entry.1 = entry.1.max(at);
        Ok(())
    }

    /// One sighting per indicator attribute: its Sighting entries counted,
    /// else its last (or first) seen time once.
    fn finish_sightings(&mut self) {
        let mut done = BTreeSet::new();
        for Imported { source_id: uuid, tlp, record } in std::mem::take(&mut self.attribute_keys) {
            if !done.insert(uuid.clone()) {
                continue;
            }
            let ImportedIndicator { key, first_seen, last_seen } = record;
            let (count, seen_at) = match self.sightings.get(&uuid) {
                Some(&(count, latest)) => (count, latest),
                None => match last_seen.or(first_seen) {
                    Some(seen_at) => (1, seen_at),
                    None => continue,
                },
            };
            self.import.sightings.push(Imported {
                source_id: uuid,
                tlp,
                record: ImportedSighting { indicator: key, seen_at, count },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::tests::every_kind_set;

    #[test]
    fn an_event_reads_back_to_its_indicators_accounts_and_markings() {
        let set = every_kind_set();
        let event = to_misp(&set);
        let import = from_misp_event(&event.to_string()).unwrap();
        assert_eq!(import.source, event["Event"]["uuid"].as_str().unwrap());
        assert_eq!(import.title, set.title);
        assert_eq!(import.tlp, Some(set.tlp));
        for indicator in &set.indicators {
            let record = &indicator.record;
            let key = IndicatorKey { kind: record.kind, value: record.value.clone() };
            let imported = import.indicators.iter().find(|i| i.record.key == key);
            let imported = imported.unwrap_or_else(|| panic!("{key:?} did not come back"));
            // A site on the same domain is stricter than the indicator.
            let site = set.sites.iter().find(|site| site.record.key == key).map(|site| site.tlp);
            let tlp = site.map_or(indicator.tlp, |site| site.stricter(indicator.tlp));
            assert_eq!(imported.tlp, Some(tlp), "{key:?}");
            assert_eq!(
                imported.record.first_seen,
                Some(record.first_seen.min(set_site_first_seen(&set, &key))),
                "{key:?}"
            );
            let sighting = import.sightings.iter().find(|s| s.record.indicator == key).unwrap();
            assert_eq!(sighting.record.count, 1);
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
        // The excerpts' annotations and documents are not vigil records.
        assert_eq!(import.skipped, 2 * set.excerpts.len() as u64);
    }

    fn set_site_first_seen(set: &ExportSet, key: &IndicatorKey) -> UnixSeconds {
        set.sites
            .iter()
            .filter(|site| &site.record.key == key)
            .map(|site| site.record.first_seen)
            .min()
            .unwrap_or(i64::MAX)
    }

    #[test]
    fn the_same_set_gives_the_same_event() {
        let set = every_kind_set();
        assert_eq!(to_misp(&set), to_misp(&set));
        let event = to_misp(&set);
        let mut uuids = HashSet::new();
        let mut count = 0;
        let mut note = |value: &Value| {
            count += 1;
            uuids.insert(value["uuid"].as_str().unwrap().to_owned());
        };
        note(&event["Event"]);
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            note(attribute);
        }
        for object in event["Event"]["Object"].as_array().unwrap() {
            note(object);
            object["Attribute"].as_array().unwrap().iter().for_each(&mut note);
            object["ObjectReference"].as_array().into_iter().flatten().for_each(&mut note);
        }
        assert_eq!(uuids.len(), count, "every uuid differs");
    }

    #[test]
    fn markings_become_tags_and_distributions() {
        let set = every_kind_set();
        let event = &to_misp(&set)["Event"];
        assert_eq!(event["Tag"], json!([{ "name": "tlp:clear" }]));
        assert_eq!(event["distribution"], "3");
        assert_eq!(event["threat_level_id"], "2");
        let hashtag = event["Attribute"].as_array().unwrap().iter().find(|a| a["value"] == "مثال").unwrap();
        assert_eq!(hashtag["type"], "text");
        assert_eq!(hashtag["Tag"], json!([{ "name": "tlp:amber+strict" }, { "name": "vigil:kind=\"hashtag\"" }]));
        assert_eq!(hashtag["distribution"], "0");
        let url = event["Attribute"].as_array().unwrap().iter().find(|a| a["type"] == "url").unwrap();
        assert_eq!(url["distribution"], "5");
        assert_eq!(url["first_seen"], "2024-04-24T23:06:40.000000+00:00");
    }

    #[test]
    fn sightings_come_from_the_sighting_lists() {
        let event = json!({"Event": {
            "uuid": "5a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10",
            "info": "feed event",
            "Tag": [{"name": "tlp:green"}, {"name": "type:OSINT"}],
            "Attribute": [
                {"uuid": "6a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "type": "domain", "value": "Example.ORG",
                 "Sighting": [{"type": "0", "date_sighting": "1714000000"}, {"type": "1", "date_sighting": "1714500000"}]},
                {"uuid": "7a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "type": "ip-dst|port", "value": "198.51.100.7|443",
                 "Tag": [{"name": "tlp:amber"}]},
                {"uuid": "8a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "type": "text", "value": "just a note"},
                {"uuid": "9a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "type": "twitter-id", "value": "@Example_User",
                 "first_seen": "2024-05-01T12:00:00.000000+00:00"},
            ],
            "Object": [
                {"name": "file", "uuid": "aa8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "Attribute": [
                    {"uuid": "ba8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "object_relation": "sha256", "type": "sha256",
                     "value": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "to_ids": true},
                    {"uuid": "ca8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "object_relation": "md5", "type": "md5",
                     "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": false}]},
                {"name": "coin-address", "uuid": "da8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "Attribute": [
                    {"uuid": "ea8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "object_relation": "address", "type": "btc",
                     "value": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}]},
                {"name": "reddit-account", "uuid": "fa8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "Attribute": []},
            ],
            "Sighting": [{"attribute_uuid": "6a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "date_sighting": 1714600000}],
        }});
        let import = from_misp_event(&event.to_string()).unwrap();
        let keys: Vec<(IndicatorKind, &str, Option<Tlp>)> =
            import.indicators.iter().map(|i| (i.record.key.kind, i.record.key.value.as_str(), i.tlp)).collect();
        use IndicatorKind::*;
        assert_eq!(
            keys,
            [
                (Domain, "example.org", Some(Tlp::Green)),
                (Ipv4, "198.51.100.7", Some(Tlp::Amber)),
                (Account, "x:example_user", Some(Tlp::Green)),
                (Sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Some(Tlp::Green)),
                (Btc, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", Some(Tlp::Green)),
            ]
        );
        let sightings: Vec<(&str, u64, UnixSeconds)> = import
            .sightings
            .iter()
            .map(|s| (s.record.indicator.value.as_str(), s.record.count, s.record.seen_at))
            .collect();
        assert_eq!(sightings, [("example.org", 2, 1_714_600_000), ("x:example_user", 1, 1_714_564_800)]);
        // The plain text and the empty account object; the file object
        // gave its sha256 (its md5 describes, not being for detection).
        assert_eq!(import.skipped, 2);
    }

    fn check_error(json: &str, expected: &str) {
        assert_eq!(from_misp_event(json).map(|_| ()).unwrap_err().to_string(), expected, "{json}");
    }

    #[test]
    fn malformed_events_are_refused_naming_what_is_wrong() {
        check_error("[", "misp event: is not JSON: EOF while parsing a list at line 1 column 1");
        check_error("{}", "misp event: Event: is missing");
        check_error(r#"{"Event": []}"#, "misp event: Event: is not an object");
        check_error(r#"{"Event": {"uuid": "x"}}"#, "misp event: uuid: is not a uuid");
        let uuid = "5a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10";
        check_error(
            &format!(r#"{{"Event": {{"uuid": "{uuid}", "Attribute": {{}}}}}}"#),
            "misp event: Attribute: is not an array",
        );
        check_error(
            &format!(r#"{{"Event": {{"uuid": "{uuid}", "Attribute": [{{"type": "url", "value": ["x"]}}]}}}}"#),
            "misp event: Attribute[0].value: is not a string",
        );
        check_error(
            &format!(
                r#"{{"Event": {{"uuid": "{uuid}", "Object": [{{"Attribute": [{{"type": "url", "value": "https://example.org/", "to_ids": true, "first_seen": "soon"}}]}}]}}}}"#
            ),
            "misp event: Object[0].Attribute[0].first_seen: is neither an RFC 3339 timestamp nor Unix seconds",
        );
        check_error(
            &format!(r#"{{"Event": {{"uuid": "{uuid}", "Tag": [{{"colour": "red"}}]}}}}"#),
            "misp event: Tag[0].name: is missing or not a string",
        );
        let many =
            format!(r#"{{"Event": {{"uuid": "{uuid}", "Attribute": [{}{{}}]}}}}"#, "{},".repeat(MAX_MISP_ATTRIBUTES));
        check_error(&many, "misp event: 1000001 attributes, over the 1000000-attribute limit");
    }

    #[test]
    fn a_feed_manifest_lists_its_events() {
        let manifest = json!({
            "5a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10": {"info": "b", "Tag": [{"name": "tlp:clear"}], "timestamp": "1"},
            "0a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10": {"info": "a"},
        });
        assert_eq!(
            from_misp_feed_manifest(&manifest.to_string()).unwrap(),
            ["0a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10", "5a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10"]
        );
        let error = |json: &str| from_misp_feed_manifest(json).unwrap_err().to_string();
        assert_eq!(error("[]"), "misp feed manifest: is not a JSON object of events by uuid");
        assert_eq!(
            error(r#"{"../../etc/passwd": {}}"#),
            "misp feed manifest: key \"../../etc/passwd\" is not an event uuid"
        );
        assert_eq!(
            error(r#"{"5a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10": 3}"#),
            "misp feed manifest: 5a8f3f27-1c5e-4b8e-9d4c-2b7a2d7e9a10: is not an object"
        );
        assert!(error("{").starts_with("misp feed manifest: is not JSON: "));
    }
}
