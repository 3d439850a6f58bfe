//! Populating a staged layout from installed trees kept in the cache.
//!
//! Installing a wheel and byte-compiling it gives the same files every time for the same wheel,
//! layout (prefix, scheme, shebang interpreter) and compiling interpreter. So each wheel is
//! installed once into a tree of its own in the cache (`installed-v1/KEY/tree`: a staging root
//! holding only that wheel's files, its bytecode, and a RECORD listing both), and staging links
//! those trees into the staging root. A warm build of an unchanged lock installs and compiles
//! nothing; with one package changed in the lock, that package alone is installed and compiled.
//!
//! Files are hard-linked when the cache and the staging root share a file system, else copied
//! (`copy_file_range`, which shares blocks where the file system can). The cache is not trusted:
//! each entry lists its files' sizes and sha256s, every file is checked before it is linked, and
//! an entry that fails the check is installed again. Entries are written in a scratch directory
//! and renamed into place, so an interrupted run leaves none half-written.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use pyship_plugin::EntryKind;

use super::StagedVenv;
use crate::python::Interpreter;
use crate::wheel::{self, DistInfoExtras, InstallError, Installation, Scheme};

const COMPILE: &str = include_str!("compile.py");

/// Bump when what an entry holds for the same key changes (the installer's output, the
/// bytecode), so that older entries are never linked.
const ENTRY_FORMAT: u32 = 1;

/// Which scheme a wheel is installed with.
#[derive(Debug, Clone)]
pub enum Layout {
    /// A virtualenv for Python `X.Y`.
    Venv { python_version: String },
    /// The vendors layout, its launchers run by `base`.
    Vendors { base: PathBuf },
}

/// A wheel to install.
#[derive(Debug, Clone)]
pub struct Wheel {
    pub path: PathBuf,
    /// The sha256 the lock gives, checked when the wheel is installed; `None` for a wheel built
    /// in this run.
    pub locked_sha256: Option<String>,
    pub name: String,
    /// The application itself (the vendors layout installs it at the top of the prefix).
    pub app: bool,
    pub extras: DistInfoExtras,
}

/// An installed wheel, as its cache entry records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Installed {
    /// `Root-Is-Purelib: true` and only pure tags.
    pub pure: bool,
    /// The wheel's sha256.
    pub sha256: String,
    /// The license its metadata declares.
    pub license: Option<String>,
}

/// Wheels installed in the cache for a layout, ready to be linked into it.
#[derive(Debug)]
pub struct Prepared {
    /// Per wheel: its name and file, and its entry's tree.
    wheels: Vec<(String, PathBuf, PathBuf, Entry)>,
    /// How many wheels were installed (and compiled) now rather than found in the cache.
    pub fresh_installs: usize,
    /// Modules that did not byte-compile, one per line (the packages' own bugs, as with pip).
    pub compile_failures: Option<String>,
}

/// Why a layout could not be populated.
#[derive(Debug, thiserror::Error)]
pub enum PopulateError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error("`{}` is unsafe: it would overwrite `{}`, which {first} installed", wheel.display(), path.display())]
    Conflict {
        wheel: PathBuf,
        first: String,
        path: PathBuf,
    },
    #[error("failed to write `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Walk(#[from] pyship_plugin::WalkError),
    #[error("failed to byte-compile with `{}`", python.display())]
    Compile {
        python: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PopulateError + '_ {
    move |source| PopulateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One file of an entry: its path under the entry's tree, size and sha256 (hex).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryFile {
    path: String,
    size: u64,
    sha256: String,
}

/// `entry.json`: what an entry's tree holds. Written last, so an entry without it is unused.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    format: u32,
    installed: Installed,
    files: Vec<EntryFile>,
}

