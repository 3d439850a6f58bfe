//! Which versions of a package the target can install, and which one to try.
//!
//! A version is installable when it has a wheel whose tags the target accepts, that is not
//! yanked (PEP 592), whose `data-requires-python` admits the target, and that was uploaded
//! before `--exclude-newer`. Among installable versions, the choice prefers the version
//! already locked (so re-locking changes nothing unless asked), then the newest final release;
//! pre-releases follow `--prerelease` and pip's rule that naming one in a specifier allows it.

use std::collections::{BTreeMap, HashMap, HashSet};

use pep508_rs::pep440_rs::Version;
use pep508_rs::{PackageName, Requirement};
use pubgrub::Ranges;

use crate::index::DistFile;
use crate::python::Target;

/// `--prerelease`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PrereleaseMode {
    /// Never, unless a requirement names a pre-release.
    Disallow,
    /// Only when no final release fits, or a requirement names one (pip's behaviour).
    #[default]
    IfNecessary,
    /// Pre-releases compete with final releases.
    Allow,
}

/// Builds the metadata of an sdist whose PKG-INFO is not static (PEP 517
/// `prepare_metadata_for_build_wheel`).
pub trait MetadataBuilder: Send + Sync {
    /// METADATA text of the sdist at `path` (sha256 `sha256`), or a message saying why not.
    fn build_metadata(&self, path: &std::path::Path, sha256: &str) -> Result<String, String>;

    /// A hint that a build will likely follow soon: what it needs can be fetched now.
    fn expect_build(&self) {}
}

/// A shared [`MetadataBuilder`].
#[derive(Clone)]
pub struct Builder(pub std::sync::Arc<dyn MetadataBuilder>);

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Builder")
    }
}

/// Which packages may come from sdists (`--only-binary`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OnlyBinary {
    /// Any package without a fitting wheel may come from its sdist.
    #[default]
    None,
    /// Wheels only.
    All,
    /// Wheels only for these.
    Packages(HashSet<PackageName>),
}

/// What shapes candidate selection.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    pub prerelease: PrereleaseMode,
    /// Versions to keep when they still fit (from the existing lock).
    pub preferences: HashMap<PackageName, Version>,
    /// Ignore files uploaded after this instant (`YYYY-MM-DDTHH:MM:SS`, UTC).
    pub exclude_newer: Option<String>,
    /// Packages whose yanked files are acceptable because they are pinned exactly.
    pub allow_yanked: HashSet<PackageName>,
    /// Constraints (`-c`): they narrow a package's versions when something requires it.
    pub constraints: Vec<Requirement>,
    /// Where the constraints on a package were written (`requirements.txt:12`), for messages.
    pub constraint_origins: HashMap<PackageName, String>,
    /// `name @ URL` requirements: the one wheel such a package comes from.
    pub direct: HashMap<PackageName, DistFile>,
    /// Which packages must come from wheels.
    pub only_binary: OnlyBinary,
    /// Which packages must be built from their sdists (`--no-binary`): their wheels are
    /// ignored.
    pub no_binary: OnlyBinary,
    /// Builds metadata of sdists that do not declare it statically.
    pub metadata_builder: Option<Builder>,
    /// Metadata already known for direct references (source trees are built to learn it).
    pub direct_metadata: HashMap<PackageName, std::sync::Arc<crate::wheel::Metadata>>,
}

/// One installable version: the file to install (its best wheel for the target, or its sdist
/// when no wheel fits) and the version's sdist, recorded in the lock either way.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub version: Version,
    pub file: DistFile,
    pub sdist: Option<DistFile>,
}

/// The installable versions of `name`, newest first, and when there are none, why.
pub fn installable_versions(
    name: &PackageName,
    files: &[DistFile],
    target: &Target,
    options: &ResolveOptions,
    offline: bool,
) -> (Vec<Candidate>, Option<String>) {
    let python = &target.python_full_version;
    let mut best: BTreeMap<Version, (usize, &DistFile)> = BTreeMap::new();
    let mut sdists: BTreeMap<Version, &DistFile> = BTreeMap::new();
    let applies = |rule: &OnlyBinary| match rule {
        OnlyBinary::None => false,
        OnlyBinary::All => true,
        OnlyBinary::Packages(names) => names.contains(name),
    };
    let sdists_allowed = !applies(&options.only_binary);
    let wheels_allowed = !applies(&options.no_binary);
    // Most files of a project repeat a handful of Requires-Python values: check each once.
    let mut python_fits: HashMap<String, bool> = HashMap::new();
    for file in files {
        if file.yanked && !options.allow_yanked.contains(name) {
            continue;
        }
        if let (Some(cutoff), Some(uploaded)) = (&options.exclude_newer, &file.upload_time) {
            if uploaded.get(..19).unwrap_or(uploaded) > cutoff.as_str() {
                continue;
            }
        }
        let rank = match &file.wheel {
            Some(wheel) => target.tags.rank(&wheel.python, &wheel.abi, &wheel.platform),
            // An sdist installs anywhere it builds; ranked after every wheel.
            None => Some(usize::MAX),
        };
        let Some(rank) = rank else {
            continue;
        };
        if let Some(requires_python) = &file.requires_python {
            let fits = *python_fits
                .entry(requires_python.to_string())
                .or_insert_with(|| requires_python.contains(python));
            if !fits {
                continue;
            }
        }
        if file.is_sdist() {
            sdists.entry(file.version.clone()).or_insert(file);
            if !sdists_allowed {
                continue;
            }
        } else if !wheels_allowed {
            continue;
        }
        match best.get(&file.version) {
            Some((best_rank, best_file))
                if (*best_rank, &best_file.file_name) <= (rank, &file.file_name) => {}
            _ => {
                best.insert(file.version.clone(), (rank, file));
            }
        }
    }
    let unavailable = best.is_empty().then(|| {
        if files.is_empty() {
            let offline = if offline {
                " (with `--offline`, only cached index pages are used)"
            } else {
                ""
            };
            format!("no files of `{name}` were found in the find-links directories or indexes{offline}")
        } else {
            format!(
                "`{name}` has {} files, but none installs on the target `{}` (Python {}, {}); yanked files, newer uploads, wheels for other platforms and (with --only-binary) sdists are skipped",
                files.len(),
                target.name,
                python,
                target.platform()
            )
        }
    });
    let candidates = best
        .into_iter()
        .rev()
        .map(|(version, (_, file))| Candidate {
            sdist: sdists.get(&version).map(|sdist| (*sdist).clone()),
            version,
            file: file.clone(),
        })
        .collect();
    (candidates, unavailable)
}

/// The version to try for `name` within `range`.
pub fn choose<'c>(
    name: &PackageName,
    candidates: &'c [Candidate],
    range: &Ranges<Version>,
    options: &ResolveOptions,
    explicit_prerelease: bool,
) -> Option<&'c Candidate> {
    let fits = |candidate: &&Candidate| range.contains(&candidate.version);
    if let Some(preferred) = options.preferences.get(name) {
        if let Some(candidate) = candidates
            .iter()
            .filter(fits)
            .find(|candidate| &candidate.version == preferred)
        {
            return Some(candidate);
        }
    }
    let allow_all = options.prerelease == PrereleaseMode::Allow || explicit_prerelease;
    if allow_all {
        return candidates.iter().find(fits);
    }
    let stable = candidates
        .iter()
        .filter(fits)
        .find(|candidate| !candidate.version.any_prerelease());
    match options.prerelease {
        PrereleaseMode::IfNecessary => stable.or_else(|| candidates.iter().find(fits)),
        _ => stable,
    }
}
