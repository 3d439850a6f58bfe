//! Resolving requirements to one version per package with PubGrub, for one target.
//!
//! Packages with extras are modelled the usual PubGrub way: `name[extra]` at version V depends
//! on `name == V` plus the requirements that the extra turns on, so an extra never picks a
//! different version than its base. Markers are evaluated against the target's environment;
//! a version whose `Requires-Python` excludes the target is skipped when the index says so up
//! front, and reported as unavailable when only its metadata says so.
//!
//! PubGrub asks for one package at a time; [`prefetch`] fetches ahead of it in parallel.

mod candidates;
mod held_back;
mod hints;
mod order;
mod prefetch;
mod ranges;
mod simplify;

pub use candidates::{Builder, MetadataBuilder, OnlyBinary, PrereleaseMode, ResolveOptions};

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use pep508_rs::pep440_rs::Version;
use pep508_rs::{ExtraName, PackageName, Requirement, VersionOrUrl};
use pubgrub::{
    DefaultStringReporter, Dependencies, DependencyConstraints, DependencyProvider,
    PackageResolutionStatistics, PubGrubError, Ranges, Reporter,
};

use self::candidates::{Candidate, installable_versions};
use self::order::DecisionOrder;
use self::prefetch::{Prefetcher, with_prefetcher};
use crate::diagnostics::Diagnostic;
use crate::index::{DistFile, IndexError, PackageIndex};
use crate::python::Target;
use crate::wheel::Metadata;

type Range = Ranges<Version>;

/// Why resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("the requirements cannot be satisfied:\n{report}")]
    NoSolution {
        report: String,
        /// Packages the target cannot install at all, with the reason; requirements no
        /// version matches, with the nearest that exist.
        hints: Vec<String>,
        /// With `--offline`, some package had no cached index page at all: the lock failed
        /// for want of the network, not because the requirements conflict.
        offline_miss: bool,
    },
    #[error("failed to get the metadata of `{package}` {version}")]
    Metadata {
        package: String,
        version: String,
        #[source]
        source: ProviderError,
    },
    #[error("failed to list versions of `{package}`")]
    Versions {
        package: String,
        #[source]
        source: ProviderError,
    },
}

impl Diagnostic for ResolveError {
    fn hint(&self) -> Option<String> {
        match self {
            ResolveError::NoSolution { hints, .. } if !hints.is_empty() => {
                Some(hints.join("\nhint: "))
            }
            ResolveError::NoSolution { .. } => Some(
                "loosen the conflicting requirements named above, or make a fitting version available in the index or wheelhouse"
                    .into(),
            ),
            _ => None,
        }
    }

    fn exit_code(&self) -> Option<u8> {
        match self {
            ResolveError::NoSolution {
                offline_miss: true, ..
            } => Some(crate::diagnostics::exit_code::OFFLINE),
            ResolveError::NoSolution { .. } => Some(crate::diagnostics::exit_code::UNSATISFIABLE),
            _ => None,
        }
    }
}

impl Diagnostic for ProviderError {
    fn hint(&self) -> Option<String> {
        // Transparent: the index error is not a cause of its own in the chain.
        match self {
            ProviderError::Index(error) => error.hint(),
            _ => None,
        }
    }
}

/// Errors from the index while resolving.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("`{0}` is a direct URL reference, allowed only in the requirements being locked")]
    DirectUrl(String),
    #[error("failed to build the metadata of `{file}`: {message}")]
    Build { file: String, message: String },
    /// A requirement no version can meet under the constraints; reported by the solver.
    #[error("{0}")]
    Conflict(String),
}

/// A node of the resolution graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// The project being locked.
    Root(PackageName),
    /// A distribution.
    Package(PackageName),
    /// A distribution with one extra turned on.
    Extra(PackageName, ExtraName),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root(name) | Node::Package(name) => write!(f, "{name}"),
            Node::Extra(name, extra) => write!(f, "{name}[{extra}]"),
        }
    }
}

