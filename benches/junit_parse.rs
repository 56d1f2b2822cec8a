//! debugenv-junit against its baselines on one 20,000-case pytest-style report.
//!
//! A seeded generator writes the report once (about 7 MB: pytest's `xunit1`
//! attributes, parametrized names, failures and errors with escaped
//! tracebacks, skips, xfails, `record_property`, captured output). One
//! criterion group, `junit_parse`, measures on those same bytes:
//!
//! * `debugenv-junit report`: `Parser::parse`, the whole typed `Report`
//!   (every case kept, like junit-parser's model);
//! * `debugenv-junit stream`: `JunitReader::read_case`, every case fully
//!   parsed and typed, one at a time, nothing kept (like the scan);
//! * `junit-parser`: the `junit-parser` crate's `from_reader`, its whole model;
//! * `quick-xml scan`: a bare `quick_xml::Reader::read_event_into` loop that
//!   builds nothing: the floor for any XML-correct parser on quick-xml.
//!
//! After criterion, the bench times the four again, interleaved round by
//! round so machine noise hits all of them alike, and prints the ratios of the
//! medians (thread CPU time, wall time alongside). Targets (issue 2): the
//! report's throughput at least 3x junit-parser's (both build a whole model),
//! and the streaming parse at most 1.5x the bare scan's time (neither keeps
//! anything). A missed target makes the bench exit 1.
//!
//! ```text
//! cargo bench --bench junit_parse                        # criterion + ratios
//! cargo bench --bench junit_parse -- --quick             # short criterion run + ratios
//! JUNIT_BENCH_ROUNDS=15 cargo bench --bench junit_parse -- --quick
//! ```
//!
//! Under `cargo test --benches` each function runs once as a smoke test and
//! the ratios are not computed.

use std::hint::black_box;
use std::io::BufRead;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use debugenv_junit::{Outcome, Parser, Report};

/// Cases in the generated report.
const CASES: usize = 20_000;
/// Seed of the generator: the same bytes on every run.
const SEED: u64 = 0x4a55_4e49_5432;
/// Our throughput must be at least this multiple of junit-parser's.
const MIN_SPEEDUP_VS_JUNIT_PARSER: f64 = 3.0;
/// Our time must be at most this multiple of the bare quick-xml scan's.
const MAX_SLOWDOWN_VS_SCAN: f64 = 1.5;

/// SplitMix64: small, seeded, good enough to vary a report.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const PACKAGES: &[&str] = &["unit", "integration", "api", "models", "services"];
const MODULES: &[&str] = &[
    "orders",
    "billing",
    "accounts",
    "search",
    "invoices",
    "profiles",
    "jobs",
    "candidates",
];
const CLASSES: &[&str] = &["TestCreate", "TestUpdate", "TestPermissions", "TestQueries"];
const VERBS: &[&str] = &[
    "returns", "rejects", "updates", "lists", "computes", "caches",
];
const PARAMS: &[&str] = &[
    "EUR-1.5",
    "user/admin",
    "2026-01-01",
    "naïve",
    "a.b.c",
    "None-0",
    "x[1]",
    "empty",
];

/// What the generator produced, to check every parser saw the same report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    cases: usize,
    failed: usize,
    errored: usize,
    skipped: usize,
}

