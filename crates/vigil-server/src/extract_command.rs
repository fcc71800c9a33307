//! `vigil extract`: indicators from stdin to stdout, one JSON line per input
//! line, with no server.

use std::io::{BufRead, Write};

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_extract::Lexicon;

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    id: Value,
    text: String,
}

/// Reads lines until end of input. A line that is a JSON object with `text`
/// is a document (its `id` is echoed back); any other line is plain text.
/// Accounts carry their `platform`; `categories` lists each category found
/// with its score and evidence.
pub fn run(lexicon: &Lexicon, input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for (number, line) in input.lines().enumerate() {
        let line = line?;
        let (id, text) = match serde_json::from_str::<Input>(&line) {
            Ok(document) => (document.id, document.text),
            Err(_) => (json!(number + 1), line),
        };
        let extraction = vigil_extract::extract_with(lexicon, &text);
        let indicators: Vec<Value> = extraction
            .findings
            .iter()
            .map(|f| {
                let mut indicator =
                    json!({"kind": f.kind.as_str(), "value": f.value, "start": f.span.start, "end": f.span.end});
                if let Some(platform) = f.platform() {
                    indicator["platform"] = json!(platform);
                }
                indicator
            })
            .collect();
        let categories: Vec<Value> = extraction
            .categories
            .iter()
            .map(|m| {
                let evidence: Vec<Value> = m
                    .evidence
                    .iter()
                    .map(|e| json!({"term": e.term, "start": e.span.start, "end": e.span.end}))
                    .collect();
                json!({"category": m.category.as_str(), "score": m.score, "evidence": evidence})
            })
            .collect();
        let language = extraction.language.map(|l| l.code);
        let line = json!({"id": id, "language": language, "indicators": indicators, "categories": categories});
        serde_json::to_writer(&mut output, &line)?;
        output.write_all(b"\n")?;
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_plain_text() {
        let input = "{\"id\": \"a\", \"text\": \"voir hxxps://exemple[.]org\"}\nsuivez @example_user\nDabiq sur Telegram @canal_exemple\n";
        let mut output = Vec::new();
        run(Lexicon::builtin(), input.as_bytes(), &mut output).unwrap();
        let lines: Vec<Value> = output
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(
            lines[0]["indicators"][0],
            json!({"kind": "url", "value": "https://exemple.org/", "start": 5, "end": 26})
        );
        assert_eq!(lines[1]["id"], 2);
        assert_eq!(lines[1]["indicators"][0]["value"], "example_user");
        assert_eq!(lines[2]["indicators"][0]["platform"], "telegram");
        assert_eq!(lines[2]["categories"][0]["category"], "propaganda");
        assert_eq!(lines[2]["categories"][0]["evidence"][0], json!({"term": "Dabiq", "start": 0, "end": 5}));
    }
}