/// A package the resolution chose.
#[derive(Debug, Clone)]
pub struct ResolvedPackage {
    pub name: PackageName,
    pub version: Version,
    /// The file the target installs: a wheel, or the sdist when no wheel fits.
    pub file: DistFile,
    /// The version's sdist, if the index has one.
    pub sdist: Option<DistFile>,
    /// Names of the packages it depends on for this target (with every extra the graph
    /// turned on), sorted.
    pub dependencies: Vec<PackageName>,
    /// Its edges by part: `None` the distribution itself, `Some(extra)` what that extra
    /// needs; each edge names a package and the extra of it that is asked for, if any. Kept
    /// apart so that what only a dependency group's extras need stays out of the shipped tree.
    pub edges: EdgesByPart,
}

/// A dependency: a package, and the extra of it that is asked for.
pub type Edge = (PackageName, Option<ExtraName>);

/// A package's edges by part: `None` the distribution itself, `Some(extra)` that extra.
pub type EdgesByPart = BTreeMap<Option<ExtraName>, BTreeSet<Edge>>;

struct Provider<'a> {
    index: &'a PackageIndex,
    target: &'a Target,
    options: &'a ResolveOptions,
    root_requirements: &'a [Requirement],
    prefetcher: &'a Prefetcher<'a>,
    /// Packages some requirement names with a pre-release version: pre-releases are
    /// acceptable for them (pip's rule).
    explicit_prereleases: RefCell<HashSet<PackageName>>,
    candidates: RefCell<HashMap<PackageName, Rc<Vec<Candidate>>>>,
    metadata: RefCell<HashMap<(PackageName, Version), Arc<Metadata>>>,
    edges: RefCell<HashMap<(PackageName, Version), EdgesByPart>>,
    /// Packages with no installable version at all, and why: for the no-solution hint.
    unavailable: RefCell<BTreeMap<PackageName, String>>,
    /// The versions of each package the solver has tried (a package and its extras count
    /// once: deciding `x[extra]` at the version `x` has is no step down).
    tried: RefCell<HashMap<PackageName, HashSet<Version>>>,
    /// Releases passed over because their metadata cannot be read, and why.
    skipped: RefCell<Vec<String>>,
    /// What decides which package goes first.
    order: RefCell<DecisionOrder>,
}

/// What a resolution chose, and what it passed over on the way.
#[derive(Debug)]
pub struct Solution {
    pub packages: Vec<ResolvedPackage>,
    /// Releases skipped because their metadata cannot be read (shown with `-v`).
    pub skipped: Vec<String>,
    /// Packages locked below their newest release because that release excludes another
    /// locked package, and why (shown with `-v`).
    pub held_back: Vec<String>,
}

/// After this many versions of one package were tried, backtracking is walking down its
/// releases: the metadata of the next [`BATCH`] fitting versions is fetched in parallel.
const WALKING: usize = 3;
const BATCH: usize = 48;

