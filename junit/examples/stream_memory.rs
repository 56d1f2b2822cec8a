//! Streaming memory proof: parse a generated pytest-style report of a given
//! size without ever materializing it, and print the process's peak RSS.
//!
//! ```text
//! cargo run --release -p debugenv-junit --example stream_memory -- MEGABYTES [BIG_CASE_KIB]
//! ```
//!
//! The report is produced on the fly by a `BufRead` generator (no file, no
//! buffer of the document). `BIG_CASE_KIB` adds one case whose
//! `<system-out>` is that large, to show the peak follows the largest case.
//! Output, one line: `bytes=<n> cases=<n> failed=<n> vmhwm_kib=<n>`
//! (VmHWM from /proc/self/status, Linux only; 0 elsewhere).

use std::io::{self, BufRead, Read};
use std::process::ExitCode;

use debugenv_junit::{Outcome, Parser};

/// Yields `<testsuites><testsuite>`, then cases until `target` bytes, then the
/// closing tags; one case is held at a time.
struct Generator {
    target: u64,
    produced: u64,
    chunk: Vec<u8>,
    pos: usize,
    next_case: u64,
    big_case_bytes: usize,
    state: State,
}

#[derive(PartialEq)]
enum State {
    Head,
    Cases,
    Tail,
    Done,
}

impl Generator {
    fn new(target: u64, big_case_bytes: usize) -> Self {
        Generator {
            target,
            produced: 0,
            chunk: Vec::with_capacity(4096),
            pos: 0,
            next_case: 0,
            big_case_bytes,
            state: State::Head,
        }
    }

    fn refill(&mut self) {
        self.chunk.clear();
        self.pos = 0;
        match self.state {
            State::Head => {
                self.chunk.extend_from_slice(
                    b"<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite name=\"pytest\" errors=\"0\" hostname=\"h\">\n",
                );
                self.state = State::Cases;
            }
            State::Cases => {
                // A batch of ordinary cases (~250 bytes each).
                for _ in 0..16 {
                    let i = self.next_case;
                    self.next_case += 1;
                    let module = i % 97;
                    if i % 10 == 7 {
                        self.chunk.extend_from_slice(format!(
                            "<testcase classname=\"tests.unit.test_m{module}.TestC\" name=\"test_f[{i}-a.b/c]\" file=\"tests/unit/test_m{module}.py\" line=\"{}\" time=\"0.004\"><failure message=\"assert {i} == 0\">tests/unit/test_m{module}.py:{}: AssertionError</failure></testcase>\n",
                            i % 500, i % 500
                        ).as_bytes());
                    } else {
                        self.chunk.extend_from_slice(format!(
                            "<testcase classname=\"tests.unit.test_m{module}.TestC\" name=\"test_f[{i}-a.b/c]\" file=\"tests/unit/test_m{module}.py\" line=\"{}\" time=\"0.001\" />\n",
                            i % 500
                        ).as_bytes());
                    }
                }
                if self.big_case_bytes > 0 && self.next_case == 16 * 1000 {
                    self.chunk.extend_from_slice(
                        b"<testcase classname=\"tests.big\" name=\"test_big\"><system-out>",
                    );
                    self.chunk
                        .extend(std::iter::repeat_n(b'x', self.big_case_bytes));
                    self.chunk.extend_from_slice(b"</system-out></testcase>\n");
                }
                if self.produced + self.chunk.len() as u64 >= self.target {
                    self.state = State::Tail;
                }
            }
            State::Tail => {
                self.chunk.extend_from_slice(b"</testsuite></testsuites>\n");
                self.state = State::Done;
            }
            State::Done => {}
        }
    }
}

impl Read for Generator {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Generator {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.chunk.len() && self.state != State::Done {
            self.refill();
        }
        Ok(&self.chunk[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
        self.produced += amt as u64;
    }
}

fn vmhwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mb: u64 = args
        .next()
        .ok_or("usage: stream_memory MEGABYTES [BIG_CASE_KIB]")?
        .parse()
        .map_err(|e| format!("MEGABYTES: {e}"))?;
    let big_kib: usize = match args.next() {
        Some(v) => v.parse().map_err(|e| format!("BIG_CASE_KIB: {e}"))?,
        None => 0,
    };
    let mut generator = Generator::new(mb << 20, big_kib << 10);
    let mut cases = 0u64;
    let mut failed = 0u64;
    for case in Parser::new().reader(&mut generator).cases() {
        let case = case.map_err(|e| e.to_string())?;
        cases += 1;
        failed += u64::from(case.outcome == Outcome::Failed);
    }
    println!(
        "bytes={} cases={cases} failed={failed} vmhwm_kib={}",
        generator.produced,
        vmhwm_kib()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream_memory: {e}");
            ExitCode::from(2)
        }
    }
}
