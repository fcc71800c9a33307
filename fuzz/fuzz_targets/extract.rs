//! Any text: extraction never panics, every span slices the original on
//! character boundaries, and every value is already in normalized form.
//!
//! cargo fuzz run extract -- -max_total_time=600

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let extraction = vigil_extract::extract(text);
    for finding in &extraction.findings {
        let span = finding.span;
        assert!(span.start < span.end && text.get(span.start..span.end).is_some(), "{finding:?} in {text:?}");
        let again = vigil_extract::normalize(finding.kind, &finding.value);
        assert_eq!(again.as_deref(), Ok(finding.value.as_str()), "{finding:?} in {text:?}");
    }
    for category in &extraction.categories {
        for evidence in &category.evidence {
            assert!(text.get(evidence.span.start..evidence.span.end).is_some(), "{evidence:?} in {text:?}");
        }
    }
});