/// Makes sure the cache holds each of `wheels` installed for `venv` (created already) in
/// `layout`, byte-compiled by `compiler` when given: entries that are missing or fail their
/// check are installed now, all compiled in one run.
pub fn prepare(
    cache_dir: &Path,
    venv: &StagedVenv,
    layout: &Layout,
    wheels: &[Wheel],
    compiler: Option<&Interpreter>,
    max_unpacked: u64,
) -> Result<Prepared, PopulateError> {
    std::fs::create_dir_all(cache_dir).map_err(io_error(cache_dir))?;
    let keys = wheels
        .iter()
        .map(|wheel| entry_key(venv, layout, wheel, compiler))
        .collect::<Result<Vec<_>, _>>()?;
    let mut entries: Vec<Option<Entry>> =
        parallel_map(&keys, |key| load_verified(&cache_dir.join(key)));

    let missing: Vec<usize> = (0..wheels.len())
        .filter(|&index| entries[index].is_none())
        .collect();
    let made = install_entries(
        cache_dir,
        venv,
        layout,
        &missing
            .iter()
            .map(|&index| &wheels[index])
            .collect::<Vec<_>>(),
        compiler,
        max_unpacked,
    )?;
    for (index, (scratch, entry)) in missing.iter().zip(made.entries) {
        let destination = cache_dir.join(&keys[*index]);
        // Another run may have put the same entry in place meanwhile: either is as good.
        if std::fs::rename(&scratch, &destination).is_err() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        entries[*index] = Some(entry);
    }
    let wheels = wheels
        .iter()
        .zip(keys)
        .zip(entries)
        .map(|((wheel, key), entry)| {
            let entry = entry.expect("every entry was found or made");
            let tree = cache_dir.join(key).join("tree");
            (wheel.name.clone(), wheel.path.clone(), tree, entry)
        })
        .collect();
    Ok(Prepared {
        wheels,
        fresh_installs: missing.len(),
        compile_failures: made.compile_failures,
    })
}

/// Who owns each file linked into a layout so far: the layout itself, then each distribution;
/// which distribution's console script wins where two ship one of the same name; and what was
/// decided so, for warnings.
pub struct Owners {
    files: HashMap<PathBuf, String>,
    /// Console script name to the distribution whose script is installed
    /// (`[tool.pyship] scripts-from`).
    chosen: std::collections::BTreeMap<String, String>,
    /// The scripts two distributions both ship, and which one was installed, said once each.
    pub clashes: Vec<String>,
}

/// What the layout itself installs, as an owner.
const THE_LAYOUT: &str = "the virtualenv";

impl Owners {
    /// A layout's own files (interpreter links, `pyvenv.cfg`, activation scripts).
    pub fn of(venv: &StagedVenv) -> Owners {
        Owners {
            files: venv
                .own_files
                .iter()
                .map(|own| {
                    let relative = own.strip_prefix(&venv.staging_root).unwrap_or(own);
                    (relative.to_path_buf(), THE_LAYOUT.to_string())
                })
                .collect(),
            chosen: Default::default(),
            clashes: Vec::new(),
        }
    }

    /// Where two distributions ship a console script of the same name, the one `chosen` names
    /// (script name to normalized distribution name) is installed.
    pub fn choosing(mut self, chosen: std::collections::BTreeMap<String, String>) -> Owners {
        self.chosen = chosen;
        self
    }

