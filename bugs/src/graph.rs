//! [`BugGraph`]: the validated dependency graph and per-bug credit.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::error::{GraphError, GraphProblem, GraphProblemKind, Position};
use crate::id::BugId;
use crate::manifest::{Bug, Manifest};
use crate::universe::{Outcomes, TestUniverse};

/// The progress of one bug in one grading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BugProgress {
    /// Its tests that pass.
    pub passed: u32,
    /// Its tests in the universe (at least 1).
    pub total: u32,
    /// Its direct prerequisites that are not fully fixed (d_b).
    pub unfixed_prerequisites: u32,
}

impl BugProgress {
    /// Every test of the bug passes.
    pub fn fixed(&self) -> bool {
        self.passed == self.total
    }

    /// f_b: the fraction of its tests passing.
    pub fn fraction(&self) -> f64 {
        f64::from(self.passed) / f64::from(self.total)
    }

    /// `f_b * penalty^d_b`; the penalty is clamped to `[0, 1]` (NaN counts as 0).
    pub fn credit(&self, penalty: f64) -> f64 {
        let penalty = if penalty.is_nan() {
            0.0
        } else {
            penalty.clamp(0.0, 1.0)
        };
        let d = i32::try_from(self.unfixed_prerequisites).unwrap_or(i32::MAX);
        (self.fraction() * penalty.powi(d)).clamp(0.0, 1.0)
    }
}

/// The bugs of an environment as a dependency graph over its test universe.
///
/// Nodes are bugs (in manifest order), edges go from a prerequisite to the bug
/// that depends on it. Built only from a valid manifest and universe, so every
/// bug has at least one test and the graph is acyclic.
#[derive(Debug, Clone)]
pub struct BugGraph {
    bugs: Vec<Bug>,
    graph: DiGraph<(), ()>,
    index: HashMap<BugId, usize>,
    /// Tests of bug `b`: `tests[offsets[b]..offsets[b + 1]]` (universe positions).
    offsets: Vec<usize>,
    tests: Vec<u32>,
    /// Every (test, bug) pair in universe order, packed in 4 bytes:
    /// `bug << 8 | step`, where `step` is how far the test position advances
    /// from the previous pair (0 for another bug of the same test). A gap of
    /// more than 255 tests is bridged by filler pairs naming bug `len()`, a
    /// scratch counter. A grading walks this array front to back and adds each
    /// test's pass flag to its bug's count without a branch, so its cost per
    /// pair is the same at every size (no branch history to learn, memory read
    /// sequentially, 4 bytes per pair).
    pairs: Vec<u32>,
    /// Tests in the universe.
    universe_len: usize,
    /// Direct prerequisites of bug `b`, sorted.
    prereqs: Vec<Vec<u32>>,
}

impl BugGraph {
    /// Validates the manifest against the universe and builds the graph.
    ///
    /// # Errors
    ///
    /// A [`GraphError`] listing every problem found in one pass: invalid or
    /// duplicate ids, unknown or repeated dependencies, every dependency cycle
    /// (with its path), bugs without tests, tests naming unknown bugs.
    /// Manifest problems carry the line and column when the manifest was parsed
    /// from TOML.
    pub fn new(manifest: &Manifest, universe: &TestUniverse) -> Result<Self, GraphError> {
        let bugs = manifest.bugs();
        let path = manifest.path().map(ToOwned::to_owned);
        let mut problems = Vec::new();
        let problem = |position: Option<Position>, kind| GraphProblem {
            path: path.clone(),
            position,
            kind,
        };

        let mut index: HashMap<BugId, usize> = HashMap::with_capacity(bugs.len());
        let mut canonical = vec![false; bugs.len()];
        for (i, bug) in bugs.iter().enumerate() {
            let at = manifest.location(i).map(|l| l.id);
            if !bug.id.is_valid() {
                problems.push(problem(
                    at,
                    GraphProblemKind::InvalidId { id: bug.id.clone() },
                ));
            }
            match index.entry(bug.id.clone()) {
                Entry::Occupied(first) => problems.push(problem(
                    at,
                    GraphProblemKind::DuplicateId {
                        id: bug.id.clone(),
                        first: manifest.location(*first.get()).map(|l| l.id),
                    },
                )),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                    canonical[i] = true;
                }
            }
        }

