//! `pyship package vendors`: the app and its dependencies in `vendors/`, no virtualenv; the
//! directory runs wherever it is copied, isolated from the machine's Python settings.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::TestContext;
use crate::support::output_ok;

fn package(context: &TestContext) -> PathBuf {
    let run = context
        .pyship(&["package", "vendors", "--offline"])
        .success();
    PathBuf::from(run.stdout.trim())
}

#[test]
fn the_vendors_directory_runs_wherever_it_is_copied() {
    let context = TestContext::hello();
    let archive = package(&context);
    let name = archive.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("hello-0.1.0-") && name.ends_with("-vendors.tar.zst"),
        "{name}"
    );
    let again = TestContext::hello();
    assert!(
        std::fs::read(&archive).unwrap() == std::fs::read(package(&again)).unwrap(),
        "two builds of the same inputs differ"
    );

    // Two places, one of them a copy of the other.
    let first = context.temp.path().join("a");
    std::fs::create_dir_all(&first).unwrap();
    let status = Command::new("tar")
        .args(["--zstd", "-xf"])
        .arg(&archive)
        .arg("-C")
        .arg(&first)
        .status()
        .unwrap();
    assert!(status.success());
    let first = first.join("hello-0.1.0");
    let second = context.temp.path().join("b/deeper/copy");
    std::fs::create_dir_all(second.parent().unwrap()).unwrap();
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(&first)
            .arg(&second)
            .status()
            .unwrap()
            .success()
    );
    assert!(first.join("vendors/flask").is_dir() && first.join("hello").is_dir());
    assert!(!first.join("pyvenv.cfg").exists(), "no virtualenv");
    assert!(
        first.join("hello/__pycache__").is_dir(),
        "the app's bytecode is compiled too"
    );

    // A PYTHONPATH with a broken flask must not be seen (-I), nor the user's site-packages.
    let poison = context.temp.path().join("poison");
    std::fs::create_dir_all(&poison).unwrap();
    std::fs::write(poison.join("flask.py"), "raise ImportError('poisoned')\n").unwrap();
    for root in [&first, &second] {
        let output = output_ok(
            Command::new(root.join("bin/hello-serve"))
                .arg("--check")
                .env("PYTHONPATH", &poison)
                .current_dir(Path::new("/")),
        );
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: "));
    }
}