    /// Who installs `path`, which `name` ships too: `Ok(true)` for `name`, `Ok(false)` for the
    /// one there first; an error where the clash is not two distributions' console scripts.
    fn decide(
        &mut self,
        venv: &StagedVenv,
        path: &str,
        name: &str,
        first: &str,
    ) -> Result<bool, String> {
        let bin = venv
            .install_prefix
            .strip_prefix("/")
            .unwrap_or(&venv.install_prefix)
            .join("bin");
        let script = Path::new(path)
            .parent()
            .is_some_and(|parent| parent == bin)
            .then(|| Path::new(path).file_name())
            .flatten()
            .and_then(|script| script.to_str());
        let Some(script) = script.filter(|_| first != THE_LAYOUT && first != name) else {
            return Err(first.to_string());
        };
        let later = match self.chosen.get(script) {
            Some(chosen) if chosen == name => true,
            Some(chosen) if chosen == first => false,
            Some(chosen) => {
                return Err(format!(
                    "{first} (`scripts-from` names `{chosen}` for `{script}`, which neither {first} nor {name} is)"
                ));
            }
            // pip's and uv's rule: the one installed last.
            None => {
                self.clashes.push(format!(
                    "`bin/{script}` is shipped by both {first} and {name}: {name}'s is installed; choose with `scripts-from = {{ \"{script}\" = \"NAME\" }}` in `[tool.pyship]`"
                ));
                true
            }
        };
        Ok(later)
    }
}

/// Links every prepared wheel into `venv`; a file that two distributions (or a distribution
/// and the layout itself) both install is refused before anything is linked, except a console
/// script two distributions ship, which one of them installs (see [`Owners`]). Returns what
/// each wheel is, in order.
pub fn link(
    venv: &StagedVenv,
    prepared: &Prepared,
    owners: &mut Owners,
) -> Result<Vec<Installed>, PopulateError> {
    let mut skipped: Vec<HashSet<String>> = vec![HashSet::new(); prepared.wheels.len()];
    let mut linked_here: HashMap<PathBuf, usize> = HashMap::new();
    let mut replaced: Vec<PathBuf> = Vec::new();
    for (index, (name, wheel, _, entry)) in prepared.wheels.iter().enumerate() {
        // Sources before bytecode, so that a clash names the module rather than its pyc.
        let mut files: Vec<&str> = entry.files.iter().map(|file| file.path.as_str()).collect();
        files.sort_by_key(|path| path.contains("__pycache__/"));
        for path in files {
            let key = PathBuf::from(path);
            let Some(first) = owners.files.get(&key).cloned() else {
                owners.files.insert(key.clone(), name.clone());
                linked_here.insert(key, index);
                continue;
            };
            let this_one = owners.decide(venv, path, name, &first).map_err(|first| {
                PopulateError::Conflict {
                    wheel: wheel.clone(),
                    first,
                    path: Path::new("/").join(path),
                }
            })?;
            if !this_one {
                skipped[index].insert(path.to_string());
                continue;
            }
            match linked_here.get(&key) {
                Some(&earlier) => {
                    skipped[earlier].insert(path.to_string());
                }
                None => replaced.push(venv.staging_root.join(path)),
            }
            owners.files.insert(key.clone(), name.clone());
            linked_here.insert(key, index);
        }
    }
    for path in &replaced {
        std::fs::remove_file(path).map_err(io_error(path))?;
    }
    let linker = Linker::default();
    let indexes: Vec<usize> = (0..prepared.wheels.len()).collect();
    parallel_map(&indexes, |&index| {
        let (_, _, tree, entry) = &prepared.wheels[index];
        linker.link_entry(tree, entry, &venv.staging_root, &skipped[index])
    })
    .into_iter()
    .collect::<Result<Vec<()>, _>>()?;
    Ok(prepared
        .wheels
        .iter()
        .map(|(_, _, _, entry)| entry.installed.clone())
        .collect())
}

