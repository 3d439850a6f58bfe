//! Property-based fuzzing of every parser that reads hostile input: requirements.in,
//! `[tool.pyship]`, pylock.toml, METADATA, simple-index pages (HTML and JSON), PEP 508
//! strings and wheel archives. Each property is "answers with a value or an error, never a
//! panic, and never writes outside where it may".
//!
//! Inputs are built from fragments of the real formats (keys, operators, separators, path
//! tricks) mixed with arbitrary text, so that most cases get past the first check. The suite
//! runs 256 cases per property (a few seconds); a longer run, e.g. before a release:
//!
//! ```sh
//! PROPTEST_CASES=200000 cargo test --lib fuzz -- --test-threads 2
//! ```

use std::io::Write;
use std::path::Path;

use proptest::prelude::*;

/// Text made of pieces of `fragments` and arbitrary strings.
fn text_from(fragments: &'static [&'static str]) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(fragments).prop_map(str::to_string),
        1 => any::<String>(),
        1 => "[ -~]{0,8}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

const REQUIREMENT_FRAGMENTS: &[&str] = &[
    "flask",
    "a",
    "b-c",
    "d.e",
    "f_",
    ".",
    "-",
    "_",
    "[",
    "]",
    ",",
    "extra",
    ">=",
    "==",
    "!=",
    "~=",
    "<",
    ">",
    "===",
    "1",
    "1.0",
    "2.0.post1",
    "3.0rc1",
    "+local",
    "*",
    " ",
    ";",
    "python_version",
    "sys_platform",
    "'3.9'",
    "\"linux\"",
    " and ",
    " or ",
    "(",
    ")",
    " @ ",
    "https://h/x-1.0-py3-none-any.whl",
    "file:///tmp/x",
    "\n",
    "\\\n",
    "#",
    "-r ",
    "-c ",
    "--index-url ",
    "--extra-index-url ",
    "--find-links ",
    "--no-index",
    "--pre",
    "-e ",
    "./w/a-1.0-py3-none-any.whl",
    "../",
    "\u{0}",
    "é",
];

const TOML_FRAGMENTS: &[&str] = &[
    "[project]\n",
    "[tool.pyship]\n",
    "[tool.pyship.deb]\n",
    "[build-system]\n",
    "[[packages]]\n",
    "[dependency-groups]\n",
    "name = ",
    "version = ",
    "dependencies = ",
    "install-prefix = ",
    "targets = ",
    "find-links = ",
    "index-url = ",
    "wheels = ",
    "sdist = ",
    "directory = ",
    "hashes = ",
    "sha256 = ",
    "url = ",
    "path = ",
    "marker = ",
    "environments = ",
    "lock-version = \"1.0\"\n",
    "\"a\"",
    "\"1.0\"",
    "[\"x>=1\"]",
    "{ name = \"a-1.0-py3-none-any.whl\", url = \"https://h/a.whl\", hashes = { sha256 = \"",
    "\" } }",
    "\"/opt/../x\"",
    "\"../../evil.whl\"",
    "{ include-group = \"g\" }",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "\"",
    "'",
    "1",
    "true",
    "#",
];

const METADATA_FRAGMENTS: &[&str] = &[
    "Metadata-Version: 2.1\n",
    "Name: a\n",
    "Version: 1.0\n",
    "Requires-Dist: ",
    "Requires-Python: ",
    "Provides-Extra: x\n",
    "Dynamic: Requires-Dist\n",
    "flask>=1",
    "b; extra == 'x'",
    ">=3.8",
    ": ",
    "\n",
    "\n\n",
    " ",
    "\t",
    ":",
    "é",
];

const PAGE_FRAGMENTS: &[&str] = &[
    "<html>",
    "<a href=\"",
    "\">",
    "</a>",
    "<a href='",
    "' data-yanked>",
    "data-requires-python=\"",
    "&gt;=3",
    "&lt;",
    "&#x2F;",
    "&#47;",
    "&amp;",
    "../../files/",
    "a-1.0-py3-none-any.whl",
    "a-1.0.tar.gz",
    "#sha256=",
    "%2F..%2F",
    "/tmp/evil.whl",
    "..",
    "{\"files\":[",
    "{\"filename\":\"",
    "\",\"url\":\"",
    "\",\"hashes\":{\"sha256\":\"",
    "\"}}",
    "]}",
    ",\"yanked\":true",
    ",\"size\":18446744073709551615",
    "\"",
    ",",
    "<",
    ">",
];

