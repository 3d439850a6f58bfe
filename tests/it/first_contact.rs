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

/// Settings after `[tool.pyship]` that make a test project hermetic: the hello app's wheels
/// (and the build backends') and a maintainer.
fn hermetic(context: &TestContext) {
    let pyproject = context.read("pyproject.toml").replace(
        "[tool.pyship]\n",
        &format!(
            "[tool.pyship]\nfind-links = [\"wheelhouse\", {:?}]\nmaintainer = \"Ops <ops@example.com>\"\n",
            repo_root().join("testdata/build-backends").display().to_string()
        ),
    );
    context.file("pyproject.toml", &pyproject);
}

#[test]
fn init_on_a_django_project_writes_its_service_and_never_overwrites() {
    let context = TestContext::new();
    context.file("manage.py", "#!/usr/bin/env python\n");
    context.file("mysite/__init__.py", "");
    context.file("mysite/wsgi.py", "application = None\n");
    context.file("requirements.txt", "Django==5.1.4\ngunicorn==23.0.0\n");
    std::fs::create_dir(context.root.join(".git")).unwrap();
    let run = context.pyship(&["init"]).success();
    assert_eq!(
        run.stdout.trim(),
        context.root.join("pyproject.toml").display().to_string()
    );
    let written = context.read("pyproject.toml");
    for expected in [
        "[project]\nname = ",
        "requirements = [\"requirements.txt\"]",
        "app-files = true",
        "[tool.pyship.service]\nscript = \"gunicorn\"\nargs = [\"mysite.wsgi:application\", \"--bind\", \"127.0.0.1:8000\"]\n",
    ] {
        assert!(written.contains(expected), "{expected}:\n{written}");
    }
    assert!(context.read(".gitignore").contains("/target/"));
    // A second run changes nothing and says why.
    let run = context.pyship(&["init"]).code(1);
    assert!(run.stderr.contains("already has `[tool.pyship]`"), "{run}");
    assert_eq!(context.read("pyproject.toml"), written);
}

#[test]
fn init_on_a_bare_app_then_lock_and_package_ship_its_files() {
    let context = files_app();
    let run = context.pyship(&["init"]).success();
    assert!(run.stderr.contains("is not a Python package"), "{run}");
    hermetic(&context);
    context.pyship(&["lock", "--offline"]).success();
    let run = context.pyship(&["package", "deb", "--offline"]).success();
    let deb = PathBuf::from(run.stdout.trim());
    let listing =
        crate::support::output_ok(std::process::Command::new("dpkg-deb").arg("-c").arg(&deb));
    let listing = String::from_utf8_lossy(&listing.stdout);
    let name = context
        .root
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace('_', "-");
    let prefix = format!("./opt/venvs/{}", name.to_ascii_lowercase());
    assert!(
        listing.contains(&format!("{prefix}/app/app.py")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!(
            "{prefix}/lib/python3.11/site-packages/click-8.1.8.dist-info/"
        )),
        "{listing}"
    );
}

#[test]
fn a_poetry_project_is_read_as_it_is_and_ships() {
    let context = TestContext::new();
    copy_tree(
        &repo_root().join("testdata/apps/hello/wheelhouse"),
        &context.root.join("wheelhouse"),
    );
    copy_tree(
        &repo_root().join("testdata/apps/hello/src/hello"),
        &context.root.join("hello"),
    );
    context.file(
        "pyproject.toml",
        "[tool.poetry]\nname = \"hello\"\nversion = \"2.0.0\"\ndescription = \"x\"\nauthors = [\"Ann <ann@example.com>\"]\npackages = [{ include = \"hello\" }]\n\n\
         [tool.poetry.dependencies]\npython = \"^3.9\"\nflask = \"^3.0\"\nmarkupsafe = \">=2.1\"\n\n\
         [tool.poetry.scripts]\nhello-serve = \"hello.app:main\"\n\n\
         [build-system]\nrequires = [\"poetry-core>=2\"]\nbuild-backend = \"poetry.core.masonry.api\"\n",
    );
    let run = context.pyship(&["init"]).success();
    assert!(run.stderr.contains("is a Python package"), "{run}");
    assert!(run.stderr.contains("a service runs `hello-serve`"), "{run}");
    hermetic(&context);
    let run = context.pyship(&["lock", "--offline"]).success();
    assert!(run.stderr.contains("Resolved 7 packages"), "{run}");
    let run = context.pyship(&["build", "--offline"]).success();
    let prefix = PathBuf::from(run.stdout.trim());
    assert!(prefix.join("bin/hello-serve").is_file());
    assert!(
        prefix
            .join("lib/python3.11/site-packages/hello-2.0.0.dist-info/METADATA")
            .is_file()
    );
}

/// The real framework wheels (`scripts/framework-wheels`, cached once per machine), or `None`,
/// said loudly, when this machine cannot fetch them; CI fails instead.
fn framework_wheels() -> Option<PathBuf> {
    let made = std::process::Command::new(repo_root().join("scripts/framework-wheels"))
        .output()
        .expect("scripts/framework-wheels runs");
    if !made.status.success() {
        let why = String::from_utf8_lossy(&made.stderr);
        assert!(
            std::env::var("PYSHIP_TEST_REQUIRE_EXTERNAL_TOOLS").as_deref() != Ok("1"),
            "scripts/framework-wheels failed:\n{why}"
        );
        eprintln!("SKIPPING: no framework wheels on this machine:\n{why}");
        return None;
    }
    Some(PathBuf::from(String::from_utf8_lossy(&made.stdout).trim()))
}

