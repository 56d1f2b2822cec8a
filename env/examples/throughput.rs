//! Throughput of a [`VecEnv`]: N environments stepping concurrently on one
//! tokio runtime, for N = 1, 2, 4, 8 (or `--n LIST`), on a package's own
//! reference fixes (each step an `Edit` that applies or reverts one fix, so
//! every step is graded).
//!
//! ```text
//! cargo run --release -p debugenv --example throughput -- [PACKAGE] [--python PATH] [--steps K] [--n 1,2,4,8]
//! ```
//!
//! Prints steps per second for each N and the ratio to N = 1, measured in the
//! same run.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use debugenv::sandbox::{LocalOptions, LocalSandbox};
use debugenv::{Action, Environment, Package, ResetOptions, VecEnv};

struct Args {
    package: String,
    python: Option<String>,
    steps: usize,
    ns: Vec<usize>,
}

fn parse() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        package: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny").to_owned(),
        python: None,
        steps: 6,
        ns: vec![1, 2, 4, 8],
    };
    while let Some(a) = args.next() {
        let mut value = |n: &str| args.next().ok_or(format!("{n} needs a value"));
        match a.as_str() {
            "--python" => out.python = Some(value("--python")?),
            "--steps" => {
                out.steps = value("--steps")?
                    .parse()
                    .map_err(|e| format!("--steps: {e}"))?
            }
            "--n" => {
                out.ns = value("--n")?
                    .split(',')
                    .map(|x| x.trim().parse::<usize>().map_err(|e| format!("--n: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            p if !p.starts_with('-') => out.package = p.to_owned(),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    if out.ns.is_empty() || out.ns.contains(&0) || out.steps == 0 {
        return Err("--n needs positive sizes and --steps at least 1".into());
    }
    Ok(out)
}

/// Edits that alternate each file between its shipped and fixed content.
fn script(package: &Package, steps: usize) -> Result<Vec<Action>, Box<dyn std::error::Error>> {
    let mut edits = Vec::new();
    for bug in package.graph().fix_order() {
        let text = package.solution(bug).ok_or("missing solution")?;
        for file in
            diffy::patch_set::PatchSet::parse(text, diffy::patch_set::ParseOptions::unidiff())
        {
            let file = file?;
            let Some(patch) = file.patch().as_text() else {
                continue;
            };
            let path = patch
                .modified()
                .or(patch.original())
                .ok_or("patch without a path")?
                .trim_start_matches("b/")
                .to_owned();
            let shipped = std::fs::read_to_string(package.project_dir().join(&path))?;
            let Ok(fixed) = diffy::apply(&shipped, patch) else {
                continue;
            };
            edits.push((path, shipped, fixed));
        }
    }
    if edits.is_empty() {
        return Err("the package has no single-step fixes to replay".into());
    }
    Ok((0..steps)
        .map(|i| {
            let (path, shipped, fixed) = &edits[(i / 2) % edits.len()];
            let content = if i % 2 == 0 { fixed } else { shipped };
            Action::Edit {
                file: path.clone(),
                content: content.clone(),
            }
        })
        .collect())
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut package = Package::load(&args.package)?;
    if let Some(p) = args
        .python
        .or_else(|| std::env::var("DEBUGENV_PYTHON").ok())
    {
        package = package.with_python(p);
    }
    let package = Arc::new(package.with_full_every(1));
    let actions = script(&package, args.steps)?;
    println!(
        "throughput: {} with {} graded steps per environment",
        package.spec().name,
        actions.len()
    );
    println!(
        "{:>3} {:>8} {:>10} {:>9}",
        "N", "steps", "steps/s", "vs N=1"
    );
    let mut base = None;
    for &n in &args.ns {
        let mut envs = Vec::with_capacity(n);
        for _ in 0..n {
            let sandbox =
                LocalSandbox::create(&package.sandbox_spec()?, &LocalOptions::default()).await?;
            envs.push(Environment::new(package.clone(), sandbox));
        }
        let mut vec = VecEnv::new(envs);
        vec.reset_all((0..n as u64).map(ResetOptions::seeded).collect())
            .await?;
        let started = Instant::now();
        for a in &actions {
            for r in vec.step_all(vec![a.clone(); n]).await {
                r?;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        vec.close().await?;
        let total = n * actions.len();
        let rate = total as f64 / secs;
        let ratio = rate / *base.get_or_insert(rate);
        println!("{n:>3} {total:>8} {rate:>10.2} {ratio:>8.2}x");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "throughput: {e}\nusage: throughput [PACKAGE] [--python PATH] [--steps K] [--n 1,2,4,8]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("throughput: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("throughput: {e}");
            ExitCode::FAILURE
        }
    }
}
