//! Installing a wheel into a scheme of directories, as pip does, treating the wheel as hostile.
//!
//! Follows the binary distribution format spec: the root goes to purelib or platlib by
//! `Root-Is-Purelib`; `NAME-VER.data/SCHEME/…` goes to that scheme's directory; `#!python`
//! scripts get the target interpreter's shebang; console and GUI entry points get launchers;
//! `INSTALLER` and a fresh `RECORD` are written (PEP 376, PEP 627).
//!
//! Safety: entry names with `..`, absolute paths or backslashes are refused, symlink entries
//! are refused, a file's executable bit comes only from the archive's own mode bits, and every
//! file listed in the wheel's RECORD must match its recorded hash.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pep508_rs::PackageName;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::WheelFilename;
use crate::limits;

const LAUNCHER: &str = include_str!("launcher.py");

/// The wheel format versions this installer reads (the binary distribution format spec: an
/// installer must refuse a newer major version).
const SUPPORTED_WHEEL_MAJOR: u32 = 1;

/// Why a wheel could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("`{}` is not a valid wheel: {message}", wheel.display())]
    Invalid { wheel: PathBuf, message: String },
    #[error("`{}` is unsafe: {message}", wheel.display())]
    Unsafe { wheel: PathBuf, message: String },
    #[error("failed to write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where each part of a wheel goes, and the interpreter its scripts name.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub purelib: PathBuf,
    pub platlib: PathBuf,
    pub scripts: PathBuf,
    pub data: PathBuf,
    pub headers: PathBuf,
    /// The interpreter's path on the target, written into script shebangs.
    pub python: String,
    /// Flags for that interpreter in shebangs (one word, e.g. `-IS`), or empty.
    pub python_flags: String,
    /// Python lines every console-script launcher runs before its import (the vendors
    /// layout puts its directories on `sys.path` there), or empty.
    pub launcher_prelude: String,
}

/// What an installed wheel turned out to be.
#[derive(Debug, Clone)]
pub struct InstalledWheel {
    /// `Root-Is-Purelib: true` and only pure tags.
    pub pure: bool,
    /// The sha256 of the wheel file, computed from the bytes that were installed.
    pub sha256: String,
    /// The license its metadata declares, if any.
    pub license: Option<String>,
    /// The RECORD written for it.
    pub record: PathBuf,
}

/// Files an installer adds to a distribution's `.dist-info` for the install at hand (pip
/// writes the same): `REQUESTED` when the user asked for it by name (PEP 376), and PEP 610's
/// `direct_url.json` when it came from a URL or a directory rather than an index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DistInfoExtras {
    pub requested: bool,
    /// The `direct_url.json` document.
    pub direct_url: Option<String>,
}

/// Installs wheels into one environment, remembering who owns each file so that no wheel
/// overwrites the environment's own files or another distribution's.
#[derive(Debug)]
pub struct Installation {
    owners: HashMap<PathBuf, String>,
    max_unpacked: u64,
}

impl Installation {
    /// An empty installation; no wheel may unpack to more than `max_unpacked` bytes.
    pub fn new(max_unpacked: u64) -> Installation {
        Installation {
            owners: HashMap::new(),
            max_unpacked,
        }
    }

    /// Installs `wheel_path` into `scheme`. With `expected_sha256`, the file is hashed as it is
    /// opened and refused when it differs: the bytes installed are the bytes checked.
    pub fn install(
        &mut self,
        wheel_path: &Path,
        expected_sha256: Option<&str>,
        scheme: &Scheme,
    ) -> Result<InstalledWheel, InstallError> {
        self.install_with(
            wheel_path,
            expected_sha256,
            scheme,
            &DistInfoExtras::default(),
        )
    }

    /// [`Installation::install`], adding `extras` to the `.dist-info`.
    pub fn install_with(
        &mut self,
        wheel_path: &Path,
        expected_sha256: Option<&str>,
        scheme: &Scheme,
        extras: &DistInfoExtras,
    ) -> Result<InstalledWheel, InstallError> {
        WheelInstall {
            wheel_path,
            scheme,
            owners: &mut self.owners,
            limit: self.max_unpacked,
        }
        .run(expected_sha256, extras)
    }
}

