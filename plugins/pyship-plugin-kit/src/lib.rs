//! What every pyship archive plugin needs, so that a new format writes only what is its own.
//!
//! - [`tar`]: a deterministic, streaming tar writer (root-owned, one mtime, given modes);
//! - [`compress`]: streaming gzip, xz and zstd (multi-threaded, thread-count independent);
//! - [`segments`]: compressed runs of archive members kept between builds;
//! - [`artifact`]: an artifact written atomically, with its size and sha256 for the result;
//! - [`tree`]: the staged tree plus the plugin's generated files, in one archive order;
//! - [`options`]: `[tool.pyship.FORMAT]` values read with their types;
//! - [`version`]: a PEP 440 version as dpkg and rpm sort it;
//! - [`lifecycle`]: install, upgrade, removal and purge planned once, rendered by each format;
//! - [`service`]: the systemd unit of a service, shell quoting for scripts, the deployment check;
//! - [`sign`]: GnuPG signatures of a repository's indexes (publishers);
//! - [`publish`]: a repository's lock, atomic writes and safe names (publishers).
//!
//! It sits beside the protocol crate, `pyship-plugin`, which stays a small serde-only
//! contract that plugins in any language can read.

pub mod artifact;
pub mod compress;
pub mod lifecycle;
pub mod options;
pub mod publish;
pub mod segments;
pub mod service;
pub mod sign;
pub mod tar;
pub mod tree;
pub mod version;

pub use pyship_plugin;
