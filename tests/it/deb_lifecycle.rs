//! A service's .deb through its whole life in a minimal Debian 12 root of its own: install,
//! run the console script and the service's command as its user, upgrade with a changed
//! dependency keeping the operator's config edit, roll back, remove, purge.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TestContext;
use crate::support::debian_root::DebianRoot;
use crate::support::output_ok;
use crate::support::wheels::WheelSpec;

/// The hello app as a service with its own user, a config file and a postinst fragment.
pub(crate) fn service_project(port: u16) -> TestContext {
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship.deb]\n",
        &format!(
            r#"user = {{ name = "hello", home = "/var/lib/hello" }}
config-files = [
  {{ source = "deploy/hello.toml", target = "/etc/hello/hello.toml", mode = "0640" }},
]
scripts = "deploy/scripts"

[tool.pyship.service]
script = "hello-serve"
args = ["--port", "{port}"]
working-directory = "/var/lib/hello"
environment = {{ HELLO_ENV = "production" }}

[tool.pyship.deb]
"#
        ),
    );
    context.file("pyproject.toml", &pyproject);
    context.file("deploy/hello.toml", "greeting = \"hello\"\n");
    // The operator's own step, run after pyship's (it may rely on the user existing).
    context.file(
        "deploy/scripts/postinst",
        "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then\n    id hello > /var/lib/hello/postinst-saw-user\nfi\nexit 0\n",
    );
    context
}

