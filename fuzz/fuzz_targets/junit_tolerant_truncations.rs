//! Arbitrary bytes and every truncation of them through the tolerant reader:
//! a truncated input yields a prefix of the cases of the longer one.
#![no_main]

use debugenv_junit::{Mode, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parser = Parser::builder()
        .mode(Mode::Tolerant)
        .build()
        .expect("valid options");
    let full = parser.parse_partial(data);
    // A handful of cut points (every one would be quadratic).
    let step = (data.len() / 16).max(1);
    for cut in (0..data.len()).step_by(step) {
        let partial = parser.parse_partial(&data[..cut]);
        let n = partial.report.cases.len();
        assert!(n <= full.report.cases.len());
        assert_eq!(&partial.report.cases[..], &full.report.cases[..n]);
    }
});
