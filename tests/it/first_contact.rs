//! Projects shaped the way people deploy them, from an ordinary directory to a running
//! service: an app that is not a Python package (a frozen requirements.txt and its source
//! files), and `pyship init` on each common shape.

use std::path::PathBuf;
use std::process::Stdio;

use crate::deb_lifecycle::{free_port, get};
use crate::support::debian_root::DebianRoot;
use crate::support::{TestContext, copy_tree, repo_root};

/// A Flask app as dh-virtualenv and fpm users have it: `app.py`, a frozen
/// `requirements.txt`, no packaging of its own.
fn files_app() -> TestContext {
    let context = TestContext::new();
    copy_tree(
        &repo_root().join("testdata/apps/hello/wheelhouse"),
        &context.root.join("wheelhouse"),
    );
    let app = std::fs::read_to_string(repo_root().join("testdata/apps/hello/src/hello/app.py"))
        .unwrap()
        .replace("prog=\"hello-serve\"", "prog=\"myapp-serve\"");
    context.file("app.py", &app);
    context.file("tests/test_app.py", "def test(): pass\n");
    context.file(
        "requirements.txt",
        "blinker==1.9.0\nclick==8.1.8\nflask==3.0.3\nitsdangerous==2.2.0\njinja2==3.1.6\nmarkupsafe==3.0.4\nwerkzeug==3.1.9\n",
    );
    context
}

#[test]
fn an_app_that_is_not_a_package_ships_its_files_and_its_frozen_requirements() {
    let port = free_port();
    let context = files_app();
    context.file(
        "pyproject.toml",
        &format!(
            r#"[project]
name = "myapp"
version = "1.0.0"
maintainers = [{{ name = "Ops", email = "ops@example.com" }}]

[project.scripts]
myapp-serve = "app:main"

[tool.pyship]
find-links = ["wheelhouse"]
install-prefix = "/opt/myapp"
interpreter = "/usr/bin/python3"
requirements = ["requirements.txt"]
app-files = ["app.py"]

[tool.pyship.service]
script = "myapp-serve"
args = ["--port", "{port}"]
"#
        ),
    );
    let run = context.pyship(&["lock", "--offline"]).success();
    assert!(
        run.stderr
            .contains("Pinning 7 versions frozen in `requirements.txt`"),
        "{run}"
    );
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    assert!(run.stderr.contains("(1 files to /opt/myapp/app)"), "{run}");
    let deb = PathBuf::from(run.stdout.trim());
    let Some(root) = DebianRoot::new("bookworm") else {
        return;
    };
    root.install(&deb);
    // The app's file where it was asked to go, the frozen versions, and nothing else.
    assert!(root.join("/opt/myapp/app/app.py").is_file());
    assert!(!root.join("/opt/myapp/app/tests").exists());
    assert!(!root.join("/opt/myapp/app/requirements.txt").exists());
    let site = root.join("/opt/myapp/lib/python3.11/site-packages");
    assert!(site.join("click-8.1.8.dist-info").is_dir());
    assert!(!site.join("app.py").exists());
    let check = root.ok(&["/opt/myapp/bin/myapp-serve", "--check"]);
    assert_eq!(check.trim(), "ok: /opt/myapp");
    // The service's command answers over HTTP.
    let unit = std::fs::read_to_string(root.join("/lib/systemd/system/myapp.service")).unwrap();
    let exec_start: Vec<&str> = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .unwrap()
        .split(' ')
        .collect();
    let mut server = root
        .command(&exec_start)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let answer = get(port);
    let _ = server.kill();
    let _ = server.wait();
    let answer = answer.expect("the service answers");
    assert!(answer.contains("Hello, root!"), "{answer}");
    // Removal takes the app's files too.
    root.ok(&["dpkg", "--purge", "myapp"]);
    assert!(!root.join("/opt/myapp/app/app.py").exists());
}