fn package(context: &TestContext) -> PathBuf {
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    PathBuf::from(run.stdout.trim())
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET / on the port until it answers, or `None` after 20 s.
pub(crate) fn get(port: u16) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(b"GET /?name=root HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut answer = String::new();
            if stream.read_to_string(&mut answer).is_ok() && !answer.is_empty() {
                return Some(answer);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_service_package_installs_runs_upgrades_rolls_back_and_purges_in_a_debian_root() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let port = free_port();
    let context = service_project(port);
    let first = package(&context);
    assert!(
        first.ends_with("hello_0.1.0-1_amd64.deb"),
        "{}",
        first.display()
    );

    // Install: the account, its home, the config file, the unit enabled, the app running.
    root.install(&first);
    let passwd = root.ok(&["getent", "passwd", "hello"]);
    assert!(
        passwd.contains(":/var/lib/hello:/usr/sbin/nologin"),
        "{passwd}"
    );
    let owner = root.ok(&[
        "stat",
        "-c",
        "%U:%G %a",
        "/var/lib/hello",
        "/etc/hello/hello.toml",
    ]);
    assert_eq!(owner, "hello:hello 750\nroot:hello 640\n");
    let saw = std::fs::read_to_string(root.join("/var/lib/hello/postinst-saw-user")).unwrap();
    assert!(
        saw.contains("(hello)"),
        "the user's fragment ran after the account existed: {saw}"
    );
    let unit = std::fs::read_to_string(root.join("/lib/systemd/system/hello.service")).unwrap();
    assert!(
        unit.contains(&format!(
            "ExecStart=/opt/venvs/hello/bin/hello-serve --port {port}\n"
        )) && unit.contains("User=hello\n")
            && unit.contains("Environment=HELLO_ENV=production\n")
            && unit.contains("WantedBy=multi-user.target\n"),
        "{unit}"
    );
    assert!(
        root.join("/etc/systemd/system/multi-user.target.wants/hello.service")
            .is_symlink(),
        "the unit is enabled"
    );
    let check = root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);
    assert_eq!(check.trim(), "ok: /opt/venvs/hello");

    // The service's own command, as its user, answering HTTP.
    let exec_start: Vec<String> = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .unwrap()
        .split(' ')
        .map(str::to_string)
        .collect();
    let args: Vec<&str> = exec_start.iter().map(String::as_str).collect();
    let mut server = root
        .command_as("hello", &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let answer = get(port);
    let _ = server.kill();
    let output = server.wait_with_output().unwrap();
    let answer = answer.unwrap_or_else(|| {
        panic!(
            "the service did not answer on port {port}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(answer.contains("Hello, root!"), "{answer}");

    // The operator edits the config file.
    std::fs::write(
        root.join("/etc/hello/hello.toml"),
        "greeting = \"edited\"\n",
    )
    .unwrap();

    // Upgrade to 0.2.0, which gains a dependency.
    WheelSpec::new("hello-extra", "1.0").write(&context.root.join("wheelhouse"));
    let pyproject = context
        .read("pyproject.toml")
        .replace("version = \"0.1.0\"", "version = \"0.2.0\"")
        .replace(
            "    \"flask>=3.0,<4\",\n",
            "    \"flask>=3.0,<4\",\n    \"hello-extra>=1\",\n",
        );
    context.file("pyproject.toml", &pyproject);
    let second = package(&context);
    assert!(
        second.ends_with("hello_0.2.0-1_amd64.deb"),
        "{}",
        second.display()
    );
    root.install(&second);
    let version = root.ok(&["dpkg-query", "-W", "-f=${Version}", "hello"]);
    assert_eq!(version, "0.2.0-1");
    let site = "/opt/venvs/hello/lib/python3.11/site-packages";
    assert!(
        root.join(&format!("{site}/hello_extra-1.0.dist-info"))
            .is_dir()
    );
    assert_eq!(
        std::fs::read_to_string(root.join("/etc/hello/hello.toml")).unwrap(),
        "greeting = \"edited\"\n",
        "the operator's edit survives the upgrade"
    );
    root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);

    // Roll back: install the previous package.
    root.install(&first);
    assert_eq!(
        root.ok(&["dpkg-query", "-W", "-f=${Version}", "hello"]),
        "0.1.0-1"
    );
    assert!(
        !root
            .join(&format!("{site}/hello_extra-1.0.dist-info"))
            .exists()
    );
    root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);

    // Remove keeps the configuration; purge leaves nothing; the account stays (Policy 9.2.2).
    root.ok(&["dpkg", "--remove", "hello"]);
    assert!(
        !root.join("/opt/venvs/hello").exists(),
        "remove left the prefix"
    );
    assert!(
        root.join("/etc/hello/hello.toml").exists(),
        "remove keeps conffiles"
    );
    root.ok(&["dpkg", "--purge", "hello"]);
    for gone in [
        "/opt/venvs/hello",
        "/etc/hello",
        "/var/lib/hello",
        "/lib/systemd/system/hello.service",
        "/etc/systemd/system/multi-user.target.wants/hello.service",
    ] {
        assert!(!root.join(gone).exists(), "purge left {gone}");
    }
    root.ok(&["getent", "passwd", "hello"]);
}

/// apt resolves the package's Depends against Debian's archive: installed from a local file
/// repository, it pulls in its run dependency (simulated: the check needs Debian's package
/// lists, which the root has, not the network).
#[test]
fn apt_resolves_the_depends_from_a_local_repository() {
    if !crate::support::requires_tool("dpkg-scanpackages") {
        return;
    }
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    context.add_before_deb_table("run-depends = [\"libpq5\"]\n");
    let deb = package(&context);
    let repository = root.join("/srv/repo");
    std::fs::create_dir_all(&repository).unwrap();
    std::fs::copy(&deb, repository.join(deb.file_name().unwrap())).unwrap();
    let scanned = std::process::Command::new("dpkg-scanpackages")
        .args(["--multiversion", "."])
        .current_dir(&repository)
        .output()
        .unwrap();
    assert!(scanned.status.success());
    std::fs::write(repository.join("Packages"), &scanned.stdout).unwrap();
    std::fs::write(
        root.join("/etc/apt/sources.list.d/local.list"),
        "deb [trusted=yes] file:/srv/repo ./\n",
    )
    .unwrap();
    // Only the local source is read again; Debian's lists stay as debootstrap left them.
    root.ok(&[
        "apt-get",
        "update",
        "-o",
        "Dir::Etc::sourcelist=sources.list.d/local.list",
        "-o",
        "Dir::Etc::sourceparts=-",
        "-o",
        "APT::Get::List-Cleanup=0",
    ]);
    // Debian has a `hello` too (GNU hello 2.10): ask for this one.
    let plan = root.ok(&["apt-get", "install", "--simulate", "--yes", "hello=0.1.0-1"]);
    assert!(plan.contains("Inst libpq5 "), "{plan}");
    assert!(plan.contains("Inst hello (0.1.0-1 "), "{plan}");
}

/// Built here on Debian 12 for Debian 11 (older Python 3.9) and Debian 13 (newer Python
/// 3.13): each package names its release's interpreter, holds that Python's wheels, compiles
/// its bytecode on the server, runs there with no network, and purges clean.
#[test]
fn packages_built_here_for_debian_11_and_13_install_and_run_there() {
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "interpreter = \"/usr/bin/python3\"\n",
        "targets = [\"debian-11\", \"debian-12\", \"debian-13\"]\n",
    );
    context.file("pyproject.toml", &pyproject);
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let debs: Vec<PathBuf> = run.stdout.lines().map(PathBuf::from).collect();
    let names: Vec<String> = debs
        .iter()
        .map(|deb| deb.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "hello_0.1.0-1~deb11_amd64.deb",
            "hello_0.1.0-1~deb12_amd64.deb",
            "hello_0.1.0-1~deb13_amd64.deb"
        ],
        "{run}"
    );
    for (deb, python) in debs.iter().zip(["3.9", "3.11", "3.13"]) {
        let fields = std::process::Command::new("dpkg-deb")
            .arg("--field")
            .arg(deb)
            .output()
            .unwrap();
        let fields = String::from_utf8_lossy(&fields.stdout);
        assert!(
            fields.contains(&format!("\nDepends: python{python}, libc6 (>= 2.17)\n")),
            "{fields}"
        );
        let contents = std::process::Command::new("dpkg-deb")
            .arg("--contents")
            .arg(deb)
            .output()
            .unwrap();
        let contents = String::from_utf8_lossy(&contents.stdout);
        let tag = python.replace('.', "");
        assert!(
            contents.contains(&format!(
                "/opt/venvs/hello/lib/python{python}/site-packages/markupsafe/_speedups.cpython-{tag}-x86_64-linux-gnu.so"
            )),
            "{contents}"
        );
        assert!(
            contents.contains(&format!(
                "/opt/venvs/hello/bin/python -> /usr/bin/python{python}"
            )),
            "{contents}"
        );
        // Only the build machine's own Python compiles at build time.
        assert_eq!(
            contents.contains(".pyc"),
            python == "3.11",
            "bytecode for {python}"
        );
    }
    for (release, deb, python) in [("bullseye", &debs[0], "3.9"), ("trixie", &debs[2], "3.13")] {
        let Some(root) = DebianRoot::new(release) else {
            return;
        };
        root.install(deb);
        // No network on the server: everything it runs is in the package.
        let output = output_ok(
            std::process::Command::new("unshare")
                .arg("-n")
                .arg("chroot")
                .arg(&root.path)
                .args(["/opt/venvs/hello/bin/hello-serve", "--check"])
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "ok: /opt/venvs/hello"
        );
        let tag = python.replace('.', "");
        let pyc = root.join(&format!(
            "/opt/venvs/hello/lib/python{python}/site-packages/flask/__pycache__/app.cpython-{tag}.pyc"
        ));
        assert!(pyc.is_file(), "{release}: compiled at install time");
        root.ok(&["dpkg", "--purge", "hello"]);
        assert!(
            !root.join("/opt/venvs/hello").exists(),
            "{release}: purge left files under the prefix"
        );
    }
}

/// `dpkg --root DIR --force-script-chrootless` runs the maintainer scripts on this machine with
/// `$DPKG_ROOT` set: all they do (the account, its home, the config file's group, removal and
/// purge) happens in the root, nothing here.
#[test]
fn maintainer_scripts_honour_dpkg_root_when_dpkg_runs_them_chrootless() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    context.add_before_deb_table("user = { name = \"pyshipchr\", home = \"/var/lib/pyshipchr\" }\nconfig-files = [\n  { source = \"deploy/hello.toml\", target = \"/etc/hello/hello.toml\", mode = \"0640\" },\n]\n");
    context.file("deploy/hello.toml", "greeting = \"hello\"\n");
    let deb = package(&context);
    let dpkg = |args: &[&str]| {
        output_ok(
            Command::new("dpkg")
                .arg(format!("--root={}", root.join("/").display()))
                .arg("--force-script-chrootless")
                .args(args),
        );
    };
    dpkg(&["-i", deb.to_str().unwrap()]);
    let passwd = root.ok(&["getent", "passwd", "pyshipchr"]);
    assert!(passwd.contains(":/var/lib/pyshipchr:"), "{passwd}");
    let owner = root.ok(&[
        "stat",
        "-c",
        "%U:%G %a",
        "/var/lib/pyshipchr",
        "/etc/hello/hello.toml",
    ]);
    assert_eq!(owner, "pyshipchr:pyshipchr 750\nroot:pyshipchr 640\n");
    assert!(
        !Path::new("/var/lib/pyshipchr").exists(),
        "made on the host"
    );
    let host = Command::new("getent")
        .args(["passwd", "pyshipchr"])
        .output()
        .unwrap();
    assert!(!host.status.success(), "the account was made on the host");
    let check = root.ok(&["/opt/venvs/hello/bin/hello-serve", "--check"]);
    assert_eq!(check.trim(), "ok: /opt/venvs/hello");

    // Python writes bytecode at run time; remove and purge still leave nothing behind.
    root.ok(&["/opt/venvs/hello/bin/python", "-c", "import hello"]);
    dpkg(&["--purge", "hello"]);
    assert!(!root.join("/opt/venvs/hello").exists());
    assert!(!root.join("/var/lib/pyshipchr").exists());
    assert!(!root.join("/etc/hello/hello.toml").exists());
}

