//! Arbitrary bytes and truncations never panic; tolerant mode keeps a prefix.

use debugenv_junit::{Mode, Parser, Report};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const SEED: &str = r#"<?xml version="1.0"?><testsuites tests="3"><testsuite name="s" tests="3"><properties><property name="k" value="v"/></properties><testcase classname="c" name="a[1]" time="0.1"><failure message="m &amp; n" type="T">body<![CDATA[<x>]]></failure><system-out>out</system-out></testcase><testcase name="b"><skipped/></testcase><testcase name="c"><flakyFailure message="f"><stackTrace>s</stackTrace></flakyFailure></testcase></testsuite></testsuites>"#;

fn tolerant() -> Parser {
    Parser::builder()
        .mode(Mode::Tolerant)
        .max_depth(32)
        .build()
        .expect("valid")
}

/// The error's position lies inside the input and agrees with its lines.
fn check_position(e: &debugenv_junit::Error, bytes: &[u8]) -> Result<(), TestCaseError> {
    let p = e.position();
    prop_assert!(p.offset <= bytes.len() as u64, "{e}");
    let before = &bytes[..p.offset as usize];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    prop_assert_eq!(p.line, line, "{}", e);
    prop_assert_eq!(
        p.column,
        (p.offset as usize - line_start) as u64 + 1,
        "{}",
        e
    );
    let at = format!("byte {}", p.offset);
    prop_assert!(e.to_string().contains(&at), "{}", e);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Arbitrary bytes are almost never a report: the error must say where.
        if let Err(e) = Parser::new().parse(&bytes[..]) {
            check_position(&e, &bytes)?;
        }
        if let Some(e) = tolerant().parse_partial(&bytes[..]).error {
            check_position(&e, &bytes)?;
        }
    }

    #[test]
    fn mutated_reports_never_panic(pos in 0..SEED.len(), byte in any::<u8>(), cut in 0..=SEED.len()) {
        let mut bytes = SEED.as_bytes().to_vec();
        bytes[pos] = byte;
        bytes.truncate(cut.max(pos));
        let _ = Parser::new().parse(&bytes[..]);
        if let Err(e) = Parser::new().parse(&bytes[..]) {
            check_position(&e, &bytes)?;
        }
        let partial = tolerant().parse_partial(&bytes[..]);
        prop_assert!(partial.report.cases.len() <= 3);
    }

    #[test]
    fn truncations_keep_the_complete_prefix(cut in 0..SEED.len()) {
        let full: Report = SEED.parse().expect("seed is valid");
        let partial = tolerant().parse_partial(&SEED.as_bytes()[..cut]);
        prop_assert!(partial.error.is_some());
        let n = partial.report.cases.len();
        prop_assert_eq!(n, SEED[..cut].matches("</testcase>").count());
        prop_assert_eq!(&partial.report.cases[..], &full.cases[..n]);
    }
}
