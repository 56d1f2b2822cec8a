//! The fast paths for `<testcase .../>` and for text with references (taken
//! when the reader's buffer holds what they read) give exactly what the
//! general path gives: the same report, the same streamed cases, the same
//! errors at the same positions.
//! A `BufReader` of one byte never holds a whole tag, so it forces the
//! general path on the same document.

use std::io::BufReader;

use debugenv_junit::{Mode, Parser, TestCase};
use proptest::prelude::*;

/// Attribute spellings a `<testcase>` may carry: plain, escaped, quoted
/// both ways, prefixed, unknown, repeated, unparsable, not UTF-8, broken.
const ATTRS: &[&[u8]] = &[
    b" name=\"a\"",
    b" name=\"t[x&amp;y-&#10;]\"",
    b" name='single'",
    b"\n\tname=\"nl\"",
    b" name=\"&bogus;\"",
    b" name=\"a & b\"",
    b" name=\"<&lt;>\"",
    b" name=\"na\xc3\xafve\"",
    b" name=\"bad\xff\"",
    b" classname=\"tests.test_x.TestY\"",
    b" classname=\"\"",
    b" file=\"tests/test_x.py\"",
    b" line=\"12\"",
    b" line=\" 7\"",
    b" line=\"x\"",
    b" line=\"&#49;\"",
    b" time=\"0.125\"",
    b" time=\"1,5\"",
    b" time=\"1e3\"",
    b" time=\"\"",
    b" time=\"-1\"",
    b" timestamp=\"2026-01-01T00:00:00\"",
    b" status=\"notrun\"",
    b" assertions=\"3\"",
    b" foo=\"bar\"",
    b" x-y.z_1='1'",
    b" a:name=\"prefixed\"",
    b" xsi:type=\"t\"",
    b" bad",
    b" =\"v\"",
    b" k=v",
    b" k=\"open",
    b" k = \"spaced\"",
    b"k2=\"glued\"",
    b" /",
];

/// How a `<testcase` tag ends.
const ENDS: &[&[u8]] = &[
    b"/>",
    b" />",
    b"\n/>",
    b"/ >",
    b">",
    b"></testcase>",
    b"><skipped/></testcase>",
];

/// Pieces of the text of a `<failure>` or an output.
const TEXTS: &[&[u8]] = &[
    b"plain",
    b" ",
    b"&lt;",
    b"&gt;&amp;&quot;&apos;",
    b"&#10;&#x41;",
    b"&#0;",
    b"&bogus;",
    b"&",
    b"&lt",
    b"a & b",
    b"\r\n",
    b"\r",
    b"\n",
    b"na\xc3\xafve",
    b"\xc3",
    b"\xff",
    b"<![CDATA[x < y]]>",
    b"<!-- c -->",
    b"<b>bold</b>",
    b"]]>",
];

/// The text pieces `body` at most once each per element: the failure's
/// and the case's output.
fn body(doc: &mut Vec<u8>, body: &[usize]) {
    for &t in body {
        doc.extend_from_slice(TEXTS[t]);
    }
}

type Case = (Vec<usize>, usize, Vec<usize>);

fn document(cases: &[Case], gap: &[u8]) -> Vec<u8> {
    let mut doc = b"<testsuites><testsuite name=\"s\" tests=\"3\">".to_vec();
    for (attrs, end, text) in cases {
        doc.extend_from_slice(gap);
        doc.extend_from_slice(b"<testcase");
        for &a in attrs {
            doc.extend_from_slice(ATTRS[a]);
        }
        if *end < ENDS.len() {
            doc.extend_from_slice(ENDS[*end]);
        } else {
            doc.extend_from_slice(b"><failure message=\"m\">");
            body(&mut doc, text);
            doc.extend_from_slice(b"</failure>");
            doc.extend_from_slice(gap);
            doc.extend_from_slice(b"<system-out>");
            body(&mut doc, text);
            doc.extend_from_slice(b"</system-out><properties><property name=\"p\">");
            body(&mut doc, text);
            doc.extend_from_slice(b"</property></properties>");
            body(&mut doc, text);
            doc.extend_from_slice(b"</testcase>");
        }
    }
    doc.extend_from_slice(b"</testsuite></testsuites>");
    doc
}

