//! What comes into vigil: anonymous tips and post feeds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vigil_extract::{Extraction, IndicatorKind, Lexicon, extract_indicators, extract_with, fold_for_search};
use vigil_store::{
    AccountId, ChangeNote, DocumentKind, IndicatorKey, NewDocument, NewTip, PostOutcome, Store, TipReceiptRecord,
    TipState, UnixSeconds,
};

use crate::limits::{check_bytes, clipped};
use crate::receipt::{ReceiptCode, ReceiptHasher};
use crate::sealing::SealKey;
use crate::sightings::{
    Sightings, account_key, account_value, media_hashes, mentioned_accounts, normalize_platform, sha256_hex,
};
use crate::{AccountRef, Caller, Limits, QueryError, Tracking};

/// Longest URL accepted in a tip's `urls` or a post's `url`.
const MAX_URL_BYTES: usize = 8 * 1024;
/// Longest platform post id; also what a rejected post's platform and id
/// are cut to when they are sent back.
const MAX_POST_ID_BYTES: usize = 256;

/// A tip as the public submits it.
#[derive(Clone, Debug, Default)]
pub struct TipSubmission {
    pub text: String,
    pub language_hint: String,
    pub urls: Vec<String>,
}

/// What the tipster gets back. The receipt code is not stored: only its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct TipReceipt {
    pub tip_id: String,
    pub receipt_code: String,
}

impl std::fmt::Debug for TipReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never let a receipt code reach a log through a Debug print.
        f.debug_struct("TipReceipt").field("tip_id", &self.tip_id).finish_non_exhaustive()
    }
}

/// A post as a crawler or partner platform sends it.
#[derive(Clone, Debug, Default)]
pub struct PostSubmission {
    pub platform: String,
    pub platform_post_id: String,
    pub author: Option<AccountRef>,
    pub url: String,
    pub text: String,
    pub posted_at: Option<UnixSeconds>,
    pub media_sha256: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedPost {
    /// Position in the stream, from 0 across all messages.
    pub index: u64,
    pub platform: String,
    pub platform_post_id: String,
    pub field: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: Vec<RejectedPost>,
}

/// How intake checks and reads what comes in.
#[derive(Clone, Debug)]
pub struct IntakeSettings {
    pub limits: Limits,
    /// The category terms documents are matched against.
    pub lexicon: Arc<Lexicon>,
    /// The least time a tip status answer takes, so that a known and an
    /// unknown receipt code cannot be told apart by time.
    pub tip_status_floor: Duration,
    /// When set, tips and follow-ups are stored sealed to this key.
    pub seal_to: Option<SealKey>,
    /// How long one IngestPosts stream may stay open, from its start to its
    /// end: its posts wait in memory until then, and a stream that never
    /// ends would hold them for good.
    pub max_stream_duration: Duration,
}

/// The longest an IngestPosts stream may stay open by default.
pub const DEFAULT_MAX_STREAM_DURATION: Duration = Duration::from_secs(600);

#[derive(Clone, Debug)]
pub struct Intake {
    store: Arc<dyn Store>,
    settings: IntakeSettings,
    tracking: Tracking,
    receipts: ReceiptHasher,
}

impl Intake {
    /// Accounts that intake stores for the first time are handed to
    /// `tracking` for successor detection.
    pub fn new(store: Arc<dyn Store>, settings: IntakeSettings, tracking: Tracking) -> Intake {
        Intake { store, settings, tracking, receipts: ReceiptHasher::default() }
    }

    pub async fn submit_tip(&self, tip: TipSubmission) -> Result<TipReceipt, QueryError> {
        let document = self.tip_document(tip)?;
        let code = ReceiptCode::new()?;
        let receipt = self.receipts.digest(&code).await?;
        let urgent = opens_urgent_referral(&document);
        let stored = self.store.insert_tip(NewTip { document, receipt }).await?;
        track_stored_accounts(&self.tracking, &stored.first_seen_accounts, &[]).await;
        announce_urgent(&self.tracking, urgent).await;
        Ok(TipReceipt { tip_id: stored.document.to_string(), receipt_code: code.display() })
    }

    pub async fn tip_status(&self, receipt_code: &str) -> Result<TipState, QueryError> {
        let started = Instant::now();
        let found = self.tip_of_receipt(receipt_code).await;
        tokio::time::sleep_until((started + self.settings.tip_status_floor).into()).await;
        Ok(found?.state)
    }