/// A copy of the staged layout `venv` at `staging_root` made of links to its files (the layout
/// a test run adds packages to without touching the artifact's tree), and its files' owners.
pub fn mirror(
    venv: &StagedVenv,
    staging_root: &Path,
) -> Result<(StagedVenv, Owners), PopulateError> {
    std::fs::create_dir_all(staging_root).map_err(io_error(staging_root))?;
    let linker = Linker::default();
    let mut owners = HashMap::new();
    for entry in pyship_plugin::walk_staged_tree(&venv.staging_root)? {
        let to = staging_root.join(&entry.path);
        match entry.kind {
            EntryKind::Directory => {
                std::fs::create_dir_all(&to).map_err(io_error(&to))?;
                continue;
            }
            EntryKind::Symlink { target } => {
                std::os::unix::fs::symlink(target, &to).map_err(io_error(&to))?;
            }
            EntryKind::File { .. } => linker.link_file(&entry.source, &to)?,
        }
        owners.insert(
            PathBuf::from(entry.path),
            "the application's tree".to_string(),
        );
    }
    let mirrored = StagedVenv {
        staging_root: staging_root.to_path_buf(),
        own_files: Vec::new(),
        ..venv.clone()
    };
    Ok((
        mirrored,
        Owners {
            files: owners,
            chosen: Default::default(),
            clashes: Vec::new(),
        },
    ))
}

/// The entry's name: a hash of everything its files depend on.
fn entry_key(
    venv: &StagedVenv,
    layout: &Layout,
    wheel: &Wheel,
    compiler: Option<&Interpreter>,
) -> Result<String, PopulateError> {
    let sha256 = match &wheel.locked_sha256 {
        Some(sha256) => sha256.to_ascii_lowercase(),
        None => crate::cache::sha256_file(&wheel.path).map_err(|source| {
            PopulateError::Install(InstallError::Invalid {
                wheel: wheel.path.clone(),
                message: source.to_string(),
            })
        })?,
    };
    let compiler = compiler.map(|python| {
        format!(
            "{} {}",
            python.resolved.display(),
            python.target.python_full_version
        )
    });
    // The scheme as it names final paths: the same for any staging root.
    let scheme = scheme_at(venv, layout, Path::new("/"), wheel.app);
    let text = format!(
        "{ENTRY_FORMAT}\n{}\n{sha256}\n{scheme:?}\n{:?}\n{compiler:?}\n{:?}",
        env!("CARGO_PKG_VERSION"),
        venv.install_prefix,
        wheel.extras,
    );
    Ok(crate::cache::sha256_hex(text.as_bytes()))
}

/// The scheme `wheel` is installed with, under `staging_root`.
fn scheme_at(venv: &StagedVenv, layout: &Layout, staging_root: &Path, app: bool) -> Scheme {
    let venv = StagedVenv {
        staging_root: staging_root.to_path_buf(),
        ..venv.clone()
    };
    match layout {
        Layout::Venv { python_version } => venv.scheme(python_version),
        Layout::Vendors { base } => venv.vendors_scheme(base, app),
    }
}

/// The entry in `directory` when it is complete, of this format, and every file in its tree
/// still has the size and sha256 it lists; otherwise `None`, and a bad entry is removed.
fn load_verified(directory: &Path) -> Option<Entry> {
    let text = std::fs::read(directory.join("entry.json")).ok()?;
    let entry = serde_json::from_slice::<Entry>(&text)
        .ok()
        .filter(|entry| entry.format == ENTRY_FORMAT);
    let tree = directory.join("tree");
    let intact = entry.as_ref().is_some_and(|entry| {
        entry.files.iter().all(|file| {
            safe_relative(&file.path)
                && std::fs::symlink_metadata(tree.join(&file.path))
                    .is_ok_and(|metadata| metadata.is_file() && metadata.len() == file.size)
                && crate::cache::sha256_file(&tree.join(&file.path))
                    .is_ok_and(|sha256| sha256 == file.sha256)
        })
    });
    if !intact {
        let _ = std::fs::remove_dir_all(directory);
        return None;
    }
    // Marks the entry used, for `pyship cache prune`.
    let _ = std::fs::File::options()
        .append(true)
        .open(directory.join("entry.json"))
        .and_then(|file| file.set_modified(std::time::SystemTime::now()));
    entry
}

/// A relative path of plain components: nothing in an entry may point outside its tree or,
/// once linked, outside the staging root.
fn safe_relative(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path
            .components()
            .all(|component| matches!(component, std::path::Component::Normal(_)))
}

