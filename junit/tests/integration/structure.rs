//! Elements, attributes and outcomes of the JUnit format.

use debugenv_junit::{Expectation, Item, Outcome, Parser, Property, Report, RerunKind};

use crate::parse;

const FULL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<testsuites name="all" tests="6" failures="2" errors="1" skipped="1" time="1.5" timestamp="2024-01-02T03:04:05">
  <testsuite name="outer" tests="6" failures="2" errors="1" skipped="1" time="1.25" timestamp="2024-01-02T03:04:05" hostname="ci-1" id="0" package="pkg" assertions="9" file="tests/outer.py">
    <properties>
      <property name="python" value="3.11"/>
      <property name="multi">line one
line two</property>
    </properties>
    <testcase classname="tests.test_a.TestA" name="test_ok[x-1.5/y]" file="tests/test_a.py" line="12" time="0.010" timestamp="2024-01-02T03:04:06" assertions="3">
      <properties><property name="owner" value="me &amp; you"/></properties>
      <system-out>out &lt;1&gt;</system-out>
      <system-err><![CDATA[err <raw> & ]]]]><![CDATA[> done]]></system-err>
    </testcase>
    <testcase classname="tests.test_a.TestA" name="test_fail" time="0.5">
      <failure message="assert 1 == 2" type="AssertionError">Traceback &#x41;&#66;
  line</failure>
      <error message="teardown failed" type="RuntimeError"/>
    </testcase>
    <testcase classname="tests.test_a" name="test_err"><error message="setup" type="E">body</error></testcase>
    <testsuite name="inner" tests="3" failures="1" skipped="1" errors="0">
      <testcase classname="tests.test_b" name="test_xfail"><skipped type="pytest.xfail" message="known bug"/></testcase>
      <testcase classname="tests.test_b" name="test_xpass"><failure message="[XPASS(strict)] known bug"/></testcase>
      <testcase classname="tests.test_b" name="test_flaky" time="0.3">
        <flakyFailure message="first try" type="AssertionError" time="0.1">
          <stackTrace>trace 1</stackTrace>
          <system-out>run 1 out</system-out>
          <system-err>run 1 err</system-err>
        </flakyFailure>
        <flakyError message="second try"><stackTrace>trace 2</stackTrace></flakyError>
      </testcase>
      <system-out>suite out</system-out>
    </testsuite>
    <system-err>outer err</system-err>
  </testsuite>
</testsuites>
"#;

#[test]
fn reads_every_element_and_attribute() {
    let r = parse(FULL);
    let root = r.root.as_ref().expect("root");
    assert_eq!(root.name.as_deref(), Some("all"));
    assert_eq!(root.declared.tests, Some(6));
    assert_eq!(root.time, Some(1.5));
    assert_eq!(root.timestamp.as_deref(), Some("2024-01-02T03:04:05"));

    assert_eq!(r.suites.len(), 2);
    let outer = &r.suites[0];
    assert_eq!(outer.name, "outer");
    assert_eq!(outer.index, 0);
    assert_eq!(outer.parent, None);
    assert_eq!(outer.hostname.as_deref(), Some("ci-1"));
    assert_eq!(outer.id.as_deref(), Some("0"));
    assert_eq!(outer.package.as_deref(), Some("pkg"));
    assert_eq!(outer.file.as_deref(), Some("tests/outer.py"));
    assert_eq!(outer.assertions, Some(9));
    assert_eq!(outer.time, Some(1.25));
    assert_eq!(
        outer.properties,
        vec![
            Property::new("python", "3.11"),
            Property::new("multi", "line one\nline two")
        ]
    );
    assert_eq!(outer.system_err.as_deref(), Some("outer err"));
    assert_eq!(outer.cases, 0..6);
    let inner = &r.suites[1];
    assert_eq!(inner.parent, Some(0));
    assert_eq!(inner.cases, 3..6);
    assert_eq!(inner.system_out.as_deref(), Some("suite out"));

    assert_eq!(r.cases.len(), 6);
    let ok = &r.cases[0];
    assert_eq!(ok.name, "test_ok[x-1.5/y]");
    assert_eq!(ok.classname.as_deref(), Some("tests.test_a.TestA"));
    assert_eq!(ok.file.as_deref(), Some("tests/test_a.py"));
    assert_eq!(ok.line, Some(12));
    assert_eq!(ok.time, Some(0.010));
    assert_eq!(ok.timestamp.as_deref(), Some("2024-01-02T03:04:06"));
    assert_eq!(ok.assertions, Some(3));
    assert_eq!(ok.outcome, Outcome::Passed);
    assert_eq!(ok.properties, vec![Property::new("owner", "me & you")]);
    assert_eq!(ok.system_out.as_deref(), Some("out <1>"));
    assert_eq!(ok.system_err.as_deref(), Some("err <raw> & ]]> done"));
    assert_eq!(ok.suite, Some(0));

    let fail = &r.cases[1];
    assert_eq!(
        fail.outcome,
        Outcome::Failed,
        "failure wins over a teardown error"
    );
    assert_eq!(fail.message(), Some("assert 1 == 2"));
    let detail = fail.detail().expect("detail");
    assert_eq!(detail.kind_attr.as_deref(), Some("AssertionError"));
    assert_eq!(detail.text.as_deref(), Some("Traceback AB\n  line"));
    assert_eq!(fail.errors[0].message.as_deref(), Some("teardown failed"));

    let err = &r.cases[2];
    assert_eq!(err.outcome, Outcome::Errored);
    assert_eq!(err.message(), Some("setup"));

    let xfail = &r.cases[3];
    assert_eq!(xfail.outcome, Outcome::Skipped);
    assert_eq!(xfail.expectation, Some(Expectation::XFailed));
    assert_eq!(xfail.suite, Some(1));
    let xpass = &r.cases[4];
    assert_eq!(xpass.outcome, Outcome::Failed);
    assert_eq!(xpass.expectation, Some(Expectation::XPassedStrict));

    let flaky = &r.cases[5];
    assert_eq!(flaky.outcome, Outcome::Passed);
    assert!(flaky.is_flaky());
    assert_eq!(flaky.reruns.len(), 2);
    assert_eq!(flaky.reruns[0].kind, RerunKind::FlakyFailure);
    assert_eq!(flaky.reruns[0].message.as_deref(), Some("first try"));
    assert_eq!(flaky.reruns[0].time, Some(0.1));
    assert_eq!(flaky.reruns[0].stack_trace.as_deref(), Some("trace 1"));
    assert_eq!(flaky.reruns[0].system_out.as_deref(), Some("run 1 out"));
    assert_eq!(flaky.reruns[0].system_err.as_deref(), Some("run 1 err"));
    assert_eq!(flaky.reruns[1].kind, RerunKind::FlakyError);

    let s = r.summary();
    assert_eq!(
        (s.tests, s.passed, s.failed, s.errored, s.skipped),
        (6, 2, 2, 1, 1)
    );
    assert_eq!(
        (s.xfailed, s.xpassed_strict, s.flaky, s.reruns),
        (1, 1, 1, 2)
    );
    assert_eq!(
        s.to_string(),
        "6 tests: 2 passed, 2 failed, 1 errored, 1 skipped (1 xfailed, 1 xpassed strict, 1 flaky) in 0.810s"
    );
}

