//! `pyship package deb`: the .deb checked with dpkg-deb, installed with dpkg, run, removed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::debian_root::DebianRoot;
use crate::support::output_ok;
use crate::support::{TestContext, requires_tool};

fn package_hello(context: &TestContext) -> PathBuf {
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let path = PathBuf::from(run.stdout.trim());
    assert_eq!(
        path,
        context.root.join("target/pyship/hello_0.1.0-1_amd64.deb"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("Finished `target/pyship/hello_0.1.0-1_amd64.deb`"),
        "{run}"
    );
    path
}

fn run_tool(program: &str, args: &[&str], path: &Path) -> String {
    let output = output_ok(Command::new(program).args(args).arg(path));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn deb_has_debian_metadata_and_root_owned_files() {
    if !requires_tool("dpkg-deb") {
        return;
    }
    let context = TestContext::hello();
    let deb = package_hello(&context);
    let info = run_tool("dpkg-deb", &["--info"], &deb);
    for line in [
        " Package: hello\n",
        " Version: 0.1.0-1\n",
        " Architecture: amd64\n",
        " Maintainer: Hello Team <hello@example.com>\n",
        // markupsafe's wheel is manylinux2014 (glibc 2.17) as well as 2_28: the lowest of a
        // wheel's alternative tags counts (this said 2.28 before the bound became a fact).
        " Depends: python3.11, libc6 (>= 2.17)\n",
        " Description: Example Flask web app shipped by pyship\n",
        " Homepage: https://example.com/hello\n",
    ] {
        assert!(info.contains(line), "missing {line:?} in\n{info}");
    }
    // Debian 12's dpkg reads zstd: the fast default for this (the host's) target.
    let members = run_tool("ar", &["t"], &deb);
    assert_eq!(members, "debian-binary\ncontrol.tar.gz\ndata.tar.zst\n");
    let contents = run_tool("dpkg-deb", &["--contents"], &deb);
    let line_of = |path: &str| {
        contents
            .lines()
            // dpkg-deb lists `opt/…` (or `./opt/…`): match on the path after the prefix.
            .find(|line| line.ends_with(path) || line.contains(&format!("{path} -> ")))
            .unwrap_or_else(|| panic!("{path} not in\n{contents}"))
            .to_string()
    };
    assert!(line_of("./opt/venvs/hello/bin/hello-serve").starts_with("-rwxr-xr-x root/root"));
    assert!(line_of("./opt/venvs/hello/pyvenv.cfg").starts_with("-rw-r--r-- root/root"));
    assert!(line_of("./opt/venvs/hello/bin/python").contains("-> /usr/bin/python3.11"));
    assert!(
        contents.contains("2023-11-14 22:13"),
        "mtime is SOURCE_DATE_EPOCH:\n{contents}"
    );
    assert!(!contents.contains("target/pyship"), "staging paths leaked");
    // md5sums is right for every shipped file: extract both parts and let md5sum check.
    let control_dir = context.temp.path().join("control");
    let data_dir = context.temp.path().join("data");
    let extract = |flag: &str, directory: &Path| {
        let status = Command::new("dpkg-deb")
            .arg(flag)
            .arg(&deb)
            .arg(directory)
            .status()
            .unwrap();
        assert!(status.success());
    };
    extract("-e", &control_dir);
    extract("-x", &data_dir);
    // The copyright file names every bundled distribution and the license it declares.
    let copyright =
        std::fs::read_to_string(data_dir.join("usr/share/doc/hello/copyright")).unwrap();
    for line in [
        " flask 3.0.3: BSD License\n",
        " click 8.5.1: BSD-3-Clause\n",
        "\nFiles: *\nCopyright: 2023 Hello Team <hello@example.com>\nLicense: MIT\n",
    ] {
        assert!(copyright.contains(line), "missing {line:?} in\n{copyright}");
    }
    let md5sums = std::fs::read_to_string(control_dir.join("md5sums")).unwrap();
    assert!(md5sums.lines().count() > 300, "{md5sums}");
    output_ok(
        Command::new("md5sum")
            .args(["--check", "--quiet", "--strict"])
            .arg(control_dir.join("md5sums"))
            .current_dir(&data_dir),
    );
}

#[test]
fn deb_is_byte_identical_for_the_same_inputs() {
    let first = TestContext::hello();
    let second = TestContext::hello();
    let a = std::fs::read(package_hello(&first)).unwrap();
    let b = std::fs::read(package_hello(&second)).unwrap();
    assert!(a == b, "two builds of the same inputs differ");
    // And a second run in the same project rewrites the same bytes.
    let again = std::fs::read(package_hello(&first)).unwrap();
    assert!(a == again);
}

#[test]
fn gzip_xz_and_zstd_debs_are_read_by_dpkg_and_reproducible() {
    if !requires_tool("dpkg-deb") || !requires_tool("dpkg") {
        return;
    }
    for (compression, member) in [
        ("gzip", "data.tar.gz"),
        ("xz", "data.tar.xz"),
        ("zstd", "data.tar.zst"),
    ] {
        let builds: Vec<Vec<u8>> = (0..2)
            .map(|_| {
                let context = TestContext::hello();
                with_compression(&context, compression);
                let deb = package_hello(&context);
                let members = Command::new("ar").arg("t").arg(&deb).output().unwrap();
                let members = String::from_utf8_lossy(&members.stdout).into_owned();
                assert!(members.contains(member), "{members}");
                let listing = run_tool("dpkg-deb", &["--contents"], &deb);
                assert!(
                    listing.contains("./opt/venvs/hello/bin/hello-serve"),
                    "{listing}"
                );
                install_into_private_root(&context, &deb);
                std::fs::read(&deb).unwrap()
            })
            .collect();
        assert!(builds[0] == builds[1], "{compression}: two builds differ");
    }
}

/// Install with dpkg, run the console script, remove: nothing left, and nothing written under
/// the prefix at run time (the bytecode was shipped). In a Debian root of its own (as root;
/// CI), else on a private dpkg database.
#[test]
fn deb_installs_runs_and_removes_cleanly() {
    if !requires_tool("dpkg") {
        return;
    }
    let context = TestContext::hello();
    let deb = package_hello(&context);
    let Some(root) = DebianRoot::new("bookworm") else {
        install_into_private_root(&context, &deb);
        return;
    };
    root.install(&deb);
    let prefix = root.join("/opt/venvs/hello");
    let before = count_files(&prefix);
    let output = root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);
    assert_eq!(output.trim(), "ok: /opt/venvs/hello");
    assert_eq!(
        before,
        count_files(&prefix),
        "running the app wrote files under the prefix"
    );
    root.ok(&["dpkg", "-r", "hello"]);
    assert!(!prefix.exists(), "dpkg -r left files under the prefix");
}

fn dpkg(args: &[&str]) -> String {
    let output = output_ok(Command::new("dpkg").args(args));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn install_into_private_root(context: &TestContext, deb: &Path) {
    let root = context.temp.path().join("root");
    let admin = root.join("var/lib/dpkg");
    std::fs::create_dir_all(admin.join("updates")).unwrap();
    std::fs::create_dir_all(admin.join("info")).unwrap();
    std::fs::write(admin.join("status"), "").unwrap();
    let root_arg = format!("--root={}", root.display());
    let admin_arg = format!("--admindir={}", admin.display());
    let common = [
        root_arg.as_str(),
        admin_arg.as_str(),
        "--force-not-root",
        "--force-depends",
        "--force-script-chrootless",
    ];
    let mut install = common.to_vec();
    install.extend(["-i", deb.to_str().unwrap()]);
    dpkg(&install);
    let prefix = root.join("opt/venvs/hello");
    output_ok(
        Command::new(prefix.join("bin/python"))
            .arg(prefix.join("bin/hello-serve"))
            .arg("--check"),
    );
    let mut remove = common.to_vec();
    remove.extend(["-r", "hello"]);
    dpkg(&remove);
    assert!(!prefix.exists());
}

fn count_files(directory: &Path) -> usize {
    std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| {
                    if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                        1 + count_files(&entry.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

pub(crate) fn lintian(deb: &Path) {
    output_ok(
        Command::new("lintian")
            .args(["--fail-on", "error,warning", "--tag-display-limit", "0"])
            .arg(deb),
    );
}

/// Bookworm's lintian cannot unpack zstd members (it reports `malformed-deb-archive`), so the
/// packages it checks are the same builds with xz, which every lintian reads.
fn with_xz(context: &TestContext) {
    with_compression(context, "xz");
}

/// Sets `[tool.pyship.deb] compression` of the hello app.
fn with_compression(context: &TestContext, compression: &str) {
    let pyproject = context.read("pyproject.toml");
    context.file(
        "pyproject.toml",
        &pyproject.replace(
            "[tool.pyship.deb]\n",
            &format!("[tool.pyship.deb]\ncompression = \"{compression}\"\n"),
        ),
    );
}

/// lintian, Debian's package checker, finds no error or warning (what a virtualenv under /opt
/// does on purpose is overridden, with reasons, in the package's lintian overrides).
#[test]
fn lintian_accepts_the_deb() {
    if !requires_tool("lintian") {
        return;
    }
    let context = TestContext::hello();
    with_xz(&context);
    let deb = package_hello(&context);
    lintian(&deb);
    let contents = run_tool("dpkg-deb", &["--contents"], &deb);
    assert!(
        contents.contains("./usr/share/doc/hello/copyright"),
        "{contents}"
    );
    assert!(
        contents.contains("./usr/share/doc/hello/changelog.Debian.gz"),
        "{contents}"
    );
}

#[test]
fn run_depends_and_the_build_number_reach_the_control_file() {
    if !requires_tool("dpkg-deb") {
        return;
    }
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship.deb]\n",
        "build-number = 3\nrun-depends = [\"libpq5\", { rpm = \"libpq\" }]\n\n[tool.pyship.deb]\nconflicts = [\"hello-legacy\"]\nprovides = [\"hello-app\"]\npre-depends = [\"dpkg (>= 1.21)\"]\nrecommends = [\"postgresql-client | default-mysql-client\"]\nsuggests = [\"nginx\"]\n",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let deb = PathBuf::from(run.stdout.trim());
    assert!(deb.ends_with("hello_0.1.0-3_amd64.deb"), "{run}");
    let info = run_tool("dpkg-deb", &["--field"], &deb);
    assert!(info.contains("Version: 0.1.0-3\n"), "{info}");
    // The rpm-only dependency has no Debian name, so it is not in Depends.
    assert!(
        info.contains("\nDepends: python3.11, libc6 (>= 2.17), libpq5\n"),
        "{info}"
    );
    for line in [
        "Pre-Depends: dpkg (>= 1.21)\n",
        "Conflicts: hello-legacy\n",
        "Provides: hello-app\n",
        "Recommends: postgresql-client | default-mysql-client\n",
        "Suggests: nginx\n",
        " Build number 3.\n",
    ] {
        assert!(info.contains(line), "missing {line:?} in\n{info}");
    }
}

#[test]
fn an_invalid_debian_package_name_is_refused_with_the_rule() {
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship.deb]\n",
        "[tool.pyship.deb]\npackage = \"Hello_App\"\n",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["package", "deb", "--offline"]);
    assert_ne!(run.code, Some(0), "{run}");
    assert!(
        run.stderr
            .contains("`tool.pyship.deb.package = \"Hello_App\"` is not a Debian package name"),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

/// A service with its user, a config file and the user's own maintainer-script fragment:
/// lintian accepts the unit, the conffile, the scripts and the adduser dependency.
#[test]
fn lintian_accepts_a_service_package() {
    if !requires_tool("lintian") {
        return;
    }
    let context = crate::deb_lifecycle::service_project(8000);
    with_xz(&context);
    let deb = package_hello(&context);
    lintian(&deb);
    let control_dir = context.temp.path().join("control");
    let status = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(&control_dir)
        .status()
        .unwrap();
    assert!(status.success());
    let read = |name: &str| std::fs::read_to_string(control_dir.join(name)).unwrap();
    assert_eq!(read("conffiles"), "/etc/hello/hello.toml\n");
    assert!(
        read("control").contains(", adduser\n"),
        "{}",
        read("control")
    );
    for script in ["postinst", "prerm", "postrm"] {
        assert!(
            read(script).contains("hello.service"),
            "{script}:\n{}",
            read(script)
        );
    }
}

/// A compiled wheel linking a system library: the package depends on the Debian package that
/// provides it (read from dpkg's shlibs), and the manifest carries the soname as a fact.
#[test]
fn system_libraries_the_wheels_link_become_depends() {
    if !requires_tool("dpkg-deb") {
        return;
    }
    let context = TestContext::hello();
    // A real ELF library of this machine, shipped as an extension module: it needs libz.so.1,
    // libm.so.6 and libc.so.6 (the last two are glibc's, covered by the libc6 bound).
    let library = std::fs::read("/usr/lib/x86_64-linux-gnu/libpng16.so.16").unwrap();
    crate::support::wheels::WheelSpec::new("pngext", "1.0")
        .tag("cp311-cp311-manylinux_2_17_x86_64")
        .file(
            "pngext/_png.cpython-311-x86_64-linux-gnu.so",
            &library,
            0o100755,
        )
        .write(&context.root.join("wheelhouse"));
    let pyproject = context.read("pyproject.toml").replace(
        "    \"flask>=3.0,<4\",\n",
        "    \"flask>=3.0,<4\",\n    \"pngext\",\n",
    );
    context.file("pyproject.toml", &pyproject);
    let deb = package_hello(&context);
    let manifest = context.read("target/pyship/deb/manifest.json");
    assert!(
        manifest.contains("\"needed-libraries\": [\n      \"libz.so.1\"\n    ]"),
        "{manifest}"
    );
    let depends = run_tool("dpkg-deb", &["--field"], &deb);
    let depends = depends
        .lines()
        .find(|line| line.starts_with("Depends: "))
        .unwrap();
    assert!(
        depends.starts_with("Depends: python3.11, libc6 (>= 2.17), zlib1g (>= "),
        "{depends}"
    );
}

/// A compiled wheel laid out as auditwheel repairs them (psycopg2-binary, pillow): an
/// extension module whose RUNPATH is `$ORIGIN/../NAME.libs`, where the wheel bundles the
/// library it needs, both packed executable as auditwheel leaves them. The bundled library
/// is not turned into a Depends (no Debian package provides it, and none is needed), shared
/// libraries are shipped 0644 (Policy 8.1), and lintian accepts the package.
#[test]
fn a_wheel_bundling_its_libraries_in_a_libs_directory_passes_lintian() {
    if !requires_tool("lintian") || !requires_tool("cc") {
        return;
    }
    let context = TestContext::hello();
    let scratch = context.temp.path().join("cc");
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::write(
        scratch.join("fake.c"),
        // Real libraries link libc (lintian checks that they do).
        "#include <unistd.h>\nint fake_answer(void) { return 42 + (getpid() > 0); }\n",
    )
    .unwrap();
    std::fs::write(
        scratch.join("ext.c"),
        "#include <string.h>\nint fake_answer(void);\nint ext_answer(const char *s) { return fake_answer() + (int)strlen(s); }\n",
    )
    .unwrap();
    let cc = |args: &[&str]| {
        output_ok(Command::new("cc").args(args).current_dir(&scratch));
    };
    let library = "libfake-1a2b3c4d.so.1";
    cc(&[
        "-shared",
        "-fPIC",
        "-O2",
        "-o",
        library,
        &format!("-Wl,-soname,{library}"),
        "fake.c",
    ]);
    let extension = "_ext.cpython-311-x86_64-linux-gnu.so";
    cc(&[
        "-shared",
        "-fPIC",
        "-O2",
        "-o",
        extension,
        "ext.c",
        library,
        "-Wl,-rpath,$ORIGIN/../fakebin.libs",
    ]);
    crate::support::wheels::WheelSpec::new("fakebin", "1.0")
        .tag("cp311-cp311-manylinux_2_17_x86_64")
        .file(
            &format!("fakebin/{extension}"),
            &std::fs::read(scratch.join(extension)).unwrap(),
            0o100755,
        )
        .file(
            &format!("fakebin.libs/{library}"),
            &std::fs::read(scratch.join(library)).unwrap(),
            0o100755,
        )
        .write(&context.root.join("wheelhouse"));
    let pyproject = context
        .read("pyproject.toml")
        .replace("\"markupsafe>=2.1\",", "\"markupsafe>=2.1\", \"fakebin\",");
    context.file("pyproject.toml", &pyproject);
    with_xz(&context);
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    assert!(!run.stderr.contains("libfake"), "{run}");
    let deb = PathBuf::from(run.stdout.trim());
    let control = run_tool("dpkg-deb", &["--field"], &deb);
    assert!(!control.contains("libfake"), "{control}");
    let contents = run_tool("dpkg-deb", &["--contents"], &deb);
    let line = contents
        .lines()
        .find(|line| line.ends_with(&format!("fakebin.libs/{library}")))
        .unwrap_or_else(|| panic!("{contents}"));
    assert!(line.starts_with("-rw-r--r--"), "{line}");
    lintian(&deb);
}

/// The `.seg` files of the deb plugin's segment cache, by name, with their inodes.
fn cached_segments(context: &TestContext) -> std::collections::BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let directory = context.root.join("target/pyship/deb/segments");
    std::fs::read_dir(&directory)
        .unwrap()
        .flatten()
        .filter(|item| item.file_name().to_string_lossy().ends_with(".seg"))
        .map(|item| {
            let name = item.file_name().to_string_lossy().into_owned();
            (name, item.metadata().unwrap().ino())
        })
        .collect()
}

/// A warm build compresses only what changed. zstd (the default; dpkg reads one frame only):
/// an unchanged tree's data.tar is copied from the cache, not compressed again. gzip (dpkg
/// reads concatenated members): each distribution is a segment of its own, so a release that
/// changes only the app (new commit, new SOURCE_DATE_EPOCH) compresses the app's segments and
/// copies the dependencies'. Either way the bytes are those of a cold build, and dpkg and
/// lintian read the package.
#[test]
fn a_rebuild_compresses_only_the_segments_that_changed() {
    let mut context = TestContext::hello();
    let first = std::fs::read(package_hello(&context)).unwrap();
    let cold = cached_segments(&context);
    assert_eq!(cold.len(), 1, "zstd is one segment: {cold:?}");
    let deb = package_hello(&context);
    assert!(std::fs::read(&deb).unwrap() == first);
    assert_eq!(
        cached_segments(&context),
        cold,
        "the segment was written again"
    );

    with_compression(&context, "gzip");
    package_hello(&context);
    let release1 = cached_segments(&context);
    assert!(
        release1.len() > 8,
        "one segment per distribution: {release1:?}"
    );

    let app = context.read("src/hello/app.py");
    context.file("src/hello/app.py", &format!("{app}\n# release 2\n"));
    context.env("SOURCE_DATE_EPOCH", "1710000000");
    let deb = package_hello(&context);
    let release2 = cached_segments(&context);
    assert_eq!(
        release2.len(),
        release1.len(),
        "unused segments stay: {release2:?}"
    );
    let reused = release2
        .iter()
        .filter(|(name, inode)| release1.get(*name) == Some(inode))
        .count();
    assert!(
        release2.len() - reused <= 3,
        "more than the app's, the root's and the docs' segments were compressed again: {} of {}",
        release2.len() - reused,
        release2.len()
    );
    let warm = std::fs::read(&deb).unwrap();
    let data = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "dpkg-deb --fsys-tarfile '{}' | tar -xO ./opt/venvs/hello/lib/python3.11/site-packages/hello/app.py",
            deb.display()
        ))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&data.stdout).contains("# release 2"),
        "{}",
        String::from_utf8_lossy(&data.stderr)
    );
    let listing = run_tool("dpkg-deb", &["--contents"], &deb);
    assert!(
        listing.contains("./opt/venvs/hello/bin/hello-serve"),
        "{listing}"
    );
    assert!(
        listing.contains("./usr/share/doc/hello/copyright"),
        "{listing}"
    );
    if requires_tool("lintian") {
        lintian(&deb);
    }
    install_into_private_root(&context, &deb);

    std::fs::remove_dir_all(context.root.join("target/pyship/deb/segments")).unwrap();
    let cold = std::fs::read(package_hello(&context)).unwrap();
    assert!(warm == cold, "a warm build differs from a cold one");
}