/// One wheel being installed.
struct WheelInstall<'a> {
    wheel_path: &'a Path,
    scheme: &'a Scheme,
    owners: &'a mut HashMap<PathBuf, String>,
    /// Bytes the wheel may unpack to (its threads share them as one budget).
    limit: u64,
}

impl WheelInstall<'_> {
    fn invalid(&self, message: String) -> InstallError {
        InstallError::Invalid {
            wheel: self.wheel_path.to_path_buf(),
            message,
        }
    }

    fn unsafe_entry(&self, message: String) -> InstallError {
        InstallError::Unsafe {
            wheel: self.wheel_path.to_path_buf(),
            message,
        }
    }

    fn run(
        mut self,
        expected_sha256: Option<&str>,
        extras: &DistInfoExtras,
    ) -> Result<InstalledWheel, InstallError> {
        let file_name = self
            .wheel_path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let filename = WheelFilename::parse(file_name)
            .ok_or_else(|| self.invalid("the file name is not `NAME-VERSION-TAGS.whl`".into()))?;
        let mut file = std::fs::File::open(self.wheel_path)
            .map_err(|error| self.invalid(error.to_string()))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|error| self.invalid(error.to_string()))?;
        let sha256 = pyship_plugin::hex(&hasher.finalize());
        if let Some(expected) = expected_sha256 {
            if !sha256.eq_ignore_ascii_case(expected) {
                return Err(self.unsafe_entry(format!(
                    "its sha256 is {sha256}, but the lock says {expected}"
                )));
            }
        }
        let file = SharedFile::new(file).map_err(|error| self.invalid(error.to_string()))?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|error| self.invalid(error.to_string()))?;

        let dist_info = find_dist_info(&archive, &filename.name).ok_or_else(|| {
            self.invalid(format!("no `.dist-info` directory for `{}`", filename.name))
        })?;
        let data_prefix = format!("{}.data/", dist_info.trim_end_matches(".dist-info"));
        let wheel_metadata = read_text(&mut archive, &format!("{dist_info}/WHEEL"))
            .map_err(|message| self.invalid(message))?;
        check_wheel_version(&wheel_metadata).map_err(|message| self.invalid(message))?;
        let root_is_purelib = header_value(&wheel_metadata, "Root-Is-Purelib") == Some("true");
        let record_name = format!("{dist_info}/RECORD");
        let recorded = read_text(&mut archive, &record_name)
            .and_then(|text| parse_record(&text))
            .map_err(|message| self.invalid(format!("`{record_name}`: {message}")))?;
        // Signatures of RECORD cannot be listed in it (the spec exempts them).
        let unlisted_ok = [
            record_name.clone(),
            format!("{dist_info}/RECORD.jws"),
            format!("{dist_info}/RECORD.p7s"),
        ];

        let root = if root_is_purelib {
            &self.scheme.purelib
        } else {
            &self.scheme.platlib
        };
        // Every entry is checked (name, RECORD row, destination, owner) before any is
        // written; then the files are written on a few threads, each checked against RECORD
        // as it streams.
        let mut planned: Vec<PlannedEntry> = Vec::new();
        let mut seen: HashMap<String, ()> = HashMap::new();
        let mut declared: u64 = 0;
        for index in 0..archive.len() {
            let entry = archive
                .by_index(index)
                .map_err(|error| self.invalid(error.to_string()))?;
            let raw_name = entry.name().to_string();
            let name = normalize_entry_name(&raw_name)
                .map_err(|message| self.unsafe_entry(format!("entry `{raw_name}` {message}")))?;
            let unix_mode = entry.unix_mode().unwrap_or(0o644);
            if unix_mode & 0o170000 == 0o120000 {
                return Err(self.unsafe_entry(format!("entry `{name}` is a symlink")));
            }
            if entry.is_dir() {
                continue;
            }
            if seen.insert(name.clone(), ()).is_some() {
                return Err(self.unsafe_entry(format!("entry `{name}` appears twice")));
            }
            if unlisted_ok.contains(&name) {
                continue;
            }
            let Some(expected) = recorded.get(&name) else {
                return Err(self.unsafe_entry(format!("entry `{name}` is not listed in RECORD")));
            };
            let expected = expected.clone().map_err(|message| {
                self.unsafe_entry(format!("entry `{name}` in RECORD: {message}"))
            })?;
            let (destination, is_script) = match name.strip_prefix(&data_prefix) {
                Some(rest) => {
                    let (scheme_name, path) = rest.split_once('/').ok_or_else(|| {
                        self.invalid(format!("entry `{name}` is outside any scheme"))
                    })?;
                    let directory = match scheme_name {
                        "purelib" => self.scheme.purelib.clone(),
                        "platlib" => self.scheme.platlib.clone(),
                        "scripts" => self.scheme.scripts.clone(),
                        "data" => self.scheme.data.clone(),
                        "headers" => self.scheme.headers.join(filename.name.as_ref()),
                        other => {
                            return Err(
                                self.invalid(format!("unknown scheme `{other}` in `{name}`"))
                            );
                        }
                    };
                    (directory.join(path), scheme_name == "scripts")
                }
                None => (root.join(&name), false),
            };
            // What the archive declares; what it really unpacks to is counted as it streams.
            declared = declared.saturating_add(entry.size());
            if declared > self.limit {
                return Err(self.too_big());
            }
            self.claim(&destination, &filename.name)?;
            planned.push(PlannedEntry {
                index,
                name,
                destination,
                is_script,
                executable: is_script || unix_mode & 0o111 != 0,
                expected,
            });
        }
        // Two entries for one path (`x` and `NAME.data/purelib/x`): the later one is
        // installed, as writing them in order would leave it.
        let mut destinations = HashSet::new();
        planned.reverse();
        planned.retain(|entry| destinations.insert(entry.destination.clone()));
        planned.reverse();

        let budget = AtomicU64::new(self.limit);
        let written = crate::parallel::map(&planned, crate::parallel::cpu_workers(), |entry| {
            self.install_entry(&archive, entry, &budget)
        });
        let mut record: BTreeMap<PathBuf, (String, u64)> = BTreeMap::new();
        for result in written {
            let (destination, installed) = result?;
            record.insert(destination, installed);
        }

        let entry_points = read_text(&mut archive, &format!("{dist_info}/entry_points.txt")).ok();
        for (script, target) in console_scripts(entry_points.as_deref().unwrap_or("")) {
            let (module, attribute) = target.split_once(':').ok_or_else(|| {
                self.invalid(format!("entry point `{script} = {target}` has no `:`"))
            })?;
            let import_name = attribute.split('.').next().unwrap_or(attribute);
            let launcher = LAUNCHER
                .replace("#PRELUDE#\n", &self.scheme.launcher_prelude)
                .replace("#MODULE#", module.trim())
                .replace("#IMPORT#", import_name.trim())
                .replace("#CALL#", attribute.trim());
            let contents = format!(
                "{}\n{launcher}",
                shebang(&self.scheme.python, &self.scheme.python_flags)
            );
            let destination = self.scheme.scripts.join(&script);
            self.claim(&destination, &filename.name)?;
            write_file(&destination, contents.as_bytes(), true)?;
            record.insert(
                destination,
                (record_hash(contents.as_bytes()), contents.len() as u64),
            );
        }

        let dist_info_dir = root.join(&dist_info);
        let mut own_files: Vec<(&str, &[u8])> = vec![("INSTALLER", b"pyship\n")];
        if extras.requested {
            own_files.push(("REQUESTED", b""));
        }
        if let Some(direct_url) = &extras.direct_url {
            own_files.push(("direct_url.json", direct_url.as_bytes()));
        }
        for (name, contents) in own_files {
            let path = dist_info_dir.join(name);
            self.claim(&path, &filename.name)?;
            write_file(&path, contents, false)?;
            record.insert(path, (record_hash(contents), contents.len() as u64));
        }
        let record_path = dist_info_dir.join("RECORD");
        write_record(&record_path, &record, &self.scheme.purelib)?;

        let license = read_text(&mut archive, &format!("{dist_info}/METADATA"))
            .ok()
            .and_then(|text| super::metadata::license_of(&text));
        Ok(InstalledWheel {
            pure: root_is_purelib && filename.is_pure(),
            sha256,
            license,
            record: record_path,
        })
    }

    fn too_big(&self) -> InstallError {
        self.unsafe_entry(format!(
            "it unpacks to more than {} bytes (`PYSHIP_MAX_UNPACKED_SIZE` raises the limit)",
            self.limit
        ))
    }

    /// Records `destination` as `owner`'s, refusing a path the environment or another
    /// distribution already owns.
    fn claim(&mut self, destination: &Path, owner: &PackageName) -> Result<(), InstallError> {
        if let Some(previous) = self.owners.get(destination) {
            if previous != owner.as_ref() {
                return Err(self.unsafe_entry(format!(
                    "it would overwrite `{}`, which {previous} installed",
                    destination.display()
                )));
            }
        }
        self.owners
            .insert(destination.to_path_buf(), owner.to_string());
        Ok(())
    }

    /// Writes one planned entry (with its own reader of the shared archive), checks it against
    /// its RECORD row, and returns its destination with its RECORD hash and size as installed.
    fn install_entry(
        &self,
        archive: &zip::ZipArchive<SharedFile>,
        planned: &PlannedEntry,
        budget: &AtomicU64,
    ) -> Result<(PathBuf, (String, u64)), InstallError> {
        let mut archive = archive.clone();
        let mut entry = archive
            .by_index(planned.index)
            .map_err(|error| self.invalid(error.to_string()))?;
        let destination = &planned.destination;
        let (algorithm, expected_digest, expected_size) = &planned.expected;
        let name = &planned.name;
        let (digest, size) = self.write_entry(
            &mut entry,
            destination,
            planned.is_script,
            algorithm,
            budget,
        )?;
        if &digest != expected_digest {
            let _ = std::fs::remove_file(destination);
            return Err(self.unsafe_entry(format!("entry `{name}` does not match its RECORD hash")));
        }
        if let Some(recorded_size) = expected_size.filter(|recorded| *recorded != size) {
            let _ = std::fs::remove_file(destination);
            return Err(self.unsafe_entry(format!(
                "entry `{name}` is {size} bytes, but RECORD says {recorded_size}"
            )));
        }
        set_mode(destination, planned.executable)?;
        // The new RECORD lists sha256s of the files as installed: the entry's own digest
        // when it is one, else (a rewritten script, a stronger algorithm) a fresh one.
        let installed = if *algorithm == RecordAlgorithm::Sha256 && !planned.is_script {
            (digest, size)
        } else {
            file_digest(destination)?
        };
        Ok((destination.clone(), installed))
    }

    /// Streams an entry to `destination` (taking what it unpacks to from `budget`, shared by
    /// the threads writing this wheel), rewriting a `#!python` shebang of a script, and
    /// returns the digest of the entry's own bytes with `algorithm` and their count.
    fn write_entry(
        &self,
        entry: &mut impl Read,
        destination: &Path,
        is_script: bool,
        algorithm: &RecordAlgorithm,
        budget: &AtomicU64,
    ) -> Result<(String, u64), InstallError> {
        let write_error = |source| InstallError::Write {
            path: destination.to_path_buf(),
            source,
        };
        let mut out = create_file(destination)?;
        let mut hashing = HashingReader {
            inner: BudgetedReader {
                inner: entry,
                budget,
                exceeded: false,
            },
            digest: algorithm.hasher(),
            count: 0,
        };
        let copied = (|| -> std::io::Result<()> {
            let mut reader = BufReader::new(&mut hashing);
            if is_script && reader.fill_buf()?.starts_with(b"#!python") {
                let mut first_line = Vec::new();
                reader.read_until(b'\n', &mut first_line)?;
                writeln!(
                    out,
                    "{}",
                    shebang(&self.scheme.python, &self.scheme.python_flags)
                )?;
            }
            std::io::copy(&mut reader, &mut out)?;
            out.flush()
        })();
        if hashing.inner.exceeded {
            drop(out);
            let _ = std::fs::remove_file(destination);
            return Err(self.too_big());
        }
        if let Err(error) = copied {
            drop(out);
            let _ = std::fs::remove_file(destination);
            return Err(match error.kind() {
                std::io::ErrorKind::Other | std::io::ErrorKind::InvalidData => self.invalid(
                    format!("`{}` is unreadable: {error}", destination.display()),
                ),
                _ => write_error(error),
            });
        }
        Ok((hashing.digest.finish(), hashing.count))
    }
}