/// A pytest (`junit_family=xunit1`) report of `CASES` cases, as pytest writes
/// it: one suite, attributes in pytest's order, escaped tracebacks.
fn generate(seed: u64) -> (Vec<u8>, Totals) {
    let mut rng = Rng(seed);
    let mut body = String::with_capacity(8 << 20);
    let mut t = Totals::default();
    let mut total_time = 0.0f64;
    for i in 0..CASES {
        let package = rng.pick(PACKAGES);
        let module = rng.pick(MODULES);
        let class = rng.pick(CLASSES);
        let verb = rng.pick(VERBS);
        let line = 10 + rng.below(900);
        let millis = rng.below(250);
        total_time += millis as f64 / 1000.0;
        let param = if rng.below(3) == 0 {
            format!("[{}-{}]", rng.pick(PARAMS), i % 97)
        } else {
            String::new()
        };
        let file = format!("tests/{package}/test_{module}.py");
        body.push_str(&format!(
            "<testcase classname=\"tests.{package}.test_{module}.{class}\" name=\"test_{verb}_{i}{param}\" file=\"{file}\" line=\"{line}\" time=\"0.{millis:03}\""
        ));
        t.cases += 1;
        let roll = rng.below(100);
        match roll {
            0..=5 => {
                t.failed += 1;
                let (a, b) = (rng.below(1000), rng.below(1000));
                body.push_str(&format!(
                    "><failure message=\"AssertionError: assert {a} == {b}&#10;  +  where {a} = &lt;Order id={i}&gt;.total\">self = &lt;tests.{package}.test_{module}.{class} object at 0x7f{a:04x}&gt;\n\n    def test_{verb}_{i}(self):\n        order = make_order(&quot;{module}&quot;)\n&gt;       assert order.total == {b}\nE       AssertionError: assert {a} == {b}\nE        +  where {a} = &lt;Order id={i}&gt;.total\n\n{file}:{line}: AssertionError</failure><system-out>created order {i} &amp; sent mail to user{a}@example.test\n</system-out></testcase>"
                ));
            }
            6..=7 => {
                t.errored += 1;
                body.push_str(&format!(
                    "><error message=\"failed on setup with &quot;django.db.utils.OperationalError: could not connect&quot;\">@pytest.fixture\n    def db_conn():\n&gt;       return connect(&quot;127.0.0.1&quot;, {line})\nE       django.db.utils.OperationalError: could not connect\n\ntests/conftest.py:{line}: OperationalError</error></testcase>"
                ));
            }
            8..=11 => {
                t.skipped += 1;
                body.push_str(&format!(
                    "><skipped type=\"pytest.skip\" message=\"requires redis &gt;= 7\">{file}:{line}: requires redis &gt;= 7</skipped></testcase>"
                ));
            }
            12 => {
                t.skipped += 1;
                body.push_str(
                    "><skipped type=\"pytest.xfail\" message=\"known bug #42\" /></testcase>",
                );
            }
            13..=15 => {
                body.push_str(&format!(
                    "><properties><property name=\"bug\" value=\"B{}\" /><property name=\"queries\" value=\"{}\" /></properties></testcase>",
                    rng.below(31),
                    rng.below(40)
                ));
            }
            _ => body.push_str(" />"),
        }
    }
    let mut xml = String::with_capacity(body.len() + 512);
    xml.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite name=\"pytest\" errors=\"{}\" failures=\"{}\" skipped=\"{}\" tests=\"{}\" time=\"{total_time:.3}\" timestamp=\"2026-01-01T00:00:00.000000+00:00\" hostname=\"ci-runner\">",
        t.errored, t.failed, t.skipped, t.cases
    ));
    xml.push_str(&body);
    xml.push_str("</testsuite></testsuites>");
    (xml.into_bytes(), t)
}

fn ours(bytes: &[u8]) -> Report {
    match Parser::new().parse(bytes) {
        Ok(r) => r,
        Err(e) => panic!("debugenv-junit rejected the generated report: {e}"),
    }
}

/// Stream every case; returns the number of failed ones.
fn stream(bytes: &[u8]) -> usize {
    let mut reader = Parser::new().reader(bytes);
    let mut failed = 0;
    loop {
        match reader.read_case() {
            Ok(Some(case)) => failed += usize::from(black_box(case).outcome == Outcome::Failed),
            Ok(None) => return failed,
            Err(e) => panic!("debugenv-junit rejected the generated report: {e}"),
        }
    }
}

fn junit_parser(bytes: &[u8]) -> junit_parser::TestSuites {
    match junit_parser::from_reader(bytes) {
        Ok(r) => r,
        Err(e) => panic!("junit-parser rejected the generated report: {e}"),
    }
}

/// The floor: every event of the document read, nothing built. Returns the
/// number of `<testcase>` tags so the loop cannot be optimised away.
fn scan<R: BufRead>(input: R) -> usize {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::with_capacity(1024);
    let mut cases = 0;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                cases += usize::from(e.local_name().as_ref() == b"testcase");
            }
            Ok(quick_xml::events::Event::Eof) => return cases,
            Ok(_) => {}
            Err(e) => panic!("quick-xml rejected the generated report: {e}"),
        }
    }
}

fn ours_totals(r: &Report) -> Totals {
    let count = |o| r.cases.iter().filter(|c| c.outcome == o).count();
    Totals {
        cases: r.cases.len(),
        failed: count(Outcome::Failed),
        errored: count(Outcome::Errored),
        skipped: count(Outcome::Skipped),
    }
}

fn junit_parser_totals(r: &junit_parser::TestSuites) -> Totals {
    fn walk(s: &junit_parser::TestSuite, t: &mut Totals) {
        for c in &s.cases {
            t.cases += 1;
            t.failed += usize::from(c.status.is_failure());
            t.errored += usize::from(c.status.is_error());
            t.skipped += usize::from(c.status.is_skipped());
        }
        for inner in &s.suites {
            walk(inner, t);
        }
    }
    let mut t = Totals::default();
    for s in &r.suites {
        walk(s, &mut t);
    }
    t
}

