//! `pyship publish apt DIR`: this build's .debs in a signed APT repository, served over HTTP
//! on 127.0.0.1 and used by apt-get in a Debian 12 root: update, install, upgrade, roll back;
//! a tampered index, another key and a changed published package refused.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::debian_root::DebianRoot;
use crate::support::{TestContext, output_ok, requires_tool};

/// A GnuPG home with one secret signing key and no passphrase.
pub(crate) fn keyring(directory: &Path) -> PathBuf {
    std::fs::create_dir_all(directory).unwrap();
    std::fs::set_permissions(
        directory,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    output_ok(
        Command::new("gpg")
            .env("GNUPGHOME", directory)
            .args(["--batch", "--passphrase", "", "--quick-gen-key"])
            .args(["pyship test <test@example.com>", "ed25519", "sign", "never"]),
    );
    directory.to_path_buf()
}

pub(crate) fn public_key(home: &Path) -> Vec<u8> {
    output_ok(
        Command::new("gpg")
            .env("GNUPGHOME", home)
            .args(["--armor", "--export"]),
    )
    .stdout
}

/// The hello project with `table` appended (a publisher's settings) and a keyring of one
/// signing key as its GNUPGHOME; the keyring's directory.
pub(crate) fn publishing(table: &str) -> (TestContext, PathBuf) {
    let mut context = TestContext::hello();
    let home = keyring(&context.temp.path().join("gnupg"));
    context.env("GNUPGHOME", home.to_str().unwrap());
    context.file(
        "pyproject.toml",
        &format!("{}\n{table}", context.read("pyproject.toml")),
    );
    (context, home)
}

/// A static file server on 127.0.0.1 (Python's), stopped when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) url: String,
}

impl Server {
    pub(crate) fn start(directory: &Path) -> Server {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(directory)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split(" port ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no port in `{line}`"))
            .to_string();
        Server {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_signed_repository_serves_apt_install_upgrade_and_rollback() {
    if !requires_tool("gpg") {
        return;
    }
    let (context, home) = publishing("[tool.pyship.apt]\nsuite = \"bookworm\"\nvalid-days = 30\n");
    let repository = context.temp.path().join("repo");
    let repo = repository.to_str().unwrap();
    let run = context
        .pyship(&["publish", "apt", repo, "--offline"])
        .success();
    let pool = repository.join("pool/main/h/hello/hello_0.1.0-1_amd64.deb");
    assert_eq!(run.stdout.trim(), pool.display().to_string());
    context.set_version("0.2.0");
    context
        .pyship(&["publish", "apt", repo, "--offline"])
        .success();
    let packages =
        std::fs::read_to_string(repository.join("dists/bookworm/main/binary-amd64/Packages"))
            .unwrap();
    assert!(
        packages.contains("Version: 0.1.0-1\n") && packages.contains("Version: 0.2.0-1\n"),
        "{packages}"
    );
    let in_release = repository.join("dists/bookworm/InRelease");
    assert!(
        std::fs::read_to_string(&in_release)
            .unwrap()
            .starts_with("-----BEGIN PGP SIGNED MESSAGE-----"),
    );

    // A published package never changes: the same version with other bytes is refused, and
    // the repository is left as it was.
    let before = std::fs::read(&in_release).unwrap();
    let app = context.read("src/hello/app.py");
    context.file(
        "src/hello/app.py",
        &format!("{app}\n# changed, not the version\n"),
    );
    let refused = context
        .pyship(&["publish", "apt", repo, "--offline"])
        .code(1);
    assert!(
        refused
            .stderr
            .contains("is already published with other bytes"),
        "{refused}"
    );
    assert_eq!(std::fs::read(&in_release).unwrap(), before);

    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let server = Server::start(&repository);
    std::fs::create_dir_all(root.join("/etc/apt/keyrings")).unwrap();
    std::fs::write(root.join("/etc/apt/keyrings/hello.asc"), public_key(&home)).unwrap();
    let _ = std::fs::remove_file(root.join("/etc/apt/sources.list"));
    std::fs::write(
        root.join("/etc/apt/sources.list.d/hello.sources"),
        format!(
            "Types: deb\nURIs: {}\nSuites: bookworm\nComponents: main\nSigned-By: /etc/apt/keyrings/hello.asc\n",
            server.url
        ),
    )
    .unwrap();
    let update = root.run(&["apt-get", "update"]);
    let said = String::from_utf8_lossy(&update.stdout).into_owned()
        + &String::from_utf8_lossy(&update.stderr);
    assert!(update.status.success() && !said.contains("W:"), "{said}");
    root.ok(&["apt-get", "install", "-y", "hello"]);
    let version = || root.ok(&["dpkg-query", "-W", "-f=${Version}", "hello"]);
    assert_eq!(version(), "0.2.0-1", "the newest is installed");
    assert_eq!(
        root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"])
            .trim(),
        "ok: /opt/venvs/hello"
    );
    root.ok(&[
        "apt-get",
        "install",
        "-y",
        "--allow-downgrades",
        "hello=0.1.0-1",
    ]);
    assert_eq!(version(), "0.1.0-1", "rolled back");

    // A tampered index: apt-get refuses it by its hash.
    let by_hash = repository.join("dists/bookworm/main/binary-amd64/by-hash/SHA256");
    let originals: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&by_hash)
        .unwrap()
        .flatten()
        .map(|entry| (entry.path(), std::fs::read(entry.path()).unwrap()))
        .collect();
    for (path, _) in &originals {
        std::fs::write(path, b"Package: evil\nVersion: 9\nArchitecture: amd64\n").unwrap();
    }
    std::fs::remove_dir_all(root.join("/var/lib/apt/lists")).unwrap();
    std::fs::create_dir_all(root.join("/var/lib/apt/lists/partial")).unwrap();
    let update = root.run(&["apt-get", "update"]);
    let said = String::from_utf8_lossy(&update.stdout).into_owned()
        + &String::from_utf8_lossy(&update.stderr);
    assert!(
        said.contains("Hash Sum mismatch")
            || said.contains("hash sum mismatch")
            || said.contains("Hashes of expected file"),
        "{said}"
    );
    for (path, bytes) in &originals {
        std::fs::write(path, bytes).unwrap();
    }

    // Signed by a key the client was not given.
    let other = keyring(&context.temp.path().join("other-gnupg"));
    std::fs::write(root.join("/etc/apt/keyrings/hello.asc"), public_key(&other)).unwrap();
    let update = root.run(&["apt-get", "update"]);
    let said = String::from_utf8_lossy(&update.stdout).into_owned()
        + &String::from_utf8_lossy(&update.stderr);
    assert!(
        !update.status.success() && said.contains("NO_PUBKEY"),
        "{said}"
    );
}

#[test]
fn a_publish_without_a_usable_key_or_into_another_directory_writes_nothing() {
    if !requires_tool("gpg") {
        return;
    }
    let mut context = TestContext::hello();
    let empty = context.temp.path().join("empty-gnupg");
    std::fs::create_dir_all(&empty).unwrap();
    context.env("GNUPGHOME", empty.to_str().unwrap());
    context.file(
        "pyproject.toml",
        &format!(
            "{}\n[tool.pyship.apt]\nsuite = \"bookworm\"\n",
            context.read("pyproject.toml")
        ),
    );
    let repository = context.temp.path().join("repo");
    let run = context
        .pyship(&["publish", "apt", repository.to_str().unwrap(), "--offline"])
        .code(1);
    assert!(
        run.stderr
            .contains("no secret key to sign the repository with"),
        "{run}"
    );
    assert!(!repository.exists(), "nothing was written");

    // A directory that holds something else is not taken for a repository.
    let home = keyring(&context.temp.path().join("gnupg"));
    context.env("GNUPGHOME", home.to_str().unwrap());
    let other = context.temp.path().join("site");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("index.html"), "hi").unwrap();
    let run = context
        .pyship(&["publish", "apt", other.to_str().unwrap(), "--offline"])
        .code(1);
    assert!(run.stderr.contains("is not an APT repository"), "{run}");
    assert!(!other.join("dists").exists());