        let mut graph = DiGraph::<(), ()>::with_capacity(bugs.len(), bugs.len());
        for _ in bugs {
            graph.add_node(());
        }
        let mut prereqs: Vec<Vec<u32>> = vec![Vec::new(); bugs.len()];
        for (i, bug) in bugs.iter().enumerate() {
            if !canonical[i] {
                continue;
            }
            for (j, dep) in bug.depends_on.iter().enumerate() {
                let at = manifest
                    .location(i)
                    .and_then(|l| l.depends_on.get(j).copied());
                match index.get(dep) {
                    None => problems.push(problem(
                        at,
                        GraphProblemKind::UnknownDependency {
                            bug: bug.id.clone(),
                            dependency: dep.clone(),
                        },
                    )),
                    Some(&d) if prereqs[i].contains(&(d as u32)) => problems.push(problem(
                        at,
                        GraphProblemKind::DuplicateDependency {
                            bug: bug.id.clone(),
                            dependency: dep.clone(),
                        },
                    )),
                    Some(&d) => {
                        prereqs[i].push(d as u32);
                        graph.add_edge(NodeIndex::new(d), NodeIndex::new(i), ());
                    }
                }
            }
        }

        let mut cycles: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
            .map(|scc| cycle_path(bugs, &prereqs, &scc))
            .collect();
        cycles.sort_by(|a, b| bugs[a[0]].id.cmp(&bugs[b[0]].id));
        for cycle in cycles {
            problems.push(problem(
                manifest.location(cycle[0]).map(|l| l.id),
                GraphProblemKind::Cycle {
                    path: cycle.iter().map(|&b| bugs[b].id.clone()).collect(),
                },
            ));
        }

        // Tests of each bug, as a compressed list (one pass to count, one to fill).
        let mut counts = vec![0usize; bugs.len()];
        let mut unknown = Vec::new();
        for t in universe.tests() {
            for bug in &t.bugs {
                match index.get(bug) {
                    Some(&b) => counts[b] += 1,
                    None => unknown.push(problem(
                        None,
                        GraphProblemKind::UnknownBugInTest {
                            test: t.id.clone(),
                            bug: bug.clone(),
                        },
                    )),
                }
            }
        }
        for (i, bug) in bugs.iter().enumerate() {
            if canonical[i] && counts[i] == 0 {
                problems.push(problem(
                    manifest.location(i).map(|l| l.id),
                    GraphProblemKind::BugWithoutTests {
                        bug: bug.id.clone(),
                    },
                ));
            }
        }
        problems.extend(unknown);
        if u32::try_from(universe.len()).is_err() || bugs.len() > MAX_BUGS {
            problems.push(problem(
                None,
                GraphProblemKind::TooLarge {
                    tests: universe.len(),
                    bugs: bugs.len(),
                },
            ));
        }
        if !problems.is_empty() {
            return Err(GraphError { problems });
        }

