//! Round trip: random reports written by quick-junit, read by us, equal.

use debugenv_junit::{Outcome, Report, RerunKind};
use proptest::prelude::*;
use quick_junit::{FlakyOrRerun, NonSuccessKind, TestCaseStatus, TestRerun, XmlString};

/// Attribute names we interpret; quick-junit's random "extra" attributes must
/// not collide with them (a duplicate attribute is invalid XML).
const KNOWN: &[&str] = &[
    "name",
    "classname",
    "file",
    "line",
    "time",
    "timestamp",
    "assertions",
    "tests",
    "failures",
    "errors",
    "skipped",
    "skip",
    "disabled",
    "hostname",
    "id",
    "package",
    "filepath",
    "message",
    "type",
];

fn clean(report: &mut quick_junit::Report) {
    for suite in &mut report.test_suites {
        suite.extra.retain(|k, _| !KNOWN.contains(&k.as_str()));
        for case in &mut suite.test_cases {
            case.extra.retain(|k, _| !KNOWN.contains(&k.as_str()));
        }
    }
}

fn s(x: &Option<XmlString>) -> Option<String> {
    x.as_ref().map(|v| v.as_str().to_owned())
}

fn secs(d: Option<std::time::Duration>) -> Option<String> {
    d.map(|d| format!("{:.3}", d.as_secs_f64()))
}

fn ours_secs(t: Option<f64>) -> Option<String> {
    t.map(|t| format!("{t:.3}"))
}

fn check_reruns(ours: &[debugenv_junit::Rerun], theirs: &[TestRerun], flaky: bool) {
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(theirs) {
        let expected = match (flaky, t.kind) {
            (true, NonSuccessKind::Failure) => RerunKind::FlakyFailure,
            (true, NonSuccessKind::Error) => RerunKind::FlakyError,
            (false, NonSuccessKind::Failure) => RerunKind::RerunFailure,
            (false, NonSuccessKind::Error) => RerunKind::RerunError,
        };
        assert_eq!(o.kind, expected);
        assert_eq!(o.message, s(&t.message));
        assert_eq!(o.kind_attr, s(&t.ty));
        assert_eq!(o.stack_trace, s(&t.stack_trace).filter(|x| !x.is_empty()));
        assert_eq!(o.description, s(&t.description).filter(|x| !x.is_empty()));
        assert_eq!(
            o.timestamp,
            t.timestamp
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
        );
        assert_eq!(o.system_out, s(&t.system_out));
        assert_eq!(o.system_err, s(&t.system_err));
        assert_eq!(ours_secs(o.time), secs(t.time));
    }
}

fn compare(ours: &Report, theirs: &quick_junit::Report) {
    let root = ours.root.as_ref().expect("quick-junit writes <testsuites>");
    assert_eq!(root.name, s(&theirs.name));
    assert_eq!(root.declared.tests, Some(theirs.tests as u64));
    assert_eq!(root.declared.failures, Some(theirs.failures as u64));
    assert_eq!(root.declared.errors, Some(theirs.errors as u64));
    assert_eq!(ours_secs(root.time), secs(theirs.time));
    assert_eq!(ours.suites.len(), theirs.test_suites.len());
    let mut cases = ours.cases.iter();
    for (os, ts) in ours.suites.iter().zip(&theirs.test_suites) {
        assert_eq!(os.name, ts.name.as_str());
        assert_eq!(os.declared.tests, Some(ts.tests as u64));
        assert_eq!(os.declared.failures, Some(ts.failures as u64));
        assert_eq!(os.declared.errors, Some(ts.errors as u64));
        assert_eq!(os.declared.disabled, ts.disabled.map(|d| d as u64));
        assert_eq!(ours_secs(os.time), secs(ts.time));
        assert_eq!(
            os.timestamp,
            ts.timestamp
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
        );
        assert_eq!(os.system_out, s(&ts.system_out));
        assert_eq!(os.system_err, s(&ts.system_err));
        let props: Vec<(String, String)> = os
            .properties
            .iter()
            .map(|p| (p.name.clone(), p.value.clone()))
            .collect();
        let tprops: Vec<(String, String)> = ts
            .properties
            .iter()
            .map(|p| (p.name.as_str().to_owned(), p.value.as_str().to_owned()))
            .collect();
        assert_eq!(props, tprops);
        assert!(
            os.mismatches()
                .iter()
                .all(|m| m.attribute == "failures" || m.attribute == "errors"),
            "quick-junit counts failures/errors per case kind: {:?}",
            os.mismatches()
        );
        for tc in &ts.test_cases {
            let oc = cases.next().expect("same number of cases");
            assert_eq!(oc.name, tc.name.as_str());
            assert_eq!(oc.classname, s(&tc.classname));
            assert_eq!(oc.assertions, tc.assertions.map(|a| a as u64));
            assert_eq!(ours_secs(oc.time), secs(tc.time));
            assert_eq!(
                oc.timestamp,
                tc.timestamp
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
            );
            assert_eq!(oc.system_out, s(&tc.system_out));
            assert_eq!(oc.system_err, s(&tc.system_err));
            let props: Vec<(String, String)> = oc
                .properties
                .iter()
                .map(|p| (p.name.clone(), p.value.clone()))
                .collect();
            let tprops: Vec<(String, String)> = tc
                .properties
                .iter()
                .map(|p| (p.name.as_str().to_owned(), p.value.as_str().to_owned()))
                .collect();
            assert_eq!(props, tprops);
            match &tc.status {
                TestCaseStatus::Success { flaky_runs } => {
                    assert_eq!(oc.outcome, Outcome::Passed);
                    check_reruns(&oc.reruns, flaky_runs, true);
                }
                TestCaseStatus::NonSuccess {
                    kind,
                    message,
                    ty,
                    description,
                    reruns,
                } => {
                    let (expected, detail) = match kind {
                        NonSuccessKind::Failure => (Outcome::Failed, &oc.failures[0]),
                        NonSuccessKind::Error => (Outcome::Errored, &oc.errors[0]),
                    };
                    assert_eq!(oc.outcome, expected);
                    assert_eq!(detail.message, s(message));
                    assert_eq!(detail.kind_attr, s(ty));
                    assert_eq!(detail.text, s(description));
                    check_reruns(&oc.reruns, &reruns.runs, reruns.kind == FlakyOrRerun::Flaky);
                }
                TestCaseStatus::Skipped {
                    message,
                    ty,
                    description,
                } => {
                    assert_eq!(oc.outcome, Outcome::Skipped);
                    let d = oc.skipped.as_ref().expect("skipped");
                    assert_eq!(d.message, s(message));
                    assert_eq!(d.kind_attr, s(ty));
                    assert_eq!(d.text, s(description));
                }
            }
        }
    }
    assert!(cases.next().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn quick_junit_reports_read_back_equal(mut report in any::<quick_junit::Report>()) {
        clean(&mut report);
        let xml = report.to_string().expect("quick-junit serializes");
        let ours: Report = match xml.parse() {
            Ok(r) => r,
            Err(e) => panic!("{e}\n{xml}"),
        };
        compare(&ours, &report);
        // The summary agrees with quick-junit's own totals.
        let sum = ours.summary();
        prop_assert_eq!(sum.tests, report.tests as u64);
    }
}
