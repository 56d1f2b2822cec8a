//! Property tests: the env crate's parsers never panic on arbitrary input and
//! report problems with positions inside the input.

use std::path::Path;

use debugenv::{Action, EnvironmentSpec};
use proptest::prelude::*;

/// Fragments of real environment.toml files, to reach deep into the parser.
fn toml_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "name = \"x\"\n",
        "max_steps = 5\n",
        "max_steps = -3\n",
        "project = \"../up\"\n",
        "[reward]\npreset = \"apex\"\n",
        "[reward]\npreset = 3\n",
        "[tests]\nconfig = \"pytest.ini\"\n",
        "[tests]\ntimeout_seconds = 0x10\n",
        "[[tests.categories]]\nname = \"unit\"\npath = \"tests/unit\"\n",
        "[[tests.categories]]\nweight = 1e309\n",
        "[protect]\npaths = [\"tests/**\", \"[\"]\n",
        "services = [\"postgres\", \"mysql\"]\n",
        "[limits]\nmax_file_bytes = 99999999999\n",
        "= = =\n",
        "\"unterminated\n",
        "é = 1\n",
        "[tests.env]\nA = 1\n",
    ]);
    prop::collection::vec(pieces, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn spec_parser_never_panics_and_positions_are_inside(source in toml_like()) {
        if let Err(problems) = EnvironmentSpec::parse(Path::new("e.toml"), &source) {
            prop_assert!(!problems.is_empty());
            let lines = source.lines().count().max(1) + 1;
            for p in problems {
                if let Some(line) = p.line {
                    prop_assert!(line >= 1 && line <= lines, "{p} outside {lines} lines");
                }
            }
        }
    }

    #[test]
    fn spec_parser_never_panics_on_arbitrary_text(source in "\\PC{0,300}") {
        let _ = EnvironmentSpec::parse(Path::new("e.toml"), &source);
    }

    #[test]
    fn action_parser_never_panics(text in "\\PC{0,200}") {
        let _ = Action::from_json(&text);
    }

    #[test]
    fn actions_round_trip_through_json(
        file in "[a-z_/]{1,20}\\.py",
        content in "\\PC{0,100}",
        command in "\\PC{0,50}",
        timeout in proptest::option::of(1u64..600),
    ) {
        for a in [
            Action::Read { file: file.clone() },
            Action::Edit { file: file.clone(), content: content.clone() },
            Action::Patch { diff: content.clone() },
            Action::Run { command: command.clone(), timeout_seconds: timeout },
            Action::RunTests { tests: vec![file.clone()] },
            Action::Submit,
        ] {
            let json = serde_json::to_string(&a).expect("serializes");
            prop_assert_eq!(Action::from_json(&json).expect("parses"), a);
        }
    }
}