/// An entry checked and placed, waiting to be written.
struct PlannedEntry {
    /// Its index in the archive.
    index: usize,
    name: String,
    destination: PathBuf,
    is_script: bool,
    executable: bool,
    /// Its RECORD row: algorithm, digest, size if given.
    expected: (RecordAlgorithm, String, Option<u64>),
}

/// The opened wheel, read at positions: each thread's clone of the archive reads through its
/// own position, all from the one handle whose bytes were hashed.
#[derive(Clone)]
struct SharedFile {
    file: std::sync::Arc<std::fs::File>,
    length: u64,
    position: u64,
}

impl SharedFile {
    fn new(file: std::fs::File) -> std::io::Result<SharedFile> {
        Ok(SharedFile {
            length: file.metadata()?.len(),
            file: std::sync::Arc::new(file),
            position: 0,
        })
    }
}

impl Read for SharedFile {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.file.read_at(buffer, self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let position = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(offset) => self.length.checked_add_signed(offset),
            SeekFrom::Current(offset) => self.position.checked_add_signed(offset),
        };
        self.position = position.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the wheel",
            )
        })?;
        Ok(self.position)
    }
}

/// A reader that takes every byte it passes from a budget shared by threads, and fails once
/// the budget is spent: no wheel unpacks to more than the limit, however it is split.
struct BudgetedReader<'b, R> {
    inner: R,
    budget: &'b AtomicU64,
    exceeded: bool,
}

