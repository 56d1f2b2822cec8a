//! Plays one episode of an environment package and shows everything working.
//!
//! ```text
//! cargo run --example episode -- [--package DIR] [--agent oracle|random|replay FILE]
//!     [--backend local|docker] [--image NAME] [--max-steps N] [--start-fixed T1,T3]
//!     [--seed S] [--full-every K] [--python PATH] [--out DIR]
//! ```
//!
//! It provisions what it needs (a Python venv with pytest and the project's
//! requirements, made once; the package's private services come with each
//! sandbox), resets the environment and plays an episode: by default an
//! oracle agent that fixes the bugs in the graph's fix order, sending each
//! fixed file as an ordinary `Edit`. A progress bar and one line per step
//! while it runs; at the end a summary table, the trajectory (JSON lines) and
//! an SVG plot of reward and pass rate over the steps.
//!
//! With `--backend docker` it plays in a container from the package's image
//! (`debugenv-<name>:latest` unless `--image` names one), building it first
//! when it is missing and the package ships `image/make-context.sh`.
//!
//! Without `--package` it plays TalentFlow (`examples/talentflow`);
//! `--package env/tests/fixtures/tiny` plays the env crate's tiny package
//! (3 bugs, 12 tests, no services) in a few seconds.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use debugenv::bugs::BugId;
use debugenv::sandbox::docker::{self, DockerOptions, DockerSandbox};
use debugenv::sandbox::{LocalOptions, LocalSandbox, Sandbox};
use debugenv::{
    Action, Environment, GradingKind, Observation, Package, ResetOptions, Step, read_trajectory,
};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const USAGE: &str = "usage: episode [--package DIR] [--agent oracle|random|replay FILE] \
[--backend local|docker] [--image NAME] \
[--max-steps N] [--start-fixed T1,T3] [--seed S] [--full-every K] [--python PATH] [--out DIR]";

enum AgentKind {
    Oracle,
    Random,
    Replay(PathBuf),
}

struct Args {
    package: Option<PathBuf>,
    agent: AgentKind,
    max_steps: Option<u32>,
    start_fixed: Vec<String>,
    seed: u64,
    full_every: Option<u32>,
    python: Option<String>,
    out: PathBuf,
    /// Docker backend instead of local processes.
    docker: bool,
    /// The environment image for the Docker backend.
    image: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        package: None,
        agent: AgentKind::Oracle,
        max_steps: None,
        start_fixed: Vec::new(),
        seed: 7,
        full_every: None,
        python: None,
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debugenv"),
        docker: false,
        image: None,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--package" => out.package = Some(value("--package")?.into()),
            "--agent" => {
                out.agent = match value("--agent")?.as_str() {
                    "oracle" => AgentKind::Oracle,
                    "random" => AgentKind::Random,
                    "replay" => AgentKind::Replay(value("--agent replay")?.into()),
                    other => {
                        return Err(format!(
                            "unknown agent `{other}` (oracle, random, replay FILE)"
                        ));
                    }
                }
            }
            "--backend" => {
                out.docker = match value("--backend")?.as_str() {
                    "local" => false,
                    "docker" => true,
                    other => return Err(format!("unknown backend `{other}` (local, docker)")),
                }
            }
            "--image" => out.image = Some(value("--image")?),
            "--max-steps" => {
                out.max_steps = Some(
                    value("--max-steps")?
                        .parse()
                        .map_err(|e| format!("--max-steps: {e}"))?,
                );
            }
            "--start-fixed" => {
                out.start_fixed = value("--start-fixed")?
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--seed" => {
                out.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--full-every" => {
                out.full_every = Some(
                    value("--full-every")?
                        .parse()
                        .map_err(|e| format!("--full-every: {e}"))?,
                );
            }
            "--python" => out.python = Some(value("--python")?),
            "--out" => out.out = value("--out")?.into(),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(out)
}