/// Entries made in this run: each one's scratch directory with its entry written.
struct Made {
    entries: Vec<(PathBuf, Entry)>,
    compile_failures: Option<String>,
}

/// Installs each of `wheels` into a scratch entry of its own, byte-compiles them all in one
/// run of `compiler`, and lists each entry's files.
fn install_entries(
    cache_dir: &Path,
    venv: &StagedVenv,
    layout: &Layout,
    wheels: &[&Wheel],
    compiler: Option<&Interpreter>,
    max_unpacked: u64,
) -> Result<Made, PopulateError> {
    if wheels.is_empty() {
        return Ok(Made {
            entries: Vec::new(),
            compile_failures: None,
        });
    }
    let installs = parallel_map(wheels, |wheel| {
        let scratch = tempfile::Builder::new()
            .prefix(".tmp")
            .tempdir_in(cache_dir)
            .map_err(io_error(cache_dir))?;
        let tree = scratch.path().join("tree");
        let scheme = scheme_at(venv, layout, &tree, wheel.app);
        let installed = Installation::new(max_unpacked).install_with(
            &wheel.path,
            wheel.locked_sha256.as_deref(),
            &scheme,
            &wheel.extras,
        )?;
        Ok::<_, PopulateError>((scratch, scheme, installed))
    });
    let installs = installs.into_iter().collect::<Result<Vec<_>, _>>()?;

    let compile_failures = match compiler {
        Some(python) => {
            let mut jobs: Vec<(PathBuf, String)> = Vec::new();
            for (scratch, scheme, _) in &installs {
                jobs.extend(python_sources(&scratch.path().join("tree"), scheme)?);
            }
            compile(python, &jobs, cache_dir)?
        }
        None => None,
    };

    let entries = parallel_map(&installs, |(scratch, scheme, installed)| {
        let tree = scratch.path().join("tree");
        let pycs = bytecode_files(scheme)?;
        if !pycs.is_empty() {
            wheel::add_to_record(&installed.record, &scheme.purelib, &pycs)?;
        }
        let files = list_files(&tree)?;
        let entry = Entry {
            format: ENTRY_FORMAT,
            installed: Installed {
                pure: installed.pure,
                sha256: installed.sha256.clone(),
                license: installed.license.clone(),
            },
            files,
        };
        let json = serde_json::to_vec(&entry).expect("an entry serializes");
        let entry_path = scratch.path().join("entry.json");
        crate::cache::write_atomically(&entry_path, &json).map_err(io_error(&entry_path))?;
        Ok::<_, PopulateError>(entry)
    });
    let mut made = Vec::new();
    for ((scratch, _, _), entry) in installs.into_iter().zip(entries) {
        made.push((scratch.keep(), entry?));
    }
    Ok(Made {
        entries: made,
        compile_failures,
    })
}

/// The library directories of `scheme` (site-packages; in the vendors layout also the prefix
/// the application is installed at), each once.
fn library_dirs(scheme: &Scheme) -> Vec<&Path> {
    let mut dirs = vec![scheme.purelib.as_path()];
    if scheme.platlib != scheme.purelib {
        dirs.push(scheme.platlib.as_path());
    }
    dirs
}

/// Every `.py` file under the library directories of `scheme` in `tree`, with the path it will
/// have on the target (shown in tracebacks), sorted.
fn python_sources(tree: &Path, scheme: &Scheme) -> Result<Vec<(PathBuf, String)>, PopulateError> {
    let mut sources = Vec::new();
    for dir in library_dirs(scheme) {
        for file in files_under(dir)? {
            if file.extension().is_some_and(|extension| extension == "py") {
                let relative = file.strip_prefix(tree).unwrap_or(&file);
                let shown = Path::new("/").join(relative).display().to_string();
                sources.push((file, shown));
            }
        }
    }
    sources.sort();
    Ok(sources)
}