        let mut offsets = Vec::with_capacity(bugs.len() + 1);
        offsets.push(0);
        for c in &counts {
            offsets.push(offsets.last().copied().unwrap_or(0) + c);
        }
        let mut fill = offsets.clone();
        let mut tests = vec![0u32; offsets[bugs.len()]];
        let mut pairs = Vec::with_capacity(tests.len());
        let scratch = (bugs.len() as u32) << 8; // checked above: at most MAX_BUGS bugs
        let mut at = 0usize; // test position of the previous pair
        for (pos, t) in universe.tests().iter().enumerate() {
            for bug in &t.bugs {
                let b = index[bug];
                // Checked above: positions fit in u32.
                tests[fill[b]] = pos as u32;
                fill[b] += 1;
                while pos - at > 255 {
                    pairs.push(scratch | 255);
                    at += 255;
                }
                pairs.push(((b as u32) << 8) | (pos - at) as u32);
                at = pos;
            }
        }
        for p in &mut prereqs {
            p.sort_unstable();
        }
        tracing::debug!(
            bugs = bugs.len(),
            edges = graph.edge_count(),
            tests = universe.len(),
            "bug graph built"
        );
        Ok(Self {
            bugs: bugs.to_vec(),
            graph,
            index,
            offsets,
            tests,
            pairs,
            universe_len: universe.len(),
            prereqs,
        })
    }

    /// The bugs, in manifest order (a bug's position is its index everywhere here).
    pub fn bugs(&self) -> &[Bug] {
        &self.bugs
    }

    /// Number of bugs.
    pub fn len(&self) -> usize {
        self.bugs.len()
    }

    /// Whether there are no bugs.
    pub fn is_empty(&self) -> bool {
        self.bugs.is_empty()
    }

    /// The position of a bug.
    pub fn position(&self, id: &BugId) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// A bug by id.
    pub fn get(&self, id: &BugId) -> Option<&Bug> {
        self.position(id).map(|i| &self.bugs[i])
    }

    /// Universe positions of the tests of the bug at `bug` (empty if out of range).
    pub fn tests_of(&self, bug: usize) -> &[u32] {
        match (self.offsets.get(bug), self.offsets.get(bug + 1)) {
            (Some(&a), Some(&b)) => &self.tests[a..b],
            _ => &[],
        }
    }

    /// Direct prerequisites of the bug at `bug`, as positions.
    pub fn prerequisites_of(&self, bug: usize) -> &[u32] {
        self.prereqs.get(bug).map_or(&[], Vec::as_slice)
    }

    /// The underlying petgraph graph: node `i` is bug `i`, edges go from
    /// prerequisite to dependent.
    pub fn graph(&self) -> &DiGraph<(), ()> {
        &self.graph
    }

    /// A topological order (every prerequisite before its dependents), ties
    /// broken by id in natural order, so it is the same on every run.
    pub fn fix_order(&self) -> Vec<&BugId> {
        let n = self.bugs.len();
        let mut indegree: Vec<usize> = (0..n).map(|b| self.prereqs[b].len()).collect();
        let mut ready: BinaryHeap<Reverse<(&BugId, usize)>> = (0..n)
            .filter(|&b| indegree[b] == 0)
            .map(|b| Reverse((&self.bugs[b].id, b)))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((id, b))) = ready.pop() {
            order.push(id);
            for next in self
                .graph
                .neighbors_directed(NodeIndex::new(b), Direction::Outgoing)
            {
                let d = next.index();
                indegree[d] -= 1;
                if indegree[d] == 0 {
                    ready.push(Reverse((&self.bugs[d].id, d)));
                }
            }
        }
        order
    }

    /// Each bug's progress (in bug order): tests passing, tests, unfixed direct
    /// prerequisites. Linear in the number of (test, bug) pairs plus edges.
    pub fn progress(&self, outcomes: &Outcomes) -> Vec<BugProgress> {
        let n = self.bugs.len();
        // One more counter: the scratch slot of the filler pairs.
        let mut passed = vec![0u32; n + 1];
        // One sequential, branch-free pass over the (test, bug) pairs; only the
        // small per-bug array is accessed at random.
        let flags = outcomes.as_slice();
        let mut t = 0usize;
        if flags.len() >= self.universe_len {
            for &pair in &self.pairs {
                t += (pair & 0xff) as usize;
                passed[(pair >> 8) as usize] += u32::from(flags[t]);
            }
        } else {
            // Outcomes shorter than the universe: the missing tests did not pass.
            for &pair in &self.pairs {
                t += (pair & 0xff) as usize;
                passed[(pair >> 8) as usize] += u32::from(flags.get(t).copied().unwrap_or(false));
            }
        }
        let total = |b: usize| (self.offsets[b + 1] - self.offsets[b]) as u32;
        let fixed: Vec<bool> = (0..n).map(|b| passed[b] == total(b)).collect();
        (0..n)
            .map(|b| BugProgress {
                passed: passed[b],
                total: total(b),
                unfixed_prerequisites: self.prereqs[b]
                    .iter()
                    .filter(|&&p| !fixed[p as usize])
                    .count() as u32,
            })
            .collect()
    }

    /// Per bug (in bug order) `f_b * penalty^d_b`, each in `[0, 1]`.
    pub fn credit(&self, outcomes: &Outcomes, penalty: f64) -> Vec<f64> {
        self.progress(outcomes)
            .iter()
            .map(|p| p.credit(penalty))
            .collect()
    }

    /// Bugs with at least one direct prerequisite not fully fixed, in fix order.
    pub fn blocked(&self, outcomes: &Outcomes) -> Vec<&BugId> {
        let progress = self.progress(outcomes);
        self.fix_order()
            .into_iter()
            .filter(|id| progress[self.index[*id]].unfixed_prerequisites > 0)
            .collect()
    }

    /// Graphviz text of the graph: one box per bug (id and title), an arrow
    /// from each prerequisite to its dependent. With outcomes, fixed bugs are
    /// filled green and blocked ones dashed grey; bugs and edges are sorted by id.
    pub fn to_dot(&self, outcomes: Option<&Outcomes>) -> String {
        let progress = outcomes.map(|o| self.progress(o));
        let mut order: Vec<usize> = (0..self.bugs.len()).collect();
        order.sort_by(|&a, &b| self.bugs[a].id.cmp(&self.bugs[b].id));
        let mut out = String::from("digraph bugs {\n    rankdir=LR;\n    node [shape=box];\n");
        for &b in &order {
            let bug = &self.bugs[b];
            let label = if bug.title.is_empty() {
                bug.id.to_string()
            } else {
                format!("{}\\n{}", bug.id, escape(&bug.title))
            };
            let style = match progress.as_ref().map(|p| p[b]) {
                Some(p) if p.fixed() => ", style=filled, fillcolor=\"#b7e4a1\"",
                Some(p) if p.unfixed_prerequisites > 0 => ", style=dashed, color=grey50",
                _ => "",
            };
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{label}\"{style}];",
                escape(bug.id.as_str())
            );
        }
        for &b in &order {
            let mut deps: Vec<&BugId> = self.prereqs[b]
                .iter()
                .map(|&p| &self.bugs[p as usize].id)
                .collect();
            deps.sort();
            for dep in deps {
                let _ = writeln!(
                    out,
                    "    \"{}\" -> \"{}\";",
                    escape(dep.as_str()),
                    escape(self.bugs[b].id.as_str())
                );
            }
        }
        out.push_str("}\n");
        out
    }
}