#[test]
fn declared_counts_that_disagree_are_reported_not_fatal() {
    // FULL declares errors=1 for outer, but two cases carry <error>.
    let r = parse(FULL);
    let m = r.mismatches();
    let text: Vec<String> = m.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "<testsuites> declares errors=1 but contains 2",
            "suite \"outer\" declares errors=1 but contains 2",
        ]
    );
    let xml = r#"<testsuite name="s" tests="5" failures="0"><testcase name="a"><failure/></testcase></testsuite>"#;
    let r = parse(xml);
    let m = r.mismatches();
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].attribute, m[0].declared, m[0].actual),
        ("tests", 5, 1)
    );
    assert_eq!(
        (m[1].attribute, m[1].declared, m[1].actual),
        ("failures", 0, 1)
    );
}

#[test]
fn rerun_failures_of_a_failed_test() {
    let xml = r#"<testsuite name="s"><testcase name="t">
        <failure message="final"/>
        <rerunFailure message="r1" type="X"><stackTrace>s1</stackTrace></rerunFailure>
        <rerunError message="r2">direct text</rerunError>
    </testcase></testsuite>"#;
    let r = parse(xml);
    let c = &r.cases[0];
    assert_eq!(c.outcome, Outcome::Failed);
    assert!(!c.is_flaky());
    assert_eq!(c.reruns[0].kind, RerunKind::RerunFailure);
    assert_eq!(c.reruns[1].kind, RerunKind::RerunError);
    assert_eq!(c.reruns[1].description.as_deref(), Some("direct text"));
    assert_eq!(c.reruns[1].stack_trace, None);
}