/// Split packages (`split = true`): the dependencies' virtualenv in `hello-deps-HASH`, the app
/// in a small package depending on exactly it. Both pass lintian; in a Debian root the app
/// runs at its prefix (a symlink to the deps directory); a release that changes only the app
/// rebuilds a byte-identical deps package and an app package of kilobytes that upgrades
/// alone; rolling back works; purging both leaves nothing under /opt.
#[test]
fn split_packages_share_the_dependencies_between_releases() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship.deb]\n",
        "[tool.pyship.deb]\nsplit = true\ncompression = \"xz\"\n",
    );
    context.file("pyproject.toml", &pyproject);
    let build = |context: &TestContext| -> (PathBuf, PathBuf) {
        let run = context.pyship(&["package", "deb", "--offline"]).success();
        let debs: Vec<PathBuf> = run.stdout.lines().map(PathBuf::from).collect();
        assert_eq!(debs.len(), 2, "{run}");
        (debs[0].clone(), debs[1].clone())
    };
    let (deps, app) = build(&context);
    let deps_file = deps.file_name().unwrap().to_string_lossy().into_owned();
    assert!(deps_file.starts_with("hello-deps-"), "{deps_file}");
    let deps_package = deps_file.split('_').next().unwrap().to_string();
    if crate::support::requires_tool("lintian") {
        crate::package_deb::lintian(&deps);
        crate::package_deb::lintian(&app);
    }
    let app_size = std::fs::metadata(&app).unwrap().len();
    let deps_size = std::fs::metadata(&deps).unwrap().len();
    assert!(app_size < 20_000, "the app package is {app_size} bytes");
    assert!(
        deps_size > 50 * app_size,
        "deps {deps_size}, app {app_size}"
    );

    root.install(&deps);
    root.install(&app);
    let check = ["/opt/venvs/hello/bin/hello-serve", "--check"];
    root.ok(&check);
    let link = std::fs::read_link(root.join("/opt/venvs/hello")).unwrap();
    assert_eq!(link, PathBuf::from(&deps_package));
    assert!(
        root.join("/opt/venvs")
            .join(&link)
            .join("lib/python3.11/site-packages/flask/__init__.py")
            .is_file()
    );

    // 0.2.0 changes only the app: the same deps package, byte for byte; the app alone upgrades.
    let old_app = context.temp.path().join(app.file_name().unwrap());
    std::fs::copy(&app, &old_app).unwrap();
    context.file(
        "pyproject.toml",
        &pyproject.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
    );
    let (deps2, app2) = build(&context);
    assert_eq!(deps2, deps);
    assert_eq!(
        crate::support::sha256_file(&deps2),
        crate::support::sha256_file(&deps)
    );
    root.install(&app2);
    root.ok(&check);
    let version = root.ok(&["dpkg-query", "-W", "-f", "${Version}", "hello"]);
    assert_eq!(version, "0.2.0-1");
    // Rollback: the older app package again.
    root.install(&old_app);
    root.ok(&check);

    root.ok(&["dpkg", "--purge", "hello", &deps_package]);
    let left: Vec<String> = std::fs::read_dir(root.join("/opt/venvs"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left under /opt/venvs: {left:?}");
}

/// Purge removes the account's home only when the package made it: a home that was there
/// before (`/var/www`, with another site in it) survives, with everything in it.
#[test]
fn purge_removes_only_a_home_the_package_created() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = service_project(free_port());
    let pyproject = context
        .read("pyproject.toml")
        .replace(
            "user = { name = \"hello\", home = \"/var/lib/hello\" }",
            "user = { name = \"www-data\", home = \"/var/www\" }",
        )
        .replace(
            "working-directory = \"/var/lib/hello\"",
            "working-directory = \"/var/www\"",
        );
    context.file("pyproject.toml", &pyproject);
    context.file("deploy/scripts/postinst", "#!/bin/sh\nexit 0\n");
    std::fs::create_dir_all(root.join("/var/www/other-site")).unwrap();
    std::fs::write(root.join("/var/www/other-site/index.html"), "theirs\n").unwrap();
    let deb = package(&context);
    root.install(&deb);
    root.ok(&["dpkg", "--purge", "hello"]);
    assert_eq!(
        std::fs::read_to_string(root.join("/var/www/other-site/index.html")).unwrap(),
        "theirs\n",
        "purge removed a home the package did not create"
    );
    assert!(
        !root.join("/var/lib/pyship").exists(),
        "the marker directory is gone"
    );

    // The same package where the home did not exist: it made it, and purge removes it.
    std::fs::remove_dir_all(root.join("/var/www")).unwrap();
    root.install(&deb);
    assert!(root.join("/var/www").is_dir());
    root.ok(&["dpkg", "--purge", "hello"]);
    assert!(
        !root.join("/var/www").exists(),
        "purge left the home it made"
    );
}