impl<R: Read> Read for BudgetedReader<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        let taken = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(read as u64)
            });
        if taken.is_err() {
            self.exceeded = true;
            return Err(std::io::Error::other(
                "the wheel unpacks to more than allowed",
            ));
        }
        Ok(read)
    }
}

/// A reader that hashes and counts what passes through it.
struct HashingReader<R> {
    inner: R,
    digest: RecordDigest,
    count: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.digest.update(&buffer[..read]);
        self.count += read as u64;
        Ok(read)
    }
}

/// The hash algorithms RECORD may use: sha256 or stronger (the spec refuses md5 and sha1).
#[derive(Debug, Clone, PartialEq, Eq)]
enum RecordAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

enum RecordDigest {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl RecordAlgorithm {
    fn parse(name: &str) -> Option<RecordAlgorithm> {
        match name {
            "sha256" => Some(RecordAlgorithm::Sha256),
            "sha384" => Some(RecordAlgorithm::Sha384),
            "sha512" => Some(RecordAlgorithm::Sha512),
            _ => None,
        }
    }

    fn hasher(&self) -> RecordDigest {
        match self {
            RecordAlgorithm::Sha256 => RecordDigest::Sha256(Sha256::new()),
            RecordAlgorithm::Sha384 => RecordDigest::Sha384(Sha384::new()),
            RecordAlgorithm::Sha512 => RecordDigest::Sha512(Sha512::new()),
        }
    }
}

impl RecordDigest {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            RecordDigest::Sha256(hasher) => hasher.update(bytes),
            RecordDigest::Sha384(hasher) => hasher.update(bytes),
            RecordDigest::Sha512(hasher) => hasher.update(bytes),
        }
    }

    /// urlsafe base64 without padding, as RECORD writes digests.
    fn finish(self) -> String {
        match self {
            RecordDigest::Sha256(hasher) => URL_SAFE_NO_PAD.encode(hasher.finalize()),
            RecordDigest::Sha384(hasher) => URL_SAFE_NO_PAD.encode(hasher.finalize()),
            RecordDigest::Sha512(hasher) => URL_SAFE_NO_PAD.encode(hasher.finalize()),
        }
    }
}

