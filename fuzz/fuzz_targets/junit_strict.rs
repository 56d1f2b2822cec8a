//! Arbitrary bytes through the strict reader, streaming and collected:
//! never a panic, and both paths agree.
#![no_main]

use debugenv_junit::{Item, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parser = Parser::new();
    let report = parser.parse(data);
    let mut streamed = 0usize;
    let mut failed = false;
    for item in parser.reader(data) {
        match item {
            Ok(Item::Case(_)) => streamed += 1,
            Ok(_) => {}
            Err(_) => failed = true,
        }
    }
    match report {
        Ok(r) => {
            assert!(!failed);
            assert_eq!(r.cases.len(), streamed);
            let s = r.summary();
            assert_eq!(s.passed + s.failed + s.errored + s.skipped, s.tests);
        }
        Err(e) => {
            assert!(failed);
            assert!(e.position().offset <= data.len() as u64);
        }
    }
});
