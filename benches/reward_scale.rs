//! Reward + per-bug credit at 10k / 100k / 1M tests (100 / 1k / 10k bugs).
//!
//! One criterion group, `reward_scale`, measures one grading's work after the
//! test run: `BugGraph::progress` (per-bug counts and unfixed prerequisites)
//! and `RewardConfig::compute` (every component against a baseline). The
//! 10k-test size is the baseline of the group. After criterion, the bench
//! times the same closure again in two cache regimes, the sizes taking turns
//! in rounds so that load from other processes hits every size alike, and
//! prints per size the median wall-clock and thread CPU time and the growth
//! ratios, which must stay near 10x per 10x input (linear):
//!
//! * warm: each sample grades the same input back to back, 1M tests' worth
//!   (as criterion measures; a size whose data fits in L2 stays there);
//! * cold: each sample is one grading after an untimed sweep that evicts
//!   L1/L2, as the test run before every grading of an episode does. This is
//!   the regime `.ci/parts/15-reward.sh` gates on (thread CPU time: other
//!   processes on a shared machine stretch wall-clock time unevenly).
//!
//! `cargo bench --bench reward_scale`; under `cargo test --benches` each size
//! runs once as a smoke test. With `REWARD_SCALE_SHORT=1` (what the CI part
//! uses) the criterion group is skipped and only the ratio measurement runs,
//! with fewer samples.
//!
//! Output lines the CI part reads (one per size, then one per 10x step):
//!
//! ```text
//! reward_scale: cold: 1000000 tests, 10000 bugs: wall 2.405 ms, cpu 2.320 ms per grading
//! reward_scale: cold: ratio 1000000/100000: wall 10.41x, cpu 10.38x (10x input; linear <= ~12x)
//! ```

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

/// Wall-clock and CPU time of one grading, from one sample of `batch`
/// gradings (so every sample does about the same work, 1M tests' worth).
fn sample(f: &Fixture, batch: usize) -> (Duration, Duration) {
    let (w, c) = (Instant::now(), thread_cpu_time());
    for _ in 0..batch {
        black_box(grade(black_box(f)));
    }
    let cpu = (thread_cpu_time() - c) / batch as u32;
    (w.elapsed() / batch as u32, cpu)
}

/// Wall-clock and CPU time of one grading that starts with cold private caches:
/// an untimed sweep through `sweep` (4 MiB, twice the L2 of this machine's
/// cores) first evicts the fixture from L1/L2, as the test run that precedes
/// every grading in an episode does.
fn sample_cold(f: &Fixture, sweep: &mut [u64]) -> (Duration, Duration) {
    for (i, x) in sweep.iter_mut().enumerate().step_by(8) {
        *x = x.wrapping_add(i as u64);
    }
    black_box(&sweep[..]);
    let (w, c) = (Instant::now(), thread_cpu_time());
    black_box(grade(black_box(f)));
    let cpu = thread_cpu_time() - c;
    (w.elapsed(), cpu)
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let short = std::env::var_os("REWARD_SCALE_SHORT").is_some_and(|v| !v.is_empty() && v != "0");
    let fixtures: Vec<(usize, Fixture)> = SIZES.iter().map(|&n| (n, fixture(n))).collect();
    if bench_mode && short {
        report_ratios(&fixtures, 7, Regime::Warm);
        report_ratios(&fixtures, 31, Regime::Cold);
        return;
    }

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

    if bench_mode {
        report_ratios(&fixtures, 21, Regime::Warm);
        report_ratios(&fixtures, 63, Regime::Cold);
    }
}

/// How the ratio measurement treats the caches.
#[derive(Clone, Copy, PartialEq)]
enum Regime {
    /// The same input graded again and again (as criterion measures): a
    /// size whose data fits in L2 stays there.
    Warm,
    /// L1/L2 evicted before each grading (as after a test run).
    Cold,
}

/// Growth ratios, measured in this run against the 10k baseline: per size the
/// median of `rounds * 9` samples. The sizes take turns round by round, so a
/// burst of load from other processes on the machine hits every size alike.
/// Warm: each sample is 1M tests' worth of gradings, after one untimed
/// warm-up sample per round. Cold: each sample is one grading after a cache
/// sweep.
fn report_ratios(fixtures: &[(usize, Fixture)], rounds: usize, regime: Regime) {
    const PER_ROUND: usize = 9;
    let samples = rounds * PER_ROUND;
    let mut sweep = vec![0u64; 4 << 20 >> 3];
    let mut times: Vec<(Vec<Duration>, Vec<Duration>)> =
        vec![(Vec::with_capacity(samples), Vec::with_capacity(samples)); fixtures.len()];
    for _ in 0..rounds {
        for ((n, f), (wall, cpu)) in fixtures.iter().zip(&mut times) {
            if regime == Regime::Warm {
                sample(f, 1_000_000 / n);
            }
            for _ in 0..PER_ROUND {
                let (w, c) = match regime {
                    Regime::Warm => sample(f, 1_000_000 / n),
                    Regime::Cold => sample_cold(f, &mut sweep),
                };
                wall.push(w);
                cpu.push(c);
            }
        }
    }
    let medians: Vec<(usize, Duration, Duration)> = fixtures
        .iter()
        .zip(&mut times)
        .map(|((n, _), (wall, cpu))| {
            wall.sort_unstable();
            cpu.sort_unstable();
            (*n, wall[samples / 2], cpu[samples / 2])
        })
        .collect();
    let name = match regime {
        Regime::Warm => "warm",
        Regime::Cold => "cold",
    };
    println!(
        "\nreward_scale: credit+reward per grading, {name} caches, median of {samples} samples"
    );
    for (n, wall, cpu) in &medians {
        println!(
            "reward_scale: {name}: {n} tests, {} bugs: wall {:.3} ms, cpu {:.3} ms per grading",
            n / 100,
            wall.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3
        );
    }
    for pair in medians.windows(2) {
        let wall = pair[1].1.as_secs_f64() / pair[0].1.as_secs_f64();
        let cpu = pair[1].2.as_secs_f64() / pair[0].2.as_secs_f64();
        println!(
            "reward_scale: {name}: ratio {}/{}: wall {wall:.2}x, cpu {cpu:.2}x (10x input; linear <= ~12x)",
            pair[1].0, pair[0].0
        );
    }
}
