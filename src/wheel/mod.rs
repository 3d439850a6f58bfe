//! Wheels: file names, metadata, and installing one into a scheme of directories.

mod filename;
mod install;
mod metadata;
mod synthesize;

pub use filename::{WheelFilename, is_plain_file_name, is_sha256_hex, parse_sdist_filename};
pub use install::{DistInfoExtras, InstallError, Installation, Scheme, add_to_record};
pub use metadata::Metadata;
pub use synthesize::{AppFiles, write_app_wheel};
