//! Which package the solver decides next: a package waits while a package that likely
//! depends on it is still undecided.
//!
//! PubGrub decides one package at a time and keeps every earlier decision it can. Deciding a
//! deep, popular package first (`cryptography`, newest) makes every package that bounds it
//! (`pyopenssl`, which needs `cryptography<51`) walk back to an old release without the bound,
//! and the packages above that (`twisted[tls]`, which needs a newer `pyopenssl`) with it: the
//! lock is valid, and the app fails at import. pip and uv decide the packages closer to the
//! app first (pip by its preferences and by re-pinning, uv by the order it discovers them), so
//! the deep package gives way instead. pyship does the same without depending on the order the
//! requirements are written in: it looks one step ahead, at what the likely pick of each
//! package it learns about depends on, and decides dependents before their dependencies.

use std::collections::{BTreeSet, HashMap, HashSet};

use pep508_rs::PackageName;

use super::Node;

/// What the solver has learnt about the shape of the graph, for its decision order.
#[derive(Debug, Default)]
pub struct DecisionOrder {
    /// For each package, the packages whose likely pick depends on it.
    dependents: HashMap<PackageName, BTreeSet<PackageName>>,
    /// Nodes whose likely pick was looked at (a package and each of its extras apart).
    looked_at: HashSet<Node>,
    /// Packages the solver has decided a version of at some point. Backtracking may undo a
    /// decision without the provider knowing; the order only needs to be deterministic and
    /// good, not exact.
    decided: HashSet<PackageName>,
}

impl DecisionOrder {
    /// Whether `node` is new here; it counts as looked at from now on.
    pub fn first_look(&mut self, node: &Node) -> bool {
        !matches!(node, Node::Root(_)) && self.looked_at.insert(node.clone())
    }

    /// Records that the likely pick of `package` depends on `dependencies`.
    pub fn record(
        &mut self,
        package: &PackageName,
        dependencies: impl IntoIterator<Item = PackageName>,
    ) {
        for dependency in dependencies {
            if &dependency != package {
                self.dependents
                    .entry(dependency)
                    .or_default()
                    .insert(package.clone());
            }
        }
    }

    /// Records that the solver decided a version of `package`.
    pub fn decided(&mut self, package: &PackageName) {
        self.decided.insert(package.clone());
    }

    /// Whether `package` should wait: a package that likely depends on it is undecided.
    pub fn waits(&self, package: &PackageName) -> bool {
        self.dependents
            .get(package)
            .is_some_and(|dependents| dependents.iter().any(|d| !self.decided.contains(d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> PackageName {
        PackageName::new(text.to_string()).unwrap()
    }

    #[test]
    fn a_dependency_waits_for_its_undecided_dependents() {
        let mut order = DecisionOrder::default();
        order.record(&name("twisted"), [name("pyopenssl"), name("twisted")]);
        order.record(&name("pyopenssl"), [name("cryptography")]);
        assert!(
            !order.waits(&name("twisted")),
            "a self-reference is no dependent"
        );
        assert!(order.waits(&name("pyopenssl")));
        assert!(order.waits(&name("cryptography")));
        order.decided(&name("twisted"));
        assert!(!order.waits(&name("pyopenssl")));
        assert!(order.waits(&name("cryptography")));
        order.decided(&name("pyopenssl"));
        assert!(!order.waits(&name("cryptography")));
    }

    #[test]
    fn each_node_is_looked_at_once() {
        let mut order = DecisionOrder::default();
        let root = Node::Root(name("app"));
        let base = Node::Package(name("twisted"));
        let extra = Node::Extra(name("twisted"), "tls".parse().unwrap());
        assert!(!order.first_look(&root));
        assert!(order.first_look(&base));
        assert!(order.first_look(&extra));
        assert!(!order.first_look(&base));
    }
}
