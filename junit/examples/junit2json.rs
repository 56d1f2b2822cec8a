//! JUnit XML -> JSON, one object per input file, one line each.
//!
//! ```text
//! cargo run -p debugenv-junit --example junit2json -- [--tolerant] FILE...
//! ```
//!
//! Output per file:
//! `{"suites":[{"name","tests","failures","errors","skipped","time"}],
//!   "cases":[{"classname","name","file","outcome","time","message"}]}`
//! where suite counts are the declared attributes (counted from the cases
//! when absent), `outcome` is one of `passed|failed|error|skipped`, and
//! `message` is the failure / error / skip message or null.
//!
//! Exit status: 0 on success; 2 with a one-line error on stderr for malformed
//! input (with `--tolerant` the cases read before the error are printed
//! first); 1 if a file cannot be read; 2 for a usage error.

use std::io::Write;
use std::process::ExitCode;

use debugenv_junit::{Mode, Outcome, Parser, Report, TestCase, TestSuite};
use serde::Serialize;

enum Failure {
    Usage(String),
    Malformed(String),
    Io(String),
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("junit2json: {msg}");
            eprintln!("usage: junit2json [--tolerant] FILE...");
            ExitCode::from(2)
        }
        Err(Failure::Malformed(msg)) => {
            eprintln!("junit2json: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Io(msg)) => {
            eprintln!("junit2json: {msg}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), Failure> {
    let mut tolerant = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--tolerant" => tolerant = true,
            "-h" | "--help" => return Err(Failure::Usage("prints JUnit XML files as JSON".into())),
            s if s.starts_with("--") => return Err(Failure::Usage(format!("unknown option {s}"))),
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        return Err(Failure::Usage("no input file".into()));
    }
    let mode = if tolerant {
        Mode::Tolerant
    } else {
        Mode::Strict
    };
    let parser = Parser::builder()
        .mode(mode)
        .skip_output(true)
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &files {
        let partial = parser.parse_path(file);
        if let Some(err) = &partial.error {
            let one_line = err.to_string().replace('\n', " ");
            if matches!(err.kind(), debugenv_junit::ErrorKind::Io(_)) && err.position().offset == 0
            {
                return Err(Failure::Io(one_line));
            }
            if !tolerant {
                return Err(Failure::Malformed(one_line));
            }
            print_json(&mut out, &partial.report)?;
            return Err(Failure::Malformed(one_line));
        }
        print_json(&mut out, &partial.report)?;
    }
    Ok(())
}

fn print_json(out: &mut impl Write, report: &Report) -> Result<(), Failure> {
    let line = serde_json::to_string(&to_json(report))
        .map_err(|e| Failure::Io(format!("cannot encode JSON: {e}")))?;
    writeln!(out, "{line}").map_err(|e| Failure::Io(format!("cannot write output: {e}")))
}

/// One suite, fields in the documented order.
#[derive(Serialize)]
struct SuiteJson<'a> {
    name: &'a str,
    tests: u64,
    failures: u64,
    errors: u64,
    skipped: u64,
    time: Option<f64>,
}

/// One case, fields in the documented order.
#[derive(Serialize)]
struct CaseJson<'a> {
    classname: Option<&'a str>,
    name: &'a str,
    file: Option<&'a str>,
    outcome: &'static str,
    time: Option<f64>,
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    suites: Vec<SuiteJson<'a>>,
    cases: Vec<CaseJson<'a>>,
}

fn to_json(report: &Report) -> ReportJson<'_> {
    ReportJson {
        suites: report.suites.iter().map(suite_json).collect(),
        cases: report.cases.iter().map(case_json).collect(),
    }
}

fn suite_json(s: &TestSuite) -> SuiteJson<'_> {
    SuiteJson {
        name: &s.name,
        tests: s.declared.tests.unwrap_or(s.actual.tests),
        failures: s.declared.failures.unwrap_or(s.actual.failures),
        errors: s.declared.errors.unwrap_or(s.actual.errors),
        skipped: s.declared.skipped.unwrap_or(s.actual.skipped),
        time: s.time,
    }
}

fn case_json(c: &TestCase) -> CaseJson<'_> {
    let outcome = match c.outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
        // Errored, and any outcome added later, is reported as an error.
        _ => "error",
    };
    CaseJson {
        classname: c.classname.as_deref(),
        name: &c.name,
        file: c.file.as_deref(),
        outcome,
        time: c.time,
        message: c.message(),
    }
}
