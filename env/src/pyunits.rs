//! Python sources split into *units* (the bodies of functions and methods)
//! and the rest, for function-level affected-test selection.
//!
//! A unit is the body of a `def` at module level or directly in a class body
//! (classes nest: `Outer.Inner.method`). Functions defined inside a unit
//! belong to it. Its key is the qualified name, with `@2`, `@3`, ... for a
//! second, third definition of the same name (a property's setter, a
//! redefinition). Everything else (imports, module and class statements,
//! decorators, signatures, comments between definitions) is the *rest*: a
//! change there can affect any test that imports the module.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use tree_sitter::{Node, Parser};

/// One function body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    /// Qualified name (`Class.method`, `function`, `name@2`).
    pub(crate) key: String,
    /// Lines of the body, 1-based, inclusive (as coverage numbers them).
    pub(crate) lines: RangeInclusive<usize>,
    /// Bytes of the body.
    body: std::ops::Range<usize>,
}

/// A source split into units and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Units {
    /// In source order.
    pub(crate) units: Vec<Unit>,
    /// The source with every unit body replaced by its key.
    rest: Vec<u8>,
}

/// Splits `source`; `None` when it does not parse as Python without errors.
pub(crate) fn split(source: &[u8]) -> Option<Units> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    let tree = parser.parse(source, None)?;
    let root = tree.root_node();
    if root.has_error() {
        return None;
    }
    let mut units = Vec::new();
    let mut seen = HashMap::new();
    collect(root, source, "", &mut seen, &mut units);
    let mut rest = Vec::with_capacity(source.len());
    let mut at = 0;
    for u in &units {
        rest.extend_from_slice(&source[at..u.body.start]);
        rest.push(0);
        rest.extend_from_slice(u.key.as_bytes());
        rest.push(0);
        at = u.body.end;
    }
    rest.extend_from_slice(&source[at..]);
    Some(Units { units, rest })
}

/// Units among the statements of `block` (a module or a class body).
fn collect(
    block: Node<'_>,
    source: &[u8],
    prefix: &str,
    seen: &mut HashMap<String, usize>,
    units: &mut Vec<Unit>,
) {
    let mut cursor = block.walk();
    for child in block.named_children(&mut cursor) {
        let def = if child.kind() == "decorated_definition" {
            match child.child_by_field_name("definition") {
                Some(d) => d,
                None => continue,
            }
        } else {
            child
        };
        let (Some(name), Some(body)) = (
            def.child_by_field_name("name"),
            def.child_by_field_name("body"),
        ) else {
            continue;
        };
        let Ok(name) = name.utf8_text(source) else {
            continue;
        };
        let qualified = format!("{prefix}{name}");
        match def.kind() {
            "function_definition" => {
                let n = seen.entry(qualified.clone()).or_insert(0);
                *n += 1;
                let key = if *n == 1 {
                    qualified
                } else {
                    format!("{qualified}@{n}")
                };
                units.push(Unit {
                    key,
                    lines: body.start_position().row + 1..=body.end_position().row + 1,
                    body: body.byte_range(),
                });
            }
            "class_definition" => collect(body, source, &format!("{qualified}."), seen, units),
            _ => {}
        }
    }
}

impl Units {
    /// The body of `unit` in `source` (the source this was split from).
    fn body<'a>(&self, source: &'a [u8], unit: &Unit) -> &'a [u8] {
        &source[unit.body.clone()]
    }
}

