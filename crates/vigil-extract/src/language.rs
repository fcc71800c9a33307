//! Which language a text is written in.

use whatlang::Lang;

/// A detected language: ISO 639-1 where one exists, else ISO 639-3.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Language {
    pub code: &'static str,
    /// 0 to 1.
    pub confidence: f64,
}

/// Language is read from the start of a long text: beyond this many bytes
/// the answer rarely changes and the cost keeps growing.
const SAMPLE_BYTES: usize = 1024;

/// The language of `text`, or `None` when it is too short or too mixed to tell.
pub fn detect_language(text: &str) -> Option<Language> {
    let text = match text.char_indices().map(|(i, _)| i).find(|&i| i >= SAMPLE_BYTES) {
        Some(cut) => &text[..cut],
        None => text,
    };
    let letters = text.chars().filter(|c| c.is_alphabetic()).take(8).count();
    if letters < 8 {
        return None;
    }
    let info = whatlang::detect(text)?;
    Some(Language { code: iso_639_1(info.lang()), confidence: info.confidence() })
}

fn iso_639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Eng => "en",
        Lang::Fra => "fr",
        Lang::Ara => "ar",
        Lang::Deu => "de",
        Lang::Spa => "es",
        Lang::Ita => "it",
        Lang::Por => "pt",
        Lang::Nld => "nl",
        Lang::Rus => "ru",
        Lang::Ukr => "uk",
        Lang::Tur => "tr",
        Lang::Urd => "ur",
        Lang::Pes => "fa",
        Lang::Heb => "he",
        Lang::Hin => "hi",
        Lang::Ben => "bn",
        Lang::Ind => "id",
        Lang::Swe => "sv",
        Lang::Pol => "pl",
        Lang::Cmn => "zh",
        Lang::Jpn => "ja",
        Lang::Kor => "ko",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<&str>) {
        assert_eq!(detect_language(text).map(|l| l.code), expected, "language of {text:?}");
    }

    #[test]
    fn french_english_arabic() {
        check("Bonjour, je vous signale une chaîne qui diffuse de la propagande.", Some("fr"));
        check("Hello, I am reporting a channel that spreads propaganda every day.", Some("en"));
        check("مرحبا، أبلغ عن قناة تنشر الدعاية كل يوم على الإنترنت", Some("ar"));
        check("ok", None);
    }
}