/// Every case streamed by `read_case`, then the error if any.
fn stream(parser: &Parser, input: impl std::io::BufRead) -> (Vec<TestCase>, Option<String>) {
    let mut reader = parser.reader(input);
    let mut cases = Vec::new();
    loop {
        match reader.read_case() {
            Ok(Some(case)) => cases.push(case.clone()),
            Ok(None) => return (cases, None),
            Err(e) => return (cases, Some(e.to_string())),
        }
    }
}

fn check(doc: &[u8]) -> Result<(), TestCaseError> {
    for mode in [Mode::Strict, Mode::Tolerant] {
        let parser = Parser::builder().mode(mode).build().expect("valid");
        let fast = parser.parse_partial(doc);
        let slow = parser.parse_partial(BufReader::with_capacity(1, doc));
        prop_assert_eq!(&fast.report, &slow.report, "{:?}", mode);
        prop_assert_eq!(
            fast.error.map(|e| e.to_string()),
            slow.error.map(|e| e.to_string()),
            "{:?}",
            mode
        );
        prop_assert_eq!(
            stream(&parser, doc),
            stream(&parser, BufReader::with_capacity(1, doc)),
            "{:?}",
            mode
        );
    }
    Ok(())
}

#[test]
fn plain_cases_take_the_fast_path_and_read_the_same() {
    let doc = document(
        &[
            (vec![9, 0, 11, 12, 16], 1, vec![]),
            (vec![1, 21, 22, 23, 24], 0, vec![]),
            (vec![0], ENDS.len(), vec![0, 2, 1, 3, 4, 10, 13, 11, 12]),
        ],
        b"",
    );
    check(&doc).expect("same results");
    let report = Parser::new().parse(&doc[..]).expect("valid");
    let case = &report.cases[1];
    assert_eq!(case.name, "t[x&y-\n]");
    assert_eq!(case.timestamp.as_deref(), Some("2026-01-01T00:00:00"));
    assert_eq!(case.status.as_deref(), Some("notrun"));
    assert_eq!(case.assertions, Some(3));
    assert_eq!(case.outcome, debugenv_junit::Outcome::Skipped);
    let text = "plain< >&\"'\nA\nna\u{ef}ve\n";
    let failed = &report.cases[2];
    assert_eq!(failed.failures[0].text.as_deref(), Some(text));
    assert_eq!(failed.system_out.as_deref(), Some(text));
    assert_eq!(failed.properties[0].value, text);
    let starts: Vec<u64> = (0..doc.len())
        .filter(|&i| doc[i..].starts_with(b"<testcase"))
        .map(|i| i as u64)
        .collect();
    let offsets: Vec<u64> = report.cases.iter().map(|c| c.offset).collect();
    assert_eq!(offsets, starts);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn fast_and_general_paths_agree(
        cases in proptest::collection::vec(
            (
                proptest::collection::vec(0..ATTRS.len(), 0..7),
                0..=ENDS.len(),
                proptest::collection::vec(0..TEXTS.len(), 0..6),
            ),
            1..6,
        ),
        gap in prop_oneof![Just(&b""[..]), Just(&b"\n  "[..]), Just(&b"<!-- c -->"[..])],
    ) {
        check(&document(&cases, gap))?;
    }
}

/// Pieces of a document for the end-tag check (done by the reader itself,
/// since the fast path opens `<testcase>` elements quick-xml never sees).
const TAGS: &[&str] = &[
    "<testsuite name=\"s\">",
    "</testsuite>",
    "<testcase name=\"a\">",
    "<testcase name=\"b\"/>",
    "</testcase>",
    "</testcase >",
    "</testcase\n>",
    "<failure>",
    "</failure>",
    "<x:y>",
    "</x:y>",
    "</y>",
    "<system-out>",
    "</system-out>",
    "text",
    "\n",
];

