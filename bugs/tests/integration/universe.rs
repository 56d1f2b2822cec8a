//! `tests.json` parsing, validation and outcomes.

use debugenv_bugs::{Outcomes, TestUniverse, UniverseErrorKind, UniverseProblem, UniverseTest};

#[test]
fn parses_and_writes_sorted() {
    let source = r#"{"version": 1, "tests": [
        {"id": "tests/unit/test_b.py::test_y", "category": "unit", "bugs": ["A1", "S5"]},
        {"id": "tests/system/test_a.py::TestX::test_z[p]", "category": "system", "bugs": []}
    ]}"#;
    let u = TestUniverse::from_str(source).expect("valid");
    assert_eq!(u.len(), 2);
    assert_eq!(u.tests()[0].bugs, ["A1".into(), "S5".into()]);
    assert_eq!(
        u.position("tests/system/test_a.py::TestX::test_z[p]"),
        Some(1)
    );
    let json = u.to_json();
    let back = TestUniverse::from_str(&json).expect("round trip");
    assert_eq!(
        back.tests()[0].id.as_str(),
        "tests/system/test_a.py::TestX::test_z[p]"
    );
    assert_eq!(back.len(), 2);
    // Missing `bugs` means no bugs.
    let u = TestUniverse::from_str(r#"{"version":1,"tests":[{"id":"t","category":"unit"}]}"#)
        .expect("valid");
    assert!(u.tests()[0].bugs.is_empty());
}

#[test]
fn json_errors_have_line_and_column() {
    let err = TestUniverse::from_str("{\"version\": 1,\n \"tests\": [}").expect_err("invalid");
    match err.kind() {
        UniverseErrorKind::Json { position, .. } => {
            assert_eq!((position.line, position.column), (2, 12))
        }
        other => panic!("{other:?}"),
    }
    let err = TestUniverse::from_str(r#"{"version": 2, "tests": []}"#).expect_err("version");
    assert!(matches!(err.kind(), UniverseErrorKind::Version { got: 2 }));
}

#[test]
fn every_invalid_entry_is_reported() {
    let source = r#"{"version": 1, "tests": [
        {"id": "a", "category": "unit", "bugs": ["A1", "A1"]},
        {"id": "", "category": "unit", "bugs": []},
        {"id": "a", "category": "", "bugs": [""]}
    ]}"#;
    let err = TestUniverse::from_str(source).expect_err("invalid");
    let UniverseErrorKind::Invalid(problems) = err.kind() else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &vec![
            UniverseProblem::DuplicateBug {
                index: 0,
                id: "a".into(),
                bug: "A1".into()
            },
            UniverseProblem::EmptyId { index: 1 },
            UniverseProblem::DuplicateId {
                id: "a".into(),
                first: 0,
                index: 2
            },
            UniverseProblem::EmptyCategory {
                index: 2,
                id: "a".into()
            },
            UniverseProblem::EmptyBugId {
                index: 2,
                id: "a".into()
            },
        ]
    );
    insta::assert_snapshot!("universe_problems", err.to_string());
}

#[test]
fn from_path_names_the_file() {
    let dir = std::env::temp_dir().join(format!("debugenv-bugs-universe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("tests.json");
    std::fs::write(
        &path,
        r#"{"version": 1, "tests": [{"id": "t", "category": "unit", "bugs": []}]}"#,
    )
    .expect("write");
    assert_eq!(TestUniverse::from_path(&path).expect("valid").len(), 1);
    std::fs::write(&path, "{").expect("write");
    let err = TestUniverse::from_path(&path).expect_err("invalid");
    assert!(
        err.to_string().contains("tests.json: line 1, column 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn outcomes_from_ids_count_missing_tests_as_failed() {
    let u = TestUniverse::new(vec![
        UniverseTest::new("a", "unit", []),
        UniverseTest::new("b", "unit", []),
    ])
    .expect("valid");
    let (outcomes, unknown) = u.outcomes(["b", "zzz"]);
    assert_eq!(outcomes.as_slice(), &[false, true]);
    assert_eq!(unknown, ["zzz"]);
    let short = Outcomes::from_passed(vec![true]);
    assert!(short.passed(0));
    assert!(!short.passed(5));
}