/// The pycs under the library directories of `scheme`.
fn bytecode_files(scheme: &Scheme) -> Result<Vec<PathBuf>, PopulateError> {
    let mut pycs = Vec::new();
    for dir in library_dirs(scheme) {
        pycs.extend(files_under(dir)?);
    }
    pycs.retain(|file| {
        file.extension().is_some_and(|extension| extension == "pyc")
            && file
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|dir| dir == "__pycache__")
    });
    pycs.sort();
    Ok(pycs)
}

/// Runs the compile script over `jobs`; returns the failures it printed.
fn compile(
    python: &Interpreter,
    jobs: &[(PathBuf, String)],
    scratch_dir: &Path,
) -> Result<Option<String>, PopulateError> {
    if jobs.is_empty() {
        return Ok(None);
    }
    let error = |source| PopulateError::Compile {
        python: python.resolved.clone(),
        source,
    };
    let mut list = tempfile::Builder::new()
        .prefix(".tmp")
        .tempfile_in(scratch_dir)
        .map_err(error)?;
    let json = serde_json::to_vec(jobs).expect("paths serialize");
    list.write_all(&json).map_err(error)?;
    let mut command = crate::process::python_script(&python.resolved, &["-I"], COMPILE);
    command.arg(list.path());
    let output = crate::process::output(command).map_err(error)?;
    if output.status.success() {
        return Ok(None);
    }
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if printed.is_empty() {
        // The script itself failed.
        return Err(error(std::io::Error::other(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        )));
    }
    Ok(Some(printed))
}

/// Every file under `tree` with its size and sha256, in the staged-tree walk's order.
fn list_files(tree: &Path) -> Result<Vec<EntryFile>, PopulateError> {
    let mut files = Vec::new();
    for entry in pyship_plugin::walk_staged_tree(tree)? {
        if let EntryKind::File { size } = entry.kind {
            let sha256 =
                crate::cache::sha256_file(&entry.source).map_err(io_error(&entry.source))?;
            files.push(EntryFile {
                path: entry.path,
                size,
                sha256,
            });
        }
    }
    Ok(files)
}

/// The regular files under `directory` (none when it does not exist), by the staged-tree walk.
fn files_under(directory: &Path) -> Result<Vec<PathBuf>, PopulateError> {
    if !directory.is_dir() {
        return Ok(Vec::new());
    }
    Ok(pyship_plugin::walk_staged_tree(directory)?
        .into_iter()
        .filter(|entry| matches!(entry.kind, EntryKind::File { .. }))
        .map(|entry| entry.source)
        .collect())
}

/// Links entries' files into a staging root: hard links until the file system refuses one,
/// then copies.
#[derive(Default)]
struct Linker {
    copy: AtomicBool,
}

impl Linker {
    fn link_entry(
        &self,
        tree: &Path,
        entry: &Entry,
        staging_root: &Path,
        skipped: &HashSet<String>,
    ) -> Result<(), PopulateError> {
        for file in entry
            .files
            .iter()
            .filter(|file| !skipped.contains(&file.path))
        {
            let from = tree.join(&file.path);
            let to = staging_root.join(&file.path);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io_error(parent))?;
            }
            self.link_file(&from, &to)?;
        }
        Ok(())
    }

    fn link_file(&self, from: &Path, to: &Path) -> Result<(), PopulateError> {
        if !self.copy.load(Ordering::Relaxed) {
            match std::fs::hard_link(from, to) {
                Ok(()) => return Ok(()),
                // Another file system, or links not allowed: copy from now on.
                Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => {
                    self.copy.store(true, Ordering::Relaxed);
                }
                Err(error) => return Err(io_error(to)(error)),
            }
        }
        std::fs::copy(from, to).map_err(io_error(to))?;
        Ok(())
    }
}

/// [`crate::parallel::map`] on the machine's cores.
fn parallel_map<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    crate::parallel::map(items, crate::parallel::cpu_workers(), work)
}
