//! Debian packages for the shared libraries the installed tree needs, as dpkg-shlibdeps finds
//! them: from the `shlibs` and `symbols` files in dpkg's database (`DPKG_ADMINDIR`, default
//! `/var/lib/dpkg`). The database is the build machine's; for another target release the
//! package names are the same for almost every library (they carry the soname's number).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The dependency that provides each soname, e.g. `libz.so.1` → `zlib1g (>= 1:1.2.3.3.dfsg-1)`.
#[derive(Debug, Default)]
pub struct Shlibs {
    by_soname: BTreeMap<String, String>,
}

impl Shlibs {
    /// Reads every `*.shlibs` and `*.symbols` file of dpkg's database on this machine.
    pub fn from_dpkg_database() -> Shlibs {
        let admin = std::env::var_os("DPKG_ADMINDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/lib/dpkg"));
        Shlibs::from_info_dir(&admin.join("info"))
    }

    /// Reads the `*.shlibs` and `*.symbols` files in `directory`; shlibs entries, which carry
    /// a version bound, win over symbols ones.
    pub fn from_info_dir(directory: &Path) -> Shlibs {
        let mut shlibs = Shlibs::default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
            .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_default();
        files.sort();
        for path in files.iter().filter(|path| has_extension(path, "symbols")) {
            if let Ok(text) = std::fs::read_to_string(path) {
                shlibs.read_symbols(&text);
            }
        }
        for path in files.iter().filter(|path| has_extension(path, "shlibs")) {
            if let Ok(text) = std::fs::read_to_string(path) {
                shlibs.read_shlibs(&text);
            }
        }
        shlibs
    }

    /// `[TYPE:] LIBRARY VERSION DEPENDENCIES` lines (deb-shlibs(5)); udeb entries skipped.
    fn read_shlibs(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.splitn(3, char::is_whitespace);
            let (Some(library), Some(version), Some(dependency)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            if library.ends_with(':') {
                continue; // a typed entry such as `udeb:`
            }
            let dependency = dependency.trim().to_string();
            // `libz 1` is `libz.so.1`; `libfoo-1.2` with a version is `libfoo-1.2.so.N`, and
            // `libfoo 1.2` may also stand for `libfoo-1.2.so`.
            self.by_soname
                .insert(format!("{library}.so.{version}"), dependency.clone());
            self.by_soname
                .entry(format!("{library}-{version}.so"))
                .or_insert(dependency);
        }
    }

    /// The head lines of deb-symbols(5) files: `SONAME DEPENDENCY #MINVER#`.
    fn read_symbols(&mut self, text: &str) {
        for line in text.lines() {
            if line.starts_with([' ', '\t', '|', '*', '#']) || line.trim().is_empty() {
                continue;
            }
            let Some((soname, rest)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let dependency = rest.replace("#MINVER#", "").trim().to_string();
            if !dependency.is_empty() {
                self.by_soname.insert(soname.to_string(), dependency);
            }
        }
    }

    /// The dependency for `soname`, if a package on this machine provides it.
    pub fn dependency(&self, soname: &str) -> Option<&str> {
        self.by_soname.get(soname).map(String::as_str)
    }
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|ext| ext == extension)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlibs_entries_win_over_symbols_and_udebs_are_skipped() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::write(
            directory.path().join("zlib1g:amd64.shlibs"),
            "libz 1 zlib1g (>= 1:1.2.3.3.dfsg-1)\nudeb: libz 1 zlib1g-udeb\n",
        )
        .unwrap();
        std::fs::write(
            directory.path().join("zlib1g:amd64.symbols"),
            "libz.so.1 zlib1g #MINVER#\n adler32@ZLIB_1.2.0 1:1.2.0\n",
        )
        .unwrap();
        std::fs::write(
            directory.path().join("libpq5:amd64.symbols"),
            "libpq.so.5 libpq5 #MINVER#\n* Build-Depends-Package: libpq-dev\n PQclear@Base 7.4\n",
        )
        .unwrap();
        let shlibs = Shlibs::from_info_dir(directory.path());
        assert_eq!(
            shlibs.dependency("libz.so.1"),
            Some("zlib1g (>= 1:1.2.3.3.dfsg-1)")
        );
        assert_eq!(shlibs.dependency("libpq.so.5"), Some("libpq5"));
        assert_eq!(shlibs.dependency("libfoo.so.9"), None);
    }

    #[test]
    fn this_machine_maps_libz() {
        // Every Debian system has zlib1g.
        let shlibs = Shlibs::from_dpkg_database();
        assert!(
            shlibs
                .dependency("libz.so.1")
                .is_some_and(|dependency| dependency.starts_with("zlib1g")),
            "{:?}",
            shlibs.dependency("libz.so.1")
        );
    }
}
