//! `vigil import`: STIX 2.1 bundles, MISP events and MISP feed directories
//! into the database, straight on it as `vigil keys` is. Each object is
//! keyed by its source, so a second run changes nothing and a run cut short
//! is finished by running it again.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vigil_query::exchange::{self, ImportSet};
use vigil_query::imports::import_set;
use vigil_store::ImportFormat;

use crate::config::DatabaseLocation;
use crate::keys_command::{CommandError, console_user, open};

/// Imports every file `paths` names (a directory is a MISP feed: its
/// `manifest.json` lists the events beside it). One line per file goes to
/// `out`; a progress line to stderr when it is a terminal.
pub async fn run_import(
    paths: &[PathBuf],
    location: &DatabaseLocation,
    environment: &std::collections::HashMap<String, String>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    let storage = open(location).await?;
    let store = storage.store();
    let by = console_user(environment);
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(feed_events(path)?);
        } else {
            files.push(path.clone());
        }
    }
    let show_progress = std::io::stderr().is_terminal();
    for file in &files {
        let (set, format) = read(file)?;
        let skipped = set.skipped;
        let mut progress = Progress::new(file, show_progress);
        let outcome = import_set(&store, set, format, &by, |done, total| progress.draw(done, total)).await?;
        progress.finish();
        let _ = writeln!(
            out,
            "{}: {} objects imported, {} already imported, {} indicators and {} accounts created, {} skipped",
            file.display(),
            outcome.imported,
            outcome.already_imported,
            outcome.indicators_created,
            outcome.accounts_created,
            skipped + outcome.sightings_skipped,
        );
    }
    storage.close().await?;
    Ok(())
}

fn failed(path: &Path, reason: impl std::fmt::Display) -> CommandError {
    CommandError::Import { path: path.display().to_string(), reason: reason.to_string() }
}

/// The event files a MISP feed directory's manifest lists.
fn feed_events(directory: &Path) -> Result<Vec<PathBuf>, CommandError> {
    let manifest = directory.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).map_err(|error| failed(&manifest, error))?;
    let events = exchange::from_misp_feed_manifest(&text).map_err(|error| failed(&manifest, error))?;
    Ok(events.into_iter().map(|uuid| directory.join(format!("{uuid}.json"))).collect())
}

/// A file as what it holds: a STIX bundle or a MISP event, told apart by
/// their top-level keys; parsed once.
fn read(path: &Path) -> Result<(ImportSet, ImportFormat), CommandError> {
    let text = std::fs::read_to_string(path).map_err(|error| failed(path, error))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| failed(path, error))?;
    drop(text);
    if value.get("type").and_then(|kind| kind.as_str()) == Some("bundle") {
        let set = exchange::from_stix_value(&value).map_err(|error| failed(path, error))?;
        Ok((set, ImportFormat::Stix))
    } else if value.get("Event").is_some() {
        let set = exchange::from_misp_event_value(&value).map_err(|error| failed(path, error))?;
        Ok((set, ImportFormat::Misp))
    } else {
        Err(failed(path, "is neither a STIX bundle (\"type\": \"bundle\") nor a MISP event (\"Event\")"))
    }
}

struct Progress {
    name: String,
    shown: bool,
    drawn: Option<Instant>,
}

impl Progress {
    fn new(file: &Path, shown: bool) -> Progress {
        let name = file.file_name().map_or_else(|| file.display().to_string(), |name| name.to_string_lossy().into());
        Progress { name, shown, drawn: None }
    }

    fn draw(&mut self, done: u64, total: u64) {
        if !self.shown || self.drawn.is_some_and(|drawn| drawn.elapsed() < Duration::from_millis(200) && done < total) {
            return;
        }
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let bar: String = (0..width).map(|cell| if cell < filled { '#' } else { '.' }).collect();
        eprint!("\r{} [{bar}] {done}/{total} objects", self.name);
        self.drawn = Some(Instant::now());
    }

    fn finish(&self) {
        if self.shown && self.drawn.is_some() {
            eprintln!();
        }
    }
}
