//! Arbitrary bytes through the strict reader, streaming and collected:
//! never a panic, and all three paths (collector, item iterator, `read_case`)
//! agree.
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
    // `read_case` (one reused case) yields the same cases as the collector.
    let mut reader = parser.reader(data);
    let mut lent = Vec::new();
    let lent_ok = loop {
        match reader.read_case() {
            Ok(Some(case)) => lent.push(case.clone()),
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    assert_eq!(lent_ok, !failed);
    if let Ok(r) = &report {
        assert_eq!(r.cases, lent);
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
