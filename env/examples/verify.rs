//! Proves an environment package: shipped, all-fixed, leave-one-out,
//! sufficiency and determinism, over a pool of local sandboxes.
//!
//! ```text
//! cargo run -p debugenv --example verify -- PACKAGE [--python PATH] [--jobs N] [--repeats R]
//! ```
//!
//! Prints the matrix; exits 1 when a check fails, 2 on bad usage or a package
//! that does not load.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use debugenv::sandbox::{LocalOptions, LocalSandbox, Sandbox};
use debugenv::{Package, VerifyOptions, verify};

struct Args {
    package: String,
    python: Option<String>,
    jobs: usize,
    repeats: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        package: String::new(),
        python: None,
        jobs: 2,
        repeats: 3,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--python" => out.python = Some(value("--python")?),
            "--jobs" => {
                out.jobs = value("--jobs")?
                    .parse()
                    .map_err(|e| format!("--jobs: {e}"))?
            }
            "--repeats" => {
                out.repeats = value("--repeats")?
                    .parse()
                    .map_err(|e| format!("--repeats: {e}"))?
            }
            "-h" | "--help" => return Err(String::new()),
            p if !p.starts_with('-') && out.package.is_empty() => out.package = p.to_owned(),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    if out.package.is_empty() {
        return Err("missing PACKAGE".into());
    }
    if out.jobs == 0 {
        return Err("--jobs must be at least 1".into());
    }
    Ok(out)
}

async fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    let mut package = Package::load(&args.package)?;
    if let Some(p) = args
        .python
        .or_else(|| std::env::var("DEBUGENV_PYTHON").ok())
    {
        package = package.with_python(p);
    }
    let package = Arc::new(package);
    let spec = package.sandbox_spec()?;
    let opts = LocalOptions::default();
    let started = Instant::now();
    let mut sandboxes = Vec::new();
    for _ in 0..args.jobs {
        sandboxes.push(LocalSandbox::create(&spec, &opts).await?);
    }
    eprintln!(
        "verify: {} ({} tests, {} bugs) on {} local sandbox(es)",
        package.spec().name,
        package.universe().len(),
        package.graph().len(),
        args.jobs
    );
    let mut options = VerifyOptions::default();
    options.repeats = args.repeats;
    options.progress = Some(Arc::new(|done, total| {
        eprintln!(
            "verify: {done}/{total} states graded ({}%)",
            100 * done / total.max(1)
        );
    }));
    let result = verify(&package, &sandboxes, &options).await;
    for s in sandboxes {
        if let Err(e) = s.destroy().await {
            eprintln!("verify: cleaning up a sandbox failed: {e}");
        }
    }
    let report = result?;
    println!("{report}");
    println!("verify: {:.1} s", started.elapsed().as_secs_f64());
    Ok(report.ok())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("verify: {e}");
            }
            eprintln!("usage: verify PACKAGE [--python PATH] [--jobs N] [--repeats R]");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("verify: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("verify: {e}");
            ExitCode::from(2)
        }
    }
}