/// `commands` puts console scripts on every user's PATH: `/usr/bin/NAME` links to the
/// virtualenv's script, installed and removed with the package (deb), listed in the rpm.
#[test]
fn commands_are_on_the_path_while_the_package_is_installed() {
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    let context = TestContext::hello();
    context.add_before_deb_table("commands = [\"hello-serve\"]\n");
    let deb = package(&context);
    root.install(&deb);
    assert_eq!(
        std::fs::read_link(root.join("/usr/bin/hello-serve")).unwrap(),
        Path::new("/opt/venvs/hello/bin/hello-serve")
    );
    assert_eq!(
        root.ok(&["hello-serve", "--check"]).trim(),
        "ok: /opt/venvs/hello"
    );
    root.ok(&["dpkg", "--remove", "hello"]);
    assert!(!root.join("/usr/bin/hello-serve").exists());
    if crate::support::requires_tool("rpm") {
        let run = context.pyship(&["package", "rpm", "--offline"]).success();
        let listing = output_ok(
            Command::new("rpm")
                .args(["-qlp", "--dump"])
                .arg(run.stdout.trim()),
        );
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(
            listing
                .lines()
                .any(|line| line.starts_with("/usr/bin/hello-serve ")
                    && line.ends_with("/opt/venvs/hello/bin/hello-serve")),
            "{listing}"
        );
    }
    // A script the virtualenv does not have is refused, naming it.
    context.file(
        "pyproject.toml",
        &context
            .read("pyproject.toml")
            .replace("commands = [\"hello-serve\"]", "commands = [\"hello-srv\"]"),
    );
    let run = context.pyship(&["package", "deb", "--offline"]).code(1);
    assert!(
        run.stderr.contains("`hello-srv` is not a console script"),
        "{run}"
    );
}