impl Provider<'_> {
    fn candidates(&self, name: &PackageName) -> Result<Rc<Vec<Candidate>>, ProviderError> {
        if let Some(candidates) = self.candidates.borrow().get(name) {
            return Ok(candidates.clone());
        }
        // A direct reference replaces the index for its package.
        let files = match self.options.direct.get(name) {
            Some(file) => Arc::new(vec![file.clone()]),
            None => self.index.files(name)?,
        };
        let (candidates, unavailable) = installable_versions(
            name,
            &files,
            self.target,
            self.options,
            self.index.is_offline(),
        );
        if let Some(reason) = unavailable {
            self.unavailable.borrow_mut().insert(name.clone(), reason);
        }
        let candidates = Rc::new(candidates);
        self.candidates
            .borrow_mut()
            .insert(name.clone(), candidates.clone());
        Ok(candidates)
    }

    fn metadata(
        &self,
        name: &PackageName,
        version: &Version,
    ) -> Result<Arc<Metadata>, ProviderError> {
        let key = (name.clone(), version.clone());
        if let Some(metadata) = self.metadata.borrow().get(&key) {
            return Ok(metadata.clone());
        }
        if let Some(metadata) = self.options.direct_metadata.get(name) {
            if &metadata.version == version {
                return Ok(metadata.clone());
            }
        }
        let candidates = self.candidates(name)?;
        let candidate = candidates
            .iter()
            .find(|candidate| &candidate.version == version)
            .ok_or_else(|| {
                ProviderError::Index(IndexError::BadWheel {
                    file: format!("{name} {version}"),
                    message: "the version disappeared from the index".into(),
                })
            })?;
        let metadata = metadata_of(
            self.index,
            &candidate.file,
            self.options.metadata_builder.as_ref(),
        )?;
        // A wheel whose metadata names another distribution or version is broken or hostile.
        if &metadata.name != name || &metadata.version != version {
            return Err(ProviderError::Index(IndexError::BadWheel {
                file: candidate.file.file_name.clone(),
                message: format!(
                    "its metadata says `{}` {}, not `{name}` {version}",
                    metadata.name, metadata.version
                ),
            }));
        }
        self.metadata.borrow_mut().insert(key, metadata.clone());
        Ok(metadata)
    }

    /// The constraints `requirements` put on the graph, for the target and `extras`.
    fn constraints<'r>(
        &self,
        requirements: impl IntoIterator<Item = &'r Requirement>,
        extras: &[ExtraName],
    ) -> Result<DependencyConstraints<Node, Range>, ProviderError> {
        let mut constraints: DependencyConstraints<Node, Range> = DependencyConstraints::default();
        let mut add = |node: Node, range: Range| {
            let merged = match constraints.get(&node) {
                Some(existing) => existing.intersection(&range),
                None => range,
            };
            constraints.insert(node, merged);
        };
        for requirement in requirements {
            if !requirement.marker.evaluate(&self.target.markers, extras) {
                continue;
            }
            let range = match &requirement.version_or_url {
                None => Range::full(),
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                    if specifiers.iter().any(|s| s.version().any_prerelease()) {
                        self.explicit_prereleases
                            .borrow_mut()
                            .insert(requirement.name.clone());
                    }
                    ranges::specifiers_range(specifiers)
                }
                Some(VersionOrUrl::Url(_))
                    if self.options.direct.contains_key(&requirement.name) =>
                {
                    Range::full()
                }
                Some(VersionOrUrl::Url(_)) => {
                    return Err(ProviderError::DirectUrl(requirement.to_string()));
                }
            };
            let range = self.constrain(&requirement.name, range)?;
            for extra in &requirement.extras {
                add(
                    Node::Extra(requirement.name.clone(), extra.clone()),
                    range.clone(),
                );
            }
            add(Node::Package(requirement.name.clone()), range);
        }
        Ok(constraints)
    }

    /// Narrows `range` by the constraints on `name` that apply to the target.
    fn constrain(&self, name: &PackageName, mut range: Range) -> Result<Range, ProviderError> {
        for constraint in &self.options.constraints {
            if &constraint.name != name || !constraint.marker.evaluate(&self.target.markers, &[]) {
                continue;
            }
            match &constraint.version_or_url {
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                    let narrowed = range.intersection(&ranges::specifiers_range(specifiers));
                    if narrowed.is_empty() && !range.is_empty() {
                        let origin = self
                            .options
                            .constraint_origins
                            .get(name)
                            .map(|origin| format!(" (`{origin}`)"))
                            .unwrap_or_default();
                        return Err(ProviderError::Conflict(format!(
                            "because it requires `{name} {range}`, which the constraint `{constraint}`{origin} excludes"
                        )));
                    }
                    range = narrowed;
                }
                Some(VersionOrUrl::Url(_)) => {
                    return Err(ProviderError::DirectUrl(constraint.to_string()));
                }
                None => {}
            }
        }
        Ok(range)
    }

    /// Offline, a package the resolution needed had no cached index page at all.
    fn offline_miss(&self) -> bool {
        self.index.is_offline()
            && self
                .unavailable
                .borrow()
                .keys()
                .any(|name| self.index.files(name).is_ok_and(|files| files.is_empty()))
    }

    /// Every version of each package seen while resolving, for explaining a conflict over
    /// the versions that exist.
    fn known_versions(&self) -> HashMap<PackageName, Vec<Version>> {
        self.candidates
            .borrow()
            .iter()
            .map(|(name, candidates)| {
                (
                    name.clone(),
                    candidates
                        .iter()
                        .map(|candidate| candidate.version.clone())
                        .collect(),
                )
            })
            .collect()
    }

    /// What to tell the user when no solution exists, beyond the derivation.
    fn hints(&self) -> Vec<String> {
        let mut hints: Vec<String> = self
            .unavailable
            .borrow()
            .iter()
            .map(|(name, reason)| {
                // Not found anywhere: maybe misspelled.
                let missing = self.index.files(name).is_ok_and(|files| files.is_empty());
                // Where it was looked for, with what the servers answered.
                let looked = self.index.where_missing(name).join(", ");
                match missing.then(|| self.index.closest_name(name)).flatten() {
                    Some(similar) if looked.is_empty() => {
                        format!("{reason}; did you mean `{similar}`?")
                    }
                    Some(similar) => {
                        format!("{reason}; did you mean `{similar}`? (looked for at {looked})")
                    }
                    None if missing && !looked.is_empty() => format!(
                        "{reason}; looked for at {looked}: is the name right, and the index URL?"
                    ),
                    None => reason.clone(),
                }
            })
            .collect();
        let applicable = self
            .root_requirements
            .iter()
            .filter(|r| r.marker.evaluate(&self.target.markers, &[]));
        hints.extend(hints::nearest_versions(
            applicable,
            |name| self.candidates.borrow().get(name).cloned(),
            |name| {
                self.index
                    .files(name)
                    .map(|files| files.to_vec())
                    .unwrap_or_default()
            },
            self.target,
        ));
        hints
    }

    /// Queues the packages of `constraints` for fetching ahead.
    fn prefetch(&self, constraints: &DependencyConstraints<Node, Range>) {
        for (node, range) in constraints {
            match node {
                Node::Package(name) => self.prefetcher.request(name, range, &[]),
                Node::Extra(name, extra) => {
                    self.prefetcher
                        .request(name, range, std::slice::from_ref(extra))
                }
                Node::Root(_) => {}
            }
        }
    }

    /// Looks at what the likely pick of each package in `constraints` depends on, and what
    /// their likely picks depend on in turn, the first time each appears: the graph the
    /// decision order needs. The prefetcher is already fetching these pages and metadata in
    /// parallel, so this waits about as long as the deepest chain of them; errors are left
    /// for the solver to meet and report.
    fn look_ahead(&self, constraints: &DependencyConstraints<Node, Range>) {
        let mut queue: VecDeque<(Node, Range)> = constraints
            .iter()
            .map(|(node, range)| (node.clone(), range.clone()))
            .collect();
        while let Some((node, range)) = queue.pop_front() {
            if !self.order.borrow_mut().first_look(&node) {
                continue;
            }
            let (name, extras) = match &node {
                Node::Root(_) => continue,
                Node::Package(name) => (name, Vec::new()),
                Node::Extra(name, extra) => (name, vec![extra.clone()]),
            };
            let Ok(candidates) = self.candidates(name) else {
                continue;
            };
            let explicit = self.explicit_prereleases.borrow().contains(name);
            let Some(pick) = candidates::choose(name, &candidates, &range, self.options, explicit)
            else {
                continue;
            };
            let Ok(metadata) = self.metadata(name, &pick.version) else {
                continue;
            };
            let requirements = metadata
                .requires_dist
                .iter()
                .filter(|requirement| requirement.marker.evaluate(&self.target.markers, &extras));
            let mut dependencies = Vec::new();
            for requirement in requirements {
                let range = match &requirement.version_or_url {
                    Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
                        ranges::specifiers_range(specifiers)
                    }
                    _ => Range::full(),
                };
                let Ok(range) = self.constrain(&requirement.name, range) else {
                    continue;
                };
                for extra in &requirement.extras {
                    queue.push_back((
                        Node::Extra(requirement.name.clone(), extra.clone()),
                        range.clone(),
                    ));
                }
                queue.push_back((Node::Package(requirement.name.clone()), range));
                dependencies.push(requirement.name.clone());
            }
            self.order.borrow_mut().record(name, dependencies);
        }
    }
}

