//! `pyship publish yum DIR`: this build's .rpms in a YUM/DNF repository with a signed
//! `repomd.xml`, served over HTTP on 127.0.0.1 and read by dnf with `repo_gpgcheck=1`.

use std::path::Path;
use std::process::{Command, Output};

use crate::publish_apt::{Server, keyring, public_key, publishing};
use crate::support::requires_tool;

/// dnf against only the test's repository, in a scratch install root.
fn dnf(scratch: &Path, args: &[&str]) -> Output {
    Command::new("dnf")
        .arg(format!("--installroot={}", scratch.join("root").display()))
        .arg(format!(
            "--setopt=reposdir={}",
            scratch.join("repos").display()
        ))
        .arg(format!(
            "--setopt=cachedir={}",
            scratch.join("cache").display()
        ))
        .args([
            "--releasever=9",
            "--disablerepo=*",
            "--enablerepo=hello",
            "-y",
        ])
        .args(args)
        .output()
        .expect("dnf runs")
}

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn dnf_reads_the_signed_repository_and_refuses_it_tampered_or_under_another_key() {
    if !requires_tool("gpg") || !requires_tool("dnf") {
        return;
    }
    let (context, home) = publishing("[tool.pyship.yum]\nsuite = \"el9\"\n");
    let repository = context.temp.path().join("repo");
    let repo = repository.to_str().unwrap();
    let run = context
        .pyship(&["publish", "yum", repo, "--offline"])
        .success();
    assert_eq!(
        run.stdout.trim(),
        repository
            .join("el9/Packages/hello-0.1.0-1.x86_64.rpm")
            .display()
            .to_string()
    );
    context.set_version("0.2.0");
    context
        .pyship(&["publish", "yum", repo, "--offline"])
        .success();
    // The same build again: already there, nothing changes.
    let record = repository.join("el9/repodata/pyship-packages.json");
    let before = std::fs::read(&record).unwrap();
    context
        .pyship(&["publish", "yum", repo, "--offline"])
        .success();
    assert_eq!(std::fs::read(&record).unwrap(), before);

    // The repository's copies are signed with the key (the artifacts stay as built).
    let rpmdb = context.temp.path().join("rpmdb");
    std::fs::create_dir_all(&rpmdb).unwrap();
    let key_file = context.temp.path().join("key.asc");
    std::fs::write(&key_file, public_key(&home)).unwrap();
    crate::support::output_ok(
        Command::new("rpmkeys")
            .arg("--root")
            .arg(&rpmdb)
            .arg("--import")
            .arg(&key_file),
    );
    for version in ["0.1.0", "0.2.0"] {
        let published = repository.join(format!("el9/Packages/hello-{version}-1.x86_64.rpm"));
        let checked = crate::support::output_ok(
            Command::new("rpmkeys")
                .arg("--root")
                .arg(&rpmdb)
                .args(["--checksig", "-v"])
                .arg(&published),
        );
        let said = String::from_utf8_lossy(&checked.stdout);
        assert!(
            said.contains("Header V4 EdDSA/SHA256 Signature") && said.contains(": OK"),
            "{said}"
        );
        let built = context
            .root
            .join(format!("target/pyship/hello-{version}-1.x86_64.rpm"));
        if built.exists() {
            let unsigned = Command::new("rpm")
                .args(["-qp", "--qf", "%{SIGPGP:pgpsig}%{RSAHEADER:pgpsig}"])
                .arg(&built)
                .output()
                .unwrap();
            assert!(
                String::from_utf8_lossy(&unsigned.stdout).contains("(none)"),
                "the artifact itself is not signed"
            );
        }
    }

    let server = Server::start(&repository);
    let scratch = context.temp.path().join("dnf");
    std::fs::create_dir_all(scratch.join("root")).unwrap();
    std::fs::create_dir_all(scratch.join("repos")).unwrap();
    let key = scratch.join("key.asc");
    std::fs::write(&key, public_key(&home)).unwrap();
    std::fs::write(
        scratch.join("repos/hello.repo"),
        format!(
            "[hello]\nname=hello\nbaseurl={}el9/\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=1\nskip_if_unavailable=False\ngpgkey=file://{}\n",
            server.url,
            key.display()
        ),
    )
    .unwrap();
    let cached = dnf(&scratch, &["makecache"]);
    assert!(cached.status.success(), "{}", said(&cached));
    let query = dnf(
        &scratch,
        &["-q", "repoquery", "--qf", "%{name} %{evr} %{arch}", "hello"],
    );
    assert_eq!(
        String::from_utf8_lossy(&query.stdout).trim(),
        "hello 0.1.0-1 x86_64\nhello 0.2.0-1 x86_64",
        "{}",
        said(&query)
    );
    let requires = dnf(&scratch, &["-q", "repoquery", "--requires", "hello-0.2.0"]);
    assert!(
        String::from_utf8_lossy(&requires.stdout).contains("python3.11"),
        "{}",
        said(&requires)
    );

    // repomd.xml changed after signing: dnf refuses it.
    let repomd = repository.join("el9/repodata/repomd.xml");
    let original = std::fs::read(&repomd).unwrap();
    std::fs::write(&repomd, [&original[..], b"\n"].concat()).unwrap();
    let _ = std::fs::remove_dir_all(scratch.join("cache"));
    let refused = dnf(&scratch, &["makecache"]);
    assert!(
        !refused.status.success() && said(&refused).contains("signature"),
        "{}",
        said(&refused)
    );
    std::fs::write(&repomd, &original).unwrap();

    // Signed by a key dnf was not given.
    let other = keyring(&context.temp.path().join("other-gnupg"));
    std::fs::write(&key, public_key(&other)).unwrap();
    let _ = std::fs::remove_dir_all(scratch.join("cache"));
    let _ = std::fs::remove_dir_all(scratch.join("root"));
    std::fs::create_dir_all(scratch.join("root")).unwrap();
    let refused = dnf(&scratch, &["makecache"]);
    assert!(!refused.status.success(), "{}", said(&refused));

    // A published rpm never changes.
    let app = context.read("src/hello/app.py");
    context.file(
        "src/hello/app.py",
        &format!("{app}\n# changed, not the version\n"),
    );
    let refused = context
        .pyship(&["publish", "yum", repo, "--offline"])
        .code(1);
    assert!(
        refused
            .stderr
            .contains("is already published in el9 with other bytes"),
        "{refused}"
    );
}
