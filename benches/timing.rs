//! Shared by vigil's bench binaries (included with `#[path]`): timing
//! helpers and a generated corpus of posts that use reserved names only.

#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Runs `work` `rounds` times and returns each round's duration, sorted.
pub fn rounds(rounds: usize, mut work: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

/// The value at quantile `q` (0 to 1) of sorted durations.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

pub fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

/// Prose of about 300 bytes with no indicator at all, in the same three
/// languages, for the cost of scanning text that holds nothing.
pub fn clean_text(n: usize) -> String {
    match n % 3 {
        0 => "Les habitants du quartier se sont réunis ce matin pour discuter de la rénovation de la place \
              du marché, des horaires de la bibliothèque et de la fête de fin d'année. Chacun a pu donner \
              son avis, puis la séance s'est terminée autour d'un café."
            .to_owned(),
        1 => "The volunteers met again on Tuesday evening to plan the spring clean-up of the river bank, \
              to share out the tools and to agree on a meeting point near the old bridge. Everyone is \
              welcome, and children can join with an adult."
            .to_owned(),
        _ => "اجتمع سكان الحي صباح اليوم لمناقشة تجديد ساحة السوق ومواعيد المكتبة العامة والاحتفال بنهاية \
              العام، وأبدى كل واحد رأيه ثم انتهى اللقاء في جو ودي."
            .to_owned(),
    }
}

/// Prose with one indicator in it, about one per 250 bytes: the density the
/// extraction targets are stated for.
pub fn realistic_text(n: usize) -> String {
    let indicator = match n % 6 {
        0 => format!("https://news{n}.example.org/article/{n}"),
        1 => format!("@example_user_{n}"),
        2 => format!("#Appel{n}"),
        3 => format!("miroir{n}.example[.]net"),
        4 => format!("contact{n}@example.com"),
        _ => format!("hxxps://t.me/canal_exemple_{n}"),
    };
    let text = clean_text(n);
    let middle = text.char_indices().map(|(i, _)| i).find(|&i| i >= text.len() / 2).unwrap_or(0);
    format!("{} {indicator} {}", &text[..middle], &text[middle..])
}

/// Posts of about 300 bytes with two or three indicators each, in French,
/// English and Arabic; `n` is mixed in so indicators differ between posts.
pub fn post_text(n: usize) -> String {
    match n % 3 {
        0 => format!(
            "Nouvelle publication de la chaîne, partagez largement avant suppression. Le lien de secours est \
             hxxps://miroir{n}.example[.]org/article/{n} et le canal Telegram @canal_exemple_{n} reste ouvert. \
             Rejoignez la discussion #Appel{n} ce soir."
        ),
        1 => format!(
            "New upload from the outlet, mirrored before takedown. Backup link https://mirror{n}.example.net/video?id={n}&utm_source=tg \
             and follow https://t.me/example_outlet_{n} for updates. Contact: press{n}@example.com. Share it widely today."
        ),
        _ => format!(
            "إصدار جديد من المؤسسة، انشروه قبل الحذف. الرابط الاحتياطي hxxp://mirror{n}.example[.]com/a/{n} \
             وتابعوا القناة على تيليجرام @example_channel_{n} #النصر_{n} ولا تنسوا المشاركة."
        ),
    }
}
