//! Indicators, language and evidence spans out of free text.
//!
//! Every tip, every ingested post and every content check goes through this
//! crate, and so do look-ups: [`normalize`] gives a raw value the same form
//! [`extract`] gives it in text, so one indicator has one value everywhere.
//!
//! The crate is pure: text in, findings out. It does no I/O, has no async and
//! knows nothing of gRPC or storage.

mod account;
mod byte_classes;
mod category;
mod finder;
mod indicator;
mod ip;
mod language;
mod normalize;
mod phone;
mod refang;
mod search_text;
mod wallet;

pub use account::{Platform, normalize_account_handle};
pub use category::{Category, CategoryMatch, Evidence, Lexicon, LexiconError};
pub use finder::{extract, extract_indicators, extract_with};
pub use indicator::{Extraction, Finding, IndicatorKind, Span};
pub use language::{Language, detect_language};
pub use normalize::{NormalizeError, normalize};
pub use search_text::fold_for_search;
