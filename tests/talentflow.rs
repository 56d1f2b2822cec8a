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
/// otherwise a fix would go unseen until the next full grading. The
/// selection is the environment's: the tests of the function bodies the fix
/// changes (every test of the file when it changes more than bodies), plus
/// the file's failing tests (the bug's own, before its fix). This checks
/// both that selection and the function-level part alone.
#[test]
fn targeted_grading_sees_every_bug_fix() {
    let p = package();
    assert!(
        p.has_affected_map(),
        "TalentFlow ships its affected-tests map"
    );
    let mut problems = Vec::new();
    let (mut narrowed, mut whole) = (0, 0);
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
        let own: BTreeSet<usize> = p.graph().tests_of(i).iter().map(|&t| t as usize).collect();
        let mut seen = BTreeSet::new();
        let mut by_functions = BTreeSet::new();
        for f in &files {
            let before = p.fixed_file(f, &[]).expect("shipped").expect("exists");
            let after = p
                .fixed_file(f, std::slice::from_ref(&bug.id))
                .expect("the fix applies alone")
                .expect("kept");
            match p.affected_by_change(f, before.as_bytes(), after.as_bytes()) {
                None => problems.push(format!("{}: {f} is not in the map", bug.id)),
                Some(a) => match a.functions {
                    Some(functions) => {
                        narrowed += 1;
                        by_functions.extend(functions.iter().copied());
                        seen.extend(functions);
                        seen.extend(a.file.iter().copied().filter(|t| own.contains(t)));
                    }
                    None => {
                        whole += 1;
                        by_functions.extend(a.file.iter().copied());
                        seen.extend(a.file.iter().copied());
                    }
                },
            }
        }
        for &t in &own {
            let id = &p.universe().tests()[t].id;
            let files = files.iter().cloned().collect::<Vec<_>>().join(", ");
            if !seen.contains(&t) {
                problems.push(format!(
                    "{}: {id} is not re-run when {files} change",
                    bug.id
                ));
            } else if !by_functions.contains(&t) {
                problems.push(format!(
                    "{}: {id} is re-run only because it fails, not by the functions of {files}",
                    bug.id
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        narrowed > whole,
        "{narrowed} fixes narrowed to functions, {whole} not"
    );
}