/// `pyship init`, then the settings that keep the test hermetic (the framework wheels, a
/// maintainer, a free port instead of 8000), lock, package; the .deb installed in a Debian 12
/// root and the service's own command run as its user there; returns its answer to `GET /`.
fn init_ship_and_serve(context: &TestContext, wheels: &std::path::Path) -> Option<String> {
    let run = context.pyship(&["init"]).success();
    let port = free_port();
    let pyproject = context
        .read("pyproject.toml")
        .replace(
            "[tool.pyship]\n",
            &format!(
                "[tool.pyship]\nfind-links = [{:?}]\nno-index = true\nmaintainer = \"Ops <ops@example.com>\"\n",
                wheels.display().to_string()
            ),
        )
        .replace("8000", &port.to_string());
    context.file("pyproject.toml", &pyproject);
    context.pyship(&["lock", "--offline"]).success();
    let deb = PathBuf::from(
        context
            .pyship(&["package", "deb", "--offline"])
            .success()
            .stdout
            .trim(),
    );
    let root = DebianRoot::new("bookworm")?;
    root.install(&deb);
    let name = context
        .root
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_ascii_lowercase()
        .replace('_', "-");
    let unit = std::fs::read_to_string(root.join(&format!("/lib/systemd/system/{name}.service")))
        .unwrap_or_else(|error| panic!("{name}.service: {error}\n{run}"));
    let exec_start: Vec<&str> = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .unwrap()
        .split(' ')
        .collect();
    let user = unit
        .lines()
        .find_map(|line| line.strip_prefix("User="))
        .unwrap_or("root");
    let mut server = root
        .command_as(user, &exec_start)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let answer = get(port);
    let _ = server.kill();
    let output = server.wait_with_output().unwrap();
    Some(answer.unwrap_or_else(|| {
        panic!(
            "the service did not answer:\n{unit}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    }))
}

/// A Django project as `django-admin startproject` shapes it, with a frozen requirements.txt
/// and no packaging: init finds `mysite.wsgi` and gunicorn; the .deb's service serves it.
#[test]
fn a_django_project_goes_from_init_to_a_served_page() {
    let Some(wheels) = framework_wheels() else {
        return;
    };
    let context = TestContext::new();
    context.file(
        "manage.py",
        "#!/usr/bin/env python\nimport os, sys\nif __name__ == '__main__':\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n    from django.core.management import execute_from_command_line\n    execute_from_command_line(sys.argv)\n",
    );
    context.file("mysite/__init__.py", "");
    context.file(
        "mysite/settings.py",
        "SECRET_KEY = 'test'\nDEBUG = False\nALLOWED_HOSTS = ['*']\nROOT_URLCONF = 'mysite.urls'\nINSTALLED_APPS = []\nMIDDLEWARE = []\nDATABASES = {}\nUSE_TZ = True\n",
    );
    context.file(
        "mysite/urls.py",
        "from django.http import HttpResponse\nfrom django.urls import path\n\ndef hello(request):\n    return HttpResponse('Hello from Django, ' + request.GET.get('name', 'world') + '!')\n\nurlpatterns = [path('', hello)]\n",
    );
    context.file(
        "mysite/wsgi.py",
        "import os\nfrom django.core.wsgi import get_wsgi_application\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\napplication = get_wsgi_application()\n",
    );
    context.file(
        "requirements.txt",
        "asgiref==3.13.0\ndjango==5.2.20\ngunicorn==23.0.0\npackaging==26.4\nsqlparse==0.6.1\n",
    );
    let Some(answer) = init_ship_and_serve(&context, &wheels) else {
        return;
    };
    assert!(answer.contains("Hello from Django, root!"), "{answer}");
}

/// A FastAPI app in `main.py` with a frozen requirements.txt: init finds `main:app` and
/// uvicorn; the .deb's service serves it.
#[test]
fn a_fastapi_app_goes_from_init_to_a_served_page() {
    let Some(wheels) = framework_wheels() else {
        return;
    };
    let context = TestContext::new();
    context.file(
        "main.py",
        "from fastapi import FastAPI\nfrom fastapi.responses import PlainTextResponse\n\napp = FastAPI()\n\n@app.get('/', response_class=PlainTextResponse)\ndef hello(name: str = 'world'):\n    return f'Hello from FastAPI, {name}!'\n",
    );
    let frozen: Vec<String> = std::fs::read_dir(&wheels)
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let mut parts = file.split('-');
            let (name, version) = (parts.next()?, parts.next()?);
            (!["django", "gunicorn", "sqlparse", "asgiref", "packaging"].contains(&name))
                .then(|| format!("{}=={version}", name.replace('_', "-")))
        })
        .collect();
    context.file("requirements.txt", &(frozen.join("\n") + "\n"));
    let Some(answer) = init_ship_and_serve(&context, &wheels) else {
        return;
    };
    assert!(answer.contains("Hello from FastAPI, root!"), "{answer}");
}