/// The first end-tag error of quick-xml's own check on `doc`: its position
/// (the start of the end tag) and message.
fn quick_xml_end_error(doc: &[u8]) -> Option<(u64, String)> {
    let mut reader = quick_xml::Reader::from_reader(doc);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let at = reader.buffer_position();
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => return None,
            Ok(_) => {}
            Err(e @ quick_xml::Error::IllFormed(_)) => return Some((at, e.to_string())),
            Err(_) => return None,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn end_tags_are_checked_like_quick_xml(
        pieces in proptest::collection::vec(0..TAGS.len(), 0..14),
    ) {
        let mut doc = String::from("<testsuites>");
        for &p in &pieces {
            doc.push_str(TAGS[p]);
        }
        doc.push_str("</testsuites>");
        let ours = Parser::new().parse(doc.as_bytes()).err();
        let theirs = quick_xml_end_error(doc.as_bytes());
        let end_tag = |m: &str| m.contains("ill-formed document");
        if let Some(e) = &ours {
            if end_tag(&e.to_string()) {
                let (at, message) = theirs.clone().expect("quick-xml also rejects an end tag");
                prop_assert_eq!(e.position().offset, at, "{}", e);
                prop_assert!(e.to_string().ends_with(&message), "{} / {}", e, message);
            }
        }
        if let Some((at, message)) = theirs {
            let e = ours.expect("an error where quick-xml finds one");
            prop_assert!(e.position().offset <= at, "{} / {}", e, message);
            if e.position().offset == at {
                prop_assert!(e.to_string().ends_with(&message), "{} / {}", e, message);
            }
        }
    }
}

/// Children of a `<testcase>` for the whole-case fast path: each with the
/// text pieces spliced in at `{}`; plain ones it reads, and others it must
/// leave to the general path (unknown or misplaced elements, duplicate or
/// prefixed attributes, unknown references, a nested element, a property
/// without a name).
const CHILDREN: &[&str] = &[
    "<failure message=\"m &amp; n&#10;\" type=\"AssertionError\">{}</failure>",
    "<failure/>",
    "<failure></failure>",
    "<error message='e'>{}</error>",
    "<skipped type=\"pytest.xfail\" message=\"x\"/>",
    "<skipped message=\"s\">{}</skipped>",
    "<system-out>{}</system-out>",
    "<system-err>{}</system-err>",
    "<system-out/>",
    "<system-out >{}</system-out>",
    "<properties><property name=\"p\" value=\"v\"/><property name=\"q\">{}</property></properties>",
    "<properties>\n  <property name=\"r\" value=\"&lt;1&gt;\" />\n</properties>",
    "<properties/>",
    "<property name=\"x\"/>",
    "<flakyFailure message=\"f\">{}</flakyFailure>",
    "<failure message=\"m\" message=\"dup\"/>",
    "<failure xsi:type=\"t\"/>",
    "<failure message='m' extra=\"&#x41;\">{}</failure>",
    "<failure message=\"bad &bogus;\"/>",
    "<failure message=\"na\u{ef}ve \u{1f600}\"/>",
    "<properties><property value=\"no name\"/></properties>",
    "<failure message=\"m\">{}<b>x</b></failure>",
    "<failure message=\"m\">{}</failure >",
    "<failure message=\"m\">{}</error>",
    "<skipped/><skipped message=\"second\"/>",
];

/// What comes between two children.
const GAPS: &[&str] = &["", "\n    ", "<!-- c -->", "stray", "&amp;", "&bogus;"];

/// Parsers with every limit the fast path must respect set low, and the
/// option that drops outputs.
fn parsers() -> Vec<Parser> {
    let mut out = Vec::new();
    for mode in [Mode::Strict, Mode::Tolerant] {
        let b = || Parser::builder().mode(mode);
        out.push(b().build().expect("valid"));
        out.push(b().skip_output(true).build().expect("valid"));
        out.push(b().max_depth(3).build().expect("valid"));
        out.push(b().max_depth(4).build().expect("valid"));
        out.push(b().max_properties(1).build().expect("valid"));
        out.push(b().max_reruns(1).build().expect("valid"));
        out.push(b().max_text_bytes(12).build().expect("valid"));
        out.push(b().max_attributes(1).build().expect("valid"));
    }
    out
}