/// The package to play: the one asked for, else TalentFlow.
fn choose_package(asked: Option<&Path>) -> Result<Package, Box<dyn Error>> {
    match asked {
        Some(dir) => Ok(Package::load(dir)?),
        None => Ok(talentflow::load()?),
    }
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The venv the tests run with: `$DEBUGENV_VENV`, else `/opt/debugenv/venv`
/// as root (readable by the sandboxes' private users), else one in the
/// user's cache directory.
fn venv_dir() -> Result<PathBuf, Box<dyn Error>> {
    Ok(match std::env::var_os("DEBUGENV_VENV") {
        Some(v) => PathBuf::from(v),
        None if running_as_root() => PathBuf::from("/opt/debugenv/venv"),
        None => {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .ok_or("neither XDG_CACHE_HOME nor HOME is set; pass --python")?;
            cache.join("debugenv/venv")
        }
    })
}

fn run_checked(cmd: &mut std::process::Command) -> Result<(), Box<dyn Error>> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}").into())
    }
}

/// Runs the package's own `scripts/provision.sh VENV` when it ships one
/// (idempotent: it says itself when there is nothing to do); `false` when
/// there is none.
fn run_provision_script(package: &Package, venv: &Path) -> Result<bool, Box<dyn Error>> {
    let script = package.dir().join("scripts/provision.sh");
    if !script.exists() {
        return Ok(false);
    }
    eprintln!("episode: provisioning the Python venv {}", venv.display());
    run_checked(std::process::Command::new("bash").arg(&script).arg(venv))?;
    Ok(true)
}

/// A Python with pytest, pytest-cov and what the project needs: an explicit
/// one (`--python`, `$DEBUGENV_PYTHON`), else a venv provisioned once and
/// refreshed when its inputs change. A package that knows how to provision
/// itself ships `scripts/provision.sh VENV` (TalentFlow does: its shipped
/// requirements do not resolve, which is one of its bugs); otherwise the venv
/// gets pytest, pytest-cov and the project's `requirements.txt`.
fn provision_python(package: &Package, explicit: Option<String>) -> Result<String, Box<dyn Error>> {
    if let Some(p) = explicit.or_else(|| std::env::var("DEBUGENV_PYTHON").ok()) {
        return Ok(p);
    }
    let venv = venv_dir()?;
    let python = venv.join("bin/python");
    if run_provision_script(package, &venv)? {
        return Ok(python.display().to_string());
    }
    let requirements = package.project_dir().join("requirements.txt");
    let wanted = format!(
        "pytest pytest-cov\n{}",
        std::fs::read_to_string(&requirements).unwrap_or_default()
    );
    let stamp = venv.join(".debugenv-requirements");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python.display().to_string());
    }
    eprintln!(
        "episode: provisioning the Python venv {} (once)...",
        venv.display()
    );
    if !python.exists() {
        let base = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        run_checked(
            std::process::Command::new(base)
                .arg("-m")
                .arg("venv")
                .arg(&venv),
        )?;
    }
    let mut pip = std::process::Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "pytest",
        "pytest-cov",
    ]);
    if requirements.exists() {
        pip.arg("-r").arg(&requirements);
    }
    run_checked(&mut pip)?;
    if running_as_root() {
        run_checked(
            std::process::Command::new("chmod")
                .arg("-R")
                .arg("a+rX")
                .arg(&venv),
        )?;
    }
    std::fs::write(&stamp, wanted)?;
    Ok(python.display().to_string())
}

/// Where the agent's next action comes from.
enum Agent {
    /// Fixes bugs in fix order, one `Edit` per changed file, then submits.
    Oracle {
        queue: Vec<BugId>,
        pending: Vec<Action>,
        submitted: bool,
    },
    /// Seeded random reads, commands, small edits and test runs.
    Random {
        rng: Box<StdRng>,
        files: Vec<String>,
        editable: Vec<String>,
    },
    /// The actions of a recorded trajectory's first episode.
    Replay { actions: std::vec::IntoIter<Action> },
}

