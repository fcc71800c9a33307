//! Successor scoring latency as the index grows: the same kind of new
//! accounts (re-creations and hard negatives from the accuracy test's
//! generator) scored against 10,000 and 100,000 known accounts in one run, so
//! the ratio says whether scoring stays flat. Two baselines: a linear scan
//! computing a bounded handle edit distance against every known account (what
//! the index replaces), and a bare HashMap look-up of the handle.
//!
//! cargo bench -p vigil-query --bench successor

#[path = "../../../benches/timing.rs"]
mod timing;

#[path = "../tests/successor_generator/mod.rs"]
mod successor_generator;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use successor_generator::generate_sized;
use vigil_query::successor::{SuccessorIndex, SuccessorSettings};

/// Queries per category (17 categories: about 2,000 scorings).
const PER_CATEGORY: usize = 118;
/// The linear scan is slow; fewer queries are enough for its median.
const SCAN_QUERIES: usize = 200;

struct Measured {
    accounts: usize,
    build_per_account: Duration,
    scorings: usize,
    proposals: usize,
    false_alarms: usize,
    missed: usize,
    score_p50: Duration,
    score_p99: Duration,
    score_max: Duration,
    scan_p50: Duration,
    lookup_p50: Duration,
}

fn main() {
    let small = measure(7_300, 2_700);
    let large = measure(73_000, 27_000);
    println!(
        "{:>8} {:>13} {:>9} {:>9} {:>7} {:>7} {:>9} {:>9} {:>9} | {:>13} {:>13}",
        "accounts",
        "build/account",
        "scorings",
        "proposed",
        "wrong",
        "missed",
        "p50",
        "p99",
        "max",
        "scan p50",
        "lookup p50"
    );
    for m in [&small, &large] {
        println!(
            "{:>8} {:>10.2} us {:>9} {:>9} {:>7} {:>7} {:>6.1} us {:>6.1} us {:>6.1} us | {:>10.1} us {:>10.2} us",
            m.accounts,
            timing::micros(m.build_per_account),
            m.scorings,
            m.proposals,
            m.false_alarms,
            m.missed,
            timing::micros(m.score_p50),
            timing::micros(m.score_p99),
            timing::micros(m.score_max),
            timing::micros(m.scan_p50),
            timing::micros(m.lookup_p50),
        );
    }
    let ratio = |pick: fn(&Measured) -> Duration| pick(&large).as_secs_f64() / pick(&small).as_secs_f64();
    println!(
        "ratio 100k/10k: scoring p50 {:.2}x, p99 {:.2}x; linear scan p50 {:.2}x; look-up p50 {:.2}x",
        ratio(|m| m.score_p50),
        ratio(|m| m.score_p99),
        ratio(|m| m.scan_p50),
        ratio(|m| m.lookup_p50),
    );
}

fn measure(personas: usize, common_accounts: usize) -> Measured {
    let set = generate_sized(successor_generator::SEED, personas, common_accounts, PER_CATEGORY);
    let started = Instant::now();
    let mut index = SuccessorIndex::new(SuccessorSettings::default());
    for account in &set.population {
        index.upsert(account.clone());
    }
    for (account_id, indicator, at) in &set.posted {
        index.record_posted(*account_id, indicator, *at);
    }
    let build = started.elapsed();
    let accounts = index.len();
    eprintln!("indexed {accounts} accounts and {} posts in {:.2} s", set.posted.len(), build.as_secs_f64());

    // One warm-up pass, then the measured one.
    let (mut proposals, mut false_alarms, mut missed) = (0, 0, 0);
    for query in &set.queries {
        std::hint::black_box(index.successors_of(&query.account, &query.posted, query.now, &|_, _| false));
    }
    let mut scorings = Vec::with_capacity(set.queries.len());
    for query in &set.queries {
        let started = Instant::now();
        let found = index.successors_of(&query.account, &query.posted, query.now, &|_, _| false);
        scorings.push(started.elapsed());
        let top = found.first().map(|candidate| candidate.predecessor);
        proposals += usize::from(top.is_some());
        false_alarms += usize::from(top.is_some() && top != query.predecessor);
        missed += usize::from(query.predecessor.is_some() && top != query.predecessor);
    }
    scorings.sort();

    let handles: Vec<String> = set.population.iter().filter_map(|account| account.handle.clone()).collect();
    let step = (set.queries.len() / SCAN_QUERIES).max(1);
    let mut scans = Vec::with_capacity(SCAN_QUERIES);
    for query in set.queries.iter().step_by(step) {
        let handle = query.account.handle.as_deref().unwrap_or_default();
        let started = Instant::now();
        let near = handles.iter().filter(|known| within_two_edits(handle, known)).count();
        scans.push(started.elapsed());
        std::hint::black_box(near);
    }
    scans.sort();

    let by_handle: HashMap<&str, i64> =
        set.population.iter().filter_map(|account| Some((account.handle.as_deref()?, account.account_id))).collect();
    let mut lookups = Vec::with_capacity(set.queries.len());
    for query in &set.queries {
        let handle = query.account.handle.as_deref().unwrap_or_default();
        let started = Instant::now();
        std::hint::black_box(by_handle.get(handle));
        lookups.push(started.elapsed());
    }
    lookups.sort();

    Measured {
        accounts,
        build_per_account: build / u32::try_from(accounts.max(1)).unwrap_or(u32::MAX),
        scorings: scorings.len(),
        proposals,
        false_alarms,
        missed,
        score_p50: timing::quantile(&scorings, 0.5),
        score_p99: timing::quantile(&scorings, 0.99),
        score_max: scorings.last().copied().unwrap_or_default(),
        scan_p50: timing::quantile(&scans, 0.5),
        lookup_p50: timing::quantile(&lookups, 0.5),
    }
}

/// Levenshtein distance of at most 2, two rows, stopping early when a row
/// is already over: the cheapest honest per-account handle comparison.
fn within_two_edits(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            row_min = row_min.min(current[j]);
        }
        if row_min > 2 {
            return false;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()] <= 2
}
