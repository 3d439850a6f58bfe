//! pyship's integration tests: the built binaries, run as a user would run them, against
//! testdata projects, a local index, and the real dpkg tools.

mod architecture;
mod build;
mod build_backends;
mod build_isolation;
mod cli;
mod deb_lifecycle;
mod first_contact;
mod hardening;
mod index;
mod lifecycle;
mod lock;
mod lock_targets;
mod package_deb;
mod package_rpm;
mod package_tarball;
mod package_vendors;
mod plugins;
mod publish_apt;
mod publish_yum;
mod resolver;
mod sbom;
mod services;
mod support;
mod verify;
