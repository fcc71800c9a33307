//! `vigil extract`: indicators from stdin to stdout, one JSON line per input
//! line, with no server.

use std::io::{BufRead, Write};

use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    id: Value,
    text: String,
}

/// Reads lines until end of input. A line that is a JSON object with `text`
/// is a document (its `id` is echoed back); any other line is plain text.
pub fn run(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    for (number, line) in input.lines().enumerate() {
        let line = line?;
        let (id, text) = match serde_json::from_str::<Input>(&line) {
            Ok(document) => (document.id, document.text),
            Err(_) => (json!(number + 1), line),
        };
        let extraction = vigil_extract::extract(&text);
        let indicators: Vec<Value> = extraction
            .findings
            .iter()
            .map(|f| json!({"kind": f.kind.as_str(), "value": f.value, "start": f.span.start, "end": f.span.end}))
            .collect();
        let language = extraction.language.map(|l| l.code);
        serde_json::to_writer(&mut output, &json!({"id": id, "language": language, "indicators": indicators}))?;
        output.write_all(b"\n")?;
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_and_plain_text() {
        let input = "{\"id\": \"a\", \"text\": \"voir hxxps://exemple[.]org\"}\nsuivez @example_user\n";
        let mut output = Vec::new();
        run(input.as_bytes(), &mut output).unwrap();
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
    }
}
