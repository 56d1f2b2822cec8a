//! The TalentFlow package as shipped: it loads, its solutions are well formed,
//! and targeted grading can see every bug's tests.

use std::collections::BTreeSet;

use debugenv::Package;

fn package() -> Package {
    talentflow::load().expect("examples/talentflow loads")
}

/// Paths a solution patch touches (git-style `a/` `b/` headers).
fn touched(patch: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in patch.lines() {
        let path = line
            .strip_prefix("--- a/")
            .or_else(|| line.strip_prefix("+++ b/"));
        if let Some(p) = path {
            out.insert(p.trim().to_owned());
        }
    }
    out
}

#[test]
fn every_bug_has_a_solution_and_four_or_more_tests() {
    let p = package();
    assert_eq!(p.graph().len(), 31);
    assert!(p.universe().len() >= 300, "{} tests", p.universe().len());
    for (i, bug) in p.graph().bugs().iter().enumerate() {
        let patch = p
            .solution(&bug.id)
            .unwrap_or_else(|| panic!("{}: no solution", bug.id));
        assert!(
            !touched(patch).is_empty(),
            "{}: the solution touches no file",
            bug.id
        );
        assert!(
            p.graph().tests_of(i).len() >= 4,
            "{}: fewer than 4 tests",
            bug.id
        );
    }
}

/// Bugs whose fix is always graded in full, and why.
const GRADED_IN_FULL: &[(&str, &str)] = &[(
    "S5",
    "while S5 is present pytest cannot start, and a grading after one that \
     could not collect every module is full; S5's fresh-interpreter test runs \
     its code in a subprocess, which coverage does not attribute to a test",
)];

/// An oracle step changes one bug's files. A targeted grading after it must
/// re-run every test of that bug, or the change must force a full grading:
/// otherwise a fix would go unseen until the next full grading.
#[test]
fn targeted_grading_sees_every_bug_fix() {
    let p = package();
    assert!(
        p.has_affected_map(),
        "TalentFlow ships its affected-tests map"
    );
    let mut problems = Vec::new();
    for (i, bug) in p.graph().bugs().iter().enumerate() {
        if GRADED_IN_FULL.iter().any(|(id, _)| *id == bug.id.as_str()) {
            continue;
        }
        let files = touched(p.solution(&bug.id).expect("solution"));
        if files
            .iter()
            .any(|f| !f.ends_with(".py") || p.forces_full(f))
        {
            continue;
        }
        let mut seen = BTreeSet::new();
        for f in &files {
            match p.affected_tests(f) {
                Some(tests) => seen.extend(tests.iter().copied()),
                None => problems.push(format!("{}: {f} is not in the map", bug.id)),
            }
        }
        for &t in p.graph().tests_of(i) {
            if !seen.contains(&(t as usize)) {
                problems.push(format!(
                    "{}: {} is not re-run when {} change",
                    bug.id,
                    p.universe().tests()[t as usize].id,
                    files.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