/// A RECORD row: the algorithm, the expected digest and the size (when given); or why the
/// row cannot vouch for its file.
type RecordRow = Result<(RecordAlgorithm, String, Option<u64>), String>;

/// Refuses a `Wheel-Version` this installer does not know (a newer major version, or none).
fn check_wheel_version(wheel_metadata: &str) -> Result<(), String> {
    let version =
        header_value(wheel_metadata, "Wheel-Version").ok_or("`WHEEL` has no `Wheel-Version`")?;
    let major = version
        .split('.')
        .next()
        .and_then(|major| major.trim().parse::<u32>().ok())
        .ok_or_else(|| format!("`Wheel-Version: {version}` is not a version"))?;
    if major > SUPPORTED_WHEEL_MAJOR {
        return Err(format!(
            "`Wheel-Version: {version}` is newer than this pyship supports ({SUPPORTED_WHEEL_MAJOR}.x); upgrade pyship"
        ));
    }
    Ok(())
}

/// The value of an email-header style `key: value` line (case-insensitive key).
fn header_value<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case(key)
            .then_some(value.trim())
    })
}

/// The name an entry is installed under: `./` and empty parts dropped, so that RECORD's
/// spelling and the archive's are compared alike; names that could leave the directory they
/// are unpacked into are refused.
fn normalize_entry_name(name: &str) -> Result<String, &'static str> {
    if name.contains('\\') || name.contains('\0') {
        return Err("has a backslash or NUL in its name");
    }
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => parts.push(
                part.to_str()
                    .ok_or("has a name that is not UTF-8")?
                    .to_string(),
            ),
            Component::CurDir => {}
            _ => return Err("leaves the install directory (absolute path or `..`)"),
        }
    }
    if parts.is_empty() {
        return Err("has an empty name");
    }
    Ok(parts.join("/"))
}

