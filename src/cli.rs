//! The command line, as clap types only: no logic lives here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Typical use, in a project with a pyproject.toml:
  pyship lock                 resolve [project] dependencies into pylock.toml
  pyship package deb          lock, fetch, build and write target/pyship/NAME_VERSION-1_ARCH.deb

Any other `pyship NAME ...` runs the plugin `pyship-NAME NAME ...`, found next to pyship or on PATH.

Exit status:
  0  success
  1  failure: bad project files, failed download, failed plugin, `lock --check` on a stale lock,
     a missing or stale lock with `--locked`/`--frozen`
  2  bad arguments or unknown command
  3  the requirements cannot be satisfied together
  4  --offline, and what is needed is not in the cache or a find-links directory
  a plugin run as `pyship NAME` exits with the plugin's own status";

/// Ship Python server applications as one versioned artifact: lock, fetch, build, package.
#[derive(Debug, Parser)]
#[command(name = "pyship", version, after_help = AFTER_HELP, arg_required_else_help = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    /// List built-in commands and installed plugins, then exit.
    #[arg(long, global = false)]
    pub list: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// Where pyship works and writes its artifacts (DIR/pyship) instead of the project's
    /// `target/`: a scratch disk, a CI cache, a directory outside a read-only checkout.
    #[arg(long, value_name = "DIR", env = crate::env_vars::PYSHIP_TARGET_DIR, global = true)]
    pub target_dir: Option<PathBuf>,

    /// Use no network: only find-links directories and the cache.
    #[arg(long, global = true)]
    pub offline: bool,

    /// Use pylock.toml as it is: fail instead of writing it when it is missing or stale (for CI).
    #[arg(long, global = true)]
    pub locked: bool,

    /// `--locked` and `--offline`: the lock as it is, and no network.
    #[arg(long, global = true)]
    pub frozen: bool,

    /// Say less: -q hides status lines, -qq warnings too; errors are always shown.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,

    /// Say more: debug lines.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to color output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The built-in commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the `[tool.pyship]` settings that ship this project (a pyproject.toml too, where
    /// there is none): install prefix, target, service, dependencies. Never overwrites.
    #[command(after_help = "\
Looks at the project as it is: [project] or Poetry's table, a build backend or setup.py (a
package, built) or none (an app whose files ship, such as a Django project with manage.py and a
requirements.txt), gunicorn or uvicorn among the dependencies, console scripts, and this
machine's release for the target. Prints the pyproject.toml it wrote; a project that already
has [tool.pyship] is left alone (exit 1).

Then:
  pyship lock
  pyship package deb")]
    Init,
    /// Resolve the project's dependencies for the target into pylock.toml (PEP 751).
    Lock(Box<LockArgs>),
    /// Download every locked wheel into the cache, checking its sha256; with `--wheelhouse`,
    /// also into a directory with a static PEP 503 index.
    Fetch(FetchArgs),
    /// Stage the virtualenv at its install prefix under target/pyship/stage, for each target
    /// of the lock (stage/TARGET when there are several); prints the staged prefixes.
    Build(BuildArgs),
    /// Build an artifact with the plugin `pyship-FORMAT`; prints the artifact paths.
    Package(PackageArgs),
    /// Hand artifacts to the publisher plugin `pyship-NAME` (e.g. a package repository):
    /// this build's, or those an earlier `pyship package --message-format json` listed.
    Publish(PublishArgs),
    /// Test this build's artifacts as a clean server of the target's release meets them:
    /// install, start the services as their users, run the project's checks, upgrade from the
    /// previous release and roll back, purge. Needs root.
    Verify(VerifyArgs),
    /// Print the software bill of materials of what an artifact would hold (CycloneDX 1.6 or
    /// SPDX 2.3 JSON), without packaging: the same document `pyship package` ships.
    Sbom(SbomArgs),
    /// Run a command against the staged tree as it will run on the server: in a private mount
    /// namespace with the staged tree bound at its install prefix.
    Run(RunArgs),
    /// Write the lock in another format, e.g. requirements.txt with hashes for pip.
    Export(ExportArgs),
    /// Show the locked dependency tree.
    Tree(TreeArgs),
    /// Show where the cache is and what it holds, or clear it.
    Cache(CacheArgs),
    /// Print a shell's completion script: `pyship completions bash > /etc/bash_completion.d/pyship`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print pyship's manual page (roff): `pyship man > /usr/local/share/man/man1/pyship.1`.
    Man,
    /// Run the plugin `pyship-NAME` with the remaining arguments.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

