use crate::QueryError;

/// What one request may carry. Every limit is named in its error message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of text in a tip, a post, an extraction or a content check.
    pub max_text_bytes: usize,
    /// URLs attached to one tip.
    pub max_urls_per_tip: usize,
    /// Posts in one IngestPosts stream message.
    pub max_posts_per_message: usize,
    /// Posts in one IngestPosts stream, which is stored in one transaction.
    pub max_posts_per_stream: usize,
    /// Media hashes on one post or content check.
    pub max_media_per_post: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_text_bytes: 1024 * 1024,
            max_urls_per_tip: 100,
            max_posts_per_message: 1_000,
            max_posts_per_stream: 100_000,
            max_media_per_post: 100,
        }
    }
}

impl Limits {
    pub(crate) fn check_text(&self, field: &str, text: &str, may_be_empty: bool) -> Result<(), QueryError> {
        if !may_be_empty && text.trim().is_empty() {
            return Err(QueryError::invalid(field, "is empty"));
        }
        if text.len() > self.max_text_bytes {
            return Err(QueryError::invalid(
                field,
                format!("is {} bytes, over the {}-byte limit", text.len(), self.max_text_bytes),
            ));
        }
        Ok(())
    }

    pub(crate) fn check_count(&self, field: &str, count: usize, limit: usize) -> Result<(), QueryError> {
        if count > limit {
            return Err(QueryError::invalid(field, format!("has {count} entries, over the limit of {limit}")));
        }
        Ok(())
    }
}