/// The one top-level `NAME-VERSION.dist-info` directory belonging to `name`.
fn find_dist_info(
    archive: &zip::ZipArchive<impl Read + Seek>,
    name: &PackageName,
) -> Option<String> {
    archive
        .file_names()
        .filter_map(|entry| entry.split_once('/').map(|(top, _)| top))
        .filter(|top| top.ends_with(".dist-info"))
        .find(|top| {
            top.trim_end_matches(".dist-info")
                .rsplit_once('-')
                .and_then(|(dist, _)| PackageName::from_str(dist).ok())
                .is_some_and(|dist| &dist == name)
        })
        .map(str::to_string)
}

fn read_text(
    archive: &mut zip::ZipArchive<impl Read + Seek>,
    name: &str,
) -> Result<String, String> {
    let entry = archive
        .by_name(name)
        .map_err(|_| format!("`{name}` is missing"))?;
    limits::read_text_capped(entry, limits::METADATA_FILE)
        .map_err(|error| format!("`{name}` is unreadable: {error}"))
}

/// RECORD's rows by normalized path. RECORD is CSV: a path with a comma or quote is quoted.
/// A row whose hash is empty, or not sha256 or stronger, is kept as an error, refused when
/// its file is installed (RECORD's own row has no hash, as the spec says).
fn parse_record(text: &str) -> Result<HashMap<String, RecordRow>, String> {
    let mut rows = HashMap::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = csv_fields(line).ok_or_else(|| format!("line {} is not CSV", number + 1))?;
        let [path, hash, size] = fields.as_slice() else {
            return Err(format!("line {} does not have 3 fields", number + 1));
        };
        let Ok(path) = normalize_entry_name(path) else {
            // A path that could not be installed anyway: its entry is refused on its own.
            continue;
        };
        let size = match size.trim() {
            "" => None,
            size => Some(
                size.parse::<u64>()
                    .map_err(|_| format!("line {}: size `{size}` is not a number", number + 1))?,
            ),
        };
        let row = match hash.split_once('=') {
            None if hash.is_empty() => Err("has no hash".to_string()),
            Some((algorithm, digest)) => match RecordAlgorithm::parse(algorithm) {
                Some(algorithm) if !digest.is_empty() => {
                    Ok((algorithm, digest.trim_end_matches('=').to_string(), size))
                }
                Some(_) => Err("has an empty digest".to_string()),
                None => Err(format!(
                    "uses `{algorithm}`, which is not sha256 or stronger"
                )),
            },
            None => Err(format!("has a malformed hash `{hash}`")),
        };
        rows.insert(path, row);
    }
    Ok(rows)
}