/// The same document read from one buffer (fast paths wherever they
/// apply), through a one-byte buffer (never) and through a 61-byte buffer
/// (sometimes, switching paths in the middle of cases).
fn check_all_paths(doc: &[u8]) -> Result<(), TestCaseError> {
    for parser in parsers() {
        let fast = parser.parse_partial(doc);
        let slow = parser.parse_partial(BufReader::with_capacity(1, doc));
        let mixed = parser.parse_partial(BufReader::with_capacity(61, doc));
        let options = parser.options();
        prop_assert_eq!(&fast.report, &slow.report, "{:?}", options);
        prop_assert_eq!(&mixed.report, &slow.report, "{:?}", options);
        let error = |e: Option<debugenv_junit::Error>| e.map(|e| e.to_string());
        let slow_error = error(slow.error);
        prop_assert_eq!(error(fast.error), slow_error.clone(), "{:?}", options);
        prop_assert_eq!(error(mixed.error), slow_error, "{:?}", options);
        prop_assert_eq!(
            stream(&parser, doc),
            stream(&parser, BufReader::with_capacity(1, doc)),
            "{:?}",
            options
        );
    }
    Ok(())
}

type WholeCase = (Vec<(usize, usize)>, Vec<usize>);

fn whole_document(cases: &[WholeCase]) -> Vec<u8> {
    let mut doc = b"<testsuites><testsuite name=\"s\">".to_vec();
    for (children, texts) in cases {
        let text: Vec<u8> = texts
            .iter()
            .flat_map(|&t| TEXTS[t].iter().copied())
            .collect();
        doc.extend_from_slice(b"<testcase classname=\"c\" name=\"t\" time=\"0.5\">");
        for &(child, gap) in children {
            doc.extend_from_slice(GAPS[gap].as_bytes());
            let mut parts = CHILDREN[child].split("{}");
            doc.extend_from_slice(parts.next().unwrap_or_default().as_bytes());
            for part in parts {
                doc.extend_from_slice(&text);
                doc.extend_from_slice(part.as_bytes());
            }
        }
        doc.extend_from_slice(b"</testcase>");
    }
    doc.extend_from_slice(b"</testsuite></testsuites>");
    doc
}

#[test]
fn whole_cases_take_the_fast_path_and_read_the_same() {
    // Every child alone, with a text of every kind.
    for child in 0..CHILDREN.len() {
        for gap in 0..GAPS.len() {
            let doc = whole_document(&[(vec![(child, gap), (0, 0)], vec![0, 2, 4, 10, 13])]);
            check_all_paths(&doc).expect("same results");
        }
    }
    let doc = whole_document(&[(vec![(0, 0), (6, 1), (7, 0), (10, 1)], vec![0, 2, 3, 11])]);
    check_all_paths(&doc).expect("same results");
    let report = Parser::new().parse(&doc[..]).expect("valid");
    let case = &report.cases[0];
    let text = "plain<>&\"'\n";
    assert_eq!(case.failures[0].message.as_deref(), Some("m & n\n"));
    assert_eq!(
        case.failures[0].kind_attr.as_deref(),
        Some("AssertionError")
    );
    assert_eq!(case.failures[0].text.as_deref(), Some(text));
    assert_eq!(case.system_out.as_deref(), Some(text));
    assert_eq!(case.system_err.as_deref(), Some(text));
    assert_eq!(case.properties.len(), 2);
    assert_eq!(case.properties[1].value, text);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn whole_cases_read_the_same_on_every_path(
        cases in proptest::collection::vec(
            (
                proptest::collection::vec((0..CHILDREN.len(), 0..GAPS.len()), 0..5),
                proptest::collection::vec(0..TEXTS.len(), 0..5),
            ),
            1..4,
        ),
    ) {
        check_all_paths(&whole_document(&cases))?;
    }
}
