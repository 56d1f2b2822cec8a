//! `BugGraph`: order, blocking, credit, cycles, dot pictures.

use debugenv_bugs::{
    Bug, BugGraph, BugId, GraphProblemKind, Manifest, Outcomes, TestUniverse, UniverseTest,
};

/// A slice of the TalentFlow graph: S5 <- D1 <- B1 <- E2, S5 <- A3 <- H1, S9 <- D2.
fn talentflow_slice() -> (Manifest, TestUniverse) {
    let bug = |id: &str, title: &str, deps: &[&str]| {
        let mut b = Bug::new(id).with_depends_on(deps.iter().copied());
        b.title = title.to_owned();
        b
    };
    let manifest = Manifest::new(vec![
        bug("E2", "naive datetimes", &["B1"]),
        bug("B1", "timezone mismatch", &["D1"]),
        bug("D1", "settings import order", &["S5"]),
        bug("S5", "circular import", &[]),
        bug("A3", "transaction race", &["S5"]),
        bug("H1", "deadlock \"lock order\"", &["A3"]),
        bug("S9", "package conflicts", &[]),
        bug("D2", "psycopg2 conflict", &["S9"]),
        bug("S10", "settings module path", &[]),
    ]);
    let ids = ["E2", "B1", "D1", "S5", "A3", "H1", "S9", "D2", "S10"];
    let tests = ids
        .iter()
        .flat_map(|id| {
            (0..2).map(move |k| {
                UniverseTest::new(format!("t::{id}_{k}").as_str(), "unit", [BugId::from(*id)])
            })
        })
        .collect();
    (manifest, TestUniverse::new(tests).expect("valid universe"))
}

fn ids(v: Vec<&BugId>) -> Vec<&str> {
    v.into_iter().map(BugId::as_str).collect()
}

#[test]
fn fix_order_is_topological_with_ties_by_natural_id() {
    let (m, u) = talentflow_slice();
    let g = BugGraph::new(&m, &u).expect("valid");
    assert_eq!(
        ids(g.fix_order()),
        ["S5", "A3", "D1", "B1", "E2", "H1", "S9", "D2", "S10"]
    );
}

#[test]
fn blocked_and_credit_follow_direct_prerequisites() {
    let (m, u) = talentflow_slice();
    let g = BugGraph::new(&m, &u).expect("valid");
    // S5 fully fixed, D1 half fixed, B1 fully "fixed" by its tests but D1 is not.
    let (outcomes, _) = u.outcomes([
        "t::S5_0", "t::S5_1", "t::D1_0", "t::B1_0", "t::B1_1", "t::E2_0",
    ]);
    assert_eq!(ids(g.blocked(&outcomes)), ["B1", "H1", "D2"]);
    let credit = g.credit(&outcomes, 0.5);
    let of = |id: &str| credit[g.position(&id.into()).expect("known")];
    assert_eq!(of("S5"), 1.0);
    assert_eq!(of("D1"), 0.5); // prerequisite S5 fixed
    assert_eq!(of("B1"), 0.5); // all tests pass, D1 not fixed: 1 * 0.5
    assert_eq!(of("E2"), 0.5); // half its tests pass, B1 is fixed (its tests all pass)
    assert_eq!(of("A3"), 0.0);
    assert_eq!(
        g.credit(&outcomes, 0.0)[g.position(&"B1".into()).expect("known")],
        0.0
    );
    let p = g.progress(&outcomes)[g.position(&"B1".into()).expect("known")];
    assert_eq!(
        (p.passed, p.total, p.unfixed_prerequisites, p.fixed()),
        (2, 2, 1, true)
    );
}

#[test]
fn dot_pictures() {
    let (m, u) = talentflow_slice();
    let g = BugGraph::new(&m, &u).expect("valid");
    insta::assert_snapshot!("dot_plain", g.to_dot(None));
    let (outcomes, _) = u.outcomes(["t::S5_0", "t::S5_1", "t::S9_0", "t::S9_1", "t::D1_0"]);
    insta::assert_snapshot!("dot_progress", g.to_dot(Some(&outcomes)));
}