/// The fields of one CSV line (RFC 4180 quoting); `None` when a quote is left open.
fn csv_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields)
}

/// `sha256=` + urlsafe base64 without padding, as RECORD wants.
fn record_hash(contents: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(contents))
}

/// A shebang line for `python` (with `flags`, one word, when not empty). Linux reads at most
/// 127 bytes of it and no spaces in the path, so a longer path goes through `/bin/sh` (pip's
/// trick, valid as both sh and Python).
fn shebang(python: &str, flags: &str) -> String {
    let flags_word = if flags.is_empty() {
        String::new()
    } else {
        format!(" {flags}")
    };
    if python.len() + flags_word.len() + 2 <= 127 && !python.contains(' ') {
        format!("#!{python}{flags_word}")
    } else {
        format!("#!/bin/sh\n'''exec' \"{python}\"{flags_word} \"$0\" \"$@\"\n' '''")
    }
}

/// `[console_scripts]` and `[gui_scripts]` of entry_points.txt, as (name, `module:attr`).
fn console_scripts(text: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut scripts = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            section = name.trim().to_string();
            continue;
        }
        if section != "console_scripts" && section != "gui_scripts" {
            continue;
        }
        if let Some((name, target)) = line.split_once('=') {
            // `module:attr [extra]`: extras do not change the launcher.
            let target = target.split('[').next().unwrap_or(target).trim();
            let name = name.trim();
            // A script name with a path separator would be written outside bin/.
            if !name.is_empty() && !name.contains('/') && name != ".." {
                scripts.push((name.to_string(), target.to_string()));
            }
        }
    }
    scripts
}