impl DependencyProvider for Provider<'_> {
    type P = Node;
    type V = Version;
    type VS = Range;
    type M = String;
    type Priority = (
        u32,
        bool,
        bool,
        bool,
        std::cmp::Reverse<usize>,
        std::cmp::Reverse<String>,
    );
    type Err = ProviderError;

    fn prioritize(
        &self,
        package: &Node,
        range: &Range,
        statistics: &PackageResolutionStatistics,
    ) -> Self::Priority {
        // The decision order, highest first, and independent of the order requirements are
        // written in (as pip's preferences and uv's results are):
        // 1. packages that conflicted before (the likely culprits);
        // 2. pinned ones (one version allowed);
        // 3. those no undecided package likely depends on: the packages closer to the app
        //    are decided before their dependencies, which then fit them (see [`order`]);
        // 4. upper-bounded ones (`sphinx<7`): deciding them first lets their newest fitting
        //    version bound their dependencies (`docutils<0.20`), instead of an unbounded
        //    dependency taking its newest version and forcing them down to an old release;
        // 5. those with few versions left (cheap to decide, prune early);
        // 6. the name, so that nothing is left to the input order.
        let (count, waits) = match package {
            Node::Root(_) => (0, false),
            Node::Package(name) | Node::Extra(name, _) => (
                self.candidates
                    .borrow()
                    .get(name)
                    .map_or(usize::MAX, |candidates| {
                        candidates
                            .iter()
                            .filter(|c| range.contains(&c.version))
                            .count()
                    }),
                self.order.borrow().waits(name),
            ),
        };
        let pinned = range.as_singleton().is_some();
        let upper_bounded = range
            .bounding_range()
            .is_some_and(|(_, end)| !matches!(end, std::ops::Bound::Unbounded));
        (
            statistics.conflict_count(),
            pinned,
            !waits,
            upper_bounded,
            std::cmp::Reverse(count),
            std::cmp::Reverse(package.to_string()),
        )
    }

    fn choose_version(
        &self,
        package: &Node,
        range: &Range,
    ) -> Result<Option<Version>, ProviderError> {
        let name = match package {
            Node::Root(_) => return Ok(range.as_singleton().cloned()),
            Node::Package(name) | Node::Extra(name, _) => name,
        };
        let candidates = self.candidates(name)?;
        let explicit = self.explicit_prereleases.borrow().contains(name);
        let Some(chosen) = candidates::choose(name, &candidates, range, self.options, explicit)
        else {
            return Ok(None);
        };
        let tried = {
            let mut tried = self.tried.borrow_mut();
            let versions = tried.entry(name.clone()).or_default();
            versions.insert(chosen.version.clone());
            versions.len()
        };
        if tried >= WALKING {
            self.prefetcher.request_metadata(
                candidates
                    .iter()
                    .filter(|c| c.version < chosen.version && range.contains(&c.version))
                    // Pre-releases are tried only when no final release fits.
                    .filter(|c| chosen.version.any_prerelease() || !c.version.any_prerelease())
                    .take(BATCH)
                    .map(|c| &c.file),
            );
        }
        Ok(Some(chosen.version.clone()))
    }

    fn get_dependencies(
        &self,
        package: &Node,
        version: &Version,
    ) -> Result<Dependencies<Node, Range, String>, ProviderError> {
        let (name, extras) = match package {
            Node::Root(_) => {
                let constraints = match self.constraints(self.root_requirements, &[]) {
                    Err(ProviderError::Conflict(reason)) => {
                        return Ok(Dependencies::Unavailable(reason));
                    }
                    result => result?,
                };
                self.prefetch(&constraints);
                self.look_ahead(&constraints);
                return Ok(Dependencies::Available(constraints));
            }
            Node::Package(name) => (name, Vec::new()),
            Node::Extra(name, extra) => (name, vec![extra.clone()]),
        };
        let metadata = match self.metadata(name, version) {
            // One release with broken metadata is skipped, as pip and uv do, not the end of
            // the lock; the reason shows when nothing else fits.
            Err(ProviderError::Index(IndexError::BadMetadata { message, .. })) => {
                self.skipped.borrow_mut().push(format!(
                    "skipped {name} {version}: its metadata cannot be read ({message})"
                ));
                return Ok(Dependencies::Unavailable(format!(
                    "because its metadata cannot be read ({message})"
                )));
            }
            result => result?,
        };
        // A broken line of an extra counts only when that extra is asked for.
        if let Some(broken) = metadata.broken_extra_requirements.iter().find(|line| {
            extras.iter().any(|extra| {
                line.replace(' ', "").contains(&format!("extra=='{extra}'"))
                    || line
                        .replace(' ', "")
                        .contains(&format!("extra==\"{extra}\""))
            })
        }) {
            self.skipped.borrow_mut().push(format!(
                "skipped {package} {version}: its metadata has the unreadable `Requires-Dist: {broken}`"
            ));
            return Ok(Dependencies::Unavailable(format!(
                "because its metadata cannot be read (`Requires-Dist: {broken}`)"
            )));
        }
        if let Some(requires_python) = &metadata.requires_python {
            if !requires_python.contains(&self.target.python_full_version) {
                return Ok(Dependencies::Unavailable(format!(
                    "because it requires Python {requires_python}, but the target has {}",
                    self.target.python_full_version
                )));
            }
        }
        let mut constraints = match self.constraints(&metadata.requires_dist, &extras) {
            Err(ProviderError::Conflict(reason)) => return Ok(Dependencies::Unavailable(reason)),
            result => result?,
        };
        // A package never depends on itself; a self-reference only turns extras on.
        constraints.remove(&Node::Package(name.clone()));
        self.prefetch(&constraints);
        self.look_ahead(&constraints);
        self.order.borrow_mut().decided(name);
        self.edges
            .borrow_mut()
            .entry((name.clone(), version.clone()))
            .or_default()
            .entry(extras.first().cloned())
            .or_default()
            .extend(constraints.keys().filter_map(|node| match node {
                Node::Package(dependency) => Some((dependency.clone(), None)),
                Node::Extra(dependency, extra) => Some((dependency.clone(), Some(extra.clone()))),
                Node::Root(_) => None,
            }));
        if let Node::Extra(..) = package {
            constraints.insert(
                Node::Package(name.clone()),
                Range::singleton(version.clone()),
            );
        }
        Ok(Dependencies::Available(constraints))
    }
}

