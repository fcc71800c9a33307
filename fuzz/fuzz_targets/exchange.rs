//! Any bytes as a STIX bundle, a MISP event or a MISP feed manifest, as
//! `vigil import` reads files from other organisations: the readers never
//! panic, every value they return is already in normalized form, and a
//! manifest names only uuids (the importer makes file names of them).
//!
//! cargo fuzz run exchange -- -max_total_time=600

#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_query::exchange::{ImportSet, from_misp_event, from_misp_feed_manifest, from_stix};

fn check(set: &ImportSet) {
    for indicator in &set.indicators {
        let key = &indicator.record.key;
        let again = vigil_extract::normalize(key.kind, &key.value);
        assert_eq!(again.as_deref(), Ok(key.value.as_str()), "{indicator:?}");
    }
    for sighting in &set.sightings {
        let key = &sighting.record.indicator;
        assert_eq!(vigil_extract::normalize(key.kind, &key.value).as_deref(), Ok(key.value.as_str()));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(set) = from_stix(text) {
        check(&set);
    }
    if let Ok(set) = from_misp_event(text) {
        check(&set);
    }
    if let Ok(events) = from_misp_feed_manifest(text) {
        for uuid in events {
            assert!(uuid.len() == 36 && uuid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'), "{uuid:?}");
        }
    }
});