/// `pyship lock`.
#[derive(Debug, Args)]
#[command(after_help = "\
Without -r, locks the project in the current directory ([project] dependencies, settings from
[tool.pyship]). With -r, works like pip-compile: every setting comes from flags and the files.

Examples:
  pyship lock
  pyship lock --target debian-12 --target ubuntu-24.04
  pyship lock -r requirements.in -o requirements.txt --python 3.12 --platform x86_64-manylinux_2_28")]
pub struct LockArgs {
    /// Exit with status 1 if the lockfile is missing or out of date, instead of writing it.
    #[arg(long)]
    pub check: bool,

    /// Lock the requirements of this pip-style file instead of a project (repeatable).
    #[arg(short = 'r', long = "requirements", value_name = "FILE")]
    pub requirements: Vec<PathBuf>,

    /// Constrain versions with this pip-style file, without adding requirements (repeatable).
    #[arg(short = 'c', long = "constraints", value_name = "FILE")]
    pub constraints: Vec<PathBuf>,

    /// Where to write the lock: `*.toml` is pylock (PEP 751), `*.txt` pip requirements with hashes.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Lock for this Python version (e.g. `3.12` or `3.11.2`), or for the interpreter at this
    /// path (e.g. `/usr/bin/python3.11`), instead of the target interpreter.
    #[arg(long, value_name = "VERSION|PATH")]
    pub python: Option<String>,

    /// Lock for this platform: ARCH-manylinux_2_N (e.g. `x86_64-manylinux_2_28`) or ARCH-linux.
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Lock for a preset server: debian-11, debian-12, debian-13, ubuntu-22.04, ubuntu-24.04,
    /// rhel-8, rhel-9 (repeatable; the lock covers all).
    #[arg(long = "target", value_name = "PRESET")]
    pub targets: Vec<String>,

    /// The primary simple index (PEP 503 HTML or PEP 691 JSON).
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,

    /// A further index; a name is taken from the first index that has it (repeatable).
    #[arg(long, value_name = "URL")]
    pub extra_index_url: Vec<String>,

    /// A directory of wheels (repeatable).
    #[arg(short = 'f', long, value_name = "DIR")]
    pub find_links: Vec<PathBuf>,

    /// Use no index, only find-links directories.
    #[arg(long)]
    pub no_index: bool,

    /// When pre-releases may be chosen.
    #[arg(long, value_enum, value_name = "MODE")]
    pub prerelease: Option<PrereleaseArg>,

    /// Accept only wheels for NAME (or `:all:`): never lock or build its sdist (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only_binary: Vec<String>,

    /// Lock NAME's sdist (or every package's, `:all:`) and build it, ignoring its wheels
    /// (repeatable).
    #[arg(long, value_name = "NAME")]
    pub no_binary: Vec<String>,

    /// Ignore files uploaded after this date (`2024-06-01` or RFC 3339), where the index says.
    #[arg(long, value_name = "DATE")]
    pub exclude_newer: Option<String>,

    /// Include an optional-dependencies extra of the project (repeatable).
    #[arg(long = "extra", value_name = "NAME")]
    pub extras: Vec<String>,

    /// Include every extra of the project.
    #[arg(long)]
    pub all_extras: bool,

    /// Also lock a PEP 735 dependency group (e.g. `test`); not installed unless asked (repeatable).
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,

    /// Allow every package to move to its newest fitting version, ignoring the existing lock.
    #[arg(short = 'U', long)]
    pub upgrade: bool,

    /// Allow this package to move to its newest fitting version (repeatable).
    #[arg(short = 'P', long, value_name = "NAME")]
    pub upgrade_package: Vec<String>,

    /// How the result is printed on stdout: `human` (nothing; status on stderr) or `json`
    /// (one object: `{"lockfile", "written", "targets", "packages": [{"name", "version"}]}`).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

/// `pyship cache`.
#[derive(Debug, Args)]
#[command(after_help = "\
The cache holds index pages, metadata, downloaded and built wheels, shared by every project
and by concurrent runs. It lives in PYSHIP_CACHE_DIR, else $XDG_CACHE_HOME/pyship, else
~/.cache/pyship. Only pyship's own directories in it are ever removed.")]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,

    /// How the result is printed on stdout: `human` or `json` (one object: `{"dir"}`,
    /// `{"dir", "buckets": {NAME: BYTES}, "total"}`, or `{"dir", "removed": {"files", "bytes"}}`).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, global = true)]
    pub message_format: MessageFormat,
}