/// The keys of the units whose bodies differ between `before` and `after`,
/// or `None` when anything else differs (or either does not parse): then
/// the change is not confined to function bodies.
pub(crate) fn changed_units(before: &[u8], after: &[u8]) -> Option<Vec<String>> {
    let (a, b) = (split(before)?, split(after)?);
    if a.rest != b.rest || a.units.len() != b.units.len() {
        return None;
    }
    Some(
        a.units
            .iter()
            .zip(&b.units)
            .filter(|(x, y)| a.body(before, x) != b.body(after, y))
            .map(|(x, _)| x.key.clone())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "\
import os

LIMIT = 3


def plain(a):
    return a + LIMIT


class Box:
    size = 1

    @property
    def value(self):
        return self._v

    @value.setter
    def value(self, v):
        def clamp(x):
            return min(x, LIMIT)
        self._v = clamp(v)

    class Inner:
        async def run(self,
                      n):
            '''Docs
with a column-0 line.'''
            return n


if os.environ.get('X'):
    def hidden():
        return 1
";

    #[test]
    fn units_are_qualified_bodies_with_their_lines() {
        let u = split(SRC.as_bytes()).expect("parses");
        let keys: Vec<&str> = u.units.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(keys, ["plain", "Box.value", "Box.value@2", "Box.Inner.run"]);
        assert_eq!(u.units[0].lines, 7..=7);
        assert_eq!(u.units[2].lines, 19..=21, "the nested def belongs to it");
        assert_eq!(u.units[3].lines, 26..=28);
    }

    #[test]
    fn a_body_change_names_its_unit_and_nothing_else() {
        let after = SRC.replace("return min(x, LIMIT)", "return max(x, LIMIT)");
        assert_eq!(
            changed_units(SRC.as_bytes(), after.as_bytes()),
            Some(vec!["Box.value@2".to_owned()])
        );
        // Longer bodies shift later units; only the changed one counts.
        let after = SRC.replace(
            "    return a + LIMIT\n",
            "    a += 1\n    return a + LIMIT\n",
        );
        assert_eq!(
            changed_units(SRC.as_bytes(), after.as_bytes()),
            Some(vec!["plain".to_owned()])
        );
        let after = SRC.replace("with a column-0", "with a column-zero");
        assert_eq!(
            changed_units(SRC.as_bytes(), after.as_bytes()),
            Some(vec!["Box.Inner.run".to_owned()])
        );
        assert_eq!(
            changed_units(SRC.as_bytes(), SRC.as_bytes()),
            Some(Vec::new())
        );
    }

    #[test]
    fn changes_outside_bodies_are_not_confined() {
        for (from, to) in [
            ("LIMIT = 3", "LIMIT = 4"),                 // module statement
            ("    size = 1", "    size = 2"),           // class statement
            ("def plain(a):", "def plain(a=1):"),       // signature
            ("    @property\n", "    @staticmethod\n"), // decorator
            ("if os.environ.get('X'):", "if True:"),
            ("        return 1\n", "        return 2\n"), // a def inside an `if`
            ("return a + LIMIT", "return a +"),           // a syntax error
            ("class Inner:", "class Other:"),             // renames every key below
        ] {
            let after = SRC.replacen(from, to, 1);
            assert_ne!(after, SRC, "{from}");
            assert_eq!(
                changed_units(SRC.as_bytes(), after.as_bytes()),
                None,
                "{from} -> {to}"
            );
        }
        // A new function adds to the rest as well.
        let after = format!("{SRC}\ndef extra():\n    return 0\n");
        assert_eq!(changed_units(SRC.as_bytes(), after.as_bytes()), None);
    }

    #[test]
    fn broken_sources_give_none_and_empty_ones_no_units() {
        assert_eq!(split(b"def f(:\n"), None);
        assert_eq!(split(b"class A:\n  def f(self)\n"), None);
        assert_eq!(split(b"").map(|u| u.units.len()), Some(0));
        assert_eq!(split(b"x = 1\n").map(|u| u.units.len()), Some(0));
    }

    proptest::proptest! {
        /// Any bytes: no panic; a source that splits is unchanged against itself.
        #[test]
        fn any_bytes_split_without_panicking(
            s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)
        ) {
            if split(&s).is_some() {
                proptest::prop_assert_eq!(changed_units(&s, &s), Some(Vec::new()));
            }
            let _ = changed_units(&s, SRC.as_bytes());
        }

        /// Python built from fragments: unique keys, bodies in order, and a
        /// change of one body names exactly that unit.
        #[test]
        fn fragments_split_consistently(parts in proptest::collection::vec(0usize..6, 1..12)) {
            const FRAGS: [&str; 6] = [
                "def f(a):\n    return a\n",
                "class C:\n    def m(self):\n        pass\n",
                "x = 1\n",
                "@deco\ndef g():\n    '''d\n'''\n",
                "if x:\n    def h():\n        return 2\n",
                "async def a():\n    await b()\n",
            ];
            let src: String = parts.iter().map(|&i| FRAGS[i]).collect();
            let u = split(src.as_bytes()).expect("fragments parse");
            let mut keys: Vec<&str> = u.units.iter().map(|u| u.key.as_str()).collect();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            proptest::prop_assert_eq!(keys.len(), n, "keys are unique");
            for w in u.units.windows(2) {
                proptest::prop_assert!(w[0].body.end <= w[1].body.start);
            }
            if let Some(last) = u.units.last() {
                let mut after = src.clone().into_bytes();
                after.splice(last.body.end..last.body.end, b"; y = 0".iter().copied());
                proptest::prop_assert_eq!(
                    changed_units(src.as_bytes(), &after),
                    Some(vec![last.key.clone()])
                );
            }
        }
    }
}
