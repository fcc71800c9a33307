//! `vigil extract`: indicators from stdin to stdout, one JSON line per input
//! line, with no server. Input is read in batches that worker threads
//! extract while the next batch is read; output keeps the input's order.
//! Memory holds a few batches at a time, whatever the size of the input.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use vigil_extract::Lexicon;

/// How `vigil extract` runs.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// Worker threads; at least 1.
    pub threads: usize,
    /// Lines per batch handed to a worker.
    pub batch_lines: usize,
    /// Where to report progress, and the input's size when known.
    pub progress: Option<Option<u64>>,
}

impl ExtractOptions {
    /// All cores; progress on stderr when it is a terminal, with a
    /// percentage when stdin is a regular file.
    pub fn for_terminal(threads: Option<usize>) -> ExtractOptions {
        let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let progress = std::io::stderr().is_terminal().then(stdin_size);
        ExtractOptions { threads: threads.max(1), batch_lines: 512, progress }
    }
}

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    id: Value,
    text: String,
}

struct Batch {
    sequence: u64,
    first_line: u64,
    lines: Vec<String>,
}

/// Reads lines until end of input. A line that is a JSON object with `text`
/// is a document (its `id` is echoed back); any other line is plain text,
/// whose id is its line number. Accounts carry their `platform`;
/// `categories` lists each category found with its score and evidence.
pub fn run(
    lexicon: Arc<Lexicon>,
    options: &ExtractOptions,
    input: impl BufRead + Send,
    output: impl Write + Send,
) -> std::io::Result<()> {
    let threads = options.threads.max(1);
    let (batch_sender, batch_receiver) = sync_channel::<Batch>(threads * 2);
    let batch_receiver = Arc::new(Mutex::new(batch_receiver));
    let (done_sender, done_receiver) = sync_channel::<(u64, Vec<u8>)>(threads * 2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_batches(input, options, batch_sender));
        for _ in 0..threads {
            let (receiver, sender, lexicon) = (Arc::clone(&batch_receiver), done_sender.clone(), Arc::clone(&lexicon));
            scope.spawn(move || extract_batches(&lexicon, &receiver, &sender));
        }
        drop(done_sender);
        let written = write_in_order(output, done_receiver);
        let read = reader.join().unwrap_or_else(|_| Err(std::io::Error::other("the reader thread panicked")));
        read.and(written)
    })
}

fn read_batches(mut input: impl BufRead, options: &ExtractOptions, sender: SyncSender<Batch>) -> std::io::Result<()> {
    let mut progress = options.progress.map(Progress::new);
    let (mut sequence, mut line_number) = (0u64, 0u64);
    loop {
        let mut lines = Vec::with_capacity(options.batch_lines);
        let mut bytes = 0;
        while lines.len() < options.batch_lines {
            let mut line = String::new();
            let read = input.read_line(&mut line)?;
            if read == 0 {
                break;
            }
            bytes += read;
            let trimmed = line.trim_end_matches(['\n', '\r']).len();
            line.truncate(trimmed);
            lines.push(line);
        }
        if lines.is_empty() {
            if let Some(progress) = progress.as_mut() {
                progress.finish();
            }
            return Ok(());
        }
        let count = lines.len() as u64;
        if let Some(progress) = progress.as_mut() {
            progress.advance(bytes as u64, count);
        }
        if sender.send(Batch { sequence, first_line: line_number + 1, lines }).is_err() {
            return Ok(()); // the writer stopped; its error is reported there
        }
        sequence += 1;
        line_number += count;
    }
}

fn extract_batches(lexicon: &Lexicon, receiver: &Mutex<Receiver<Batch>>, sender: &SyncSender<(u64, Vec<u8>)>) {
    loop {
        let batch = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(batch) = batch else { return };
        let mut out = Vec::with_capacity(batch.lines.len() * 256);
        for (offset, line) in batch.lines.into_iter().enumerate() {
            write_line(lexicon, batch.first_line + offset as u64, line, &mut out);
        }
        if sender.send((batch.sequence, out)).is_err() {
            return;
        }
    }
}