/// `pyship cache` subcommands.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum CacheCommand {
    /// Print the cache directory.
    Dir,
    /// Print the size of each part of the cache and the total.
    Size,
    /// Remove what no later run reads: older cache layouts, build scratch, the files of
    /// interrupted writes, and installed trees no build has used for 30 days.
    Prune,
    /// Remove everything pyship cached.
    Clean,
}

/// `--prerelease`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrereleaseArg {
    Allow,
    IfNecessary,
    Disallow,
}

/// `pyship export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The format to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::RequirementsTxt)]
    pub format: ExportFormat,

    /// Write to FILE instead of stdout.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The lockfile to export (default: the project's pylock.toml).
    #[arg(long, value_name = "FILE")]
    pub lockfile: Option<PathBuf>,

    /// Leave out the `--hash` lines (pip then does not check the files).
    #[arg(long)]
    pub no_hashes: bool,

    /// Also the packages of this dependency group (locked with `pyship lock --group NAME`), for
    /// a test run with pip; repeat for several.
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
}

/// `pyship export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// pip's requirements.txt, pinned, with `--hash` lines for `pip install --require-hashes`.
    #[value(name = "requirements.txt")]
    RequirementsTxt,
}

/// `pyship tree`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The lockfile to show (default: the project's pylock.toml).
    #[arg(long, value_name = "FILE")]
    pub lockfile: Option<PathBuf>,

    /// Show who depends on each package (from the packages that depend on nothing, or the
    /// ones `--package` names).
    #[arg(short, long)]
    pub invert: bool,

    /// Start from this package (repeatable).
    #[arg(short, long = "package", value_name = "NAME")]
    pub packages: Vec<String>,

    /// Show this many levels below the starting packages.
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,

    /// How the tree is printed: `human` (drawn) or `json` (a list of `{"name", "version",
    /// "dependencies": [...]}`, a repeat as `{"name", "version", "repeated": true}`).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

/// `pyship fetch`.
#[derive(Debug, Args)]
#[command(after_help = "\
A wheelhouse holds exactly the locked files (every target's) and a static `simple/` index:
  pyship fetch --wheelhouse wheelhouse
  pip install --no-index --find-links wheelhouse NAME
  python3 -m http.server -d wheelhouse   # then --index-url http://HOST:8000/simple
  pyship --offline lock                  # with find-links = [\"wheelhouse\"]")]
pub struct FetchArgs {
    /// Also copy every locked file into DIR and write DIR/simple/ (default: `[tool.pyship]
    /// wheelhouse`, if set).
    #[arg(long, value_name = "DIR")]
    pub wheelhouse: Option<PathBuf>,
    /// Remove files in the wheelhouse that the lock no longer holds (else they are listed).
    #[arg(long)]
    pub prune: bool,
}

/// `pyship build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Stage only this target of the lock (a preset name such as `debian-11`).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
}

/// `pyship sbom`.
#[derive(Debug, Args)]
#[command(after_help = "\
Every `pyship package` writes both documents beside each artifact (ARTIFACT.cdx.json,
ARTIFACT.spdx.json) and inside it (/usr/share/doc/NAME/ for deb and rpm, sbom/ in a tarball's
release); `pyship sbom` prints one for review or for a scanner:
  pyship sbom > hello.cdx.json
  pyship sbom --format spdx --target debian-11 | pyspdxtools -i /dev/stdin")]
pub struct SbomArgs {
    /// The document's format.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    pub format: SbomFormat,
    /// The target of the lock to describe; needed when it has several.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
}

/// The formats of `pyship sbom`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6, JSON.
    Cyclonedx,
    /// SPDX 2.3, JSON.
    Spdx,
}

/// `pyship run`.
#[derive(Debug, Args)]
#[command(after_help = "\
Example, testing the artifact before it ships:
  pyship run -- /opt/venvs/hello/bin/hello-serve --check
  pyship lock --group test      # [dependency-groups] test = [\"pytest\"] in pyproject.toml
  pyship run --group test -- /opt/venvs/hello/bin/python -m pytest tests/

