//! Properties of the bug graph (proptest), each a separate named test.

use std::collections::HashMap;

use debugenv_bugs::{
    Bug, BugGraph, BugId, GraphProblemKind, Manifest, Outcomes, TestUniverse, UniverseTest,
};
use proptest::prelude::*;

/// A random acyclic bug graph over a random universe, and one grading.
#[derive(Debug, Clone)]
struct Dag {
    /// Per bug: its id and direct prerequisites (positions).
    bugs: Vec<(String, Vec<usize>)>,
    /// Per test: the bugs it checks.
    tests: Vec<Vec<usize>>,
    passed: Vec<bool>,
}

impl Dag {
    fn manifest(&self) -> Manifest {
        Manifest::new(
            self.bugs
                .iter()
                .map(|(id, deps)| {
                    Bug::new(id.as_str())
                        .with_depends_on(deps.iter().map(|&d| self.bugs[d].0.as_str()))
                })
                .collect(),
        )
    }

    fn universe(&self) -> TestUniverse {
        TestUniverse::new(
            self.tests
                .iter()
                .enumerate()
                .map(|(i, bugs)| {
                    UniverseTest::new(
                        format!("t::{i}").as_str(),
                        "unit",
                        bugs.iter().map(|&b| BugId::from(self.bugs[b].0.as_str())),
                    )
                })
                .collect(),
        )
        .expect("generated universes are valid")
    }

    fn graph(&self) -> BugGraph {
        BugGraph::new(&self.manifest(), &self.universe()).expect("generated DAGs are valid")
    }
}

fn dag() -> impl Strategy<Value = Dag> {
    (1usize..25)
        .prop_flat_map(|n| {
            (
                // Distinct ids: a letter and the bug's number, shuffled.
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                prop::collection::vec(prop::collection::vec(any::<bool>(), n), n),
                prop::collection::vec(prop::collection::btree_set(0..n, 0..3), 0..20),
                any::<u64>(),
            )
        })
        .prop_map(|(perm, edges, extra_tests, seed)| {
            let n = perm.len();
            // Bug perm[j] may depend on perm[i] only for i < j: acyclic by construction.
            let mut bugs: Vec<(String, Vec<usize>)> = (0..n)
                .map(|b| (format!("{}{}", ["A", "B", "S"][b % 3], b), Vec::new()))
                .collect();
            for j in 0..n {
                for i in 0..j {
                    if edges[j][i] && (i + j) % 3 == 0 {
                        bugs[perm[j]].1.push(perm[i]);
                    }
                }
            }
            // Every bug gets one test of its own, then some shared tests.
            let mut tests: Vec<Vec<usize>> = (0..n).map(|b| vec![b]).collect();
            tests.extend(extra_tests.into_iter().map(|s| s.into_iter().collect()));
            let passed = (0..tests.len())
                .map(|i| (seed >> (i % 64)) & 1 == 1)
                .collect();
            Dag {
                bugs,
                tests,
                passed,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn credit_lies_in_the_unit_interval(d in dag(), penalty in 0.0f64..=1.0) {
        let g = d.graph();
        for c in g.credit(&Outcomes::from_passed(d.passed.clone()), penalty) {
            prop_assert!((0.0..=1.0).contains(&c), "{}", c);
        }
    }

    #[test]
    fn fixing_a_prerequisite_never_lowers_any_credit(d in dag(), pick in any::<prop::sample::Index>(), penalty in 0.0f64..=1.0) {
        let g = d.graph();
        let prerequisites: Vec<usize> = (0..g.len()).filter(|&b| !g.prerequisites_of(b).is_empty()).flat_map(|b| g.prerequisites_of(b).to_vec()).map(|p| p as usize).collect();
        prop_assume!(!prerequisites.is_empty());
        let fixed_bug = prerequisites[pick.index(prerequisites.len())];
        let before = Outcomes::from_passed(d.passed.clone());
        let mut after = before.clone();
        for &t in g.tests_of(fixed_bug) {
            after.set(t as usize, true);
        }
        let (c0, c1) = (g.credit(&before, penalty), g.credit(&after, penalty));
        for b in 0..g.len() {
            prop_assert!(c1[b] >= c0[b], "bug {}: {} -> {}", b, c0[b], c1[b]);
        }
        prop_assert_eq!(c1[fixed_bug] >= c0[fixed_bug], true);
    }

    #[test]
    fn a_graph_with_a_cycle_is_always_rejected(d in dag(), pick in any::<prop::sample::Index>(), walk in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        // Walk x -> (depends on) ... -> y, then make y depend on x.
        let mut d = d;
        let x = pick.index(d.bugs.len());
        let mut y = x;
        for step in walk {
            let deps = &d.bugs[y].1;
            if deps.is_empty() { break; }
            y = deps[step.index(deps.len())];
        }
        d.bugs[y].1.push(x);
        d.bugs[y].1.dedup();
        let manifest = d.manifest();
        let err = BugGraph::new(&manifest, &d.universe()).expect_err("a cycle must be rejected");
        let mut cycles = 0;
        let deps: HashMap<&str, Vec<&str>> = d.bugs.iter().map(|(id, deps)| (id.as_str(), deps.iter().map(|&p| d.bugs[p].0.as_str()).collect())).collect();
        for p in err.problems() {
            match &p.kind {
                GraphProblemKind::Cycle { path } => {
                    cycles += 1;
                    prop_assert_eq!(path.first(), path.last());
                    for pair in path.windows(2) {
                        prop_assert!(deps[pair[0].as_str()].contains(&pair[1].as_str()), "{} does not depend on {}", pair[0], pair[1]);
                    }
                }
                GraphProblemKind::DuplicateDependency { .. } => {}
                other => prop_assert!(false, "unexpected problem {:?}", other),
            }
        }
        prop_assert!(cycles >= 1);
    }

    #[test]
    fn fix_order_respects_every_edge(d in dag()) {
        let g = d.graph();
        let order = g.fix_order();
        prop_assert_eq!(order.len(), g.len());
        let rank: HashMap<&BugId, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        prop_assert_eq!(rank.len(), g.len());
        for (b, bug) in g.bugs().iter().enumerate() {
            for &p in g.prerequisites_of(b) {
                prop_assert!(rank[&g.bugs()[p as usize].id] < rank[&bug.id], "{} before {}", g.bugs()[p as usize].id, bug.id);
            }
        }
    }

    #[test]
    fn fix_order_does_not_depend_on_manifest_order(d in dag()) {
        let g = d.graph();
        let mut reversed = d.clone();
        let n = d.bugs.len();
        reversed.bugs = d.bugs.iter().rev().map(|(id, deps)| (id.clone(), deps.iter().map(|&p| n - 1 - p).collect())).collect();
        reversed.tests = d.tests.iter().map(|bs| bs.iter().map(|&b| n - 1 - b).collect()).collect();
        let g2 = reversed.graph();
        prop_assert_eq!(g.fix_order(), g2.fix_order());
    }
}
