//! The repository directory: opened and locked, then changed in an order that keeps it whole
//! for readers at every moment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use pyship_plugin::Artifact;
use pyship_plugin_kit::compress::{self, Compression};
use pyship_plugin_kit::publish::{self, check_name, write_atomically};
use sha2::{Digest, Sha256};

use crate::deb::{self, Control};
use crate::index::{self, Listed, Packages};
use pyship_plugin_kit::sign::Signer;

/// The Debian and Ubuntu releases a package's version suffix names (`~deb12`, `~ubuntu24.04`).
const RELEASES: &[(&str, &str)] = &[
    ("deb10", "buster"),
    ("deb11", "bullseye"),
    ("deb12", "bookworm"),
    ("deb13", "trixie"),
    ("deb14", "forky"),
    ("ubuntu20.04", "focal"),
    ("ubuntu22.04", "jammy"),
    ("ubuntu24.04", "noble"),
    ("ubuntu24.10", "oracular"),
    ("ubuntu25.04", "plucky"),
];

/// What the project asks of the repository (`[tool.pyship.apt]`).
pub struct Policy {
    /// Origin and Label.
    pub origin: String,
    /// How many versions of each package stay listed (the newest).
    pub keep: Option<u64>,
    /// Days a client trusts the signed index before it must be refreshed (`Valid-Until`).
    pub valid_days: Option<u64>,
}

pub struct Repository {
    root: PathBuf,
    _lock: publish::Lock,
}

/// What one artifact adds.
struct Addition {
    artifact: PathBuf,
    control: Control,
    suite: String,
    arch: String,
    /// Under the repository: `pool/main/h/hello/FILE`.
    pool_path: String,
    bytes_len: usize,
    sha256: String,
}

