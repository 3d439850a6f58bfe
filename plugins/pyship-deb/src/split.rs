//! Split packages (`[tool.pyship.deb] split = true`): the dependencies' virtualenv in a
//! package of its own, named and placed by a hash of what it holds, and the application in a
//! small package that depends on exactly that one.
//!
//! The idea is Hartley's "virtualenvs keyed by a hash of the requirements": the dependencies
//! live at `PREFIX-deps-HASH` (package `NAME-deps-HASH`, version 1-1, its bytes independent of
//! the release), and the application package owns its own files inside that directory plus
//! the symlink `PREFIX -> NAME-deps-HASH`, through which everything (shebangs, pyvenv.cfg,
//! the service's command) keeps working at the prefix it was staged for. A release that
//! changes only the application ships kilobytes and reuses the installed dependencies; one
//! that changes them installs a new deps package beside the old one and moves the symlink,
//! and the old one is left for `apt-get autoremove`. Rolling back reinstalls the older
//! application package, which points at the older deps package again.

use std::collections::BTreeSet;
use std::path::Path;

use pyship_plugin::{Entry, EntryKind, Manifest};
use pyship_plugin_kit::tree::sort_entries;
use sha2::{Digest, Sha256};

/// The deps package's version: its name carries the content hash, so the version never
/// needs to move (with a Debian revision: it is not a native package).
pub const DEPS_VERSION: &str = "1-1";

/// The deps package's files are stamped with this time rather than `SOURCE_DATE_EPOCH`, so
/// the same dependencies give the same .deb in every release (2023-11-14).
pub const DEPS_MTIME: u64 = 1_700_000_000;

/// How an unsplit package stamps its members: what a split package would put in the deps
/// package (everything under the prefix but the application's own files) carries
/// [`DEPS_MTIME`], so the dependencies' members stay byte-identical from release to release
/// (and their data.tar segments reusable); the rest carries the release's `mtime`. Without
/// the application's RECORD, everything carries `mtime`.
pub fn unsplit_stamps(manifest: &Manifest, mtime: u64) -> impl Fn(&Entry) -> u64 {
    let prefix = relative(&manifest.layout.install_prefix);
    let app_files = app_files(manifest, &prefix).ok();
    move |entry: &Entry| {
        let under_prefix = entry
            .path
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        match &app_files {
            Some(app_files) if under_prefix && !app_files.contains(&entry.path) => DEPS_MTIME,
            _ => mtime,
        }
    }
}

/// What goes where.
pub struct Split {
    /// The application's package: its files, the prefix symlink, the deployment files.
    pub app: Vec<Entry>,
    /// The dependencies' package: the rest of the virtualenv, at `PREFIX-deps-HASH`.
    pub deps: Vec<Entry>,
}

/// The first 12 hex digits of a sha256 over everything the dependencies' tree is made from:
/// each bundled distribution's name, version and wheel hash, the prefix, the interpreter
/// and how bytecode is made, and this pyship.
pub fn deps_hash(manifest: &Manifest) -> String {
    let mut hasher = Sha256::new();
    let mut facts = vec![
        format!("prefix {}", manifest.layout.install_prefix.display()),
        format!("python {}", manifest.target.python_version),
        format!("interpreter {:?}", manifest.target.interpreter),
        format!("bytecode {:?}", manifest.target.bytecode),
        format!("pyship {}", manifest.pyship_version),
    ];
    for package in bundled(manifest) {
        facts.push(format!(
            "package {} {} {}",
            package.name, package.version, package.sha256
        ));
    }
    for fact in facts {
        hasher.update(fact.as_bytes());
        hasher.update(b"\n");
    }
    pyship_plugin::hex(&hasher.finalize())[..12].to_string()
}

/// The distributions in the deps package: every installed one but the application.
pub fn bundled(manifest: &Manifest) -> impl Iterator<Item = &pyship_plugin::Package> {
    let app = normalize(&manifest.project.name);
    manifest
        .packages
        .iter()
        .filter(move |package| normalize(&package.name) != app)
}

