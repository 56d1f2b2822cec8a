//! Reports written by the real tools (see fixtures/README.md).

use std::collections::BTreeSet;
use std::path::PathBuf;

use debugenv_junit::pytest::{self, NodeId, Outcomes, Resolution, Resolver};
use debugenv_junit::{Expectation, Mode, Outcome, Parser, Report};

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn load(rel: &str) -> Report {
    match Report::from_path(path(rel)) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

/// (tests, passed, failed, errored, skipped), from what each project's tests do.
type Totals = (u64, u64, u64, u64, u64);

fn totals(r: &Report) -> Totals {
    let s = r.summary();
    (s.tests, s.passed, s.failed, s.errored, s.skipped)
}

const EXPECTED: &[(&str, Totals)] = &[
    ("pytest/xunit1.xml", (32, 20, 5, 4, 3)),
    ("pytest/xunit2.xml", (32, 20, 5, 4, 3)),
    ("pytest/legacy.xml", (32, 20, 5, 4, 3)),
    ("pytest/xunit2-logging.xml", (32, 20, 5, 4, 3)),
    ("pytest/xunit1-prefix.xml", (32, 20, 5, 4, 3)),
    ("pytest/xdist.xml", (32, 20, 5, 4, 3)),
    ("pytest/rerunfailures.xml", (7, 6, 1, 0, 0)),
    ("pytest-django/xunit1.xml", (4, 2, 2, 0, 0)),
    ("unittest-xml-reporting/report.xml", (8, 2, 2, 2, 2)),
    ("nose2/report.xml", (8, 2, 2, 1, 3)),
    ("robotframework/xunit.xml", (4, 2, 1, 0, 1)),
    ("behave/features.xml", (5, 3, 1, 0, 1)),
    ("node/junit.xml", (6, 2, 2, 0, 2)),
    ("ctest/junit.xml", (5, 1, 2, 0, 2)),
    ("phpunit/junit.xml", (7, 2, 2, 1, 2)),
    ("nextest/junit.xml", (5, 4, 1, 0, 0)),
    ("jest/junit.xml", (4, 2, 1, 0, 1)),
    ("vitest/junit.xml", (4, 2, 1, 0, 1)),
    ("mocha/junit.xml", (4, 2, 1, 0, 1)),
    ("surefire/TEST-com.example.MathTest.xml", (5, 2, 1, 1, 1)),
];

#[test]
fn every_fixture_parses_strictly_with_the_expected_totals() {
    for (file, expected) in EXPECTED {
        let r = load(file);
        assert_eq!(totals(&r), *expected, "{file}");
        // Declared counts agree with the cases, except where the producer
        // counts differently (asserted in their own tests).
        if !file.starts_with("ctest") && !file.contains("rerunfailures") {
            assert_eq!(r.mismatches(), vec![], "{file}");
        }
    }
}

#[test]
fn every_fixture_is_listed() {
    let listed: BTreeSet<&str> = EXPECTED.iter().map(|(f, _)| *f).collect();
    let mut found = BTreeSet::new();
    for dir in std::fs::read_dir(path("")).expect("fixtures dir") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() || dir.ends_with("src") {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("dir") {
            let f = f.expect("entry").path();
            if f.extension().is_some_and(|e| e == "xml") {
                let rel = f
                    .strip_prefix(path(""))
                    .expect("prefix")
                    .to_string_lossy()
                    .into_owned();
                found.insert(rel);
            }
        }
    }
    let listed: BTreeSet<String> = listed.into_iter().map(str::to_owned).collect();
    assert_eq!(found, listed);
}

#[test]
fn truncated_fixtures_keep_a_prefix_of_the_cases() {
    let parser = Parser::builder()
        .mode(Mode::Tolerant)
        .build()
        .expect("valid");
    for (file, _) in EXPECTED {
        let bytes = std::fs::read(path(file)).expect("read");
        let full = load(file);
        for cut in (0..bytes.len()).step_by(61) {
            let partial = parser.parse_partial(&bytes[..cut]);
            assert!(partial.error.is_some(), "{file} cut at {cut}");
            let n = partial.report.cases.len();
            assert_eq!(
                &partial.report.cases[..],
                &full.cases[..n],
                "{file} cut at {cut}"
            );
        }
    }
}

fn universe() -> Vec<String> {
    std::fs::read_to_string(path("pytest/collect-only.txt"))
        .expect("collect-only.txt")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn pytest_cases_resolve_to_exactly_the_collected_node_ids() {
    let ids = universe();
    assert_eq!(ids.len(), 30);
    let all: BTreeSet<NodeId> = ids.iter().map(NodeId::new).collect();
    for (file, prefix) in [
        ("pytest/xunit1.xml", None),
        ("pytest/xunit2.xml", None),
        ("pytest/legacy.xml", None),
        ("pytest/xdist.xml", None),
        ("pytest/xunit2-logging.xml", None),
        ("pytest/xunit1-prefix.xml", Some("pre")),
    ] {
        let r = load(file);
        let resolver = Resolver::new(ids.iter().cloned(), prefix);
        let o = Outcomes::collect(&r.cases, &resolver);
        assert!(
            o.unknown.is_empty() && o.ambiguous.is_empty(),
            "{file}: {o:?}"
        );
        let resolved: BTreeSet<NodeId> = o.tests.keys().cloned().collect();
        assert_eq!(resolved, all, "{file}");
        assert_eq!(
            o.broken_modules
                .iter()
                .map(NodeId::as_str)
                .collect::<Vec<_>>(),
            ["tests/test_broken.py"],
            "{file}"
        );
        let get = |id: &str| o.tests[&NodeId::new(id)].outcome;
        assert_eq!(
            get("tests/test_basic.py::test_param[[br]]"),
            Outcome::Failed
        );
        assert_eq!(
            get("tests/test_basic.py::test_param[a::b]"),
            Outcome::Passed
        );
        assert_eq!(
            get("tests/test_basic.py::test_param[\\xfcn\\xef]"),
            Outcome::Passed
        );
        assert_eq!(
            get("tests/test_basic.py::test_fail_and_teardown_error"),
            Outcome::Failed
        );
        assert_eq!(
            get("tests/test_basic.py::test_error_in_teardown"),
            Outcome::Errored
        );
        assert_eq!(
            get("tests/sub.dir/test_dotted.py::test_in_dotted_dir"),
            Outcome::Passed
        );
        assert_eq!(
            get("tests/test_basic.py::TestClass::TestNested::test_inner[1]"),
            Outcome::Passed
        );
    }
}

#[test]
fn pytest_node_id_guess_is_exact_with_file_and_misses_only_dotted_dirs_without() {
    let ids = universe();
    let resolver = Resolver::new(ids.iter().cloned(), None);
    for (file, expected_misses) in [("pytest/xunit1.xml", 0), ("pytest/xunit2.xml", 1)] {
        let r = load(file);
        let mut misses = Vec::new();
        for case in &r.cases {
            let exact = match resolver.resolve(case) {
                Resolution::Test(id) | Resolution::Module(id) => id,
                other => panic!("{file}: {other:?}"),
            };
            let guess = pytest::node_id(case).expect("a guess");
            if guess != exact {
                misses.push((guess, exact));
            }
        }
        assert_eq!(misses.len(), expected_misses, "{file}: {misses:?}");
    }
}

#[test]
fn pytest_specifics() {
    let r = load("pytest/xunit1.xml");
    let by_name = |n: &str| r.cases.iter().find(|c| c.name == n).expect(n);
    assert_eq!(
        by_name("test_xfail").expectation,
        Some(Expectation::XFailed)
    );
    assert_eq!(by_name("test_xfail").message(), Some("known bug 12"));
    assert_eq!(
        by_name("test_xpass_strict").expectation,
        Some(Expectation::XPassedStrict)
    );
    assert_eq!(by_name("test_xpass").outcome, Outcome::Passed);
    let prop = by_name("test_record_property");
    assert_eq!(prop.properties[0].name, "bug");
    assert_eq!(prop.properties[0].value, "BUG-7");
    assert_eq!(by_name("test_param[<tag>]").outcome, Outcome::Passed);
    assert_eq!(by_name("test_param[q\"uote]").outcome, Outcome::Passed);
    assert_eq!(
        by_name("test_ünicode_name").file.as_deref(),
        Some("tests/test_basic.py")
    );
    let broken = by_name("tests.test_broken");
    assert!(pytest::is_collection_error(broken));
    assert_eq!(broken.outcome, Outcome::Errored);

    let logging = load("pytest/xunit2-logging.xml");
    let out = logging
        .cases
        .iter()
        .find(|c| c.name == "test_output")
        .expect("test_output");
    assert!(
        out.system_out
            .as_deref()
            .is_some_and(|s| s.contains("to stdout <&>")),
        "{out:?}"
    );
    assert!(
        out.system_err
            .as_deref()
            .is_some_and(|s| s.contains("to stderr"))
    );

    // pytest-rerunfailures: every attempt is a <testcase>; the last decides.
    let rr = load("pytest/rerunfailures.xml");
    let resolver = Resolver::new(
        [
            "test_flaky.py::test_flaky_passes_on_third_try",
            "test_flaky.py::test_always_fails",
            "test_flaky.py::test_stable",
        ],
        None,
    );
    let m = rr.mismatches();
    assert_eq!(
        (m.len(), m[0].attribute, m[0].declared, m[0].actual),
        (1, "tests", 3, 7)
    );
    let o = Outcomes::collect(&rr.cases, &resolver);
    let flaky = o.tests[&NodeId::new("test_flaky.py::test_flaky_passes_on_third_try")];
    assert_eq!((flaky.outcome, flaky.elements), (Outcome::Passed, 3));
    let always = o.tests[&NodeId::new("test_flaky.py::test_always_fails")];
    assert_eq!((always.outcome, always.elements), (Outcome::Failed, 3));
}

#[test]
fn other_producers_specifics() {
    let ut = load("unittest-xml-reporting/report.xml");
    let xf = ut
        .cases
        .iter()
        .find(|c| c.name == "test_expected_failure")
        .expect("xf");
    assert_eq!(xf.expectation, Some(Expectation::XFailed));
    let out = ut
        .cases
        .iter()
        .find(|c| c.name == "test_output")
        .expect("out");
    assert_eq!(out.system_out.as_deref(), Some("hello <stdout> & more\n"));

    let node = load("node/junit.xml");
    assert_eq!(node.cases[0].suite, None, "top-level case");
    assert_eq!(node.suites[1].name, "inner <suite> & more");
    assert_eq!(node.suites[1].parent, Some(0));

    let ctest = load("ctest/junit.xml");
    let disabled = ctest
        .cases
        .iter()
        .find(|c| c.name == "disabled")
        .expect("disabled");
    assert_eq!(
        (disabled.outcome, disabled.status.as_deref()),
        (Outcome::Skipped, Some("disabled"))
    );
    let m = ctest.mismatches();
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(
        (m[0].attribute, m[0].declared, m[0].actual),
        ("skipped", 1, 2)
    );

    let nx = load("nextest/junit.xml");
    let flaky = nx
        .cases
        .iter()
        .find(|c| c.name == "tests::flaky")
        .expect("flaky");
    assert!(flaky.is_flaky());
    assert!(
        flaky.reruns[0]
            .system_out
            .as_deref()
            .is_some_and(|s| s.contains("FAILED"))
    );
    assert_eq!(nx.summary().flaky, 1);

    let sf = load("surefire/TEST-com.example.MathTest.xml");
    let s = sf.summary();
    assert_eq!((s.flaky, s.reruns), (1, 3));
    assert_eq!(sf.suites[0].properties.len(), 3);

    let robot = load("robotframework/xunit.xml");
    assert_eq!(robot.suites[0].properties[0].name, "Documentation");

    let php = load("phpunit/junit.xml");
    assert_eq!(php.suites.len(), 3);
    assert_eq!(
        php.cases[6].name,
        "testData with data set \"different.values\""
    );
    assert_eq!(php.cases[6].line, Some(34));
}

#[test]
fn every_fixture_reads_the_same_through_every_api() {
    // The same expectations through each code path: `Report` (cases moved
    // into a vector), the item iterator, and `read_case` (one reused case).
    for (file, _) in EXPECTED {
        let report = load(file);
        let bytes = std::fs::read(path(file)).expect("fixture readable");
        let iterated: Vec<_> = Parser::new()
            .reader(&bytes[..])
            .cases()
            .collect::<Result<_, _>>()
            .expect("valid");
        assert_eq!(iterated, report.cases, "{file}: iterator");
        let mut reader = Parser::new().reader(&bytes[..]);
        let mut lent = Vec::new();
        while let Some(case) = reader.read_case().expect("valid") {
            lent.push(case.clone());
        }
        assert_eq!(lent, report.cases, "{file}: read_case");
    }
}
