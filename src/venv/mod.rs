//! A virtualenv at its final install prefix, staged under a staging root (DESTDIR-style).
//!
//! pyship writes the venv itself rather than running `python -m venv` in place, because the
//! venv must name its final prefix (`/opt/venvs/APP`) while living under `target/pyship/stage`.
//! The layout matches what CPython's `venv` makes on POSIX: `pyvenv.cfg`, `bin/python*` links
//! to the base interpreter, `lib/pythonX.Y/site-packages`, and `lib64 -> lib` on 64-bit Linux.

mod populate;

pub use populate::{Layout, Owners, Prepared, Wheel, link, mirror, prepare};

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::python::Target;
use crate::wheel::Scheme;

/// Activation scripts for the common shells, as CPython's `venv` writes them: (file name, text).
const ACTIVATE_SCRIPTS: [(&str, &str); 3] = [
    ("activate", include_str!("activate")),
    ("activate.fish", include_str!("activate.fish")),
    ("activate.csh", include_str!("activate.csh")),
];
const VENDORS_PRELUDE: &str = include_str!("vendors_prelude.py");

/// A staged virtualenv.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StagedVenv {
    /// Stands for `/` on the target.
    pub staging_root: PathBuf,
    /// The absolute prefix on the target, e.g. `/opt/venvs/hello`.
    pub install_prefix: PathBuf,
    /// `lib/python3.11/site-packages`, relative to the prefix.
    pub site_packages: PathBuf,
    /// The files the venv itself made (interpreter links, `pyvenv.cfg`, activation script),
    /// staged paths: no wheel may overwrite them.
    pub own_files: Vec<PathBuf>,
}

impl StagedVenv {
    /// The prefix's directory in the staging tree.
    pub fn staged_prefix(&self) -> PathBuf {
        stage_path(&self.staging_root, &self.install_prefix)
    }

    /// The scheme wheels are installed with: staged directories, final-prefix shebangs.
    pub fn scheme(&self, python_version: &str) -> Scheme {
        let prefix = self.staged_prefix();
        let site_packages = prefix.join(&self.site_packages);
        Scheme {
            purelib: site_packages.clone(),
            platlib: site_packages,
            scripts: prefix.join("bin"),
            data: prefix.clone(),
            headers: prefix
                .join("include/site")
                .join(format!("python{python_version}")),
            python: self.install_prefix.join("bin/python").display().to_string(),
            python_flags: String::new(),
            launcher_prelude: String::new(),
        }
    }
}

impl StagedVenv {
    /// The vendors layout's scheme: the application (`app`) at the prefix, dependencies in
    /// `vendors/`, launchers in `bin/` run by `base` in isolated mode without its
    /// site-packages (`-IS`), finding both directories from their own location.
    pub fn vendors_scheme(&self, base: &Path, app: bool) -> Scheme {
        let prefix = self.staged_prefix();
        let library = if app {
            prefix.clone()
        } else {
            prefix.join(&self.site_packages)
        };
        Scheme {
            purelib: library.clone(),
            platlib: library.clone(),
            scripts: prefix.join("bin"),
            data: library.clone(),
            headers: library.join("include"),
            python: base.display().to_string(),
            python_flags: "-IS".into(),
            launcher_prelude: VENDORS_PRELUDE.into(),
        }
    }
}

/// Creates the vendors layout (`pip --target` style, no virtualenv) at `install_prefix` under
/// `staging_root`: `bin/` and `vendors/`, the application installed at the top.
pub fn create_vendors(staging_root: &Path, install_prefix: &Path) -> std::io::Result<StagedVenv> {
    let venv = StagedVenv {
        staging_root: staging_root.to_path_buf(),
        install_prefix: install_prefix.to_path_buf(),
        site_packages: PathBuf::from("vendors"),
        own_files: Vec::new(),
    };
    let prefix = venv.staged_prefix();
    std::fs::create_dir_all(prefix.join("bin"))?;
    std::fs::create_dir_all(prefix.join("vendors"))?;
    Ok(venv)
}

/// `root` + absolute `path`.
pub fn stage_path(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

/// Creates a fresh venv for `target` at `install_prefix` under `staging_root`, based on the
/// interpreter `base` (its path on the target, which need not exist on this machine).
pub fn create_venv(
    staging_root: &Path,
    install_prefix: &Path,
    name: &str,
    base: &Path,
    target: &Target,
) -> std::io::Result<StagedVenv> {
    let python_version = target.python_version();
    let mut venv = StagedVenv {
        staging_root: staging_root.to_path_buf(),
        install_prefix: install_prefix.to_path_buf(),
        site_packages: PathBuf::from(format!("lib/python{python_version}/site-packages")),
        own_files: Vec::new(),
    };
    let prefix = venv.staged_prefix();
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::create_dir_all(prefix.join(&venv.site_packages))?;
    if target.arch.ends_with("64") {
        symlink("lib", prefix.join("lib64"))?;
    }
    let home = base.parent().unwrap_or(Path::new("/usr/bin"));
    std::fs::write(
        prefix.join("pyvenv.cfg"),
        format!(
            "home = {}\ninclude-system-site-packages = false\nversion = {}\nexecutable = {}\ncommand = pyship build (venv at {})\n",
            home.display(),
            target.python_full_version,
            base.display(),
            install_prefix.display()
        ),
    )?;
    symlink(base, bin.join("python"))?;
    symlink("python", bin.join("python3"))?;
    symlink("python", bin.join(format!("python{python_version}")))?;
    venv.own_files = vec![
        prefix.join("pyvenv.cfg"),
        bin.join("python"),
        bin.join("python3"),
        bin.join(format!("python{python_version}")),
    ];
    for (file, text) in ACTIVATE_SCRIPTS {
        std::fs::write(
            bin.join(file),
            text.replace("#PREFIX#", &install_prefix.display().to_string())
                .replace("#NAME#", name),
        )?;
        venv.own_files.push(bin.join(file));
    }
    Ok(venv)
}