/// Creates `path` afresh: whatever is there (a symlink included) is replaced, never written
/// through.
fn create_file(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, InstallError> {
    let error = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    match std::fs::remove_file(path) {
        Err(remove) if remove.kind() != std::io::ErrorKind::NotFound => return Err(error(remove)),
        _ => {}
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(error)?;
    Ok(std::io::BufWriter::new(file))
}

fn set_mode(path: &Path, executable: bool) -> Result<(), InstallError> {
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        InstallError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn write_file(path: &Path, contents: &[u8], executable: bool) -> Result<(), InstallError> {
    let mut file = create_file(path)?;
    file.write_all(contents)
        .and_then(|()| file.flush())
        .map_err(|source| InstallError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    set_mode(path, executable)
}

/// The RECORD hash and size of a file as installed.
fn file_digest(path: &Path) -> Result<(String, u64), InstallError> {
    let error = |source| InstallError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(error)?;
    let mut hasher = Sha256::new();
    let size = std::io::copy(&mut file, &mut hasher).map_err(error)?;
    Ok((URL_SAFE_NO_PAD.encode(hasher.finalize()), size))
}

/// Writes RECORD with every path relative to `site_packages`, sorted for reproducibility.
fn write_record(
    path: &Path,
    record: &BTreeMap<PathBuf, (String, u64)>,
    site_packages: &Path,
) -> Result<(), InstallError> {
    let mut text = String::new();
    for (file, (hash, size)) in record {
        let relative = relative_path(site_packages, file);
        text.push_str(&format!("{},sha256={hash},{size}\n", csv_field(&relative)));
    }
    let own = relative_path(site_packages, path);
    text.push_str(&format!("{},,\n", csv_field(&own)));
    write_file(path, text.as_bytes(), false)
}

/// Adds rows for `files` (installed after the wheel, such as its bytecode) to the RECORD at
/// `record`, whose paths are relative to `site_packages`; RECORD's own row stays last.
pub fn add_to_record(
    record: &Path,
    site_packages: &Path,
    files: &[PathBuf],
) -> Result<(), InstallError> {
    let error = |source| InstallError::Write {
        path: record.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(record).map_err(error)?;
    let own = format!("{},,", csv_field(&relative_path(site_packages, record)));
    let mut rows: Vec<String> = text
        .lines()
        .filter(|line| !line.is_empty() && *line != own)
        .map(str::to_string)
        .collect();
    for file in files {
        let (hash, size) = file_digest(file)?;
        let relative = relative_path(site_packages, file);
        rows.push(format!("{},sha256={hash},{size}", csv_field(&relative)));
    }
    rows.sort();
    rows.push(own);
    let mut text = rows.join("\n");
    text.push('\n');
    // Replaced, never written through: the file may be linked elsewhere.
    write_file(record, text.as_bytes(), false)
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// `to` relative to `from`, both absolute and free of `..`: `../../../bin/x`.
pub fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|component| component.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_normalized_and_escapes_refused() {
        assert_eq!(
            normalize_entry_name("./pkg//mod.py").as_deref(),
            Ok("pkg/mod.py")
        );
        assert!(normalize_entry_name("../evil.py").is_err());
        assert!(normalize_entry_name("pkg/../../evil.py").is_err());
        assert!(normalize_entry_name("/etc/passwd").is_err());
        assert!(normalize_entry_name("pkg\\..\\evil.py").is_err());
    }

    #[test]
    fn the_threads_writing_a_wheel_share_one_unpack_budget() {
        let data = vec![7u8; 600_000];
        let budget = AtomicU64::new(1_000_000);
        let mut first = BudgetedReader {
            inner: &data[..],
            budget: &budget,
            exceeded: false,
        };
        assert!(std::io::copy(&mut first, &mut std::io::sink()).is_ok());
        assert!(!first.exceeded);
        let mut second = BudgetedReader {
            inner: &data[..],
            budget: &budget,
            exceeded: false,
        };
        let mut passed = Vec::new();
        assert!(std::io::copy(&mut second, &mut passed).is_err());
        assert!(second.exceeded);
        assert!(passed.len() <= 400_000, "{}", passed.len());
    }

    #[test]
    fn long_shebangs_go_through_sh() {
        let long = "/x".repeat(80);
        assert!(shebang(&long, "").starts_with("#!/bin/sh\n"));
        assert_eq!(
            shebang("/opt/venvs/a/bin/python", ""),
            "#!/opt/venvs/a/bin/python"
        );
    }

    #[test]
    fn record_rows_are_csv_with_strong_hashes_only() {
        let rows = parse_record(
            "\"pkg/a,b.py\",sha256=AAAA,4\n./pkg//c.py,sha512=BBBB,\npkg/d.py,md5=CCCC,1\npkg/e.py,,\n",
        )
        .unwrap();
        assert_eq!(
            rows["pkg/a,b.py"],
            Ok((RecordAlgorithm::Sha256, "AAAA".to_string(), Some(4)))
        );
        assert_eq!(
            rows["pkg/c.py"],
            Ok((RecordAlgorithm::Sha512, "BBBB".to_string(), None))
        );
        assert!(rows["pkg/d.py"].is_err());
        assert!(rows["pkg/e.py"].is_err());
        assert!(parse_record("pkg/x.py,sha256=A,notanumber\n").is_err());
        assert!(check_wheel_version("Wheel-Version: 2.0\n").is_err());
        assert!(check_wheel_version("Root-Is-Purelib: true\n").is_err());
        assert!(check_wheel_version("Wheel-Version: 1.9\n").is_ok());
    }

    #[test]
    fn entry_points_are_read_from_both_sections() {
        let scripts = console_scripts(
            "[console_scripts]\nhello = hello.app:main [extra]\n\n[gui_scripts]\nhi=hi:run\n[other]\nx=y:z\n",
        );
        assert_eq!(
            scripts,
            vec![
                ("hello".to_string(), "hello.app:main".to_string()),
                ("hi".to_string(), "hi:run".to_string())
            ]
        );
    }

    #[test]
    fn relative_paths_climb_out_of_site_packages() {
        assert_eq!(
            relative_path(
                Path::new("/v/lib/python3.11/site-packages"),
                Path::new("/v/bin/hello")
            ),
            "../../../bin/hello"
        );
    }
}
