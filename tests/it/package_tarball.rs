//! `pyship package tarball`: a release archive, extracted into a Debian root of its own,
//! activated, upgraded, rolled back; a half-extracted release never becomes current.

use std::path::PathBuf;
use std::process::Command;

use crate::support::TestContext;
use crate::support::debian_root::DebianRoot;

fn package(context: &TestContext) -> PathBuf {
    let run = context
        .pyship(&["package", "tarball", "--offline"])
        .success();
    PathBuf::from(run.stdout.trim())
}

fn with_version(context: &TestContext, version: &str) {
    let pyproject = context.read("pyproject.toml");
    let current = pyproject
        .lines()
        .find(|line| line.starts_with("version = "))
        .unwrap()
        .to_string();
    context.file(
        "pyproject.toml",
        &pyproject.replace(&current, &format!("version = \"{version}\"")),
    );
}

#[test]
fn tarballs_are_reproducible_and_name_their_release() {
    let first = TestContext::hello();
    let second = TestContext::hello();
    let a = package(&first);
    let b = package(&second);
    let name = a.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("hello-0.1.0-") && name.ends_with(".tar.zst"),
        "{name}"
    );
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two builds of the same inputs differ"
    );
    let listing = Command::new("tar")
        .args(["--zstd", "-tvf"])
        .arg(&a)
        .output()
        .unwrap();
    assert!(listing.status.success());
    let listing = String::from_utf8_lossy(&listing.stdout);
    let last = listing.lines().last().unwrap();
    assert!(
        last.ends_with("opt/venvs/hello/releases/0.1.0/.pyship-release-complete"),
        "the completion marker is the last member: {last}"
    );
    assert!(
        listing.contains("opt/venvs/hello/releases/0.1.0/bin/python -> /usr/bin/python3.11"),
        "{listing}"
    );
    assert!(listing.contains("root/root"), "{listing}");
}

#[test]
fn releases_activate_roll_back_and_refuse_a_half_extracted_one() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    let extract = |archive: &PathBuf| {
        Command::new("tar")
            .args(["--zstd", "-xf"])
            .arg(archive)
            .arg("-C")
            .arg(&root.path)
            .status()
            .unwrap()
    };
    let check = || root.ok(&["/opt/venvs/hello/current/bin/hello-serve", "--check"]);
    let current = || {
        std::fs::read_link(root.join("/opt/venvs/hello/current"))
            .unwrap()
            .display()
            .to_string()
    };

    let first = package(&context);
    assert!(extract(&first).success());
    let said = root.ok(&["/opt/venvs/hello/releases/0.1.0/pyship-activate"]);
    assert!(said.contains("current -> releases/0.1.0"), "{said}");
    assert_eq!(check().trim(), "ok: /opt/venvs/hello/releases/0.1.0");

    with_version(&context, "0.2.0");
    let second = package(&context);
    assert!(extract(&second).success());
    root.ok(&["/opt/venvs/hello/releases/0.2.0/pyship-activate"]);
    assert_eq!(current(), "releases/0.2.0");
    assert_eq!(check().trim(), "ok: /opt/venvs/hello/releases/0.2.0");

    let said = root.ok(&["/opt/venvs/hello/current/pyship-activate", "--rollback"]);
    assert!(said.contains("current -> releases/0.1.0"), "{said}");
    assert_eq!(check().trim(), "ok: /opt/venvs/hello/releases/0.1.0");

    // A copy cut short: tar fails, and the release it left behind is refused.
    with_version(&context, "0.3.0");
    let third = package(&context);
    let bytes = std::fs::read(&third).unwrap();
    let cut = context.temp.path().join("cut.tar.zst");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert!(!extract(&cut).success());
    let refused = root.run(&["/opt/venvs/hello/releases/0.3.0/pyship-activate"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is not a complete release"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(current(), "releases/0.1.0", "current did not move");
    check();
}
