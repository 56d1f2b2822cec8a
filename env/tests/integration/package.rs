//! Loading packages: the tiny one, and a broken one with every problem reported at once.

use std::path::Path;

use debugenv::Package;

use crate::common::tiny_dir;

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn tiny_package_loads_and_is_consistent() {
    let p = Package::load(tiny_dir()).expect("loads");
    assert_eq!(p.spec().name, "tiny");
    assert_eq!(p.spec().max_steps, 20);
    assert_eq!(p.universe().len(), 12);
    assert_eq!(p.graph().len(), 3);
    let cats: Vec<&str> = p
        .spec()
        .tests
        .categories
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cats, ["unit", "integration"]);
    assert_eq!(p.reward_config().max_steps(), 20);
    for path in [
        "tests/unit/test_stats.py",
        "conftest.py",
        "calc/conftest.py",
        "pytest.ini",
        "pyproject.toml",
        "tests/new_dir/x.py",
    ] {
        assert!(p.is_protected(path), "{path} must be protected");
    }
    for path in ["calc/stats.py", "calc/text.py", "README.md"] {
        assert!(!p.is_protected(path), "{path} must not be protected");
    }
    assert!(
        p.solution(&"T2".into())
            .is_some_and(|s| s.contains("len(values)"))
    );
    assert!(
        !p.project_dir().join(".git").exists(),
        "the shipped project must have no git history"
    );
}

#[test]
fn broken_package_reports_every_problem_with_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&tiny_dir(), dir.path());
    let env_toml = dir.path().join("environment.toml");
    let text = std::fs::read_to_string(&env_toml).expect("read");
    let text = text.replace("max_steps = 20", "max_steps = \"twenty\"\ncolour = \"red\"");
    std::fs::write(&env_toml, text).expect("write");
    let bugs = dir.path().join("bugs.toml");
    let text = std::fs::read_to_string(&bugs).expect("read");
    // T1 -> T3 -> T1 is a cycle; T3 also names an unknown bug.
    let text = text.replacen(
        "marker = \"bug_t1\"",
        "marker = \"bug_t1\"\ndepends_on = [\"T3\"]",
        1,
    );
    let text = text.replacen(
        "marker = \"bug_t3\"",
        "marker = \"bug_t3\"\ndepends_on = [\"T1\", \"T9\"]",
        1,
    );
    std::fs::write(&bugs, text).expect("write");
    let tests = dir.path().join("tests.json");
    let text = std::fs::read_to_string(&tests).expect("read");
    std::fs::write(
        &tests,
        text.replacen("\"category\": \"integration\"", "\"category\": \"e2e\"", 1),
    )
    .expect("write");
    std::fs::remove_file(dir.path().join("solutions/T3.patch")).expect("rm");

    let err = Package::load(dir.path()).expect_err("broken package");
    let lines: Vec<String> = err
        .problems
        .iter()
        .map(|p| {
            let name = p
                .file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("?")
                .to_owned();
            match (p.line, p.column) {
                (Some(l), Some(c)) => format!("{name}:{l}:{c}: {}", p.message),
                _ => format!("{name}: {}", p.message),
            }
        })
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has("environment.toml:5:13: `max_steps` is a string; expected an integer"),
        "{lines:#?}"
    );
    assert!(
        has("environment.toml:6:1: unknown key `colour`"),
        "{lines:#?}"
    );
    assert!(has("bugs.toml") && has("dependency cycle"), "{lines:#?}");
    assert!(has("depends on unknown bug `T9`"), "{lines:#?}");
    assert!(
        has("T3.patch: cannot read the reference fix of bug `T3`"),
        "{lines:#?}"
    );
    // One pass: the TOML problems and the graph problems come together.
    assert!(lines.len() >= 5, "{lines:#?}");
    // The error's text names the package and lists each problem on its own line.
    let text = err.to_string();
    assert!(text.contains("problem(s):\n  "), "{text}");
}

#[test]
fn universe_category_mismatch_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&tiny_dir(), dir.path());
    let tests = dir.path().join("tests.json");
    let text = std::fs::read_to_string(&tests).expect("read");
    std::fs::write(
        &tests,
        text.replacen("\"category\": \"integration\"", "\"category\": \"e2e\"", 1),
    )
    .expect("write");
    let err = Package::load(dir.path()).expect_err("bad category");
    assert!(
        err.problems.iter().any(|p| p
            .message
            .contains("has category `e2e`, which environment.toml does not define")),
        "{err}"
    );
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Package::load(dir.path()).expect_err("empty dir");
    let files: Vec<String> = err
        .problems
        .iter()
        .map(|p| {
            p.file
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("?")
                .to_owned()
        })
        .collect();
    for f in ["environment.toml", "bugs.toml", "tests.json"] {
        assert!(files.iter().any(|x| x == f), "{f} not named in {err}");
    }
}