/// Splits `entries` (the staged tree merged with the application's docs and deployment
/// files) into the two packages; `hash` is [`deps_hash`]'s.
pub fn split(manifest: &Manifest, entries: Vec<Entry>, hash: &str) -> Result<Split, String> {
    let prefix = relative(&manifest.layout.install_prefix);
    let prefix_name = prefix.rsplit('/').next().unwrap_or(&prefix).to_string();
    let deps_dir_name = format!("{prefix_name}-deps-{hash}");
    let deps_prefix = match prefix.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/{deps_dir_name}"),
        None => deps_dir_name.clone(),
    };
    let app_files = app_files(manifest, &prefix)?;
    let under_prefix = |path: &str| -> Option<String> {
        let rest = path.strip_prefix(prefix.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| format!("{deps_prefix}{rest}"))
    };
    let ancestors_of_prefix: BTreeSet<String> = ancestors(&prefix).collect();

    let mut app = Vec::new();
    let mut deps = Vec::new();
    let mut app_directories = BTreeSet::new();
    let mut deps_directories = Vec::new();
    for mut entry in entries {
        match under_prefix(&entry.path) {
            Some(moved) => {
                let is_app_file = app_files.contains(&entry.path);
                entry.path = moved;
                if entry.kind == EntryKind::Directory {
                    deps_directories.push(entry);
                } else if is_app_file {
                    app_directories.extend(ancestors(&entry.path));
                    app.push(entry);
                } else {
                    deps.push(entry);
                }
            }
            None if ancestors_of_prefix.contains(&entry.path) => {
                deps.push(entry.clone());
                app.push(entry);
            }
            None => app.push(entry),
        }
    }
    for directory in deps_directories {
        if app_directories.contains(&directory.path) {
            app.push(directory.clone());
        }
        deps.push(directory);
    }
    // The prefix itself, in the application's package: a sibling link, so that it stays
    // valid wherever the tree is unpacked (`dpkg --root`).
    app.push(Entry {
        path: prefix.clone(),
        kind: EntryKind::Symlink {
            target: deps_dir_name,
        },
        mode: 0o777,
        source: Default::default(),
    });
    sort_entries(&mut app);
    sort_entries(&mut deps);
    Ok(Split { app, deps })
}

/// `/opt/venvs/hello` as an archive path: `opt/venvs/hello`.
pub fn relative(path: &Path) -> String {
    path.display().to_string().trim_matches('/').to_string()
}

/// `a/b/c` → `a`, `a/b` (not `a/b/c` itself).
fn ancestors(path: &str) -> impl Iterator<Item = String> + '_ {
    path.match_indices('/')
        .map(move |(at, _)| path[..at].to_string())
}

/// PEP 503 normalization, for matching the application's dist-info.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The staged paths (archive paths) of the application's files: what its dist-info's RECORD
/// lists (sources, bytecode, console scripts in `bin/`), the dist-info included.
pub fn app_files(manifest: &Manifest, prefix: &str) -> Result<BTreeSet<String>, String> {
    let site_packages = format!(
        "{prefix}/lib/python{}/site-packages",
        manifest.target.python_version
    );
    let staged_site = manifest.layout.staging_root.join(&site_packages);
    let app = normalize(&manifest.project.name);
    let dist_info = std::fs::read_dir(&staged_site)
        .map_err(|error| format!("failed to read `{}`: {error}", staged_site.display()))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|name| {
            name.strip_suffix(".dist-info")
                .and_then(|stem| stem.rsplit_once('-'))
                .is_some_and(|(name, _)| normalize(name) == app)
        })
        .ok_or_else(|| {
            format!(
                "no `.dist-info` of `{}` in `{}`",
                manifest.project.name,
                staged_site.display()
            )
        })?;
    let record_path = staged_site.join(&dist_info).join("RECORD");
    let record = std::fs::read_to_string(&record_path)
        .map_err(|error| format!("failed to read `{}`: {error}", record_path.display()))?;
    let mut files = BTreeSet::new();
    for line in record.lines().filter(|line| !line.is_empty()) {
        let path = record_path_field(line);
        let joined = normalize_path(&format!("{site_packages}/{path}")).ok_or_else(|| {
            format!(
                "`{}` lists `{path}`, outside the tree",
                record_path.display()
            )
        })?;
        if !joined.starts_with(&format!("{prefix}/")) {
            return Err(format!(
                "`{}` lists `{path}`, outside the install prefix",
                record_path.display()
            ));
        }
        files.insert(joined);
    }
    Ok(files)
}

/// The first CSV field of a RECORD row (quoted when it holds a comma).
fn record_path_field(line: &str) -> String {
    let Some(quoted) = line.strip_prefix('"') else {
        return line.split(',').next().unwrap_or_default().to_string();
    };
    let mut out = String::new();
    let mut characters = quoted.chars().peekable();
    while let Some(c) = characters.next() {
        if c == '"' {
            if characters.peek() == Some(&'"') {
                characters.next();
                out.push('"');
            } else {
                break;
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `a/b/../c` → `a/c`; `None` when `..` climbs above the start.
fn normalize_path(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_paths_are_read_and_normalized() {
        assert_eq!(record_path_field("hello/app.py,sha256=x,1"), "hello/app.py");
        assert_eq!(record_path_field("\"a,b.py\",sha256=x,1"), "a,b.py");
        assert_eq!(record_path_field("\"q\"\"x.py\",,"), "q\"x.py");
        assert_eq!(
            normalize_path("opt/v/lib/python3.11/site-packages/../../../bin/hello").as_deref(),
            Some("opt/v/bin/hello")
        );
        assert_eq!(normalize_path("a/../../b"), None);
    }

    #[test]
    fn ancestors_are_every_parent() {
        assert_eq!(
            ancestors("opt/venvs/hello").collect::<Vec<_>>(),
            ["opt", "opt/venvs"]
        );
    }
}
