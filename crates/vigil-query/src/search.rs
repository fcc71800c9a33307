//! Full-text search requests, and the page tokens that continue them.

use vigil_extract::{Category, fold_for_search};
use vigil_store::{DocumentKind, SearchCursor, SearchHit, SearchOrder, SearchQuery, UnixSeconds};

use crate::limits::{MAX_FILTER_ENTRIES, check_count};
use crate::{Query, QueryError, page_token};

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;
const MAX_QUERY_BYTES: usize = 1024;
const MAX_PHRASES: usize = 16;
/// Relevance pages are numbered by offset; past this, narrow the query.
const MAX_RELEVANCE_OFFSET: u64 = 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchRequest {
    pub query: String,
    pub kinds: Vec<DocumentKind>,
    pub languages: Vec<String>,
    /// Category names (`threat`, `financing`, ...).
    pub categories: Vec<String>,
    pub observed_from: Option<UnixSeconds>,
    pub observed_until: Option<UnixSeconds>,
    pub order: Option<SearchOrder>,
    pub page_size: usize,
    pub page_token: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// Empty on the last page.
    pub next_page_token: String,
}

impl Query {
    pub async fn search(&self, request: SearchRequest) -> Result<SearchPage, QueryError> {
        let phrases = parse_query(&request.query)?;
        let order = request.order.unwrap_or(SearchOrder::Newest);
        if order == SearchOrder::Relevance && phrases.is_empty() {
            return Err(QueryError::invalid("order", "RELEVANCE needs a query"));
        }
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n > MAX_PAGE_SIZE => {
                return Err(QueryError::invalid("page_size", format!("is {n}, over the limit of {MAX_PAGE_SIZE}")));
            }
            n => n,
        };
        check_count("kinds", request.kinds.len(), MAX_FILTER_ENTRIES)?;
        check_count("languages", request.languages.len(), MAX_FILTER_ENTRIES)?;
        check_count("categories", request.categories.len(), MAX_FILTER_ENTRIES)?;
        for (index, language) in request.languages.iter().enumerate() {
            if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(QueryError::invalid(
                    format!("languages[{index}]"),
                    "must be a lowercase ISO 639 code of 2 or 3 letters",
                ));
            }
        }
        for (index, category) in request.categories.iter().enumerate() {
            if Category::from_name(category).is_none() {
                return Err(QueryError::invalid(
                    format!("categories[{index}]"),
                    "must be one of propaganda, recruitment, weapons_instructions, financing, threat",
                ));
            }
        }
        if let (Some(from), Some(until)) = (request.observed_from, request.observed_until)
            && from >= until
        {
            return Err(QueryError::invalid("observed_until", "must be after observed_from"));
        }
        let fingerprint = fingerprint(&phrases, order, &request);
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(decode_token(token, &fingerprint)?),
        };
        let query = SearchQuery {
            phrases,
            kinds: request.kinds,
            languages: request.languages,
            categories: request.categories,
            observed_from: request.observed_from,
            observed_until: request.observed_until,
            order,
            limit: page_size + 1,
            after,
        };
        let mut hits = self.store.search(query).await?;
        let next_page_token = if hits.len() > page_size {
            hits.truncate(page_size);
            let cursor = match (order, hits.last()) {
                (SearchOrder::Newest, Some(last)) => {
                    SearchCursor::Newest { observed_at: last.document.observed_at, id: last.document.id }
                }
                _ => {
                    let offset = match after {
                        Some(SearchCursor::Relevance { offset }) => offset,
                        _ => 0,
                    } + page_size as u64;
                    SearchCursor::Relevance { offset }
                }
            };
            match cursor {
                SearchCursor::Relevance { offset } if offset > MAX_RELEVANCE_OFFSET => String::new(),
                cursor => encode_token(cursor, &fingerprint),
            }
        } else {
            String::new()
        };
        Ok(SearchPage { hits, next_page_token })
    }
}

/// Words and "quoted phrases", folded the way documents are indexed.
fn parse_query(query: &str) -> Result<Vec<String>, QueryError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(QueryError::invalid(
            "query",
            format!("is {} bytes, over the {MAX_QUERY_BYTES}-byte limit", query.len()),
        ));
    }
    let folded = fold_for_search(query);
    let mut phrases = Vec::new();
    for (index, part) in folded.split('"').enumerate() {
        let inside_quotes = index % 2 == 1;
        if inside_quotes {
            let phrase = part.split_whitespace().collect::<Vec<_>>().join(" ");
            if !phrase.is_empty() {
                phrases.push(phrase);
            }
        } else {
            phrases.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    if phrases.len() > MAX_PHRASES {
        return Err(QueryError::invalid(
            "query",
            format!("has {} words and phrases, over the limit of {MAX_PHRASES}", phrases.len()),
        ));
    }
    Ok(phrases)
}

/// What a page token is bound to: the same query and filters, so a token
/// cannot be replayed against another search.
fn fingerprint(phrases: &[String], order: SearchOrder, request: &SearchRequest) -> String {
    let described = format!(
        "{phrases:?}|{order:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        request.kinds,
        request.languages,
        request.categories,
        request.observed_from,
        request.observed_until,
        request.page_size
    );
    page_token::fingerprint(&described)
}

fn encode_token(cursor: SearchCursor, fingerprint: &str) -> String {
    let position = match cursor {
        SearchCursor::Newest { observed_at, id } => format!("n:{observed_at}:{id}"),
        SearchCursor::Relevance { offset } => format!("r:{offset}"),
    };
    page_token::encode(fingerprint, &position)
}

fn decode_token(token: &str, expected_fingerprint: &str) -> Result<SearchCursor, QueryError> {
    let malformed = page_token::malformed;
    let position = page_token::decode(token, expected_fingerprint, "belongs to a different query or filters")?;
    let fields: Vec<&str> = position.split(':').collect();
    match fields[..] {
        ["n", observed_at, id] => Ok(SearchCursor::Newest {
            observed_at: observed_at.parse().map_err(|_| malformed())?,
            id: id.parse().map_err(|_| malformed())?,
        }),
        ["r", offset] => Ok(SearchCursor::Relevance { offset: offset.parse().map_err(|_| malformed())? }),
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn queries_are_words_and_quoted_phrases() {
        assert_eq!(parse_query(r#"appel "aux dons"  urgent"#).unwrap(), vec!["appel", "aux dons", "urgent"]);
        assert_eq!(parse_query("الدَّوْلَة").unwrap(), vec!["الدوله"]);
        assert!(parse_query(&"a ".repeat(17)).is_err());
        assert_eq!(parse_query(r#"unclosed "quote"#).unwrap(), vec!["unclosed", "quote"]);
    }

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let cursor = SearchCursor::Newest { observed_at: 1_700_000_000, id: 42 };
        let token = encode_token(cursor, "abcd");
        assert_eq!(decode_token(&token, "abcd").unwrap(), cursor);
        assert!(decode_token(&token, "other").is_err());
        assert!(decode_token("not a token!", "abcd").is_err());
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("v1|abcd|n:x:1"), "abcd").is_err());
    }
}