#[test]
fn cycle_paths() {
    let manifest = Manifest::new(vec![
        Bug::new("C3").with_depends_on(["C1"]),
        Bug::new("C1").with_depends_on(["C2"]),
        Bug::new("C2").with_depends_on(["C3"]),
        Bug::new("S1").with_depends_on(["S1"]),
        Bug::new("OK"),
    ]);
    let u = TestUniverse::new(
        ["C1", "C2", "C3", "S1", "OK"]
            .iter()
            .map(|b| UniverseTest::new(format!("t::{b}").as_str(), "unit", [BugId::from(*b)]))
            .collect(),
    )
    .expect("valid");
    let err = BugGraph::new(&manifest, &u).expect_err("cycles");
    let paths: Vec<Vec<&str>> = err
        .problems()
        .iter()
        .map(|p| match &p.kind {
            GraphProblemKind::Cycle { path } => path.iter().map(BugId::as_str).collect(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(paths, vec![vec!["C1", "C2", "C3", "C1"], vec!["S1", "S1"]]);
    assert_eq!(
        err.to_string(),
        "invalid bug graph: dependency cycle: C1 -> C2 -> C3 -> C1; dependency cycle: S1 -> S1"
    );
}

#[test]
fn duplicate_dependency_is_reported() {
    let manifest = Manifest::new(vec![
        Bug::new("A").with_depends_on(["B", "B"]),
        Bug::new("B"),
    ]);
    let u = TestUniverse::new(vec![UniverseTest::new(
        "t",
        "unit",
        ["A".into(), "B".into()],
    )])
    .expect("valid");
    let err = BugGraph::new(&manifest, &u).expect_err("duplicate dependency");
    assert!(
        matches!(&err.problems()[0].kind, GraphProblemKind::DuplicateDependency { dependency, .. } if dependency.as_str() == "B")
    );
    assert_eq!(err.problems().len(), 1);
}

#[test]
fn outcomes_shorter_than_the_universe_count_as_failed() {
    let (m, u) = talentflow_slice();
    let g = BugGraph::new(&m, &u).expect("valid");
    let credit = g.credit(&Outcomes::from_passed(vec![true; 2]), 0.5);
    assert_eq!(credit[0], 0.5); // E2's two tests are the first two; B1 unfixed
    assert!(credit[1..].iter().all(|&c| c == 0.0));
    assert_eq!(g.tests_of(0), &[0, 1]);
    assert_eq!(g.tests_of(99), &[] as &[u32]);
    assert_eq!(g.graph().edge_count(), 6);
}

/// Long runs of guard tests (no bug) between bug tests, at the start and at
/// the end: every count is still exact, with full and with short outcomes.
#[test]
fn progress_is_exact_across_long_runs_of_guard_tests() {
    let manifest = Manifest::new(vec![Bug::new("A1"), Bug::new("B2").with_depends_on(["A1"])]);
    // Positions of A1's tests and B2's tests; everything else is a guard test.
    let a1 = [300, 301, 1_000];
    let b2 = [1_000, 1_256, 1_511, 2_999];
    let tests = (0..3_000)
        .map(|t| {
            let mut bugs = Vec::new();
            if a1.contains(&t) {
                bugs.push(BugId::from("A1"));
            }
            if b2.contains(&t) {
                bugs.push(BugId::from("B2"));
            }
            UniverseTest::new(format!("t::{t}").as_str(), "unit", bugs)
        })
        .collect();
    let universe = TestUniverse::new(tests).expect("valid universe");
    let g = BugGraph::new(&manifest, &universe).expect("valid");
    assert_eq!(g.tests_of(0), &a1.map(|t| t as u32));
    assert_eq!(g.tests_of(1), &b2.map(|t| t as u32));

    // Every test passes except 301 and 1511; guard tests pass too (they must
    // not count for any bug).
    let passed: Vec<bool> = (0..3_000).map(|t| t != 301 && t != 1_511).collect();
    let p = g.progress(&Outcomes::from_passed(passed.clone()));
    assert_eq!(
        (p[0].passed, p[0].total, p[0].unfixed_prerequisites),
        (2, 3, 0)
    );
    assert_eq!(
        (p[1].passed, p[1].total, p[1].unfixed_prerequisites),
        (3, 4, 1)
    );

    // Only the guard tests pass: no bug has a passing test.
    let guards: Vec<bool> = (0..3_000)
        .map(|t| !a1.contains(&t) && !b2.contains(&t))
        .collect();
    let p = g.progress(&Outcomes::from_passed(guards));
    assert_eq!((p[0].passed, p[1].passed), (0, 0));

    // Outcomes that stop at position 1_300: tests beyond count as failed.
    let p = g.progress(&Outcomes::from_passed(passed[..1_300].to_vec()));
    assert_eq!((p[0].passed, p[1].passed), (2, 2));
    let p = g.progress(&Outcomes::from_passed(vec![true; 3_000]));
    assert!(p.iter().all(|b| b.fixed() && b.unfixed_prerequisites == 0));
}
