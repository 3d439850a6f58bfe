//! Minimal but valid wheels made on the fly (uv's packse idea): METADATA, WHEEL, RECORD and a
//! stub module, from a scenario file in `testdata/scenarios/`.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use sha2::Digest;

/// A scenario: the project's requirements and the packages the index offers.
#[derive(Debug, Deserialize)]
pub struct Scenario {
    pub requires: Vec<String>,
    pub packages: Vec<ScenarioPackage>,
}

/// One package version of a scenario.
#[derive(Debug, Deserialize)]
pub struct ScenarioPackage {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(rename = "requires-python")]
    pub requires_python: Option<String>,
}

impl Scenario {
    /// Loads `testdata/scenarios/NAME.toml`.
    pub fn load(name: &str) -> Scenario {
        let path = super::repo_root().join(format!("testdata/scenarios/{name}.toml"));
        let text = std::fs::read_to_string(&path).expect("scenario exists");
        toml::from_str(&text).expect("scenario parses")
    }

    /// Writes every package as a wheel into `directory`.
    pub fn write_wheels(&self, directory: &Path) -> Vec<PathBuf> {
        self.packages
            .iter()
            .map(|package| {
                let requires: Vec<&str> = package.requires.iter().map(String::as_str).collect();
                WheelSpec::new(&package.name, &package.version)
                    .requires(&requires)
                    .requires_python(package.requires_python.as_deref())
                    .write(directory)
            })
            .collect()
    }

    /// A pyproject.toml depending on the scenario's requirements.
    pub fn pyproject(&self, extra_tool: &str) -> String {
        let requires: Vec<String> = self.requires.iter().map(|r| format!("{r:?}")).collect();
        format!(
            "[project]\nname = \"scenario\"\nversion = \"1.0\"\ndependencies = [{}]\n\n[tool.pyship]\n{extra_tool}\n",
            requires.join(", ")
        )
    }
}

/// A wheel to make.
pub struct WheelSpec {
    name: String,
    version: String,
    requires: Vec<String>,
    requires_python: Option<String>,
    files: Vec<(String, Vec<u8>, u32)>,
    tag: String,
    /// RECORD rows written instead of the computed ones, by entry name (`None`: no row).
    record_rows: std::collections::HashMap<String, Option<String>>,
    wheel_version: String,
    entry_points: Option<String>,
}

impl WheelSpec {
    pub fn new(name: &str, version: &str) -> WheelSpec {
        WheelSpec {
            name: name.to_string(),
            version: version.to_string(),
            requires: Vec::new(),
            requires_python: None,
            files: Vec::new(),
            tag: "py3-none-any".into(),
            record_rows: std::collections::HashMap::new(),
            wheel_version: "1.0".into(),
            entry_points: None,
        }
    }

    /// Writes `row` (a whole RECORD line, or nothing with `None`) for the entry `name`.
    pub fn record_row(mut self, name: &str, row: Option<&str>) -> WheelSpec {
        self.record_rows
            .insert(name.to_string(), row.map(str::to_string));
        self
    }

    /// Sets `Wheel-Version` in WHEEL.
    pub fn wheel_version(mut self, version: &str) -> WheelSpec {
        self.wheel_version = version.to_string();
        self
    }

    /// Adds `entry_points.txt` with this text.
    pub fn entry_points(mut self, text: &str) -> WheelSpec {
        self.entry_points = Some(text.to_string());
        self
    }

    pub fn requires(mut self, requires: &[&str]) -> WheelSpec {
        self.requires = requires.iter().map(|r| r.to_string()).collect();
        self
    }

    pub fn requires_python(mut self, requires_python: Option<&str>) -> WheelSpec {
        self.requires_python = requires_python.map(str::to_string);
        self
    }

    /// Sets the wheel's tag, e.g. `cp312-cp312-manylinux_2_28_x86_64`.
    pub fn tag(mut self, tag: &str) -> WheelSpec {
        self.tag = tag.to_string();
        self
    }

    /// Adds an entry with a unix mode (0o100644 for a plain file).
    pub fn file(mut self, name: &str, contents: &[u8], mode: u32) -> WheelSpec {
        self.files.push((name.to_string(), contents.to_vec(), mode));
        self
    }

    /// Writes the wheel into `directory` and returns its path.
    pub fn write(&self, directory: &Path) -> PathBuf {
        std::fs::create_dir_all(directory).expect("create wheel dir");
        let dist = self.name.replace('-', "_");
        let dist_info = format!("{dist}-{}.dist-info", self.version);
        let mut metadata = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
            self.name, self.version
        );
        if let Some(requires_python) = &self.requires_python {
            metadata.push_str(&format!("Requires-Python: {requires_python}\n"));
        }
        for requirement in &self.requires {
            metadata.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        let mut entries: Vec<(String, Vec<u8>, u32)> = vec![(
            format!("{dist}/__init__.py"),
            format!("__version__ = {:?}\n", self.version).into_bytes(),
            0o100644,
        )];
        entries.extend(self.files.iter().cloned());
        entries.push((
            format!("{dist_info}/METADATA"),
            metadata.into_bytes(),
            0o100644,
        ));
        entries.push((
            format!("{dist_info}/WHEEL"),
            format!(
                "Wheel-Version: {}\nGenerator: pyship-tests\nRoot-Is-Purelib: true\nTag: {}\n",
                self.wheel_version, self.tag
            )
            .into_bytes(),
            0o100644,
        ));
        if let Some(text) = &self.entry_points {
            entries.push((
                format!("{dist_info}/entry_points.txt"),
                text.clone().into_bytes(),
                0o100644,
            ));
        }
        let mut record = String::new();
        for (name, contents, _) in &entries {
            if let Some(row) = self.record_rows.get(name) {
                if let Some(row) = row {
                    record.push_str(row);
                    record.push('\n');
                }
                continue;
            }
            let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(contents));
            let name = if name.contains(',') {
                format!("\"{name}\"")
            } else {
                name.clone()
            };
            record.push_str(&format!("{name},sha256={hash},{}\n", contents.len()));
        }
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        entries.push((format!("{dist_info}/RECORD"), record.into_bytes(), 0o100644));