proptest! {
    #[test]
    fn requirement_strings_never_panic(text in text_from(REQUIREMENT_FRAGMENTS)) {
        let _ = crate::pep508::parse_requirement(&text);
        let _ = crate::pep508::parse_marker(&text);
        let _ = <pep508_rs::pep440_rs::VersionSpecifiers as std::str::FromStr>::from_str(&text);
    }

    #[test]
    fn requirements_in_never_panics(text in text_from(REQUIREMENT_FRAGMENTS)) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("requirements.in");
        std::fs::write(&path, &text).unwrap();
        let _ = crate::project::RequirementsIn::default().read(&path);
    }

    #[test]
    fn pyproject_never_panics(text in text_from(TOML_FRAGMENTS)) {
        let directory = Path::new("/nonexistent/project");
        let _ = crate::project::Project::parse(directory, &directory.join("pyproject.toml"), &text);
    }

    #[test]
    fn pylock_never_panics_and_names_stay_plain(text in text_from(TOML_FRAGMENTS)) {
        if let Ok(lock) = crate::lockfile::Lock::parse(Path::new("pylock.toml"), &text) {
            for package in &lock.packages {
                for file in package.wheels.iter().chain(&package.sdist) {
                    prop_assert!(crate::wheel::is_plain_file_name(&file.name));
                    prop_assert!(crate::wheel::is_sha256_hex(&file.sha256));
                }
            }
        }
    }

    #[test]
    fn metadata_never_panics(text in text_from(METADATA_FRAGMENTS)) {
        let _ = crate::wheel::Metadata::parse(&text);
        let _ = crate::wheel::Metadata::is_static(&text);
    }

    #[test]
    fn index_pages_never_panic_and_names_stay_plain(
        body in text_from(PAGE_FRAGMENTS),
        json in any::<bool>(),
    ) {
        let files = crate::index::parse_page_for_fuzzing(&body, json);
        for name in files {
            prop_assert!(crate::wheel::is_plain_file_name(&name), "{name:?}");
        }
    }

    #[test]
    fn wheel_archives_never_panic_or_escape(
        entries in proptest::collection::vec(
            (
                text_from(&["a", "a/", "../", "/", "./", "//", "a-1.0.dist-info/", "a-1.0.data/",
                    "scripts/", "data/", "purelib/", "RECORD", "WHEEL", "METADATA", "x.py",
                    "entry_points.txt", "\\", "pyvenv.cfg", "bin/python"]),
                proptest::collection::vec(any::<u8>(), 0..64),
                prop_oneof![Just(0o100644u32), Just(0o100755), Just(0o120777), any::<u32>()],
            ),
            0..8,
        ),
        record in text_from(&["a/x.py", ",", "sha256=", "md5=", "\"", "\n", "1", "", "A", "a-1.0.dist-info/RECORD"]),
    ) {
        let directory = tempfile::tempdir().unwrap();
        let wheel = directory.path().join("a-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
        let standard = [
            ("a-1.0.dist-info/WHEEL".to_string(), b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n".to_vec(), 0o100644),
            ("a-1.0.dist-info/METADATA".to_string(), b"Metadata-Version: 2.1\nName: a\nVersion: 1.0\n".to_vec(), 0o100644),
            ("a-1.0.dist-info/RECORD".to_string(), record.into_bytes(), 0o100644),
        ];
        for (name, contents, mode) in entries.into_iter().chain(standard) {
            let options = zip::write::SimpleFileOptions::default().unix_permissions(mode);
            if zip.start_file(name, options).is_ok() {
                let _ = zip.write_all(&contents);
            }
        }
        let _ = zip.finish();
        let root = directory.path().join("root");
        let prefix = root.join("venv");
        let scheme = crate::wheel::Scheme {
            purelib: prefix.join("site"),
            platlib: prefix.join("site"),
            scripts: prefix.join("bin"),
            data: prefix.clone(),
            headers: prefix.join("include"),
            python: "/venv/bin/python".into(),
            python_flags: String::new(),
            launcher_prelude: String::new(),
        };
        let mut installation = crate::wheel::Installation::new(1 << 20);
        let _ = installation.install(&wheel, None, &scheme);
        // Nothing was written outside the prefix.
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            prop_assert_eq!(entry.file_name(), "venv");
        }
        for entry in std::fs::read_dir(directory.path()).unwrap().flatten() {
            let name = entry.file_name();
            prop_assert!(name == "root" || name == "a-1.0-py3-none-any.whl", "{name:?}");
        }
    }
}
