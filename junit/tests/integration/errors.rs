//! Error messages (snapshots), positions, strict vs tolerant.

use debugenv_junit::{ErrorKind, Mode, Parser, Report};

fn strict_err(xml: &str) -> debugenv_junit::Error {
    match xml.parse::<Report>() {
        Ok(r) => panic!("expected an error, got {} cases", r.cases.len()),
        Err(e) => e,
    }
}

#[test]
fn error_messages() {
    let cases: &[(&str, &str)] = &[
        ("empty", ""),
        ("wrong_root", "<report/>"),
        ("text_before_root", "junk <testsuite/>"),
        (
            "truncated_case",
            "<testsuite name=\"s\">\n  <testcase name=\"a\">",
        ),
        (
            "truncated_tag",
            "<testsuite name=\"s\">\n  <testcase name=\"a",
        ),
        (
            "truncated_root",
            "<testsuites><testsuite name=\"s\"></testsuite>",
        ),
        (
            "mismatched_end",
            "<testsuite>\n<testcase name=\"a\"></testsuite>",
        ),
        (
            "bad_time",
            "<testsuite>\n <testcase name=\"a\" time=\"fast\"/></testsuite>",
        ),
        ("bad_count", "<testsuite tests=\"-1\"/>"),
        (
            "missing_name",
            "<testsuite><testcase classname=\"c\"/></testsuite>",
        ),
        (
            "unknown_entity",
            "<testsuite><testcase name=\"a\"><failure>&lol9;</failure></testcase></testsuite>",
        ),
        (
            "unknown_entity_attr",
            "<testsuite><testcase name=\"&lol;\"/></testsuite>",
        ),
        ("second_root", "<testsuite/>\n<testsuite/>"),
        (
            "invalid_utf8",
            "<testsuite><testcase name=\"a\"><failure>\u{fffd}</failure></testcase></testsuite>",
        ),
        (
            "duplicate_attribute",
            "<testsuite><testcase name=\"a\" name=\"b\"/></testsuite>",
        ),
        (
            "unquoted_attribute",
            "<testsuite>\n<testcase name=a/></testsuite>",
        ),
        (
            "attribute_without_value",
            "<testsuite><testcase name/></testsuite>",
        ),
        (
            "unterminated_reference",
            "<testsuite><testcase name=\"a & b\"/></testsuite>",
        ),
        (
            "invalid_utf8_attribute",
            "<testsuite><testcase name=\"\u{fffd}\"/></testsuite>",
        ),
    ];
    let mut out = String::new();
    for (label, xml) in cases {
        let bytes: Vec<u8> = if label.starts_with("invalid_utf8") {
            xml.replace('\u{fffd}', "\u{1}")
                .into_bytes()
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect()
        } else {
            xml.as_bytes().to_vec()
        };
        let err = Parser::new().parse(&bytes[..]).expect_err(label);
        out.push_str(&format!("{label}: {err}\n"));
    }
    insta::assert_snapshot!("error_messages", out);
}

#[test]
fn positions_point_at_the_offending_tag() {
    let xml =
        "<testsuite>\n  <testcase name=\"a\"/>\n  <testcase name=\"b\" time=\"x\"/>\n</testsuite>";
    let err = strict_err(xml);
    let p = err.position();
    assert_eq!(&xml[p.offset as usize..p.offset as usize + 9], "<testcase");
    assert_eq!((p.line, p.column), (3, 3));
    match err.kind() {
        ErrorKind::InvalidAttribute {
            attribute,
            value,
            expected,
            ..
        } => {
            assert_eq!(attribute, "time");
            assert_eq!(value, "x");
            assert!(expected.contains("seconds"));
        }
        other => panic!("unexpected kind {other:?}"),
    }
}

#[test]
fn tolerant_mode_recovers_from_soft_errors() {
    let xml = r#"<testsuite tests="many"><testcase time="x" line="?"><failure>&nbsp;</failure></testcase></testsuite>"#;
    let partial = Report::from_reader_tolerant(xml.as_bytes());
    assert!(partial.error.is_none(), "{:?}", partial.error);
    let c = &partial.report.cases[0];
    assert_eq!((c.name.as_str(), c.time, c.line), ("", None, None));
    assert_eq!(c.failures[0].text.as_deref(), Some("&nbsp;"));
    assert_eq!(partial.report.suites[0].declared.tests, None);
}

#[test]
fn tolerant_mode_keeps_every_complete_case_before_a_truncation() {
    let mut xml = String::from("<testsuites><testsuite name=\"s\">");
    for i in 0..10 {
        xml.push_str(&format!(
            "<testcase name=\"t{i}\"><system-out>o{i}</system-out></testcase>"
        ));
    }
    let full_len = xml.len();
    let parser = Parser::builder()
        .mode(Mode::Tolerant)
        .build()
        .expect("valid");
    // Cut at every byte: the cases returned are exactly those whose end tag is complete.
    for cut in 0..full_len {
        let partial = parser.parse_partial(&xml.as_bytes()[..cut]);
        let err = partial.error.expect("truncated input is an error");
        let complete = xml[..cut].matches("</testcase>").count();
        assert_eq!(partial.report.cases.len(), complete, "cut at {cut}: {err}");
        if cut > 0 {
            assert!(err.position().offset <= cut as u64);
        }
        if complete > 0 {
            assert_eq!(partial.report.suites.len(), 1, "open suite kept");
            assert_eq!(partial.report.suites[0].cases, 0..complete);
        }
    }
}

#[test]
fn tolerant_mode_stops_at_garbage_and_keeps_what_came_before() {
    let xml = "<testsuite><testcase name=\"a\"/><testcase name=\"b\"/>\u{0}<<garbage";
    let partial = Report::from_reader_tolerant(xml.as_bytes());
    assert_eq!(partial.report.cases.len(), 2);
    let err = partial.error.expect("garbage");
    assert!(!err.to_string().is_empty());
}
