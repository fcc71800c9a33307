//! CSV for recipients who work in spreadsheets: RFC 4180 (CRLF line ends,
//! fields with commas, quotes or line breaks quoted), one header row and
//! one row per record.
//!
//! A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading `'`: spreadsheets run such cells as formulas, and every
//! value here (a hashtag, a handle, an excerpt) comes from the people being
//! reported. A phone number then reads `'+44…`, which a person still reads.

use vigil_store::{ReferralExcerpt, UnixSeconds};

use super::ExportSet;
use super::rfc3339::format_utc;

const HEADER: [&str; 16] = [
    "record",
    "kind",
    "value",
    "tlp",
    "first_seen",
    "last_seen",
    "count",
    "platform",
    "handle",
    "platform_account_id",
    "status",
    "document_id",
    "document_sha256",
    "span_start",
    "span_end",
    "text",
];

/// A set as CSV: accounts, sites, indicators and excerpts, in that order.
pub fn to_csv(set: &ExportSet) -> String {
    let mut out = String::new();
    write_row(&mut out, HEADER.map(str::to_owned));
    for account in &set.accounts {
        let record = &account.record;
        let value = match &record.handle {
            Some(handle) => format!("{}:{handle}", record.platform),
            None => format!("{}:{}", record.platform, record.platform_account_id.as_deref().unwrap_or_default()),
        };
        let mut row = Row::new("account", "account", value, account.tlp.label());
        row.seen(record.first_seen, record.last_seen);
        row.set("count", record.document_count.to_string());
        row.set("platform", record.platform.clone());
        row.set("handle", record.handle.clone().unwrap_or_default());
        row.set("platform_account_id", record.platform_account_id.clone().unwrap_or_default());
        row.set("status", record.status.as_str().to_owned());
        write_row(&mut out, row.cells);
    }
    for site in &set.sites {
        let record = &site.record;
        let mut row = Row::new("site", record.key.kind.as_str(), record.key.value.clone(), site.tlp.label());
        row.set("first_seen", format_utc(record.first_seen));
        row.set("count", record.takedown_requests.to_string());
        row.set("status", record.status.as_str().to_owned());
        write_row(&mut out, row.cells);
    }
    for indicator in &set.indicators {
        let record = &indicator.record;
        let mut row = Row::new("indicator", record.kind.as_str(), record.value.clone(), indicator.tlp.label());
        row.seen(record.first_seen, record.last_seen);
        row.set("count", record.sighting_count.to_string());
        write_row(&mut out, row.cells);
    }
    for excerpt in &set.excerpts {
        write_row(&mut out, excerpt_row(&excerpt.record, excerpt.tlp.label()).cells);
    }
    out
}

fn excerpt_row(excerpt: &ReferralExcerpt, tlp: &str) -> Row {
    let document = &excerpt.document;
    let mut row = Row::new("excerpt", document.kind.as_str(), document.url.clone().unwrap_or_default(), tlp);
    row.seen(document.observed_at, document.observed_at);
    row.set("platform", document.platform.clone().unwrap_or_default());
    if let Some(author) = &excerpt.author {
        row.set("handle", author.handle.clone().unwrap_or_default());
        row.set("platform_account_id", author.platform_account_id.clone().unwrap_or_default());
    }
    row.set("document_id", document.id.to_string());
    row.set("document_sha256", document.text_sha256.clone());
    if let Some(span) = excerpt.span {
        row.set("span_start", span.start.to_string());
        row.set("span_end", span.end.to_string());
    }
    row.set("text", excerpt.text.clone());
    row
}

/// A row being filled, cell by header name.
struct Row {
    cells: [String; HEADER.len()],
}

impl Row {
    fn new(record: &str, kind: &str, value: String, tlp: &str) -> Row {
        let mut row = Row { cells: Default::default() };
        row.set("record", record.to_owned());
        row.set("kind", kind.to_owned());
        row.set("value", value);
        row.set("tlp", tlp.to_owned());
        row
    }

    fn set(&mut self, column: &str, value: String) {
        // Column names are this file's constants: a wrong one is a bug here.
        let at = HEADER.iter().position(|name| *name == column).expect("a column of HEADER");
        self.cells[at] = value;
    }

    fn seen(&mut self, first: UnixSeconds, last: UnixSeconds) {
        self.set("first_seen", format_utc(first));
        self.set("last_seen", format_utc(last.max(first)));
    }
}

fn write_row(out: &mut String, cells: [String; HEADER.len()]) {
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_cell(out, cell);
    }
    out.push_str("\r\n");
}

fn write_cell(out: &mut String, cell: &str) {
    let defused = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = defused || cell.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if defused {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::tests::every_kind_set;

    fn check(cell: &str, expected: &str) {
        let mut out = String::new();
        write_cell(&mut out, cell);
        assert_eq!(out, expected, "{cell:?}");
    }

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        check("plain", "plain");
        check("", "");
        check("a,b", "\"a,b\"");
        check("say \"hi\"", "\"say \"\"hi\"\"\"");
        check("two\r\nlines", "\"two\r\nlines\"");
        check("line\nfeed", "\"line\nfeed\"");
        check("مثال", "مثال");
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused() {
        check("=HYPERLINK(\"https://example.org/\")", "\"'=HYPERLINK(\"\"https://example.org/\"\")\"");
        check("+442079460018", "\"'+442079460018\"");
        check("-1+1", "\"'-1+1\"");
        check("@SUM(A1:A2)", "\"'@SUM(A1:A2)\"");
        check("\tx", "\"'\tx\"");
        check("\rx", "\"'\rx\"");
        check("a=b", "a=b");
    }

    #[test]
    fn one_header_and_one_row_per_record() {
        let set = every_kind_set();
        let csv = to_csv(&set);
        assert!(csv.ends_with("\r\n"));
        assert!(csv.starts_with(
            "record,kind,value,tlp,first_seen,last_seen,count,platform,handle,platform_account_id,status,\
             document_id,document_sha256,span_start,span_end,text\r\n"
        ));
        let rows = set.accounts.len() + set.sites.len() + set.indicators.len() + set.excerpts.len();
        // The French excerpt quotes a quote, not a line break: rows are lines.
        assert_eq!(csv.matches("\r\n").count(), 1 + rows);
        assert!(csv.contains("\r\naccount,account,telegram:example_channel,TLP:CLEAR,2024-04-24T23:06:41Z,"));
        assert!(csv.contains("\r\nindicator,phone,\"'+442079460018\",TLP:AMBER+STRICT,"));
        let excerpt = &set.excerpts[0].record;
        let span = excerpt.span.unwrap();
        let row = format!(
            "\r\nexcerpt,post,https://t.me/example_channel/541,TLP:GREEN,2024-04-29T14:14:01Z,2024-04-29T14:14:01Z,,\
             telegram,example_channel,1001234567,,41,{},{},{},{}\r\n",
            excerpt.document.text_sha256, span.start, span.end, excerpt.text
        );
        assert!(csv.contains(&row), "{csv}");
        assert_eq!(to_csv(&set), csv);
    }
}
