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

/// Entries in one repeated filter (kinds, languages, categories, statuses,
/// platforms): more than any filter has distinct values, so a longer list
/// is a mistake, and each entry costs a bound parameter in the store.
pub(crate) const MAX_FILTER_ENTRIES: usize = 32;
/// Longest page token accepted: the ones vigil issues are under 100 bytes.
pub(crate) const MAX_PAGE_TOKEN_BYTES: usize = 256;
/// Longest indicator value (a URL, a domain) named in a request, before it
/// is normalized.
pub(crate) const MAX_INDICATOR_BYTES: usize = 8 * 1024;

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
        check_bytes(field, text, self.max_text_bytes)
    }

    pub(crate) fn check_count(&self, field: &str, count: usize, limit: usize) -> Result<(), QueryError> {
        check_count(field, count, limit)
    }
}

/// Refuses a value longer than `limit` bytes.
pub(crate) fn check_bytes(field: &str, value: &str, limit: usize) -> Result<(), QueryError> {
    if value.len() > limit {
        return Err(QueryError::invalid(field, format!("is {} bytes, over the {limit}-byte limit", value.len())));
    }
    Ok(())
}

/// Refuses a repeated field with more than `limit` entries.
pub(crate) fn check_count(field: &str, count: usize, limit: usize) -> Result<(), QueryError> {
    if count > limit {
        return Err(QueryError::invalid(field, format!("has {count} entries, over the limit of {limit}")));
    }
    Ok(())
}

/// `text` cut to at most `limit` bytes, on a character boundary.
pub(crate) fn clipped(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_field_the_size_and_the_limit() {
        let check = |result: Result<(), QueryError>, expected: Option<&str>| {
            assert_eq!(result.err().map(|error| error.to_string()).as_deref(), expected);
        };
        check(check_bytes("name", "abc", 3), None);
        check(check_bytes("name", "abcd", 3), Some("name is 4 bytes, over the 3-byte limit"));
        check(check_count("kinds", 32, 32), None);
        check(check_count("kinds", 33, 32), Some("kinds has 33 entries, over the limit of 32"));
        let limits = Limits { max_text_bytes: 4, ..Limits::default() };
        check(limits.check_text("text", " ", false), Some("text is empty"));
        check(limits.check_text("text", "", true), None);
        check(limits.check_text("text", "éé", false), None);
        check(limits.check_text("text", "ééé", false), Some("text is 6 bytes, over the 4-byte limit"));
    }

    #[test]
    fn clipping_keeps_whole_characters() {
        assert_eq!(clipped("abc".into(), 256), "abc");
        assert_eq!(clipped("abcdef".into(), 4), "abcd");
        // 'é' is two bytes: cutting at 3 would split the second one.
        assert_eq!(clipped("ééé".into(), 3), "é");
        assert_eq!(clipped("é".into(), 0), "");
    }
}