/// The most bugs a graph holds: a packed pair keeps the bug in 24 bits, and
/// one more value is the filler pairs' scratch counter.
const MAX_BUGS: usize = (1 << 24) - 1;

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A shortest cycle through the smallest id of a strongly connected
/// component, following `depends_on`; the first bug is repeated at the end.
fn cycle_path(bugs: &[Bug], prereqs: &[Vec<u32>], scc: &[NodeIndex]) -> Vec<usize> {
    let members: HashSet<usize> = scc.iter().map(|n| n.index()).collect();
    let start = *members
        .iter()
        .min_by(|&&a, &&b| bugs[a].id.cmp(&bugs[b].id))
        .expect("a component is never empty");
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(b) = queue.pop_front() {
        let mut next: Vec<usize> = prereqs[b].iter().map(|&p| p as usize).collect();
        next.sort_by(|&x, &y| bugs[x].id.cmp(&bugs[y].id));
        for p in next {
            if p == start {
                let mut chain = vec![b];
                let mut at = b;
                while at != start {
                    at = parent[&at];
                    chain.push(at);
                }
                chain.reverse();
                chain.push(start);
                return chain;
            }
            if members.contains(&p) && !parent.contains_key(&p) && p != start {
                parent.insert(p, b);
                queue.push_back(p);
            }
        }
    }
    vec![start, start]
}
