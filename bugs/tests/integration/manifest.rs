//! `bugs.toml` parsing and the errors it reports.

use debugenv_bugs::{
    BugGraph, GraphProblemKind, Manifest, ManifestErrorKind, Position, TestUniverse, UniverseTest,
};

pub(crate) const TWO_BUGS: &str = r#"
[[bug]]
id = "S5"
title = "circular import"
category = "setup"
files = ["apps/candidates/utils.py", "apps/jobs/utils.py"]
symptom = "ImportError on startup"
hint = "break the import cycle"
marker = "bug_s5"

[[bug]]
id = "A1"
title = "connection pool"
category = "performance"
files = ["talentflow/settings/base.py"]
symptom = "sporadic connection errors"
hint = "CONN_MAX_AGE"
depends_on = ["S5"]
marker = "bug_a1"
"#;

#[test]
fn parses_every_field() {
    let m = Manifest::from_str(TWO_BUGS).expect("valid manifest");
    let a1 = &m.bugs()[1];
    assert_eq!(a1.id.as_str(), "A1");
    assert_eq!(a1.title, "connection pool");
    assert_eq!(a1.category, "performance");
    assert_eq!(a1.files, ["talentflow/settings/base.py"]);
    assert_eq!(a1.symptom, "sporadic connection errors");
    assert_eq!(a1.hint, "CONN_MAX_AGE");
    assert_eq!(a1.depends_on, ["S5".into()]);
    assert_eq!(a1.marker, "bug_a1");
    assert_eq!(m.bugs()[0].depends_on, Vec::<debugenv_bugs::BugId>::new());
}

fn toml_error(source: &str) -> (Option<Position>, String) {
    match Manifest::from_str(source).expect_err("invalid").kind() {
        ManifestErrorKind::Toml { position, message } => (*position, message.clone()),
        other => panic!("expected a TOML error, got {other:?}"),
    }
}

#[test]
fn toml_syntax_error_has_line_and_column() {
    let (pos, _) = toml_error("[[bug]]\nid = \"A1\"\ntitle = oops\n");
    assert_eq!(pos, Some(Position { line: 3, column: 9 }));
}

#[test]
fn missing_and_unknown_fields_are_errors() {
    let (pos, msg) = toml_error("[[bug]]\nid = \"A1\"\ntitle = \"t\"\ncategory = \"c\"\n");
    assert!(msg.contains("marker"), "{msg}");
    assert_eq!(pos.map(|p| p.line), Some(1));
    let (pos, msg) = toml_error(
        "[[bug]]\nid = \"A1\"\ntitle = \"t\"\ncategory = \"c\"\nmarker = \"m\"\ndepend_on = []\n",
    );
    assert!(msg.contains("depend_on"), "{msg}");
    assert_eq!(pos, Some(Position { line: 6, column: 1 }));
}

#[test]
fn error_texts() {
    let err = Manifest::from_str("[[bug]]\nid = 3\n").expect_err("invalid");
    insta::assert_snapshot!("manifest_type_error", err.to_string());
    let err = Manifest::from_path("/nonexistent/bugs.toml").expect_err("missing file");
    assert!(
        err.to_string()
            .starts_with("failed to parse bug manifest /nonexistent/bugs.toml: "),
        "{err}"
    );
}

/// Every graph problem at once, each with its manifest position.
#[test]
fn all_problems_reported_together_with_positions() {
    let source = r#"
[[bug]]
id = "A1"
title = "a"
category = "c"
depends_on = ["B1", "Z9"]
marker = "bug_a1"

[[bug]]
id = "B1"
title = "b"
category = "c"
depends_on = ["A1"]
marker = "bug_b1"

[[bug]]
id = "A1"
title = "again"
category = "c"
marker = "bug_a1"

[[bug]]
id = "C 1"
title = "bad id"
category = "c"
marker = "bug_c1"
"#;
    let manifest = Manifest::from_str(source).expect("syntax is fine");
    let universe = TestUniverse::new(vec![
        UniverseTest::new("t::a", "unit", ["A1".into()]),
        UniverseTest::new("t::b", "unit", ["B1".into(), "Q7".into()]),
    ])
    .expect("valid universe");
    let err = BugGraph::new(&manifest, &universe).expect_err("invalid graph");
    let kinds: Vec<&GraphProblemKind> = err.problems().iter().map(|p| &p.kind).collect();
    assert!(
        matches!(kinds[0], GraphProblemKind::DuplicateId { id, first: Some(Position { line: 3, column: 6 }) } if id.as_str() == "A1")
    );
    assert_eq!(
        err.problems()[0].position,
        Some(Position {
            line: 17,
            column: 6
        })
    );
    assert!(matches!(kinds[1], GraphProblemKind::InvalidId { .. }));
    assert!(
        matches!(kinds[2], GraphProblemKind::UnknownDependency { dependency, .. } if dependency.as_str() == "Z9")
    );
    assert_eq!(
        err.problems()[2].position,
        Some(Position {
            line: 6,
            column: 21
        })
    );
    assert!(
        matches!(kinds[3], GraphProblemKind::Cycle { path } if path.iter().map(|b| b.as_str()).collect::<Vec<_>>() == ["A1", "B1", "A1"])
    );
    assert!(matches!(kinds[4], GraphProblemKind::BugWithoutTests { bug } if bug.as_str() == "C 1"));
    assert!(
        matches!(kinds[5], GraphProblemKind::UnknownBugInTest { bug, .. } if bug.as_str() == "Q7")
    );
    assert_eq!(kinds.len(), 6);
    insta::assert_snapshot!("graph_all_problems", err.to_string());
}