/// A file's metadata from the index; for an sdist whose PKG-INFO is not static, built by
/// `builder` (PEP 517), when there is one.
fn metadata_of(
    index: &PackageIndex,
    file: &DistFile,
    builder: Option<&Builder>,
) -> Result<Arc<Metadata>, ProviderError> {
    match index.metadata(file) {
        Err(IndexError::DynamicMetadata { file: name }) => {
            let Some(builder) = builder else {
                return Err(ProviderError::Index(IndexError::DynamicMetadata {
                    file: name,
                }));
            };
            let path = index.download(file)?;
            let sha256 = index.sha256(file)?;
            let text = builder
                .0
                .build_metadata(&path, &sha256)
                .map_err(|message| ProviderError::Build {
                    file: name.clone(),
                    message,
                })?;
            let metadata = Metadata::parse(&text).map_err(|message| ProviderError::Build {
                file: name,
                message,
            })?;
            Ok(Arc::new(metadata))
        }
        result => Ok(result?),
    }
}

/// Resolves `requirements` of the project `root` for `target`.
pub fn resolve(
    root: &PackageName,
    root_version: &Version,
    requirements: &[Requirement],
    index: &PackageIndex,
    target: &Target,
    options: &ResolveOptions,
) -> Result<Solution, ResolveError> {
    with_prefetcher(index, target, options, |prefetcher| {
        let provider = Provider {
            index,
            target,
            options,
            root_requirements: requirements,
            prefetcher,
            explicit_prereleases: RefCell::default(),
            candidates: RefCell::default(),
            metadata: RefCell::default(),
            edges: RefCell::default(),
            unavailable: RefCell::default(),
            tried: RefCell::default(),
            skipped: RefCell::default(),
            order: RefCell::default(),
        };
        solve(&provider, root, root_version)
    })
}