    // Without `suite`, a package built for no known release says what to do.
    context.file(
        "pyproject.toml",
        &context
            .read("pyproject.toml")
            .replace("suite = \"bookworm\"\n", ""),
    );
    let run = context
        .pyship(&["publish", "apt", repository.to_str().unwrap(), "--offline"])
        .code(1);
    assert!(run.stderr.contains("set `suite = \"bookworm\"`"), "{run}");

    // Each publisher teaches its options.
    for (name, option) in [("apt", "keep (integer)"), ("yum", "suite (string)")] {
        let help = context.pyship(&["help", name]).success();
        assert!(help.stdout.contains(option), "{help}");
    }
}

/// `keep = 2`: the newest two versions stay listed and in the pool (the one servers roll
/// back to among them), older ones go; `valid-days` writes `Valid-Until`.
#[test]
fn only_the_kept_versions_stay_and_the_index_says_until_when_it_is_valid() {
    if !requires_tool("gpg") {
        return;
    }
    let (context, _) =
        publishing("[tool.pyship.apt]\nsuite = \"bookworm\"\nkeep = 2\nvalid-days = 7\n");
    let repository = context.temp.path().join("repo");
    let repo = repository.to_str().unwrap();
    for version in ["0.1.0", "0.2.0", "0.10.0"] {
        context.set_version(version);
        context
            .pyship(&["publish", "apt", repo, "--offline"])
            .success();
    }
    let packages =
        std::fs::read_to_string(repository.join("dists/bookworm/main/binary-amd64/Packages"))
            .unwrap();
    assert!(
        !packages.contains("Version: 0.1.0-1\n")
            && packages.contains("Version: 0.2.0-1\n")
            && packages.contains("Version: 0.10.0-1\n"),
        "{packages}"
    );
    let pool = repository.join("pool/main/h/hello");
    assert!(!pool.join("hello_0.1.0-1_amd64.deb").exists());
    assert!(pool.join("hello_0.2.0-1_amd64.deb").exists());
    let release = std::fs::read_to_string(repository.join("dists/bookworm/Release")).unwrap();
    assert!(release.contains("\nValid-Until: "), "{release}");

    context.file(
        "pyproject.toml",
        &context
            .read("pyproject.toml")
            .replace("keep = 2", "keep = 1"),
    );
    let run = context
        .pyship(&["publish", "apt", repo, "--offline"])
        .code(1);
    assert!(
        run.stderr
            .contains("`keep` in [tool.pyship.apt] is a whole number from 2"),
        "{run}"
    );
}
