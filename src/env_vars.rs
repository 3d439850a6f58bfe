//! Every environment variable pyship reads or sets, in one place.

/// The cache directory (default `$XDG_CACHE_HOME/pyship`, then `~/.cache/pyship`).
pub const PYSHIP_CACHE_DIR: &str = "PYSHIP_CACHE_DIR";
/// The primary index URL, overriding `[tool.pyship] index-url`.
pub const PYSHIP_INDEX_URL: &str = "PYSHIP_INDEX_URL";
/// User name sent to the configured indexes' hosts (with `PYSHIP_INDEX_PASSWORD`).
pub const PYSHIP_INDEX_USERNAME: &str = "PYSHIP_INDEX_USERNAME";
/// Password sent with `PYSHIP_INDEX_USERNAME`; never printed.
pub const PYSHIP_INDEX_PASSWORD: &str = "PYSHIP_INDEX_PASSWORD";
/// pyship's work and output directory instead of the project's `target/` (`--target-dir`).
pub const PYSHIP_TARGET_DIR: &str = "PYSHIP_TARGET_DIR";
/// Set to anything to hide progress bars.
pub const PYSHIP_NO_PROGRESS: &str = "PYSHIP_NO_PROGRESS";
/// Seconds an index page without cache headers stays fresh (default 600; 0 = always ask).
pub const PYSHIP_PAGE_TTL: &str = "PYSHIP_PAGE_TTL";
/// Set by pyship for plugins: the path of the running pyship executable.
pub const PYSHIP: &str = "PYSHIP";
/// Set by pyship for plugins: the protocol version chosen.
pub const PYSHIP_PROTOCOL: &str = "PYSHIP_PROTOCOL";
/// Set by pyship for plugins: 0 to 3.
pub const PYSHIP_VERBOSE: &str = "PYSHIP_VERBOSE";
/// Set by pyship for plugins when `-q` was given.
pub const PYSHIP_QUIET: &str = "PYSHIP_QUIET";
/// Archive timestamps and bytecode invalidation mode (reproducible-builds.org).
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// Turns color off (no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// Forces color on for plugins when `--color always`.
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
/// The most one wheel or sdist may unpack to (bytes, or with K, M, G; default 16G).
pub const PYSHIP_MAX_UNPACKED_SIZE: &str = "PYSHIP_MAX_UNPACKED_SIZE";
/// Seconds to wait for an index to connect, answer, or send more of a body (default 30).
pub const PYSHIP_HTTP_TIMEOUT: &str = "PYSHIP_HTTP_TIMEOUT";
/// Where `pyship verify` keeps the minimal roots it makes, one per release (default: the
/// cache's `roots-v1`).
pub const PYSHIP_ROOTS: &str = "PYSHIP_ROOTS";
/// The Debian mirror `pyship verify` makes Debian roots from (default deb.debian.org).
pub const PYSHIP_DEBIAN_MIRROR: &str = "PYSHIP_DEBIAN_MIRROR";
/// The Ubuntu mirror `pyship verify` makes Ubuntu roots from (default archive.ubuntu.com).
pub const PYSHIP_UBUNTU_MIRROR: &str = "PYSHIP_UBUNTU_MIRROR";