fn solve(
    provider: &Provider<'_>,
    root: &PackageName,
    root_version: &Version,
) -> Result<Solution, ResolveError> {
    let selection = match pubgrub::resolve(provider, Node::Root(root.clone()), root_version.clone())
    {
        Ok(selection) => selection,
        Err(PubGrubError::NoSolution(mut tree)) => {
            // "no version of c in <1.0 | >1.0" facts only add noise to the explanation;
            // packages with no installable version at all are named in the hint instead.
            tree.collapse_no_versions();
            let tree = simplify::simplify(tree, &provider.known_versions());
            let mut report = hints::readable(&DefaultStringReporter::report(&tree));
            // Requirements files have no project: their root is "your requirements", never
            // "requirements 0".
            if *root_version == Version::new([0]) {
                for (from, to) in [
                    (
                        format!("{root} 0 depends"),
                        "your requirements depend".to_string(),
                    ),
                    (
                        format!("{root} 0 is forbidden"),
                        "your requirements are forbidden".to_string(),
                    ),
                    (format!("{root} 0"), "your requirements".to_string()),
                ] {
                    report = report.replace(&from, &to);
                }
            }
            return Err(ResolveError::NoSolution {
                report,
                hints: provider.hints(),
                offline_miss: provider.offline_miss(),
            });
        }
        Err(PubGrubError::ErrorRetrievingDependencies {
            package,
            version,
            source,
        }) => {
            return Err(ResolveError::Metadata {
                package: package.to_string(),
                version: version.to_string(),
                source,
            });
        }
        Err(PubGrubError::ErrorChoosingVersion { package, source }) => {
            return Err(ResolveError::Versions {
                package: package.to_string(),
                source,
            });
        }
        Err(PubGrubError::ErrorInShouldCancel(source)) => {
            return Err(ResolveError::Versions {
                package: root.to_string(),
                source,
            });
        }
    };
    let edges = provider.edges.borrow();
    let mut resolved = Vec::new();
    for (node, version) in selection {
        let Node::Package(name) = node else {
            continue;
        };
        let candidates = provider
            .candidates(&name)
            .map_err(|source| ResolveError::Versions {
                package: name.to_string(),
                source,
            })?;
        let Some(candidate) = candidates
            .iter()
            .find(|candidate| candidate.version == version)
        else {
            continue;
        };
        let package_edges = edges
            .get(&(name.clone(), version.clone()))
            .cloned()
            .unwrap_or_default();
        let dependencies: BTreeSet<PackageName> = package_edges
            .values()
            .flatten()
            .map(|(dependency, _)| dependency.clone())
            .collect();
        resolved.push(ResolvedPackage {
            name,
            version,
            file: candidate.file.clone(),
            sdist: candidate.sdist.clone(),
            dependencies: dependencies.into_iter().collect(),
            edges: package_edges,
        });
    }
    resolved.sort_by(|a, b| a.name.cmp(&b.name));
    let held_back = held_back::notes(
        &resolved,
        provider.target,
        |name| {
            let candidates = provider.candidates(name).ok()?;
            // The newest the target can install, pre-releases only where they are allowed.
            let any = provider.options.prerelease == candidates::PrereleaseMode::Allow
                || provider.explicit_prereleases.borrow().contains(name);
            candidates
                .iter()
                .find(|candidate| any || !candidate.version.any_prerelease())
                .cloned()
        },
        |name, version| provider.metadata(name, version).ok(),
    );
    let mut skipped = provider.skipped.take();
    skipped.sort();
    skipped.dedup();
    Ok(Solution {
        packages: resolved,
        skipped,
        held_back,
    })
}
