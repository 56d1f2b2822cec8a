//! pytest node ids: pytest's own mangling inverted by the resolver finds the
//! id again, for arbitrary (UTF-8) ids.
#![no_main]

use debugenv_junit::TestCase;
use debugenv_junit::pytest::{Resolution, Resolver, junit_names, node_id};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ids: Vec<&str> = text
        .split('\n')
        .filter(|s| !s.is_empty())
        .take(16)
        .collect();
    let resolver = Resolver::new(ids.iter().copied(), None);
    for id in &ids {
        let (classname, name) = junit_names(id, None);
        let mut case = TestCase::new(name);
        case.classname = Some(classname);
        let _ = node_id(&case);
        match resolver.resolve(&case) {
            Resolution::Test(found) => {
                let (c2, n2) = junit_names(found.as_str(), None);
                assert_eq!(Some(c2), case.classname);
                assert_eq!(n2, case.name);
            }
            Resolution::Ambiguous(all) => assert!(all.iter().any(|f| f.as_str() == *id)),
            other => panic!("{id:?} resolved to {other:?}"),
        }
    }
});