        let path = directory.join(format!("{dist}-{}-{}.whl", self.version, self.tag));
        let file = std::fs::File::create(&path).expect("create wheel");
        let mut zip = zip::ZipWriter::new(file);
        for (name, contents, mode) in entries {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(mode);
            if mode & 0o170000 == 0o120000 {
                zip.add_symlink(name, String::from_utf8_lossy(&contents), options)
                    .expect("add symlink");
            } else {
                zip.start_file(name, options).expect("start file");
                zip.write_all(&contents).expect("write entry");
            }
        }
        zip.finish().expect("finish wheel");
        path
    }
}

/// An sdist to make: `NAME-VERSION.tar.gz` with PKG-INFO, a flit_core pyproject.toml (or a
/// setup.py alone) and a module, so the suite can build it offline with the flit_core wheel
/// from testdata (or setuptools from testdata/build-backends).
pub struct SdistSpec {
    name: String,
    version: String,
    requires: Vec<String>,
    metadata_version: String,
    setup_py_only: bool,
    /// What its pyproject.toml (and so its backend) says it is, when not `name`/`version`.
    builds_as: Option<(String, String)>,
}

impl SdistSpec {
    pub fn new(name: &str, version: &str) -> SdistSpec {
        SdistSpec {
            name: name.to_string(),
            version: version.to_string(),
            requires: Vec::new(),
            metadata_version: "2.2".into(),
            setup_py_only: false,
            builds_as: None,
        }
    }

    /// An sdist whose backend builds a wheel of another distribution (`name-version`) than
    /// its file name and PKG-INFO say.
    pub fn builds_as(mut self, name: &str, version: &str) -> SdistSpec {
        self.builds_as = Some((name.to_string(), version.to_string()));
        self
    }

    /// A legacy project: `setup.py` and no pyproject.toml (PEP 517's fallback backend).
    pub fn setup_py_only(mut self) -> SdistSpec {
        self.setup_py_only = true;
        self
    }

    pub fn requires(mut self, requires: &[&str]) -> SdistSpec {
        self.requires = requires.iter().map(|r| r.to_string()).collect();
        self
    }

    /// PKG-INFO's Metadata-Version: below 2.2 its dependencies cannot be trusted.
    pub fn metadata_version(mut self, version: &str) -> SdistSpec {
        self.metadata_version = version.to_string();
        self
    }

    /// Writes the sdist into `directory` and returns its path.
    pub fn write(&self, directory: &Path) -> PathBuf {
        std::fs::create_dir_all(directory).expect("create sdist dir");
        let top = format!("{}-{}", self.name, self.version);
        let mut pkg_info = format!(
            "Metadata-Version: {}\nName: {}\nVersion: {}\nSummary: test package\n",
            self.metadata_version, self.name, self.version
        );
        for requirement in &self.requires {
            pkg_info.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        let dependencies: Vec<String> = self.requires.iter().map(|r| format!("{r:?}")).collect();
        let (built_name, built_version) = self
            .builds_as
            .clone()
            .unwrap_or_else(|| (self.name.clone(), self.version.clone()));
        let pyproject = format!(
            "[build-system]\nrequires = [\"flit_core>=3.4,<4\"]\nbuild-backend = \"flit_core.buildapi\"\n\n\
             [project]\nname = \"{}\"\nversion = \"{}\"\ndescription = \"test package\"\ndependencies = [{}]\n{}",
            built_name,
            built_version,
            dependencies.join(", "),
            if self.builds_as.is_some() {
                format!("\n[tool.flit.module]\nname = \"{}\"\n", self.name)
            } else {
                String::new()
            }
        );
        let build_file = if self.setup_py_only {
            (
                format!("{top}/setup.py"),
                format!(
                    "from setuptools import setup\nsetup(name={:?}, version={:?}, packages=[{:?}], install_requires=[{}])\n",
                    self.name,
                    self.version,
                    self.name,
                    dependencies.join(", ")
                ),
            )
        } else {
            (format!("{top}/pyproject.toml"), pyproject)
        };
        let files = [
            (format!("{top}/PKG-INFO"), pkg_info),
            build_file,
            (
                format!("{top}/{}/__init__.py", self.name),
                format!("\"\"\"The {} package.\"\"\"\n", self.name),
            ),
        ];
        let path = directory.join(format!("{top}.tar.gz"));
        let file = std::fs::File::create(&path).expect("create sdist");
        let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut builder = tar::Builder::new(encoder);
        for (name, contents) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, contents.as_bytes())
                .expect("append to sdist");
        }
        builder
            .into_inner()
            .expect("finish tar")
            .finish()
            .expect("finish gzip");
        path
    }
}
