//! Precision and recall of successor detection on a labelled set made by the
//! generator below: deterministic, made-up names only (syllables written in
//! Latin or Arabic script, links on example.org/.com/.net, made-up channels
//! and wallets). A population of known accounts, some suspended, then new
//! accounts: true re-creations of a suspended account, with more or less
//! evidence, and hard negatives (common names, active look-alikes, popular
//! hashtags, same display name only, suspensions long ago, default avatars).
//! A query counts as found when the top candidate is its labelled predecessor.
//!
//! cargo test -p vigil-query --test successor_eval -- --nocapture   (prints the table)

mod successor_generator;

use std::collections::BTreeMap;

use successor_generator::{Category, Query, generate};
use vigil_query::successor::{SuccessorIndex, SuccessorSettings};

const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.90;

#[derive(Default)]
struct Tally {
    queries: u32,
    found: u32,
    missed: u32,
    false_alarms: u32,
}

#[test]
fn precision_and_recall_on_generated_successors() {
    let set = generate(successor_generator::SEED);
    assert!(set.population.len() >= 5_000, "the population has {} accounts", set.population.len());
    assert!(set.queries.len() >= 1_500, "the set has {} queries", set.queries.len());
    let mut index = SuccessorIndex::new(SuccessorSettings::default());
    for account in &set.population {
        index.upsert(account.clone());
    }
    for (account_id, indicator, at) in &set.posted {
        index.record_posted(*account_id, indicator, *at);
    }

    let mut tallies: BTreeMap<Category, Tally> = BTreeMap::new();
    let mut examples: Vec<String> = Vec::new();
    for query in &set.queries {
        let found = index.successors_of(&query.account, &query.posted, query.now, &|_, _| false);
        let top = found.first();
        let tally = tallies.entry(query.category).or_default();
        tally.queries += 1;
        match (query.predecessor, top) {
            (Some(expected), Some(top)) if top.predecessor == expected => tally.found += 1,
            (None, None) => {}
            (expected, top) => {
                if expected.is_some() {
                    tally.missed += 1;
                }
                if top.is_some() {
                    tally.false_alarms += 1;
                }
                if examples.len() < 40 {
                    examples.push(describe(query, top.map(|c| (c.predecessor, c.score, c.summary()))));
                }
            }
        }
    }

    println!("{:<28} {:>7} {:>7} {:>7} {:>12}", "category", "queries", "found", "missed", "false alarms");
    let mut total = Tally::default();
    for (category, tally) in &tallies {
        println!(
            "{:<28} {:>7} {:>7} {:>7} {:>12}",
            format!("{category:?}"),
            tally.queries,
            tally.found,
            tally.missed,
            tally.false_alarms
        );
        total.queries += tally.queries;
        total.found += tally.found;
        total.missed += tally.missed;
        total.false_alarms += tally.false_alarms;
    }
    let positives = set.queries.iter().filter(|query| query.predecessor.is_some()).count() as f64;
    let precision = f64::from(total.found) / f64::from(total.found + total.false_alarms).max(1.0);
    let recall = f64::from(total.found) / positives.max(1.0);
    println!(
        "{} known accounts, {} queries ({} re-creations): precision {precision:.3}, recall {recall:.3}",
        set.population.len(),
        total.queries,
        positives
    );
    for example in &examples {
        println!("  {example}");
    }
    assert!(precision >= MIN_PRECISION, "precision {precision:.3} is under {MIN_PRECISION}");
    assert!(recall >= MIN_RECALL, "recall {recall:.3} is under {MIN_RECALL}");
}

fn describe(query: &Query, top: Option<(i64, f64, String)>) -> String {
    let expected = query.predecessor.map_or("none".to_owned(), |id| id.to_string());
    let handle = query.account.handle.as_deref().unwrap_or("-");
    match top {
        Some((id, score, summary)) => {
            format!("{:?} {handle}: expected {expected}, got {id} ({score:.2}: {summary})", query.category)
        }
        None => format!("{:?} {handle}: expected {expected}, got nothing", query.category),
    }
}
