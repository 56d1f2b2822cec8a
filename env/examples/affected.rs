//! Writes a package's affected-tests map (the basis of targeted grading):
//! runs the fully fixed project once under coverage with per-test contexts.
//!
//! ```text
//! cargo run -p debugenv --example affected -- PACKAGE [--python PATH] [--check]
//! ```
//!
//! `--check` compares with the file instead of writing it and exits 1 when
//! it is stale (selects other tests; the test durations it keeps as shard
//! weights are not compared: they vary from run to run). Needs `pytest-cov` in the Python used.

use std::process::ExitCode;

use debugenv::sandbox::{LocalOptions, LocalSandbox, Sandbox};
use debugenv::{Package, affected_map};

async fn run(
    package_dir: String,
    python: Option<String>,
    check: bool,
) -> Result<bool, Box<dyn std::error::Error>> {
    let mut package = Package::load(&package_dir)?;
    if let Some(p) = python.or_else(|| std::env::var("DEBUGENV_PYTHON").ok()) {
        package = package.with_python(p);
    }
    let sandbox = LocalSandbox::create(&package.sandbox_spec()?, &LocalOptions::default()).await?;
    let map = affected_map(&package, &sandbox).await;
    sandbox.destroy().await?;
    let map = map?;
    let json = map.to_json();
    let path = package.dir().join(&package.spec().tests.affected);
    if check {
        // The selections must match; durations (shard weights) vary by run.
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if map.same_selection(&current) {
            println!("affected: {} is up to date", path.display());
            return Ok(true);
        }
        eprintln!(
            "affected: {} is stale; run without --check to rewrite it",
            path.display()
        );
        return Ok(false);
    }
    std::fs::write(&path, json)?;
    println!("affected: wrote {}", path.display());
    Ok(true)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut package, mut python, mut check) = (None, None, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--python" => python = args.next(),
            "--check" => check = true,
            p if !p.starts_with('-') && package.is_none() => package = Some(p.to_owned()),
            other => {
                eprintln!(
                    "affected: unexpected argument `{other}`\nusage: affected PACKAGE [--python PATH] [--check]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let Some(package) = package else {
        eprintln!("usage: affected PACKAGE [--python PATH] [--check]");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("affected: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(package, python, check)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("affected: {e}");
            ExitCode::from(2)
        }
    }
}
