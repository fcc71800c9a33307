//! What a candidate rests on, in words an analyst reads.

use std::fmt;

use super::AccountStatus;
use super::handle::HandleRelation;

/// One reason to think the new account re-creates a known one.
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// Handles as the accounts give them (before folding).
    SimilarHandle {
        new: String,
        old: String,
        relation: HandleRelation,
    },
    /// The same display name once case, accents and look-alikes are folded.
    SameDisplayName {
        name: String,
    },
    /// Display names with the same consonant skeleton (a transliteration).
    SimilarDisplayName {
        new: String,
        old: String,
    },
    SameAvatar,
    /// A bio URL, channel or wallet both profiles point to.
    SharedLink {
        value: String,
    },
    /// An indicator both accounts posted; the hours are from the
    /// predecessor's suspension to the new account's post, when it was
    /// suspended.
    PostedSame {
        value: String,
        hours_after_suspension: Option<f64>,
    },
    PredecessorSuspended {
        hours_ago: f64,
    },
    /// A predecessor that is still up weighs much less.
    PredecessorNotSuspended {
        status: AccountStatus,
    },
    /// The predecessor was on another platform.
    OtherPlatform {
        platform: String,
    },
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::SimilarHandle { new, old, relation } => {
                if *relation == HandleRelation::Same && new == old {
                    return write!(f, "same handle {old}");
                }
                write!(f, "handle {new} ~ {old}")?;
                match relation {
                    HandleRelation::Same if bare(new) != bare(old) => write!(f, ", look-alike letters"),
                    HandleRelation::LookAlike => write!(f, ", look-alike letters"),
                    HandleRelation::Transliterated => write!(f, ", transliterated"),
                    HandleRelation::NearMiss { edits: 1 } => write!(f, ", one edit apart"),
                    HandleRelation::NearMiss { edits } => write!(f, ", {edits} edits apart"),
                    _ => Ok(()),
                }
            }
            Evidence::SameDisplayName { name } => write!(f, "same display name {name}"),
            Evidence::SimilarDisplayName { new, old } => write!(f, "display name {new} ~ {old}"),
            Evidence::SameAvatar => write!(f, "same avatar"),
            Evidence::SharedLink { value } => write!(f, "same link {value}"),
            Evidence::PostedSame { value, hours_after_suspension: Some(hours) } => {
                write!(f, "posted {value} {} after the suspension", Elapsed(*hours))
            }
            Evidence::PostedSame { value, hours_after_suspension: None } => write!(f, "both posted {value}"),
            Evidence::PredecessorSuspended { hours_ago } => write!(f, "suspended {} ago", Elapsed(*hours_ago)),
            Evidence::PredecessorNotSuspended { status } => match status {
                AccountStatus::Active => write!(f, "predecessor still active"),
                AccountStatus::Reported => write!(f, "predecessor reported, not suspended"),
                AccountStatus::Reappeared => write!(f, "predecessor back up, not suspended"),
                AccountStatus::Suspended => write!(f, "predecessor suspended"),
            },
            Evidence::OtherPlatform { platform } => write!(f, "predecessor on {platform}"),
        }
    }
}

/// The evidence in one line, the suspension beside the handle when both are
/// there: `handle abu_x_3 ~ abu_x (suspended 3 h ago); same avatar`.
pub fn describe_evidence(evidence: &[Evidence]) -> String {
    let suspended = evidence.iter().find_map(|item| match item {
        Evidence::PredecessorSuspended { hours_ago } => Some(*hours_ago),
        _ => None,
    });
    let has_handle = evidence.iter().any(|item| matches!(item, Evidence::SimilarHandle { .. }));
    let mut parts = Vec::with_capacity(evidence.len());
    for item in evidence {
        match (item, suspended) {
            (Evidence::SimilarHandle { .. }, Some(hours)) => {
                parts.push(format!("{item} (suspended {} ago)", Elapsed(hours)));
            }
            (Evidence::PredecessorSuspended { .. }, _) if has_handle => {}
            _ => parts.push(item.to_string()),
        }
    }
    parts.join("; ")
}

/// A handle without case or edge separators, to tell look-alike letters
/// from `_abu_x_`.
fn bare(handle: &str) -> String {
    handle.trim_matches(|c: char| matches!(c, '_' | '.' | '-' | '@')).to_lowercase()
}

/// Hours as an analyst reads them: hours up to two days, then days.
struct Elapsed(f64);

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hours = if self.0.is_finite() { self.0.max(0.0) } else { 0.0 };
        if hours < 1.0 {
            write!(f, "{:.0} min", hours * 60.0)
        } else if hours < 48.0 {
            write!(f, "{hours:.0} h")
        } else {
            write!(f, "{:.0} d", hours / 24.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_puts_the_suspension_beside_the_handle() {
        let evidence = vec![
            Evidence::SimilarHandle { new: "abu_x_3".into(), old: "abu_x".into(), relation: HandleRelation::Extended },
            Evidence::SameAvatar,
            Evidence::SharedLink { value: "account:telegram:chan".into() },
            Evidence::PredecessorSuspended { hours_ago: 3.2 },
        ];
        assert_eq!(
            describe_evidence(&evidence),
            "handle abu_x_3 ~ abu_x (suspended 3 h ago); same avatar; same link account:telegram:chan"
        );
    }

    #[test]
    fn each_kind_reads_as_text() {
        let check = |evidence: Evidence, expected: &str| assert_eq!(evidence.to_string(), expected);
        check(
            Evidence::SimilarHandle { new: "аbu_x".into(), old: "abu_x".into(), relation: HandleRelation::Same },
            "handle аbu_x ~ abu_x, look-alike letters",
        );
        check(
            Evidence::SimilarHandle { new: "abu_x".into(), old: "abu_x".into(), relation: HandleRelation::Same },
            "same handle abu_x",
        );
        check(
            Evidence::SimilarHandle { new: "_Abu_x_".into(), old: "abu_x".into(), relation: HandleRelation::Same },
            "handle _Abu_x_ ~ abu_x",
        );
        check(
            Evidence::SimilarHandle {
                new: "news_exanple".into(),
                old: "news_example".into(),
                relation: HandleRelation::NearMiss { edits: 1 },
            },
            "handle news_exanple ~ news_example, one edit apart",
        );
        check(Evidence::SameDisplayName { name: "abu karimo".into() }, "same display name abu karimo");
        check(
            Evidence::SimilarDisplayName { new: "abou mohamed".into(), old: "أبو محمد".into() },
            "display name abou mohamed ~ أبو محمد",
        );
        check(
            Evidence::PostedSame { value: "url:https://example.org/a".into(), hours_after_suspension: Some(5.0) },
            "posted url:https://example.org/a 5 h after the suspension",
        );
        check(
            Evidence::PostedSame { value: "hashtag:x".into(), hours_after_suspension: None },
            "both posted hashtag:x",
        );
        check(Evidence::PredecessorSuspended { hours_ago: 100.0 }, "suspended 4 d ago");
        check(Evidence::PredecessorSuspended { hours_ago: f64::NAN }, "suspended 0 min ago");
        check(Evidence::PredecessorNotSuspended { status: AccountStatus::Active }, "predecessor still active");
        check(Evidence::OtherPlatform { platform: "telegram".into() }, "predecessor on telegram");
    }
}
