//! Arbitrary bytes with tiny limits: limits are errors, never panics, and
//! kept texts respect `max_text_bytes`.
#![no_main]

use debugenv_junit::{Mode, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parser = Parser::builder()
        .mode(Mode::Tolerant)
        .max_depth(4)
        .max_event_bytes(256)
        .max_text_bytes(8)
        .max_properties(2)
        .max_reruns(2)
        .build()
        .expect("valid options");
    let partial = parser.parse_partial(data);
    for case in &partial.report.cases {
        assert!(case.properties.len() <= 2);
        assert!(case.reruns.len() <= 2);
        for text in [&case.system_out, &case.system_err].into_iter().flatten() {
            assert!(text.len() <= 8);
        }
    }
});