    /// Adds a tipster's follow-up to the tip `receipt_code` was issued for.
    /// Nothing is stored unless the code is the tip's and the follow-up is
    /// valid.
    pub async fn add_tip_follow_up(&self, receipt_code: &str, follow_up: TipSubmission) -> Result<u32, QueryError> {
        let started = Instant::now();
        let mut urgent = false;
        let stored = async {
            let document = self.tip_document(follow_up)?;
            let tip = self.tip_of_receipt(receipt_code).await?;
            urgent = opens_urgent_referral(&document);
            Ok::<_, QueryError>(self.store.add_tip_follow_up(tip.document, document).await?)
        }
        .await;
        // A known code and an unknown one take as long, as for tip_status.
        tokio::time::sleep_until((started + self.settings.tip_status_floor).into()).await;
        let stored = stored?.ok_or_else(|| QueryError::NotFound("receipt_code".into()))?;
        track_stored_accounts(&self.tracking, &stored.first_seen_accounts, &[]).await;
        announce_urgent(&self.tracking, urgent).await;
        Ok(stored.follow_up_count)
    }

    /// The tip `receipt_code` was issued for. Every code that is not one,
    /// malformed or unknown or with the wrong secret, is the same NOT_FOUND.
    async fn tip_of_receipt(&self, receipt_code: &str) -> Result<TipReceiptRecord, QueryError> {
        let code = ReceiptCode::parse(receipt_code);
        let record = match &code {
            Some(code) => self.store.tip_by_receipt(code.locator_hash()).await?,
            None => None,
        };
        let matches = match &code {
            Some(code) => self.receipts.matches(code, record.as_ref()).await?,
            None => false,
        };
        match record {
            Some(record) if matches => Ok(record),
            _ => Err(QueryError::NotFound("receipt_code".into())),
        }
    }

    /// A tip or a follow-up as it is stored: checked, with what was
    /// extracted from it.
    fn tip_document(&self, tip: TipSubmission) -> Result<NewDocument, QueryError> {
        self.settings.limits.check_text("text", &tip.text, false)?;
        self.settings.limits.check_count("urls", tip.urls.len(), self.settings.limits.max_urls_per_tip)?;
        let language_hint = match tip.language_hint.trim() {
            "" => None,
            hint if (2..=3).contains(&hint.len()) && hint.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Some(hint.to_ascii_lowercase())
            }
            _ => return Err(QueryError::invalid("language_hint", "must be an ISO 639 code of 2 or 3 letters")),
        };
        let extraction = extract_with(&self.settings.lexicon, &tip.text);
        let mut sightings = Sightings::default();
        sightings.add_findings(&extraction.findings, true);
        let mut url_findings = Vec::new();
        for (index, raw) in tip.urls.iter().enumerate() {
            if raw.len() > MAX_URL_BYTES {
                return Err(QueryError::invalid(
                    format!("urls[{index}]"),
                    format!("is {} bytes, over the {MAX_URL_BYTES}-byte limit", raw.len()),
                ));
            }
            let found = extract_indicators(raw.trim());
            if !found.iter().any(|finding| finding.kind == IndicatorKind::Url) {
                return Err(QueryError::invalid(
                    format!("urls[{index}]"),
                    "is not a URL (http, https or ftp, defanged or not)",
                ));
            }
            sightings.add_findings(&found, false);
            url_findings.extend(found);
        }
        let mentioned = mentioned_accounts(extraction.findings.iter().chain(&url_findings));
        // The hour, not the second: a finer time could help identify a tipster.
        let received_hour = now() / 3600 * 3600;
        let language = extraction.language.map(|l| l.code.to_owned()).or(language_hint);
        let text_sha256 = sha256_hex(tip.text.as_bytes());
        // Sealed: the words go nowhere but the box, not even the full-text
        // index; what was extracted from them is kept in the clear.
        let (text, search_text, sealed_text) = match &self.settings.seal_to {
            Some(key) => (String::new(), String::new(), Some(key.seal(&tip.text)?)),
            None => {
                let search_text = fold_for_search(&tip.text).into_owned();
                (tip.text, search_text, None)
            }
        };
        Ok(NewDocument {
            kind: DocumentKind::Tip,
            platform: None,
            platform_post_id: None,
            author: None,
            url: None,
            text_sha256,
            search_text,
            text,
            language,
            observed_at: received_hour,
            categories: categories_of(&extraction),
            sightings: sightings.into_vec(),
            mentioned_accounts: mentioned,
            sealed_text,
        })
    }