/// CPU time of the calling thread (not disturbed by other processes
/// running on the shared cores, unlike wall time).
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    #[expect(
        unsafe_code,
        reason = "clock_gettime writes only into the timespec we pass"
    )]
    // SAFETY: `ts` is a valid, exclusively borrowed timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall and thread-CPU time of one call of `f`.
fn time(f: &dyn Fn()) -> (Duration, Duration) {
    let (w, c) = (Instant::now(), thread_cpu_time());
    f();
    (w.elapsed(), thread_cpu_time() - c)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let (bytes, expected) = generate(SEED);

    // Every contender reads the whole report the same way.
    assert_eq!(ours_totals(&ours(&bytes)), expected, "debugenv-junit");
    assert_eq!(
        junit_parser_totals(&junit_parser(&bytes)),
        expected,
        "junit-parser"
    );
    assert_eq!(stream(&bytes), expected.failed, "debugenv-junit stream");
    assert_eq!(scan(&bytes[..]), expected.cases, "quick-xml scan");

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    {
        let mut group = c.benchmark_group("junit_parse");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("debugenv-junit report", |b| {
            b.iter(|| ours(black_box(&bytes)))
        });
        group.bench_function("debugenv-junit stream", |b| {
            b.iter(|| stream(black_box(&bytes)))
        });
        group.bench_function("junit-parser", |b| {
            b.iter(|| junit_parser(black_box(&bytes)))
        });
        group.bench_function("quick-xml scan", |b| b.iter(|| scan(black_box(&bytes[..]))));
        group.finish();
    }
    c.final_summary();

    if !bench_mode {
        return ExitCode::SUCCESS;
    }

    let rounds: usize = std::env::var("JUNIT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(31);
    let contenders: [(&str, &dyn Fn()); 4] = [
        ("debugenv-junit report", &|| {
            drop(black_box(ours(black_box(&bytes))))
        }),
        ("debugenv-junit stream", &|| {
            black_box(stream(black_box(&bytes)));
        }),
        ("junit-parser", &|| {
            drop(black_box(junit_parser(black_box(&bytes))))
        }),
        ("quick-xml scan", &|| {
            black_box(scan(black_box(&bytes[..])));
        }),
    ];
    const REPORT: usize = 0;
    const STREAM: usize = 1;
    const JUNIT_PARSER: usize = 2;
    const SCAN: usize = 3;
    let n = contenders.len();
    let mut wall: [Vec<Duration>; 4] = Default::default();
    let mut cpu: [Vec<Duration>; 4] = Default::default();
    for round in 0..rounds {
        // Rotate the order so no contender always runs first (cold caches).
        for k in 0..n {
            let i = (round + k) % n;
            let (w, c) = time(contenders[i].1);
            wall[i].push(w);
            cpu[i].push(c);
        }
    }
    let wall = wall.map(median);
    let cpu = cpu.map(median);
    let mb = bytes.len() as f64 / 1e6;
    println!("\njunit_parse: {CASES} cases, {mb:.2} MB, median of {rounds} interleaved rounds");
    for (i, (name, _)) in contenders.iter().enumerate() {
        println!(
            "  {name:<22} cpu {:>8.2} ms ({:>7.1} MB/s)   wall {:>8.2} ms",
            cpu[i].as_secs_f64() * 1e3,
            mb / cpu[i].as_secs_f64(),
            wall[i].as_secs_f64() * 1e3
        );
    }
    let ratio = |t: &[Duration; 4], a: usize, b: usize| t[a].as_secs_f64() / t[b].as_secs_f64();
    let speedup = ratio(&cpu, JUNIT_PARSER, REPORT);
    let slowdown = ratio(&cpu, STREAM, SCAN);
    let ok_speedup = speedup >= MIN_SPEEDUP_VS_JUNIT_PARSER;
    let ok_slowdown = slowdown <= MAX_SLOWDOWN_VS_SCAN;
    let verdict = |ok| if ok { "ok" } else { "MISSED" };
    println!(
        "junit_parse ratio: report throughput / junit-parser = {speedup:.2}x (cpu; wall {:.2}x), target >= {MIN_SPEEDUP_VS_JUNIT_PARSER}x: {}",
        ratio(&wall, JUNIT_PARSER, REPORT),
        verdict(ok_speedup)
    );
    println!(
        "junit_parse ratio: stream time / quick-xml scan = {slowdown:.2}x (cpu; wall {:.2}x), target <= {MAX_SLOWDOWN_VS_SCAN}x: {}",
        ratio(&wall, STREAM, SCAN),
        verdict(ok_slowdown)
    );
    println!(
        "junit_parse info: stream throughput / junit-parser = {:.2}x; report time / quick-xml scan = {:.2}x (cpu)",
        ratio(&cpu, JUNIT_PARSER, STREAM),
        ratio(&cpu, REPORT, SCAN)
    );
    if ok_speedup && ok_slowdown {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