fn write_in_order(mut output: impl Write, receiver: Receiver<(u64, Vec<u8>)>) -> std::io::Result<()> {
    let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
    let mut next = 0u64;
    for (sequence, bytes) in receiver {
        pending.insert(sequence, bytes);
        while let Some(bytes) = pending.remove(&next) {
            output.write_all(&bytes)?;
            next += 1;
        }
    }
    output.flush()
}

fn write_line(lexicon: &Lexicon, line_number: u64, line: String, out: &mut Vec<u8>) {
    let (id, text) = match serde_json::from_str::<Input>(&line) {
        Ok(document) => (document.id, document.text),
        Err(_) => (json!(line_number), line),
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
            let evidence: Vec<Value> =
                m.evidence.iter().map(|e| json!({"term": e.term, "start": e.span.start, "end": e.span.end})).collect();
            json!({"category": m.category.as_str(), "score": m.score, "evidence": evidence})
        })
        .collect();
    let language = extraction.language.map(|l| l.code);
    let record = json!({"id": id, "language": language, "indicators": indicators, "categories": categories});
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &record);
    out.push(b'\n');
}

/// The size of stdin when it is a regular file, for a percentage.
fn stdin_size() -> Option<u64> {
    use std::os::fd::AsFd;
    let descriptor = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let metadata = std::fs::File::from(descriptor).metadata().ok()?;
    metadata.is_file().then_some(metadata.len())
}

/// A one-line progress report on stderr, redrawn at most five times a second.
struct Progress {
    total: Option<u64>,
    bytes: u64,
    lines: u64,
    started: Instant,
    drawn: Instant,
}

impl Progress {
    fn new(total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress { total, bytes: 0, lines: 0, started: now, drawn: now }
    }

    fn advance(&mut self, bytes: u64, lines: u64) {
        self.bytes += bytes;
        self.lines += lines;
        if self.drawn.elapsed() >= Duration::from_millis(200) {
            self.draw();
            self.drawn = Instant::now();
        }
    }

    fn finish(&mut self) {
        self.draw();
        eprintln!();
    }

    fn draw(&self) {
        let megabytes = self.bytes as f64 / 1e6;
        let rate = megabytes / self.started.elapsed().as_secs_f64().max(1e-3);
        let share = match self.total {
            Some(total) if total > 0 => format!("{:5.1}% ", 100.0 * self.bytes as f64 / total as f64),
            _ => String::new(),
        };
        eprint!("\r{share}{megabytes:.1} MB, {} lines, {rate:.1} MB/s   ", self.lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract_lines(input: &str, threads: usize) -> Vec<Value> {
        let options = ExtractOptions { threads, batch_lines: 3, progress: None };
        let mut output = Vec::new();
        run(Arc::new(Lexicon::builtin().clone()), &options, input.as_bytes(), &mut output).unwrap();
        output.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
    }

    #[test]
    fn json_lines_and_plain_text() {
        let input = "{\"id\": \"a\", \"text\": \"voir hxxps://example[.]org\"}\nsuivez @example_user\nDabiq sur Telegram @canal_exemple\n";
        let lines = extract_lines(input, 1);
        assert_eq!(lines[0]["id"], "a");
        assert_eq!(
            lines[0]["indicators"][0],
            json!({"kind": "url", "value": "https://example.org/", "start": 5, "end": 26})
        );
        assert_eq!(lines[1]["id"], 2);
        assert_eq!(lines[1]["indicators"][0]["value"], "example_user");
        assert_eq!(lines[2]["indicators"][0]["platform"], "telegram");
        assert_eq!(lines[2]["categories"][0]["category"], "propaganda");
        assert_eq!(lines[2]["categories"][0]["evidence"][0], json!({"term": "Dabiq", "start": 0, "end": 5}));
    }

    #[test]
    fn many_threads_keep_the_input_order() {
        let input: String =
            (0..500).map(|n| format!("{{\"id\": {n}, \"text\": \"#tag{n} site{n}.example[.]org\"}}\n")).collect();
        let one = extract_lines(&input, 1);
        let four = extract_lines(&input, 4);
        assert_eq!(one.len(), 500);
        assert_eq!(one, four);
        assert!(four.iter().enumerate().all(|(n, line)| line["id"] == n));
    }
}
