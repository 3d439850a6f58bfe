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

    context.set_version("0.2.0");
    let second = package(&context);
    assert!(extract(&second).success());
    root.ok(&["/opt/venvs/hello/releases/0.2.0/pyship-activate"]);
    assert_eq!(current(), "releases/0.2.0");
    assert_eq!(check().trim(), "ok: /opt/venvs/hello/releases/0.2.0");

    let said = root.ok(&["/opt/venvs/hello/current/pyship-activate", "--rollback"]);
    assert!(said.contains("current -> releases/0.1.0"), "{said}");
    assert_eq!(check().trim(), "ok: /opt/venvs/hello/releases/0.1.0");

    // A copy cut short: tar fails, and the release it left behind is refused.
    context.set_version("0.3.0");
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

/// The archive holds the release's own tree only: `tar -C / -xf` as root leaves the prefix's
/// ancestors as they are (a symlinked `/opt/venvs` stays a symlink, the other apps behind it
/// stay). The history is data: a line that is a path is never followed. Activations at once
/// are serialized: `current` always names a release that is there.
#[test]
fn extraction_and_activation_touch_only_the_release() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    let archive = package(&context);
    let listing = Command::new("tar")
        .args(["--zstd", "-tf"])
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for line in listing.lines() {
        assert!(
            line.starts_with("opt/venvs/hello/releases/0.1.0"),
            "an entry outside the release: {line}"
        );
    }

    // /opt/venvs is a symlink to /srv/venvs, where another app lives.
    std::fs::create_dir_all(root.join("/srv/venvs/other")).unwrap();
    std::fs::write(root.join("/srv/venvs/other/keep"), "other app\n").unwrap();
    std::fs::create_dir_all(root.join("/opt")).unwrap();
    // Relative, so that it points into the root when tar runs here on the host.
    std::os::unix::fs::symlink("../srv/venvs", root.join("/opt/venvs")).unwrap();
    let extract = |archive: &PathBuf| {
        crate::support::output_ok(
            Command::new("tar")
                .args(["--zstd", "-xf"])
                .arg(archive)
                .arg("-C")
                .arg(&root.path),
        );
    };
    extract(&archive);
    assert!(
        root.join("/opt/venvs").is_symlink(),
        "/opt/venvs was replaced"
    );
    assert!(root.join("/srv/venvs/other/keep").is_file());
    root.ok(&["/opt/venvs/hello/releases/0.1.0/pyship-activate"]);

    // A history line that is a path: never removed, never activated.
    let history = root.join("/srv/venvs/hello/.pyship-history");
    let text = std::fs::read_to_string(&history).unwrap();
    std::fs::write(&history, format!("../../other\n{text}")).unwrap();
    let refused = root.run(&["/opt/venvs/hello/current/pyship-activate", "--rollback"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a release"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // keep = 1 makes every activation clean up the history's older lines.
    let pyproject = context.read("pyproject.toml");
    let mut releases = Vec::new();
    for version in ["0.2.0", "0.3.0", "0.4.0"] {
        context.set_version(version);
        context.add_before_deb_table("[tool.pyship.tarball]\nkeep = 1\n");
        let archive = package(&context);
        let kept = context.temp.path().join(archive.file_name().unwrap());
        std::fs::copy(&archive, &kept).unwrap();
        extract(&kept);
        releases.push((version, kept));
        context.file("pyproject.toml", &pyproject);
    }
    root.ok(&["/opt/venvs/hello/releases/0.2.0/pyship-activate"]);
    assert!(
        root.join("/srv/venvs/other/keep").is_file(),
        "the history removed another app"
    );

    // Three activations at once, many times: `current` always names a release that exists.
    for round in 0..12 {
        let children: Vec<_> = releases
            .iter()
            .map(|(version, _)| {
                root.command(&[&format!(
                    "/opt/venvs/hello/releases/{version}/pyship-activate"
                )])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            // A release removed by another activation's cleanup is refused cleanly (or, when it
            // was gone before this activation started, its script is not there to run).
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success()
                    || stderr.contains("not a complete release")
                    || stderr.contains("pyship-activate: No such file"),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let current = std::fs::read_link(root.join("/srv/venvs/hello/current")).unwrap();
        assert!(
            root.join("/srv/venvs/hello")
                .join(&current)
                .join("bin/hello-serve")
                .is_file(),
            "round {round}: current -> {} is gone",
            current.display()
        );
        // Put the removed releases back for the next round.
        for (version, archive) in &releases {
            if !root
                .join(&format!("/srv/venvs/hello/releases/{version}"))
                .exists()
            {
                extract(archive);
            }
        }
    }
    assert!(root.join("/srv/venvs/other/keep").is_file());
}

/// `health-check`: an activation whose check does not pass puts the release before back,
/// runs its `postinst` again as a rollback, and fails naming the check.
#[test]
fn an_unhealthy_release_gives_way_to_the_one_before() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    // The check passes where the release's own check does: the first release's.
    context.add_before_deb_table(
        "health-check = [\"/bin/sh\", \"-c\", \"test -e /etc/hello-healthy\"]\nhealth-timeout = 2\n",
    );
    context.file(
        "deploy/scripts/postinst",
        "echo \"postinst $PYSHIP_ACTION\" >> /var/log/hello-actions\n",
    );
    let pyproject = context.read("pyproject.toml");
    context.file(
        "pyproject.toml",
        &pyproject.replace(
            "[tool.pyship]\n",
            "[tool.pyship]\nscripts = \"deploy/scripts\"\n",
        ),
    );
    let extract = |archive: &PathBuf| {
        assert!(
            Command::new("tar")
                .args(["--zstd", "-xf"])
                .arg(archive)
                .arg("-C")
                .arg(&root.path)
                .status()
                .unwrap()
                .success()
        );
    };
    std::fs::write(root.join("/etc/hello-healthy"), "").unwrap();
    extract(&package(&context));
    let said = root.ok(&["/opt/venvs/hello/releases/0.1.0/pyship-activate"]);
    assert!(
        said.contains("healthy: /bin/sh -c test -e /etc/hello-healthy"),
        "{said}"
    );

    // The next release is not healthy (its server, say, does not come up).
    std::fs::remove_file(root.join("/etc/hello-healthy")).unwrap();
    context.set_version("0.2.0");
    extract(&package(&context));
    let refused = root.run(&["/opt/venvs/hello/releases/0.2.0/pyship-activate"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "did not pass in 2 s: releases/0.2.0 is not healthy, so releases/0.1.0 is current again"
        ),
        "{stderr}"
    );
    let current = std::fs::read_link(root.join("/opt/venvs/hello/current")).unwrap();
    assert_eq!(current, PathBuf::from("releases/0.1.0"));
    let actions = std::fs::read_to_string(root.join("/var/log/hello-actions")).unwrap();
    assert_eq!(
        actions,
        "postinst install\npostinst upgrade\npostinst rollback\n"
    );
    // The history forgot the release that failed: a rollback from here has nowhere to go.
    let back = root.run(&["/opt/venvs/hello/current/pyship-activate", "--rollback"]);
    assert!(!back.status.success());
}