impl Repository {
    /// The repository at `root`, made when missing; a directory holding anything else is
    /// refused.
    pub fn open(root: PathBuf) -> Result<Repository, String> {
        std::fs::create_dir_all(&root)
            .map_err(|error| format!("failed to create `{}`: {error}", root.display()))?;
        let foreign: Vec<String> = std::fs::read_dir(&root)
            .map_err(|error| format!("failed to read `{}`: {error}", root.display()))?
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| !["dists", "pool", ".pyship-apt.lock"].contains(&name.as_str()))
            .collect();
        if !foreign.is_empty() {
            return Err(format!(
                "`{}` is not an APT repository pyship-apt can add to: it holds {} besides dists/ and pool/",
                root.display(),
                foreign.join(", ")
            ));
        }
        let lock = publish::Lock::take(&root, ".pyship-apt.lock")?;
        Ok(Repository { root, _lock: lock })
    }

    /// Adds `artifacts` (checked against their sha256) and re-signs the suites they are in;
    /// where each is now.
    pub fn add(
        &self,
        artifacts: &[Artifact],
        suite: Option<&str>,
        policy: &Policy,
        signer: &Signer,
    ) -> Result<Vec<(PathBuf, PathBuf)>, String> {
        // Everything is read and checked before anything is written.
        let mut additions = Vec::new();
        for artifact in artifacts {
            additions.push(self.addition(artifact, suite)?);
        }
        let mut indexes: BTreeMap<(String, String), Packages> = BTreeMap::new();
        for addition in &additions {
            let key = (addition.suite.clone(), addition.arch.clone());
            if !indexes.contains_key(&key) {
                let path = self.packages_path(&addition.suite, &addition.arch);
                let packages = match std::fs::read_to_string(&path) {
                    Ok(text) => Packages::parse(&text)
                        .map_err(|message| format!("`{}` is damaged: {message}", path.display()))?,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        Packages::default()
                    }
                    Err(error) => {
                        return Err(format!("failed to read `{}`: {error}", path.display()));
                    }
                };
                indexes.insert(key.clone(), packages);
            }
            let packages = indexes.get_mut(&key).expect("inserted above");
            let id = index::key_of(&addition.control)?;
            if let Some(existing) = packages.entries.get(&id) {
                if existing.get("SHA256") != Some(addition.sha256.as_str()) {
                    return Err(format!(
                        "{} {} ({}) is already published in {} with other bytes: a repository never changes a published package; publish a new version (a build number)",
                        id.0, id.1, id.2, addition.suite
                    ));
                }
            }
            packages.entries.insert(
                id,
                Control {
                    fields: addition
                        .control
                        .fields
                        .iter()
                        .cloned()
                        .chain([
                            ("Filename".to_string(), addition.pool_path.clone()),
                            ("Size".to_string(), addition.bytes_len.to_string()),
                            ("SHA256".to_string(), addition.sha256.clone()),
                        ])
                        .collect(),
                },
            );
        }

        // Only the newest versions of each package stay listed, when the project says how
        // many (at least two: the one servers may roll back to stays); never one just added.
        let mut dropped = BTreeSet::new();
        if let Some(keep) = policy.keep {
            let added: BTreeSet<(String, String, String)> = additions
                .iter()
                .filter_map(|addition| index::key_of(&addition.control).ok())
                .collect();
            for packages in indexes.values_mut() {
                dropped.extend(packages.keep_newest(keep as usize, &added));
            }
        }

        // The pool first: nothing names these files yet.
        for addition in &additions {
            let target = self.root.join(&addition.pool_path);
            if !target.exists() {
                let bytes = std::fs::read(&addition.artifact).map_err(|error| {
                    format!("failed to read `{}`: {error}", addition.artifact.display())
                })?;
                write_atomically(&target, &bytes)?;
            }
        }
        // Then each index, under its hash (what clients fetch) and its name.
        let mut suites = BTreeSet::new();
        for ((suite, arch), packages) in &indexes {
            let text = packages.render();
            let directory = self.root.join(format!("dists/{suite}/main/binary-{arch}"));
            for (name, bytes) in compressed_forms(text.as_bytes())? {
                let hash = pyship_plugin::hex(&Sha256::digest(&bytes));
                write_atomically(&directory.join("by-hash/SHA256").join(&hash), &bytes)?;
                write_atomically(&directory.join(name), &bytes)?;
            }
            suites.insert(suite.clone());
        }
        // Last the signed Release of each suite, InRelease the very last.
        for suite in &suites {
            self.release(suite, policy, signer)?;
        }
        // Then what no index names any more (another suite may still share a pool file).
        self.remove_unlisted(&dropped)?;
        Ok(additions
            .into_iter()
            .map(|addition| {
                let location = self.root.join(&addition.pool_path);
                (addition.artifact, location)
            })
            .collect())
    }

    fn packages_path(&self, suite: &str, arch: &str) -> PathBuf {
        self.root
            .join(format!("dists/{suite}/main/binary-{arch}/Packages"))
    }

    fn addition(&self, artifact: &Artifact, suite: Option<&str>) -> Result<Addition, String> {
        let path = &artifact.path;
        let bytes = std::fs::read(path)
            .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
        let sha256 = pyship_plugin::hex(&Sha256::digest(&bytes));
        if sha256 != artifact.sha256 {
            return Err(format!(
                "`{}` does not match its sha256 (it changed since it was built)",
                path.display()
            ));
        }
        let control = deb::read_control(path)?;
        let (package, version, arch) = index::key_of(&control)
            .map_err(|message| format!("`{}`: its control has {message}", path.display()))?;
        check_name("package name", &package)?;
        check_name("architecture", &arch)?;
        for field in ["Filename", "Size", "SHA256", "MD5sum", "SHA1", "SHA512"] {
            if control.get(field).is_some() {
                return Err(format!(
                    "`{}`: its control sets `{field}`, which only the repository writes",
                    path.display()
                ));
            }
        }
        let file_name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| format!("`{}` has no file name", path.display()))?;
        check_name("file name", file_name)?;
        let suite = match suite {
            Some(suite) => suite.to_string(),
            None => RELEASES
                .iter()
                .find(|(suffix, _)| version.ends_with(&format!("~{suffix}")))
                .map(|(_, codename)| codename.to_string())
                .ok_or_else(|| {
                    format!(
                        "`{file_name}` was built for no release pyship-apt knows (its version `{version}` has no `~debNN` or `~ubuntuNN.NN` suffix): lock for a preset target (`debian-12`), or set `suite = \"bookworm\"` in [tool.pyship.apt]"
                    )
                })?,
        };
        // Debian's pool layout: `lib` packages under their first four letters.
        let prefix = if package.starts_with("lib") && package.len() > 3 {
            &package[..4]
        } else {
            &package[..1]
        };
        let pool_path = format!("pool/main/{prefix}/{package}/{file_name}");
        if let Ok(existing) = std::fs::read(self.root.join(&pool_path)) {
            if pyship_plugin::hex(&Sha256::digest(&existing)) != sha256 {
                return Err(format!(
                    "`{pool_path}` is already published with other bytes: a repository never changes a published file; publish a new version (a build number)"
                ));
            }
        }
        Ok(Addition {
            artifact: path.clone(),
            control,
            suite,
            arch,
            pool_path,
            bytes_len: bytes.len(),
            sha256,
        })
    }

    /// Writes `suite`'s Release over every index it holds, signed.
    /// Removes the pool files of `dropped` that no suite's index lists.
    fn remove_unlisted(&self, dropped: &BTreeSet<String>) -> Result<(), String> {
        if dropped.is_empty() {
            return Ok(());
        }
        let mut listed = BTreeSet::new();
        let dists = self.root.join("dists");
        for suite in std::fs::read_dir(&dists).into_iter().flatten().flatten() {
            let main = suite.path().join("main");
            for arch in std::fs::read_dir(&main).into_iter().flatten().flatten() {
                if let Ok(text) = std::fs::read_to_string(arch.path().join("Packages")) {
                    listed.extend(
                        text.lines()
                            .filter_map(|line| line.strip_prefix("Filename: "))
                            .map(String::from),
                    );
                }
            }
        }
        for file in dropped.difference(&listed) {
            let path = self.root.join(file);
            if let Err(error) = std::fs::remove_file(&path) {
                if error.kind() != std::io::ErrorKind::NotFound {
                    return Err(format!("failed to remove `{}`: {error}", path.display()));
                }
            }
            pyship_plugin::log(format!(
                "pyship-apt: removed {file} (older than the kept versions)"
            ));
        }
        Ok(())
    }

    fn release(&self, suite: &str, policy: &Policy, signer: &Signer) -> Result<(), String> {
        let dists = self.root.join("dists").join(suite);
        let main = dists.join("main");
        let mut architectures = Vec::new();
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&main)
            .map_err(|error| format!("failed to read `{}`: {error}", main.display()))?;
        let mut directories: Vec<String> = entries
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("binary-"))
            .collect();
        directories.sort();
        for directory in directories {
            architectures.push(directory["binary-".len()..].to_string());
            for name in ["Packages", "Packages.gz", "Packages.xz"] {
                let path = main.join(&directory).join(name);
                let bytes = std::fs::read(&path)
                    .map_err(|error| format!("failed to read `{}`: {error}", path.display()))?;
                files.push(Listed::of(format!("main/{directory}/{name}"), &bytes));
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        // A Release's dates are RFC 2822 in UTC, as apt writes them.
        let release_date = |epoch: u64| {
            pyship_plugin::time::Civil::of(epoch)
                .rfc2822()
                .replace("+0000", "UTC")
        };
        let date = release_date(now);
        let valid_until = policy
            .valid_days
            .map(|days| release_date(now + days * 86_400));
        let release = index::release(
            &policy.origin,
            suite,
            &architectures,
            &date,
            valid_until.as_deref(),
            &files,
        );
        let inline = signer.clearsign(release.as_bytes())?;
        let detached = signer.detach_sign(release.as_bytes())?;
        write_atomically(&dists.join("Release"), release.as_bytes())?;
        if let Some(detached) = detached {
            write_atomically(&dists.join("Release.gpg"), &detached)?;
        }
        if let Some(inline) = inline {
            write_atomically(&dists.join("InRelease"), &inline)?;
        }
        Ok(())
    }
}

/// `Packages` as it is, gzip'd and xz'd (xz at its fastest preset: an index of 1,000 packages
/// takes 8 ms instead of 50 ms at the default, for a file a little larger).
fn compressed_forms(text: &[u8]) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let failed = |error: std::io::Error| format!("failed to compress Packages: {error}");
    Ok(vec![
        ("Packages", text.to_vec()),
        (
            "Packages.gz",
            compress::compress(text, Compression::Gzip(9)).map_err(failed)?,
        ),
        (
            "Packages.xz",
            compress::compress(text, Compression::Xz(1)).map_err(failed)?,
        ),
    ])
}
