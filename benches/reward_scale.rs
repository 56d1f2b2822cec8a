//! Reward + per-bug credit at 10k / 100k / 1M tests (100 / 1k / 10k bugs).
//!
//! One criterion group, `reward_scale`, measures one grading's work after the
//! test run: `BugGraph::progress` (per-bug counts and unfixed prerequisites)
//! and `RewardConfig::compute` (every component against a baseline). The
//! 10k-test size is the baseline of the group; after criterion, the bench
//! times the same closure again (median of 31 samples, wall clock and thread
//! CPU time) and prints the growth ratios, which must stay near 10x per 10x
//! input (linear).
//!
//! `cargo bench --bench reward_scale`; under `cargo test --benches` each size
//! runs once as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use debugenv_bugs::{Bug, BugGraph, BugId, Manifest, Outcomes, TestUniverse, UniverseTest};
use debugenv_reward::{BugState, Grading, Preset, RewardConfig, TestState};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const CATEGORIES: [&str; 4] = ["unit", "integration", "system", "security"];

/// A deterministic universe of `n` tests and `n / 100` bugs with a random DAG,
/// one grading's outcomes (about 70% passing) and a baseline.
struct Fixture {
    config: RewardConfig,
    graph: BugGraph,
    tests: Vec<TestState>,
    outcomes: Outcomes,
    baseline: Vec<bool>,
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn fixture(n: usize) -> Fixture {
    let mut rng = Lcg(n as u64);
    let bugs = n / 100;
    let ids: Vec<String> = (0..bugs).map(|b| format!("B{b}")).collect();
    let manifest = Manifest::new(
        (0..bugs)
            .map(|b| {
                // Up to two prerequisites among earlier bugs: acyclic.
                let mut deps = Vec::new();
                for _ in 0..2 {
                    if b > 0 && rng.below(2) == 0 {
                        let d = rng.below(b);
                        if !deps.contains(&d) {
                            deps.push(d);
                        }
                    }
                }
                Bug::new(ids[b].as_str()).with_depends_on(deps.iter().map(|&d| ids[d].as_str()))
            })
            .collect(),
    );
    let universe = TestUniverse::new(
        (0..n)
            .map(|t| {
                // Bug tests first (every bug gets tests), a tenth of them check two bugs,
                // and a fifth of the universe are guard tests with no bug.
                let mut tb = Vec::new();
                if t % 5 != 4 {
                    tb.push(BugId::new(ids[t % bugs].as_str()));
                    if t % 10 == 0 {
                        let other = rng.below(bugs);
                        if other != t % bugs {
                            tb.push(BugId::new(ids[other].as_str()));
                        }
                    }
                }
                UniverseTest::new(
                    format!("tests/t{t}.py::test_{t}").as_str(),
                    CATEGORIES[t % 4],
                    tb,
                )
            })
            .collect(),
    )
    .expect("bench universe is valid");
    let graph = BugGraph::new(&manifest, &universe).expect("bench graph is valid");
    let config = RewardConfig::preset(Preset::Talentflow);
    let passed: Vec<bool> = (0..n).map(|_| rng.below(10) < 7).collect();
    let baseline: Vec<bool> = passed.iter().map(|&p| p ^ (rng.below(50) == 0)).collect();
    let tests = universe
        .tests()
        .iter()
        .zip(&passed)
        .map(|(t, &p)| {
            let c = config
                .category_index(t.category.as_str())
                .expect("preset categories");
            TestState::new(c, p)
        })
        .collect();
    Fixture {
        config,
        graph,
        tests,
        outcomes: Outcomes::from_passed(passed),
        baseline,
    }
}

/// The measured work: per-bug credit, then the reward.
fn grade(f: &Fixture) -> f64 {
    let bugs: Vec<BugState> = f
        .graph
        .progress(&f.outcomes)
        .iter()
        .map(|p| BugState::new(p.passed, p.total, p.unfixed_prerequisites))
        .collect();
    let grading = Grading {
        tests: &f.tests,
        bugs: &bugs,
        step: 7,
    };
    f.config
        .compute(&grading, Some(&f.baseline))
        .expect("bench grading is valid")
        .total
}

/// CPU time of the calling thread: immune to the other processes sharing the
/// machine, which stretch wall-clock time of long runs more than short ones.
#[expect(
    unsafe_code,
    reason = "clock_gettime writes into a local timespec; no safe std API reads thread CPU time"
)]
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec that outlives the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Median wall-clock and CPU time of one grading: samples of `batch`
/// gradings (so every sample does about the same work, 1M tests' worth).
fn median_times(f: &Fixture, batch: usize, samples: usize) -> (Duration, Duration) {
    let mut wall = Vec::with_capacity(samples);
    let mut cpu = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (w, c) = (Instant::now(), thread_cpu_time());
        for _ in 0..batch {
            black_box(grade(black_box(f)));
        }
        cpu.push((thread_cpu_time() - c) / batch as u32);
        wall.push(w.elapsed() / batch as u32);
    }
    wall.sort_unstable();
    cpu.sort_unstable();
    (wall[samples / 2], cpu[samples / 2])
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let fixtures: Vec<(usize, Fixture)> = SIZES.iter().map(|&n| (n, fixture(n))).collect();

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    {
        let mut group = c.benchmark_group("reward_scale");
        for (n, f) in &fixtures {
            group.throughput(Throughput::Elements(*n as u64));
            group.bench_with_input(BenchmarkId::new("credit+reward", n), f, |b, f| {
                b.iter(|| grade(black_box(f)));
            });
        }
        group.finish();
    }
    c.final_summary();

    if !bench_mode {
        return;
    }
    // Growth ratios, measured in this run against the 10k baseline.
    let medians: Vec<(usize, Duration, Duration)> = fixtures
        .iter()
        .map(|(n, f)| {
            let (wall, cpu) = median_times(f, 1_000_000 / n, 31);
            (*n, wall, cpu)
        })
        .collect();
    println!("\nreward_scale: median of 31 samples, each 1M tests' worth of gradings");
    println!(
        "  {:>9} {:>7} {:>12} {:>12}",
        "tests", "bugs", "wall ms", "cpu ms"
    );
    for (n, wall, cpu) in &medians {
        println!(
            "  {n:>9} {:>7} {:>12.3} {:>12.3}",
            n / 100,
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3
        );
    }
    for pair in medians.windows(2) {
        let wall = pair[1].1.as_secs_f64() / pair[0].1.as_secs_f64();
        let cpu = pair[1].2.as_secs_f64() / pair[0].2.as_secs_f64();
        println!(
            "  ratio {:>7} / {:<6}: wall {wall:5.2}x, cpu {cpu:5.2}x (10x input; linear <= ~12x)",
            pair[1].0, pair[0].0
        );
    }
}