    /// Starts an IngestPosts stream: add each message with
    /// [`Ingest::add_message`], then store them all with [`Ingest::finish`].
    /// `caller` is who the posts are audited as, and a partner bound to a
    /// platform may send only that platform's posts.
    pub fn begin_ingest(&self, caller: Caller) -> Ingest {
        let now = tokio::time::Instant::now();
        // A limit too long to add to the clock is as good as none.
        let deadline = now
            .checked_add(self.settings.max_stream_duration)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        Ingest {
            caller,
            store: Arc::clone(&self.store),
            settings: self.settings.clone(),
            tracking: self.tracking.clone(),
            deadline,
            next_index: 0,
            posts: Vec::new(),
            keys: HashSet::new(),
            report: IngestReport::default(),
        }
    }
}

/// One IngestPosts stream in progress. Nothing is stored until
/// [`Ingest::finish`], which stores every accepted post in one transaction.
#[derive(Debug)]
pub struct Ingest {
    caller: Caller,
    store: Arc<dyn Store>,
    settings: IntakeSettings,
    tracking: Tracking,
    /// Past it, the stream is refused whole (see [`Ingest::deadline`]).
    deadline: tokio::time::Instant,
    next_index: u64,
    posts: Vec<NewDocument>,
    keys: HashSet<(String, String)>,
    report: IngestReport,
}

impl Ingest {
    /// When the stream must have ended. Past it every call here fails with
    /// [`Ingest::expired`]; a transport waiting for the next message should
    /// stop waiting then and answer with that error.
    pub fn deadline(&self) -> tokio::time::Instant {
        self.deadline
    }

    /// Why a stream still open at its deadline is refused, whole.
    pub fn expired(&self) -> QueryError {
        QueryError::too_large(
            "stream",
            format!(
                "stayed open over the {}-second limit (max_stream_seconds); nothing was stored: send the feed in \
                 shorter streams",
                self.settings.max_stream_duration.as_secs()
            ),
        )
    }

    fn check_open(&self) -> Result<(), QueryError> {
        if tokio::time::Instant::now() > self.deadline { Err(self.expired()) } else { Ok(()) }
    }

