//! Extraction throughput on generated posts of about 300 bytes, against a
//! baseline in the same run: one pass over every character of the same texts.
//!
//! cargo bench -p vigil-extract --bench extract

#[path = "../../../benches/timing.rs"]
mod timing;

use std::hint::black_box;
use std::time::Duration;

fn main() {
    let dense: Vec<String> = (0..10_000).map(timing::post_text).collect();
    let realistic: Vec<String> = (0..10_000).map(timing::realistic_text).collect();
    let clean: Vec<String> = (0..10_000).map(timing::clean_text).collect();
    for (name, posts) in [
        ("dense (2-6 indicators per post)", &dense),
        ("realistic (1 per ~250 bytes)", &realistic),
        ("indicator-free", &clean),
    ] {
        measure_corpus(name, posts);
    }
}

fn measure_corpus(name: &str, posts: &[String]) {
    let bytes: usize = posts.iter().map(String::len).sum();
    let findings: usize = posts.iter().map(|p| vigil_extract::extract_indicators(p).len()).sum();
    println!("{name}: {} posts, {:.1} KiB, {findings} indicators", posts.len(), bytes as f64 / 1024.0);

    let measure = |work: &dyn Fn(&str)| {
        let times = timing::rounds(7, || {
            for post in posts {
                work(black_box(post));
            }
        });
        timing::quantile(&times, 0.5)
    };
    let baseline = measure(&|post| {
        black_box(post.chars().filter(|c| c.is_alphanumeric()).count());
    });
    let indicators = measure(&|post| {
        black_box(vigil_extract::extract_indicators(post));
    });
    let full = measure(&|post| {
        black_box(vigil_extract::extract(post));
    });
    let report = |name: &str, median: Duration| {
        println!(
            "  {name:<34} {:>7.2} us/post {:>8.0} posts/s {:>6.1} MiB/s {:>6.1}x baseline",
            timing::micros(median) / posts.len() as f64,
            posts.len() as f64 / median.as_secs_f64(),
            bytes as f64 / median.as_secs_f64() / (1024.0 * 1024.0),
            median.as_secs_f64() / baseline.as_secs_f64(),
        );
    };
    report("baseline (one pass over the chars)", baseline);
    report("extract_indicators", indicators);
    report("extract (+ language, categories)", full);
}