impl Agent {
    fn new(
        kind: &AgentKind,
        package: &Package,
        start_fixed: &[BugId],
        seed: u64,
    ) -> Result<Self, Box<dyn Error>> {
        Ok(match kind {
            AgentKind::Oracle => Agent::Oracle {
                queue: package
                    .graph()
                    .fix_order()
                    .into_iter()
                    .filter(|b| !start_fixed.contains(b))
                    .rev()
                    .cloned()
                    .collect(),
                pending: Vec::new(),
                submitted: false,
            },
            AgentKind::Random => {
                let mut files = Vec::new();
                list_files(&package.project_dir(), "", &mut files)?;
                let editable = files
                    .iter()
                    .filter(|f| f.ends_with(".py") && !package.is_protected(f))
                    .cloned()
                    .collect();
                Agent::Random {
                    rng: Box::new(StdRng::seed_from_u64(seed)),
                    files,
                    editable,
                }
            }
            AgentKind::Replay(path) => {
                let records = read_trajectory(path)?;
                let first = records.first().map_or(1, |r| r.episode);
                let actions: Vec<Action> = records
                    .into_iter()
                    .filter(|r| r.episode == first)
                    .filter_map(|r| r.action)
                    .collect();
                Agent::Replay {
                    actions: actions.into_iter(),
                }
            }
        })
    }

    async fn next<S: Sandbox>(
        &mut self,
        env: &Environment<S>,
    ) -> Result<Option<Action>, Box<dyn Error>> {
        match self {
            Agent::Oracle {
                queue,
                pending,
                submitted,
            } => {
                while pending.is_empty() {
                    let Some(bug) = queue.pop() else {
                        if *submitted {
                            return Ok(None);
                        }
                        *submitted = true;
                        return Ok(Some(Action::Submit));
                    };
                    *pending = oracle_edits(env, &bug).await?;
                    pending.reverse();
                }
                Ok(pending.pop())
            }
            Agent::Random {
                rng,
                files,
                editable,
            } => {
                let action = match rng.random_range(0..4) {
                    0 if !files.is_empty() => Action::Read {
                        file: files[rng.random_range(0..files.len())].clone(),
                    },
                    1 if !editable.is_empty() => {
                        let file = editable[rng.random_range(0..editable.len())].clone();
                        let text = String::from_utf8_lossy(&env.sandbox().read_file(&file).await?)
                            .into_owned();
                        let mut lines: Vec<&str> = text.lines().collect();
                        if !lines.is_empty() {
                            lines.remove(rng.random_range(0..lines.len()));
                        }
                        Action::Edit {
                            file,
                            content: lines.join("\n") + "\n",
                        }
                    }
                    2 => Action::RunTests { tests: Vec::new() },
                    _ => Action::Run {
                        command: "ls -la".into(),
                        timeout_seconds: Some(10),
                    },
                };
                Ok(Some(action))
            }
            Agent::Replay { actions } => Ok(actions.next()),
        }
    }
}

/// The `Edit`s that apply a bug's reference fix to the current workspace.
async fn oracle_edits<S: Sandbox>(
    env: &Environment<S>,
    bug: &BugId,
) -> Result<Vec<Action>, Box<dyn Error>> {
    use diffy::patch_set::{FileOperation, ParseOptions, PatchSet};
    let text = env
        .package()
        .solution(bug)
        .ok_or_else(|| format!("no reference fix for {bug}"))?;
    let mut edits = Vec::new();
    for file in PatchSet::parse(text, ParseOptions::unidiff()) {
        let file = file?;
        let stripped = file.operation().strip_prefix(1);
        let path = match stripped {
            FileOperation::Modify { modified, .. } => modified.to_string(),
            FileOperation::Create(p) => p.to_string(),
            _ => {
                return Err(
                    format!("{bug}: the oracle only replays file edits and creations").into(),
                );
            }
        };
        let Some(patch) = file.patch().as_text() else {
            return Err(format!("{bug}: binary patch").into());
        };
        let current = match env.sandbox().read_file(&path).await {
            Ok(bytes) => String::from_utf8(bytes)?,
            Err(_) => String::new(),
        };
        let content = diffy::apply(&current, patch).map_err(|e| format!("{bug}: {path}: {e}"))?;
        edits.push(Action::Edit {
            file: path,
            content,
        });
    }
    Ok(edits)
}

fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if e.file_type()?.is_dir() {
            list_files(&e.path(), &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

fn describe(action: &Action) -> String {
    let target = match action {
        Action::Read { file } | Action::Edit { file, .. } => file.clone(),
        Action::Patch { .. } => "(diff)".into(),
        Action::Run { command, .. } => command.chars().take(28).collect(),
        Action::RunTests { tests } if tests.is_empty() => "(all)".into(),
        Action::RunTests { tests } => tests.join(" ").chars().take(28).collect(),
        Action::Submit => String::new(),
    };
    format!("{:<11} {:<30}", action.kind(), target)
}

fn categories(obs: &Observation) -> String {
    obs.test_results
        .by_category
        .iter()
        .map(|c| format!("{} {}/{}", c.name, c.passed, c.total))
        .collect::<Vec<_>>()
        .join("  ")
}

fn step_line(n: u32, action: &Action, step: &Step, bugs: usize) -> String {
    let obs = &step.observation;
    let components = step.info.breakdown.as_ref().map_or_else(
        || match &step.info.verdict {
            debugenv::VerdictInfo::Ok => String::new(),
            debugenv::VerdictInfo::NoVerdict { reason, .. } => format!("[no verdict: {reason:?}]"),
        },
        |b| {
            format!(
                "[S {:.2} C {:.2} B {:.2} E {:.3} R {:.2}]",
                b.test_pass_score,
                b.completion_bonus,
                b.bug_bonus,
                b.efficiency_bonus,
                b.regression_penalty
            )
        },
    );
    let grading = match step.info.grading {
        GradingKind::Full => "full",
        GradingKind::Targeted => "targeted",
        GradingKind::None => "-",
    };
    let refused = obs
        .action_result
        .error
        .as_ref()
        .map(|e| format!("  refused: {:?}", e.code))
        .unwrap_or_default();
    format!(
        "{n:>3} {} {}  bugs {}/{}  reward {:.4} {}  {grading} {:.2}s{refused}",
        describe(action),
        categories(obs),
        obs.bugs_fixed.len(),
        bugs,
        step.reward,
        components,
        step.info.timings.total
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn plot(
    path: &Path,
    title: &str,
    rewards: &[f64],
    pass_rates: &[f64],
) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let steps = rewards.len().max(2) - 1;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(0..steps, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("value")
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            rewards.iter().enumerate().map(|(i, r)| (i, *r)),
            &BLUE,
        ))?
        .label("reward")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            pass_rates.iter().enumerate().map(|(i, r)| (i, *r)),
            &RED,
        ))?
        .label("pass rate")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

async fn run(args: Args) -> Result<bool, Box<dyn Error>> {
    let started = Instant::now();
    let mut package = choose_package(args.package.as_deref())?;
    if let Some(n) = args.max_steps {
        package = package.with_max_steps(n);
    }
    if let Some(k) = args.full_every {
        package = package.with_full_every(k);
    }
    // In a container the image's venv runs the tests; locally one made here.
    let python = if args.docker {
        args.python
            .clone()
            .unwrap_or_else(|| "/opt/venv/bin/python".into())
    } else {
        provision_python(&package, args.python.clone())?
    };
    let package = Arc::new(package.with_python(python));
    let spec = package.spec();
    let bugs = package.graph().len();
    println!(
        "episode: {} ({} tests, {} bugs, max {} steps), agent {}, seed {}",
        spec.name,
        package.universe().len(),
        bugs,
        spec.max_steps,
        match &args.agent {
            AgentKind::Oracle => "oracle".to_owned(),
            AgentKind::Random => "random".to_owned(),
            AgentKind::Replay(p) => format!("replay {}", p.display()),
        },
        args.seed
    );

    std::fs::create_dir_all(&args.out)?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let base = args.out.join(format!("episode-{}-{stamp}", spec.name));
    let trajectory = base.with_extension("jsonl");
    let picture = base.with_extension("svg");

    let start_fixed: Vec<BugId> = args
        .start_fixed
        .iter()
        .map(|b| BugId::new(b.clone()))
        .collect();
    let context = Context {
        args: &args,
        start_fixed: &start_fixed,
        bugs,
        picture: &picture,
        trajectory: &trajectory,
        started,
    };
    if args.docker {
        let image = args
            .image
            .clone()
            .unwrap_or_else(|| format!("debugenv-{}:latest", package.spec().name));
        let opts = DockerOptions::new(image.clone());
        let engine = docker::connect(&opts).await?;
        if args.image.is_none() && engine.inspect_image(&image).await.is_err() {
            build_package_image(&package, &opts, &image).await?;
        }
        let sandbox = DockerSandbox::create(&engine, &package.sandbox_spec()?, &opts)
            .await
            .map_err(|e| format!("cannot start a container from `{image}` (build it with `debugenv-sandbox build-image`): {e}"))?;
        play_in(package.clone(), sandbox, &context).await
    } else {
        let sandbox =
            LocalSandbox::create(&package.sandbox_spec()?, &LocalOptions::default()).await?;
        play_in(package.clone(), sandbox, &context).await
    }
}

/// Builds the package's own Docker image when it is missing: the package
/// ships `image/make-context.sh` (an offline build context from the local
/// venv's wheelhouse); the image is built on the sandbox base image
/// (debootstrap, cached), as `.ci/parts/35-talentflow-image.sh` does.
async fn build_package_image(
    package: &Package,
    opts: &DockerOptions,
    image: &str,
) -> Result<(), Box<dyn Error>> {
    let script = package.dir().join("image/make-context.sh");
    if !script.exists() {
        return Err(format!(
            "no image `{image}` and no {} to build it from; build it or pass --image",
            script.display()
        )
        .into());
    }
    eprintln!(
        "episode: building the image {image} (once: the base image from debootstrap, \
         then the environment; a few minutes)"
    );
    // The context takes its wheels from the local venv.
    let venv = venv_dir()?;
    run_provision_script(package, &venv)?;
    let context = std::env::temp_dir().join(format!("debugenv-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    let made = run_checked(
        std::process::Command::new("bash")
            .arg(&script)
            .arg("env")
            .arg(&context)
            .env("DEBUGENV_VENV", &venv),
    );
    let built = match made {
        Ok(()) => {
            let builder = docker::ImageBuilder::new(docker::connect(opts).await?);
            let started = Instant::now();
            match builder.base_image().await {
                Ok(base) => {
                    eprintln!(
                        "episode: base image {base} ready in {:.0} s",
                        started.elapsed().as_secs_f64()
                    );
                    builder
                        .build_environment(&context, image, &base)
                        .await
                        .map(|_| ())
                        .map_err(Into::into)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_dir_all(&context);
    built?;
    eprintln!("episode: image {image} built");
    Ok(())
}

/// What an episode is played with, besides the environment.
struct Context<'a> {
    args: &'a Args,
    start_fixed: &'a [BugId],
    bugs: usize,
    picture: &'a Path,
    trajectory: &'a Path,
    started: Instant,
}

/// Plays the episode in a sandbox of any backend, then destroys the sandbox.
async fn play_in<S: Sandbox>(
    package: Arc<Package>,
    sandbox: S,
    c: &Context<'_>,
) -> Result<bool, Box<dyn Error>> {
    let mut env = Environment::new(package, sandbox);
    env.record_to(c.trajectory)?;
    let result = play(
        &mut env,
        c.args,
        c.start_fixed,
        c.bugs,
        c.picture,
        c.trajectory,
        c.started,
    )
    .await;
    env.close().await?;
    result
}

async fn play<S: Sandbox>(
    env: &mut Environment<S>,
    args: &Args,
    start_fixed: &[BugId],
    bugs: usize,
    picture: &Path,
    trajectory: &Path,
    started: Instant,
) -> Result<bool, Box<dyn Error>> {
    let package = env.package().clone();
    let reset_started = Instant::now();
    let options = ResetOptions::seeded(args.seed).with_fixed(start_fixed.iter().cloned());
    let obs = env.reset(options).await?;
    let reset_secs = reset_started.elapsed().as_secs_f64();
    println!(
        "  0 reset       {:<30} {}  bugs {}/{}  reward {:.4}  {:.2}s",
        "",
        categories(&obs),
        obs.bugs_fixed.len(),
        bugs,
        obs.reward,
        reset_secs
    );
    let mut rewards = vec![obs.reward];
    let mut pass_rates = vec![obs.test_results.pass_rate];
    let mut agent = Agent::new(&args.agent, &package, start_fixed, args.seed)?;

    let bar = ProgressBar::new(u64::from(package.spec().max_steps));
    bar.set_style(ProgressStyle::with_template(
        "{bar:40.cyan/blue} {pos}/{len} steps  {msg}",
    )?);
    let mut last: Option<Step> = None;
    let mut latencies = Vec::new();
    let (mut full, mut targeted, mut none) = (0, 0, 0);
    let mut preloaded = 0usize;
    let (mut harness, mut tests_time) = (0.0, 0.0);
    let mut n = 0;
    while let Some(action) = agent.next(env).await? {
        n += 1;
        let step = env.step(action.clone()).await?;
        let line = step_line(n, &action, &step, bugs);
        if bar.is_hidden() {
            // Not a terminal: no bar to draw around, plain lines.
            println!("{line}");
        } else {
            bar.println(line);
        }
        bar.inc(1);
        bar.set_message(format!("reward {:.4}", step.reward));
        match step.info.grading {
            GradingKind::Full => full += 1,
            GradingKind::Targeted => targeted += 1,
            GradingKind::None => none += 1,
        }
        if step.info.grading != GradingKind::None {
            preloaded += usize::from(step.info.preloaded);
            latencies.push(step.info.timings.total);
            tests_time += step.info.timings.tests;
            harness += step.info.timings.total - step.info.timings.tests;
        }
        rewards.push(step.reward);
        pass_rates.push(step.observation.test_results.pass_rate);
        let done = step.terminated || step.truncated;
        last = Some(step);
        if done {
            break;
        }
    }
    bar.finish_and_clear();

    let title = format!("{}: reward and pass rate per step", package.spec().name);
    plot(picture, &title, &rewards, &pass_rates)?;
    latencies.sort_by(f64::total_cmp);
    let last_obs = last.as_ref().map_or(&obs, |s| &s.observation);
    let ending = match &last {
        Some(s) if s.terminated => "terminated: every test passes",
        Some(s) if s.truncated => "truncated",
        Some(_) => "agent stopped",
        None => "no steps",
    };
    println!("\nepisode summary");
    let row = |k: &str, v: String| println!("  {k:<18} {v}");
    row(
        "package",
        format!("{} ({})", package.spec().name, package.dir().display()),
    );
    row(
        "steps",
        format!("{n} of {} ({ending})", package.spec().max_steps),
    );
    row(
        "final reward",
        format!("{:.4}", rewards.last().copied().unwrap_or(0.0)),
    );
    row(
        "tests passing",
        format!(
            "{}/{} ({})",
            last_obs.test_results.passed,
            last_obs.test_results.total,
            categories(last_obs)
        ),
    );
    row(
        "bugs fixed",
        format!("{}/{bugs}", last_obs.bugs_fixed.len()),
    );
    row(
        "wall time",
        format!(
            "{:.1} s (reset {:.2} s)",
            started.elapsed().as_secs_f64(),
            reset_secs
        ),
    );
    row(
        "graded step time",
        format!(
            "p50 {:.2} s, p95 {:.2} s",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95)
        ),
    );
    row(
        "gradings",
        if package.spec().tests.preload.is_empty() {
            format!("full {full}, targeted {targeted}, none {none}")
        } else {
            format!(
                "full {full}, targeted {targeted}, none {none}; {preloaded} of {} forked from \
                 the resident pytest server",
                full + targeted
            )
        },
    );
    if harness + tests_time > 0.0 {
        row(
            "harness overhead",
            format!(
                "{:.1}% of graded step time outside the pytest run",
                100.0 * harness / (harness + tests_time)
            ),
        );
    }
    row("trajectory", trajectory.display().to_string());
    row("plot", picture.display().to_string());
    // The oracle must fix everything, unless `--max-steps` cut it short.
    Ok(last.as_ref().is_some_and(|s| s.terminated || s.truncated)
        || !matches!(args.agent, AgentKind::Oracle))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("episode: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("episode: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("episode: the oracle did not finish the episode");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("episode: {e}");
            ExitCode::from(1)
        }
    }
}
