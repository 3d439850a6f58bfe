//! A conflict explained over the versions that exist: each range in the derivation tree is
//! rewritten as the simplest range holding the same known versions (uv's rule), so that
//! `>=1.0, <1.0.1 | >=1.1, <1.1.1 | …` becomes `>=1.0` when those are all the versions there
//! are. The report then names the few ranges that matter instead of every gap between
//! releases.

use std::collections::HashMap;
use std::sync::Arc;

use pep508_rs::PackageName;
use pep508_rs::pep440_rs::Version;
use pubgrub::{DerivationTree, Derived, External, Term};

use super::{Node, Range};

type Tree = DerivationTree<Node, Range, String>;

/// `tree` with every range simplified over `known` (a package's versions, any order).
pub(super) fn simplify(tree: Tree, known: &HashMap<PackageName, Vec<Version>>) -> Tree {
    let over = |node: &Node, range: Range| -> Range {
        let name = match node {
            Node::Package(name) | Node::Extra(name, _) => name,
            Node::Root(_) => return range,
        };
        match known.get(name) {
            Some(versions) if !versions.is_empty() => {
                let mut sorted = versions.clone();
                sorted.sort();
                range.simplify(sorted.iter())
            }
            _ => range,
        }
    };
    match tree {
        DerivationTree::External(external) => DerivationTree::External(match external {
            External::NoVersions(node, range) => {
                let range = over(&node, range);
                External::NoVersions(node, range)
            }
            External::FromDependencyOf(node, range, dependency, dependency_range) => {
                let range = over(&node, range);
                let dependency_range = over(&dependency, dependency_range);
                External::FromDependencyOf(node, range, dependency, dependency_range)
            }
            External::Custom(node, range, message) => {
                let range = over(&node, range);
                External::Custom(node, range, message)
            }
            other => other,
        }),
        DerivationTree::Derived(derived) => {
            let terms = derived
                .terms
                .into_iter()
                .map(|(node, term)| {
                    let term = match term {
                        Term::Positive(range) => Term::Positive(over(&node, range)),
                        Term::Negative(range) => Term::Negative(over(&node, range)),
                    };
                    (node, term)
                })
                .collect();
            let simplify_cause =
                |cause: Arc<Tree>| Arc::new(simplify(Arc::unwrap_or_clone(cause), known));
            DerivationTree::Derived(Derived {
                terms,
                shared_id: derived.shared_id,
                cause1: simplify_cause(derived.cause1),
                cause2: simplify_cause(derived.cause2),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn ranges_are_rewritten_over_the_versions_that_exist() {
        let version = |text: &str| Version::from_str(text).unwrap();
        let name = PackageName::from_str("a").unwrap();
        // `a 1.0 | 1.1 | 1.2` (three singletons) when those are all the 1.x there are.
        let range = Range::singleton(version("1.0"))
            .union(&Range::singleton(version("1.1")))
            .union(&Range::singleton(version("1.2")));
        let known = HashMap::from([(
            name.clone(),
            ["1.0", "1.1", "1.2", "2.0"].map(version).to_vec(),
        )]);
        let tree = DerivationTree::External(External::NoVersions(Node::Package(name), range));
        let DerivationTree::External(External::NoVersions(_, simplified)) = simplify(tree, &known)
        else {
            panic!("the shape is kept");
        };
        assert_eq!(simplified.to_string(), "<=1.2");
        for (text, contained) in [("1.0", true), ("1.2", true), ("2.0", false)] {
            assert_eq!(simplified.contains(&version(text)), contained, "{text}");
        }
    }
}
