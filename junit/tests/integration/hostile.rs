//! Hostile input: every case ends with an error or a bounded result, quickly.

use std::io::{self, BufRead, Read};

use debugenv_junit::{ErrorKind, Limit, Parser, Report};

/// An endless reader repeating `head` once and then `unit` forever.
struct Endless {
    data: Vec<u8>,
    pos: usize,
    head_len: usize,
}

impl Endless {
    fn new(head: &str, unit: &str) -> Self {
        let mut data = head.as_bytes().to_vec();
        let head_len = data.len();
        while data.len() < 64 << 10 {
            data.extend_from_slice(unit.as_bytes());
        }
        // Trim to a whole number of units after the head.
        let units = (data.len() - head_len) / unit.len();
        data.truncate(head_len + units * unit.len());
        Endless {
            data,
            pos: 0,
            head_len,
        }
    }
}

impl Read for Endless {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Endless {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.data.len() {
            self.pos = self.head_len;
        }
        Ok(&self.data[self.pos..])
    }
    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}

fn limit_of(err: &debugenv_junit::Error) -> Option<Limit> {
    match err.kind() {
        ErrorKind::LimitExceeded { limit, .. } => Some(*limit),
        _ => None,
    }
}

#[test]
fn endless_nesting_hits_the_depth_limit() {
    let err = Parser::new()
        .parse(Endless::new("<testsuites>", "<testsuite>"))
        .expect_err("endless");
    assert_eq!(limit_of(&err), Some(Limit::Depth), "{err}");
    let err = Parser::new()
        .parse(Endless::new("<testsuite><testcase name=\"a\">", "<x>"))
        .expect_err("endless unknown elements");
    assert_eq!(limit_of(&err), Some(Limit::Depth), "{err}");
}

#[test]
fn endless_attribute_hits_the_event_limit() {
    let parser = Parser::builder()
        .max_event_bytes(1 << 20)
        .build()
        .expect("valid");
    let err = parser
        .parse(Endless::new("<testsuite><testcase name=\"", "a"))
        .expect_err("endless attribute");
    assert_eq!(limit_of(&err), Some(Limit::EventBytes), "{err}");
}

#[test]
fn endless_text_hits_the_event_limit_and_kept_text_is_capped() {
    let parser = Parser::builder()
        .max_event_bytes(1 << 20)
        .max_text_bytes(1000)
        .build()
        .expect("valid");
    let err = parser
        .parse(Endless::new(
            "<testsuite><testcase name=\"a\"><system-out>",
            "x",
        ))
        .expect_err("endless text");
    assert_eq!(limit_of(&err), Some(Limit::EventBytes), "{err}");

    // Many short text runs split by entities: each run is small, the kept text is capped.
    let mut xml = String::from("<testsuite><testcase name=\"a\"><system-out>");
    for _ in 0..10_000 {
        xml.push_str("abc&amp;");
    }
    xml.push_str("</system-out></testcase></testsuite>");
    let r = parser.parse(xml.as_bytes()).expect("valid");
    assert_eq!(r.cases[0].system_out.as_ref().map(String::len), Some(1000));

    // Several <system-out> elements are concatenated, still within the cap
    // (found by the junit_small_limits fuzz target).
    let block = format!("<system-out>{}</system-out>", "y".repeat(600));
    let xml =
        format!("<testsuite><testcase name=\"a\">{block}{block}{block}</testcase></testsuite>");
    let r = parser.parse(xml.as_bytes()).expect("valid");
    assert_eq!(r.cases[0].system_out.as_ref().map(String::len), Some(1000));
}

#[test]
fn endless_properties_hit_the_property_limit() {
    let parser = Parser::builder()
        .max_properties(100)
        .build()
        .expect("valid");
    let err = parser
        .parse(Endless::new(
            "<testsuite><testcase name=\"a\"><properties>",
            "<property name=\"k\" value=\"v\"/>",
        ))
        .expect_err("endless properties");
    assert_eq!(limit_of(&err), Some(Limit::Properties), "{err}");
}

#[test]
fn endless_reruns_hit_the_rerun_limit() {
    let parser = Parser::builder().max_reruns(50).build().expect("valid");
    let err = parser
        .parse(Endless::new(
            "<testsuite><testcase name=\"a\">",
            "<flakyFailure/>",
        ))
        .expect_err("endless reruns");
    assert_eq!(limit_of(&err), Some(Limit::Reruns), "{err}");
    let err = parser
        .parse(Endless::new(
            "<testsuite><testcase name=\"a\">",
            "<failure/>",
        ))
        .expect_err("endless failures");
    assert_eq!(limit_of(&err), Some(Limit::Reruns), "{err}");
}

#[test]
fn billion_laughs_is_never_expanded() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuite><testcase name="a"><failure message="&lol9;">&lol9;</failure></testcase></testsuite>"#;
    let err = xml
        .parse::<Report>()
        .expect_err("strict rejects DTD entities");
    assert!(matches!(err.kind(), ErrorKind::UnknownEntity(_)), "{err}");
    let partial = Report::from_reader_tolerant(xml.as_bytes());
    assert!(partial.error.is_none());
    let case = &partial.report.cases[0];
    assert_eq!(case.failures[0].message.as_deref(), Some("&lol9;"));
    assert_eq!(case.failures[0].text.as_deref(), Some("&lol9;"));
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    for xml in [
        &b"<testsuite><testcase name=\"\xff\"/></testsuite>"[..],
        &b"<testsuite><testcase name=\"a\"><failure>\xc3\x28</failure></testcase></testsuite>"[..],
        &b"<testsuite><testcase name=\"a\">\xff</testcase></testsuite>"[..],
        &b"<test\xffsuite/>"[..],
        &b"\xff\xfe<\x00t\x00"[..],
    ] {
        let err = Parser::new().parse(xml).expect_err("invalid utf-8");
        assert!(!err.to_string().is_empty());
        let _ = Report::from_reader_tolerant(xml);
    }
}

#[test]
fn huge_but_legal_attribute_is_read() {
    let long = "x".repeat(3 << 20);
    let xml = format!("<testsuite><testcase name=\"{long}\"/></testsuite>");
    let r: Report = xml.parse().expect("3 MiB name is within the default limit");
    assert_eq!(r.cases[0].name.len(), 3 << 20);
}

#[test]
fn options_are_validated() {
    let err = Parser::builder().max_depth(0).build().expect_err("invalid");
    assert_eq!(err.option, "max_depth");
    assert!(err.to_string().contains("at least"));
    assert!(Parser::builder().max_event_bytes(10).build().is_err());
}

#[test]
fn attribute_count_is_limited_and_duplicates_are_found_among_many() {
    let attrs: String = (0..200).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let xml = format!("<testsuite><testcase name=\"t\"{attrs}/></testsuite>");
    let r: debugenv_junit::Report = xml.parse().expect("200 distinct attributes are fine");
    assert_eq!(r.cases[0].name, "t");

    let dup = format!("<testsuite><testcase name=\"t\"{attrs} a150=\"again\"/></testsuite>");
    let err = dup
        .parse::<debugenv_junit::Report>()
        .expect_err("duplicate");
    assert!(
        err.to_string().contains("duplicate attribute `a150`"),
        "{err}"
    );

    let parser = Parser::builder()
        .max_attributes(100)
        .build()
        .expect("valid");
    let err = parser.parse(xml.as_bytes()).expect_err("over the limit");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::LimitExceeded {
                limit: Limit::Attributes,
                max: 100
            }
        ),
        "{err}"
    );
}