The tree is staged first (as `pyship build` does), then bound over the install prefix in a
mount namespace only the command sees, so paths, shebangs and the virtualenv work as they will
on the server. Needs root (or unprivileged user namespaces and an existing install prefix);
a missing install prefix is created empty for the run and removed after it. With --group, the
group's packages are linked into a copy of the tree for the run only (target/pyship/run), never
into the artifact. pyship exits with the command's status.")]
pub struct RunArgs {
    /// The target to stage, when the lock has several.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Also make a locked dependency group's packages (e.g. `test`) available to the command,
    /// in a linked copy of the staged tree; the artifact never holds them (repeatable).
    #[arg(long = "group", value_name = "NAME")]
    pub groups: Vec<String>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// `pyship package`.
#[derive(Debug, Args)]
#[command(after_help = "\
One artifact per target of the lock: with `targets = [\"debian-11\", \"debian-12\"]` in
`[tool.pyship]`, `pyship package deb` writes a .deb for each, told apart by name. The
virtualenv of each is made for its target's interpreter; this machine needs that Python only
to byte-compile at build time (else the package compiles on the server at install time) or
to build sdists.")]
pub struct PackageArgs {
    /// The format, e.g. `deb`: runs the plugin `pyship-FORMAT`.
    pub format: String,
    /// Package only this target of the lock (a preset name such as `debian-11`).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// How results are printed on stdout: `human` (the artifact paths, one a line) or `json`
    /// (one object: `{"protocol": 2, "artifacts": [{"path", "kind", "size", "sha256"}]}`,
    /// what `pyship publish --artifacts` reads).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

/// `pyship verify`.
#[derive(Debug, Args)]
#[command(after_help = "\
Packages the project as `pyship package FORMAT` does, then, for each target of the lock, copies
a minimal root of the target's release (made once per machine with `debootstrap
--variant=minbase` and cached, or the one given with --root) and, inside it, with no network but
its own loopback:
  install        dpkg -i (rpm -i) of this build's artifacts (with --upgrade-from: the
                 previous release's first, a line added to each conffile, then the upgrade,
                 which must keep it)
  services       each service's command started as its unit would start it: its user,
                 environment, EnvironmentFile=, working directory, directories, credentials,
                 ExecStartPre=; it must stay up
  health         [tool.pyship.verify] health: an http:// URL that must answer 2xx/3xx, or a
                 command that must exit 0, tried until the timeout
  commands       [tool.pyship.verify] commands, each expected to exit 0
  roll back      with --upgrade-from: the previous release installed again, and checked again
  purge          dpkg --purge (rpm -e), then every file the packages left behind is named
Each check prints one line with its time; exit 0 only when every check passed, 1 otherwise.
Missing Depends come from the release's archive (not with --offline: then they are named).
`pyship verify rpm` installs with this machine's rpm (`rpm --root`, scriptlets run inside) in
the Debian root that has the target's Python (bullseye for rhel-9); Requires are not resolved.

  [tool.pyship.verify]
  commands = [[\"/opt/venvs/hello/bin/hello-serve\", \"--check\"]]
  health = \"http://127.0.0.1:8000/\"
  timeout = 60                       # seconds any one check may take

Roots are kept in PYSHIP_ROOTS (default: the cache's roots-v1); the mirrors are
PYSHIP_DEBIAN_MIRROR and PYSHIP_UBUNTU_MIRROR.")]
pub struct VerifyArgs {
    /// The format to package and verify (a plugin `pyship-FORMAT` whose artifacts are .debs
    /// or .rpms).
    pub format: String,
    /// Verify only this target of the lock (a preset name such as `debian-11`).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// A root of the target's release to copy and install into, instead of the cached one.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The previous release's artifact (repeatable, for split packages): installed first,
    /// then upgraded from and rolled back to.
    #[arg(long, value_name = "PATH")]
    pub upgrade_from: Vec<PathBuf>,
    /// Seconds any one check may take (default: `[tool.pyship.verify] timeout`, else 60).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// How results are printed on stdout: `human` (a line per check) or `json` (one object:
    /// `{"passed", "targets": [{"target", "root", "artifacts", "checks": [{"name", "passed",
    /// "seconds", "detail"}], "passed"}]}`).
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

/// `--message-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

/// `pyship publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The publisher: runs the plugin `pyship-NAME` (its describe says `"role": "publisher"`).
    pub name: String,
    /// Where to publish: a directory or URL, as the publisher reads it.
    pub destination: String,
    /// The artifacts to publish, as `pyship package FORMAT --message-format json` printed them
    /// (default: package now, in the first format the publisher accepts).
    #[arg(long, value_name = "FILE")]
    pub artifacts: Option<PathBuf>,
    /// Package only this target of the lock, when packaging now.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
}