    /// Validates and extracts one message's posts. A post that is wrong is
    /// listed as rejected; a message that is wrong fails the whole stream.
    pub fn add_message(&mut self, posts: Vec<PostSubmission>) -> Result<(), QueryError> {
        self.check_open()?;
        if posts.len() > self.settings.limits.max_posts_per_message {
            return Err(QueryError::invalid(
                "posts",
                format!(
                    "has {} posts in one message, over the limit of {}",
                    posts.len(),
                    self.settings.limits.max_posts_per_message
                ),
            ));
        }
        let total = self.next_index as usize + posts.len();
        if total > self.settings.limits.max_posts_per_stream {
            return Err(QueryError::too_large(
                "posts",
                format!(
                    "reach {total} posts in one stream, over the limit of {}; split the feed into several streams",
                    self.settings.limits.max_posts_per_stream
                ),
            ));
        }
        for post in posts {
            let index = self.next_index;
            self.next_index += 1;
            match self.settings.post_document(&post) {
                Ok(document) => {
                    self.caller.check_platform(
                        &format!("posts[{index}].platform"),
                        document.platform.as_deref().unwrap_or_default(),
                    )?;
                    let key = (
                        document.platform.clone().unwrap_or_default(),
                        document.platform_post_id.clone().unwrap_or_default(),
                    );
                    if self.keys.insert(key) {
                        self.posts.push(document);
                    } else {
                        self.report.duplicates += 1;
                    }
                }
                Err(QueryError::Invalid { field, reason } | QueryError::TooLarge { field, reason }) => {
                    // Kept until the stream ends: sent back whole, an
                    // oversized field would hold memory a stored post may not.
                    self.report.rejected.push(RejectedPost {
                        index,
                        platform: clipped(post.platform, MAX_POST_ID_BYTES),
                        platform_post_id: clipped(post.platform_post_id, MAX_POST_ID_BYTES),
                        field,
                        reason,
                    });
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// Stores every accepted post in one transaction.
    pub async fn finish(self) -> Result<IngestReport, QueryError> {
        self.check_open()?;
        let mut report = self.report;
        if self.posts.is_empty() {
            return Ok(report);
        }
        // What each post's author posted, for successor evidence: taken from
        // the posts themselves, not read back from storage.
        let posted: Vec<(Vec<IndicatorKey>, UnixSeconds)> = self
            .posts
            .iter()
            .map(|post| (post.sightings.iter().map(|s| s.indicator.clone()).collect(), post.observed_at))
            .collect();
        let ingested = ChangeNote { changed_by: self.caller.name, note: None, at: now() };
        let urgent = self.posts.iter().any(opens_urgent_referral);
        let stored = self.store.insert_posts(self.posts, ingested).await?;
        let authored: Vec<(AccountId, &[IndicatorKey], UnixSeconds)> = stored
            .post_authors
            .iter()
            .zip(&posted)
            .filter_map(|(author, (indicators, at))| Some(((*author)?, indicators.as_slice(), *at)))
            .collect();
        track_stored_accounts(&self.tracking, &stored.first_seen_accounts, &authored).await;
        announce_urgent(&self.tracking, urgent).await;
        for outcome in stored.outcomes {
            match outcome {
                PostOutcome::Stored(_) => report.accepted += 1,
                PostOutcome::Duplicate(_) => report.duplicates += 1,
            }
        }
        Ok(report)
    }
}

impl IntakeSettings {
    fn post_document(&self, post: &PostSubmission) -> Result<NewDocument, QueryError> {
        let platform = normalize_platform("platform", &post.platform)?;
        let platform_post_id = post.platform_post_id.trim();
        if platform_post_id.is_empty() {
            return Err(QueryError::invalid("platform_post_id", "is empty"));
        }
        check_bytes("platform_post_id", platform_post_id, MAX_POST_ID_BYTES)?;
        self.limits.check_text("text", &post.text, !post.media_sha256.is_empty())?;
        self.limits.check_count("media_sha256", post.media_sha256.len(), self.limits.max_media_per_post)?;
        let media = media_hashes("media_sha256", &post.media_sha256)?;
        let author = post.author.as_ref().map(|author| account_key("author", author)).transpose()?.flatten();
        let posted_at = match post.posted_at {
            None => now(),
            Some(at) if (0..=now() + 86_400).contains(&at) => at,
            Some(_) => return Err(QueryError::invalid("posted_at", "is before 1970 or more than a day in the future")),
        };
        let extraction = extract_with(&self.lexicon, &post.text);
        let mut sightings = Sightings::default();
        sightings.add_findings(&extraction.findings, true);
        let url = match post.url.trim() {
            "" => None,
            raw if raw.len() > MAX_URL_BYTES => {
                return Err(QueryError::invalid(
                    "url",
                    format!("is {} bytes, over the {MAX_URL_BYTES}-byte limit", raw.len()),
                ));
            }
            raw => {
                let found = extract_indicators(raw);
                let url = found.iter().find(|f| f.kind == IndicatorKind::Url).map(|f| f.value.clone());
                let url = url.ok_or_else(|| QueryError::invalid("url", "is not a URL (http, https or ftp)"))?;
                sightings.add(IndicatorKind::Url, url.clone(), None);
                Some(url)
            }
        };
        for hash in media {
            sightings.add(IndicatorKind::Sha256, hash, None);
        }
        if let Some(value) = author.as_ref().and_then(account_value) {
            sightings.add(IndicatorKind::Account, value, None);
        }
        Ok(NewDocument {
            kind: DocumentKind::Post,
            platform: Some(platform),
            platform_post_id: Some(platform_post_id.to_owned()),
            author,
            url,
            text_sha256: sha256_hex(post.text.as_bytes()),
            search_text: fold_for_search(&post.text).into_owned(),
            text: post.text.clone(),
            sealed_text: None,
            language: extraction.language.map(|l| l.code.to_owned()),
            observed_at: posted_at,
            categories: categories_of(&extraction),
            sightings: sightings.into_vec(),
            mentioned_accounts: mentioned_accounts(&extraction.findings),
        })
    }
}

/// The categories of an extraction, as the store keeps them.
fn categories_of(extraction: &Extraction) -> Vec<(String, f64)> {
    extraction.categories.iter().map(|m| (m.category.as_str().to_owned(), m.score)).collect()
}

/// Hands stored posts and accounts to tracking. The documents are stored
/// whatever tracking makes of them, so a failure there is logged, not
/// returned.
async fn track_stored_accounts(
    tracking: &Tracking,
    first_seen: &[AccountId],
    authored: &[(AccountId, &[IndicatorKey], UnixSeconds)],
) {
    if let Err(error) = tracking.posts_stored(first_seen, authored).await {
        tracing::warn!(%error, accounts = first_seen.len(), "successor detection failed after intake");
    }
}

/// Whether storing `document` opens an urgent referral (when the store has
/// an urgent lane).
fn opens_urgent_referral(document: &NewDocument) -> bool {
    document.categories.iter().any(|(category, _)| category == vigil_store::URGENT_CATEGORY)
}

/// Sends watchers the alerts the urgent lane raised while storing. The
/// alerts are stored either way; a watcher that misses one here gets it
/// with the next alert or when it resumes.
async fn announce_urgent(tracking: &Tracking, urgent: bool) {
    if urgent && let Err(error) = tracking.publish_alerts().await {
        tracing::warn!(%error, "could not announce an urgent referral's alert");
    }
}

fn now() -> UnixSeconds {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}