#[test]
fn root_testsuite_and_cases_directly_under_testsuites() {
    let r = parse(r#"<testsuite name="only"><testcase name="a"/></testsuite>"#);
    assert!(r.root.is_none());
    assert_eq!(r.suites[0].name, "only");
    // Node's test runner writes top-level <testcase> elements.
    let r = parse(
        r#"<testsuites><testcase name="top"/><testsuite name="s"><testcase name="b"/></testsuite></testsuites>"#,
    );
    assert_eq!(r.cases[0].suite, None);
    assert_eq!(r.cases[1].suite, Some(0));
}

#[test]
fn unknown_elements_and_namespaces_are_skipped() {
    let r = parse(
        r#"<x:testsuite xmlns:x="urn:x" name="s"><meta><testcase name="hidden"/></meta><testcase name="a"><custom>1</custom><x:skipped message="m"/></testcase></x:testsuite>"#,
    );
    assert_eq!(r.cases.len(), 1);
    assert_eq!(r.cases[0].outcome, Outcome::Skipped);
}

#[test]
fn crlf_in_text_is_normalized_and_bom_is_accepted() {
    let xml = "\u{feff}<testsuite><testcase name=\"a\"><failure>l1\r\nl2\rl3</failure></testcase></testsuite>";
    let r = parse(xml);
    assert_eq!(r.cases[0].failures[0].text.as_deref(), Some("l1\nl2\nl3"));
}

#[test]
fn streaming_yields_cases_before_their_suite() {
    let xml = r#"<testsuites name="r"><testsuite name="s"><testcase name="a"/><testsuite name="t"><testcase name="b"/></testsuite></testsuite></testsuites>"#;
    let items: Vec<Item> = Parser::new()
        .reader(xml.as_bytes())
        .collect::<Result<_, _>>()
        .expect("valid");
    let kinds: Vec<String> = items
        .iter()
        .map(|i| match i {
            Item::Root(_) => "root".to_owned(),
            Item::Case(c) => format!("case {}", c.name),
            Item::Suite(s) => format!("suite {} #{}", s.name, s.index),
            _ => "other".to_owned(),
        })
        .collect();
    assert_eq!(
        kinds,
        ["root", "case a", "case b", "suite t #1", "suite s #0"]
    );
}

#[test]
fn skip_output_drops_texts_only() {
    let parser = Parser::builder().skip_output(true).build().expect("valid");
    let r = parser
        .parse(&br#"<testsuite><testcase name="a"><system-out>x</system-out><failure message="m">t</failure></testcase></testsuite>"#[..])
        .expect("valid");
    assert_eq!(r.cases[0].system_out, None);
    assert_eq!(r.cases[0].failures[0].text.as_deref(), Some("t"));
}

#[test]
fn from_path_reads_a_file_and_names_it_in_errors() {
    let dir = std::env::temp_dir().join(format!("debugenv-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("good.xml");
    std::fs::write(&good, r#"<testsuite><testcase name="a"/></testsuite>"#).expect("write");
    assert_eq!(Report::from_path(&good).expect("valid").cases.len(), 1);
    let bad = dir.join("bad.xml");
    std::fs::write(&bad, "<testsuite><testcase").expect("write");
    let err = Report::from_path(&bad).expect_err("truncated");
    assert!(err.to_string().contains("bad.xml"), "{err}");
    let missing = Report::from_path(dir.join("missing.xml")).expect_err("missing");
    assert!(matches!(missing.kind(), debugenv_junit::ErrorKind::Io(_)));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn read_case_reuses_its_case_without_leaking_fields() {
    // Every field set by one case and absent from the next must be reset.
    let xml = r#"<testsuites><testsuite name="s">
        <testcase classname="c" name="a" file="f.py" line="3" time="0.5" timestamp="t" status="run" assertions="2">
          <failure message="m" type="T">body</failure><error message="e"/>
          <properties><property name="k" value="v"/></properties>
          <system-out>out</system-out><system-err>err</system-err>
          <rerunFailure message="r"/>
        </testcase>
        <testcase name="b"/>
        <testcase name="c"><skipped type="pytest.xfail"/></testcase>
        <testcase name="d" classname="c2"/>
    </testsuite></testsuites>"#;
    let report = parse(xml);
    let mut reader = Parser::new().reader(xml.as_bytes());
    let mut lent = Vec::new();
    while let Some(case) = reader.read_case().expect("valid") {
        lent.push(case.clone());
    }
    assert_eq!(lent, report.cases);
    assert_eq!(lent[1], {
        let mut b = debugenv_junit::TestCase::new("b");
        b.suite = Some(0);
        b.offset = report.cases[1].offset;
        b
    });
    // Switching back to the iterator after `read_case` works and ends cleanly.
    let mut reader = Parser::new().reader(xml.as_bytes());
    assert_eq!(
        reader.read_case().expect("valid").map(|c| c.name.clone()),
        Some("a".into())
    );
    let rest: Vec<String> = reader.cases().map(|c| c.expect("valid").name).collect();
    assert_eq!(rest, ["b", "c", "d"]);
}

#[test]
fn read_case_reports_errors_then_ends() {
    let xml = "<testsuite><testcase name=\"a\"/><testcase name=\"b\" time=\"x\"/><testcase name=\"c\"/></testsuite>";
    let mut reader = Parser::new().reader(xml.as_bytes());
    assert_eq!(
        reader.read_case().expect("first").map(|c| c.name.clone()),
        Some("a".into())
    );
    let err = reader.read_case().expect_err("bad time");
    let at = xml.find("<testcase name=\"b\"").expect("in xml");
    assert_eq!(err.position().offset, at as u64);
    assert!(reader.read_case().expect("ended").is_none());
}
